"""The `hub` command as people expect it: every option explains itself, and whatever a user gets wrong (an
argument, a file, a tenant, a value, the store's URL) is one line on stderr and exit 2, never a traceback; a
validation error names the field; a real bug still shows its traceback."""

from __future__ import annotations

import argparse

import pytest

import app.cli as cli
from app.cli import build_parser, main


@pytest.fixture
def home(tmp_path, monkeypatch, hub_home):
    monkeypatch.delenv("HUB_LOG_LEVEL", raising=False)
    monkeypatch.delenv("HUB_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _parsers(parser: argparse.ArgumentParser, path: str = "hub") -> list[tuple[str, argparse.ArgumentParser]]:
    out = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += _parsers(sub, f"{path} {name}")
    return out


def test_every_option_of_every_command_has_help_text():
    missing = []
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{path} {c.dest}" for c in action._choices_actions if not c.help]
                continue
            if not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


# (argv, a part of the one line on stderr): one bad input for each subcommand
BAD_INPUT = [
    (["--log-level", "loud", "check-config"], "invalid choice: 'LOUD'"),
    (["--config", "no-such.yaml", "check-config"], "configuration error"),
    (["nonsense"], "invalid choice: 'nonsense'"),
    (["sandbox", "--residents", "many"], "invalid int value: 'many'"),
    (["serve", "--port", "eighty"], "invalid int value: 'eighty'"),
    (["hoomdossier", "--tenant", "no-such-coop"], "unknown tenant 'no-such-coop'"),
    (["demo", "--signups", "eight"], "invalid int value: 'eight'"),
    (["pull", "--partner", "no-such-partner"], "invalid choice: 'no-such-partner'"),
    (["pull", "--tenant", "no-such-coop"], "unknown tenant 'no-such-coop'"),
    (["signup", "missing.jsonl", "--tenant", "coop-noord"], "no sign-up file missing.jsonl"),
    (["signup", "-"], "the following arguments are required: --tenant"),
    (["push", "--tenant", "no-such-coop"], "unknown tenant 'no-such-coop'"),
    (["mart", "--json", "extra"], "unrecognized arguments: extra"),
    (["report"], "no mart at"),
    (["quarantine", "peek"], "invalid choice: 'peek'"),
    (["quarantine", "show"], "show needs one entry: --id N"),
    (["quarantine", "show", "--id", "12345"], "has no quarantine entry 12345"),
    (["quarantine", "list", "--tenant", "no-such-coop"], "unknown tenant 'no-such-coop'"),
    (["erase", "--confirm", "econobis"], "--confirm needs --tenant, --request and --requested-by"),
    (["consent", "show", "--tenant", "coop-noord"], "one of the arguments --resident --email is required"),
    (["mandate", "add", "--tenant", "loket-leuven"], "needs --resident, --reference, --insz, --requested-by"),
    (["premiums", "--tenant", "no-such-coop"], "unknown tenant 'no-such-coop'"),
    (["woningpas", "match"], "the following arguments are required: --tenant"),
    (["matches", "show", "--tenant", "coop-noord"], "give the candidate's number"),
    (["purge", "--days", "3"], "unrecognized arguments: --days 3"),
    (["ui", "--port", "web"], "invalid int value: 'web'"),
    (["migrate", "now"], "unrecognized arguments: now"),
    (["openapi", "--out", "x"], "unrecognized arguments: --out x"),
]


@pytest.mark.parametrize(("argv", "says"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_a_bad_input_is_one_line_and_exit_2(home, capsys, argv, says):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert says in lines[0]
    assert lines[0].startswith(("hub", "configuration error"))


def test_every_subcommand_is_covered_by_a_bad_input_case():
    commands = {name for name, _ in build_parser()._subparsers._group_actions[0].choices.items()}  # type: ignore[union-attr]
    covered = {argv[0] for argv, _ in BAD_INPUT} | {a for argv, _ in BAD_INPUT for a in argv if a in commands}
    assert commands <= covered


def test_an_unusable_log_level_in_the_environment_is_one_line(home, capsys, monkeypatch):
    monkeypatch.setenv("HUB_LOG_LEVEL", "chatty")
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == "hub: error: HUB_LOG_LEVEL='CHATTY' is not a log level (choose from DEBUG, INFO, WARNING, ERROR, CRITICAL)"
    )


def test_a_lower_case_log_level_is_taken(home, capsys):
    assert main(["--log-level", "info", "check-config"]) == 0


def test_a_state_store_url_that_cannot_be_used_is_one_line(home, capsys, monkeypatch):
    monkeypatch.setenv("HUB_DATABASE_URL", "nonsense://nowhere")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hub migrate: error: the state store's URL (HUB_DATABASE_URL) is not usable")


def test_a_sign_up_that_does_not_validate_names_each_field_and_its_problem(home, capsys):
    f = home / "signups.jsonl"
    f.write_text('{"key": "web-0001", "postcode": "1681AB", "campaign_id": "eleven"}\n{"key"\n', encoding="utf-8")
    assert main(["signup", str(f), "--tenant", "coop-noord"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        "line 1: not a valid sign-up: SignUp: number: Field required; "
        "campaign_id: Input should be a valid integer, unable to parse string as an integer"
    )
    assert err[1].startswith("line 2: not a valid sign-up: SignUp: Invalid JSON")
    assert "validation error" not in "\n".join(err)


def test_a_real_bug_keeps_its_traceback(home, monkeypatch):
    def broken(args):
        raise RuntimeError("a bug, not the user's doing")

    monkeypatch.setattr(cli, "cmd_check_config", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["check-config"])


def test_hub_debug_shows_the_traceback_of_a_user_error_too(home, monkeypatch):
    from hub.config import ConfigError

    monkeypatch.setenv("HUB_DEBUG", "1")
    with pytest.raises(ConfigError, match="unknown tenant"):
        main(["pull", "--tenant", "no-such-coop"])


def test_help_exits_0_and_describes_the_errors(home, capsys):
    assert main(["--help"]) == 0
    assert "HUB_DEBUG=1 shows the traceback" in capsys.readouterr().out


def test_sandboxes_on_ports_taken_are_refused_in_one_line(home, capsys, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        monkeypatch.setenv("HUB_RECEIVER_PORT", str(port))
        assert main(["sandbox", "--residents", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hub sandbox: error: ports in use: ") and len(err.splitlines()) == 1
    assert f"{port} (receiver)" in err and "set HUB_SANDBOX_PORT_BASE" in err


def test_a_service_out_of_reach_outside_a_partner_client_is_one_line():
    import requests

    from app.errors import user_error

    try:
        requests.get("http://127.0.0.1:9/", timeout=2)
    except requests.exceptions.ConnectionError as exc:
        assert user_error(exc) == "cannot reach http://127.0.0.1:9/: ConnectionError"
