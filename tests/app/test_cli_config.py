"""Every `hub` command loads the tenants file through the one validation path: `check-config` refuses what
`serve` would refuse, with the same message; a malformed file is one line and exit 2, never a traceback; a
partner that is down is one line naming tenant and partner, and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from tests.hub.test_config import FULL, FULL_ENV, UNREADABLE

ROOT = Path(__file__).resolve().parents[2]
NO_INBOUND_KEY = FULL.replace("inbound_key: HUB_B_HOOM_INBOUND_KEY, ", "")
COMMANDS = [
    ["check-config"],
    ["serve", "--port", "19190"],
    ["pull"],
    ["push"],
    ["signup", "-", "--tenant", "coop-a"],
    ["hoomdossier"],
    ["mart"],
    ["report"],
]


@pytest.fixture
def env(tmp_path, monkeypatch, hub_home):
    for k, v in FULL_ENV.items():
        monkeypatch.setenv(k, v)
    import uvicorn

    def never(*a, **kw):
        raise AssertionError("the receiver started on a config check-config refuses")

    monkeypatch.setattr(uvicorn, "run", never)
    return tmp_path


def write(tmp_path: Path, text: str | bytes) -> str:
    f = tmp_path / "hub.yaml"
    f.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(f)


def test_check_config_accepts_a_valid_file(env, capsys):
    assert main(["--config", write(env, FULL), "check-config"]) == 0
    assert "2 tenant(s) OK: coop-a, coop-b" in capsys.readouterr().out


def test_check_config_and_serve_refuse_a_hoomdossier_partner_without_inbound_key_alike(env, capsys):
    cfg = write(env, NO_INBOUND_KEY)
    assert main(["--config", cfg, "check-config"]) == 2
    checked = capsys.readouterr().err
    assert main(["--config", cfg, "serve", "--port", "19190"]) == 2
    served = capsys.readouterr().err
    assert checked == served
    assert checked.startswith("configuration error: invalid tenants file")
    assert "tenants.coop-b.partners.hoomdossier.secrets.inbound_key is required" in checked


def test_check_config_and_serve_refuse_a_shared_inbound_key_alike(env, capsys, monkeypatch):
    monkeypatch.setenv("HUB_B_HOOM_INBOUND_KEY", FULL_ENV["HUB_A_HOOM_INBOUND_KEY"])
    cfg = write(env, FULL)
    assert main(["--config", cfg, "check-config"]) == 2
    checked = capsys.readouterr().err
    assert main(["--config", cfg, "serve"]) == 2
    assert capsys.readouterr().err == checked
    assert "tenants coop-a and coop-b share an inbound credential" in checked
    assert FULL_ENV["HUB_A_HOOM_INBOUND_KEY"] not in checked


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
@pytest.mark.parametrize(
    ("what", "data", "needle"),
    [u for u in UNREADABLE if u[0] in ("non-UTF-8", "billion laughs", "tenant body a list", "a list")]
    + [("no inbound key", NO_INBOUND_KEY.encode(), "secrets.inbound_key is required")],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else "",
)
def test_every_command_refuses_a_bad_file_in_one_line_with_exit_2(
    env, capsys, monkeypatch, command, what, data, needle
):
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO(""))
    assert main(["--config", write(env, data), *command]) == 2
    out = capsys.readouterr()
    assert needle in out.err and "Traceback" not in out.err + out.out
    assert out.err.count("\n") == 1, out.err
    assert not (env / "home").exists(), "a bad file touched the state store"


@pytest.mark.parametrize("case", ["directory", "non-UTF-8"])
def test_the_installed_command_prints_no_traceback(tmp_path, case):
    """Through a real process, as an operator runs it."""
    target = tmp_path if case == "directory" else write(tmp_path, b"tenants:\n  coop-a: {name: Co\xf6p}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "--config", str(target), "check-config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HUB_HOME": str(tmp_path / "home")},
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("configuration error: tenants file")
    assert proc.stderr.count("\n") == 1


def test_pull_with_the_partner_down_is_one_line_naming_tenant_and_partner(env, capsys, monkeypatch):
    from hub.http.client import PartnerClient

    monkeypatch.setitem(PartnerClient.__init__.__kwdefaults__, "sleep", lambda s: None)  # no backoff waits
    down = FULL.replace("https://coop-a.econobis.nl", "http://127.0.0.1:19191")  # nothing listens there
    assert main(["--config", write(env, down), "pull", "--partner", "econobis"]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    failed = [line for line in out.err.splitlines() if "failed" in line]
    assert len(failed) == 1
    assert failed[0].startswith("pull failed for tenant coop-a: econobis PartnerUnavailable:")
    for value in FULL_ENV.values():
        assert value not in out.err + out.out
