"""The commands that used to print JSON dumps (`hub hoomdossier`, `erase`, `purge`) print a summary table, and
JSON only with --json (one document on stdout)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from app import cli
from app.cli import main


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_purge_prints_a_line_per_tenant_and_json_only_when_asked(hub_home, capsys):
    assert main(["purge"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "hub purge" and lines[2].split()[0] == "tenant"
    assert {line.split()[0] for line in lines[4:]} == {"coop-noord", "coop-zuid", "loket-leuven"}
    assert not _is_json(out)
    assert main(["purge", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"coop-noord", "coop-zuid", "loket-leuven"}


def test_erase_without_open_erasures_says_so_in_one_line(hub_home, capsys):
    assert main(["erase"]) == 0
    assert capsys.readouterr().out.strip() == "hub erase: no erasure open"
    assert main(["erase", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_an_erasure_audit_record_is_one_line_with_each_partners_step():
    record = {
        "request": "e-1",
        "tenant": "coop-noord",
        "subject": "r-1",
        "requested_by": "coordinator:2",
        "requested_at": "2026-12-08T00:00:00+00:00",
        "status": "waiting",
        "store": {"status": "done"},
        "mart": {"status": "done"},
        "partners": {"hoomdossier": {"status": "confirmed"}, "econobis": {"status": "told"}},
        "removed": {},
        "completed_at": None,
    }
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        cli._print_erasures([record], as_json=False)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "hub erase" and len(lines) == 5
    assert "econobis=told, hoomdossier=confirmed" in lines[4] and lines[4].split()[:3] == [
        "e-1",
        "coop-noord",
        "waiting",
    ]


def test_the_hoomdossier_pass_prints_one_line_per_tenant(monkeypatch, capsys):
    import couplings.econobis_hoomdossier as coupling

    def report(**figures):
        return SimpleNamespace(as_dict=lambda: figures)

    monkeypatch.setattr(coupling, "apply_hoomdossier_inbox", lambda store, t: report(applied=3, quarantined=1))
    monkeypatch.setattr(coupling, "forward_hoomdossier_inbox", lambda store, t: report(forwarded=2, retry_later=1))
    monkeypatch.setattr(coupling, "plan_hoomdossier", lambda store, t: {"registrations": 2, "coach_links": 1})
    monkeypatch.setattr(coupling, "push_hoomdossier", lambda store, t: report(sent=1, quarantined=0))
    pusher = lambda run: SimpleNamespace(run=lambda: report(sent=4, quarantined=1))  # noqa: E731
    tenants = [SimpleNamespace(id="coop-noord"), SimpleNamespace(id="coop-zuid")]
    assert cli._hoomdossier_pass(None, None, tenants, pusher) == 0  # type: ignore[arg-type]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "hub hoomdossier" and len(lines) == 6
    assert lines[4].split() == ["coop-noord", "3", "1", "2", "1", "3", "4", "1", "1"]
    assert cli._hoomdossier_pass(None, None, tenants, pusher, as_json=True) == 0  # type: ignore[arg-type]
    doc = json.loads(capsys.readouterr().out)
    assert [d["tenant"] for d in doc] == ["coop-noord", "coop-zuid"] and doc[0]["planned"]["registrations"] == 2
