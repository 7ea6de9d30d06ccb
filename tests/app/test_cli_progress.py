"""Progress and summaries: the core reports its long steps through hub.progress (silent unless the CLI listens);
the CLI draws bars on stderr only on a terminal, nests a pull's streams under it, and ends with one table line
per partner and tenant, or with --json one JSON document on stdout and nothing else."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from app.cli import main
from app.progress import RichReporter, progress_bars, summary_table
from hub import progress
from tests.hub.test_config import FULL, FULL_ENV


class Recorder:
    """A reporter that remembers what it was told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def start(self, label: str, total: int | None = None) -> progress.Task:
        self.events.append(("start", label, str(total)))
        recorder = self

        class T:
            def advance(self, n: int = 1) -> None:
                recorder.events.append(("advance", label, str(n)))

            def set_total(self, total: int | None) -> None:
                recorder.events.append(("total", label, str(total)))

        return T()

    def finish(self, task: progress.Task) -> None:
        self.events.append(("finish",))


def test_without_a_reporter_progress_is_silent():
    with progress.task("anything", total=3) as t:
        t.advance()
        t.set_total(4)  # no reporter installed: nothing happens, nothing fails


def test_the_outbox_worker_reports_its_items(tmp_path):
    from hub.store import Store
    from hub.worker import OutboxWorker, Sent

    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    with store.begin() as conn:
        for i in range(3):
            store.outbox_enqueue(conn, "coop-a", "crm", "op", f"k-{i}", {"i": i})
    rec = Recorder()
    with progress.reporting(rec):
        OutboxWorker(store, "coop-a", "crm", lambda item: Sent({"ok": True}), consent={}).run()
    store.dispose()
    assert rec.events[0] == ("start", "push crm", "3")
    assert rec.events.count(("advance", "push crm", "1")) == 3
    assert rec.events[-1] == ("finish",)


def test_bars_nest_a_step_inside_another_and_keep_only_the_outer_row():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    reporter = RichReporter(console)
    with reporter.bars, progress.reporting(reporter):
        with progress.task("pull crm coop-a"), progress.task("contact") as inner:
            inner.set_total(10)
            inner.advance(10)
            assert [t.description for t in reporter.bars.tasks] == ["pull crm coop-a", "  contact"]
        assert [t.description for t in reporter.bars.tasks] == ["pull crm coop-a"]
        assert reporter.bars.tasks[0].finished
    drawn = out.getvalue()
    assert "pull crm coop-a" in drawn and "/?" not in drawn  # a step of unknown size shows no count


def test_no_bars_when_stderr_is_not_a_terminal():
    console = Console(file=io.StringIO())  # a pipe, a log file, CI
    with progress_bars(console=console) as reporter:
        assert reporter is None
        with progress.task("quiet") as t:
            t.advance()
    assert console.file.getvalue() == ""  # type: ignore[attr-defined]


def test_a_summary_table_has_one_line_per_row_and_no_trailing_blanks():
    text = summary_table(
        "hub pull", ["partner", "tenant", "new", "seconds"], [["crm", "coop-a", 12, 3.25], ["crm", "b", None, None]]
    )
    assert text.splitlines() == [
        "hub pull",
        "",
        "partner  tenant  new  seconds",
        "-----------------------------",
        "crm      coop-a   12      3.2",
        "crm      b         -        -",
    ]


@pytest.fixture
def down(tmp_path, monkeypatch, hub_home):
    from hub.http.client import PartnerClient

    for k, v in FULL_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setitem(PartnerClient.__init__.__kwdefaults__, "sleep", lambda s: None)  # no backoff waits
    f = tmp_path / "hub.yaml"
    f.write_text(FULL.replace("https://coop-a.econobis.nl", "http://127.0.0.1:19191"), encoding="utf-8")
    return str(f)


def test_pull_json_is_one_json_document_on_stdout_even_when_a_partner_is_down(down, capsys):
    assert main(["--config", down, "pull", "--partner", "econobis", "--tenant", "coop-a", "--json"]) == 1
    out = capsys.readouterr()
    (row,) = json.loads(out.out)
    assert row["partner"] == "econobis" and row["tenant"] == "coop-a" and row["ok"] is False
    assert "PartnerUnavailable" in row["error"]
    assert "pull failed for tenant coop-a" in out.err


def test_pull_ends_with_a_table_line_per_partner_and_tenant(down, capsys):
    assert main(["--config", down, "pull", "--partner", "econobis", "--tenant", "coop-a"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "hub pull"
    assert lines[2].split() == [
        "partner",
        "tenant",
        "result",
        "seen",
        "new",
        "updated",
        "unchanged",
        "quarantined",
        "calls",
        "seconds",
    ]
    assert lines[4].split()[:3] == ["econobis", "coop-a", "FAILED"]
    assert len(lines) == 5
