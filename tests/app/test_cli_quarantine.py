"""`hub quarantine`: a coordinator lists what the hub could not process (filtered by tenant, source, reason, id),
reads one entry with its reason and payload (personal data masked), and replays entries by the same rules and
core function as Dagster's `quarantine_replay`."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from hub.config import HubPaths
from hub.store import Store
from hub.store import tables as t

PAYLOAD = {
    "payload": {
        "first_name": "Sanne",
        "last_name": "Jansen",
        "email": "sanne.jansen@example.org",
        "postcode": "1621AA",
        "number": "12",
        "campaign_id": 11,
    },
    "partner_answer": {"message": "campagne onbekend; bel 0612345678 of mail info@coop.nl"},
}


@pytest.fixture
def store(tmp_path, monkeypatch, hub_home):
    monkeypatch.chdir(tmp_path)
    paths = HubPaths.from_env()
    paths.ensure()
    s = Store.open(paths.database_url())
    with s.begin() as conn:
        # a parked push (its outbox item failed), a stalled dossier without a kans, and another tenant's entry
        item = s.outbox_enqueue(conn, "coop-noord", "econobis", "webform-signup", "signup:web-1", PAYLOAD["payload"])
        row = conn.execute(t.outbox.select().where(t.outbox.c.id == item.id)).mappings().one()
        s.outbox_park(conn, dict(row), 5, "campaign 11 unknown to Econobis", PAYLOAD["partner_answer"])
        s.quarantine_put(conn, "coop-noord", "hub:follow-up", "dossier", "d-1", "stalled without a kans", {"d": 1})
        s.quarantine_put(conn, "coop-zuid", "outbox:econobis", "webform-signup", "signup:z", "campaign 12 unknown", {})
    yield s
    s.dispose()


def _ids(store: Store, tenant: str) -> dict[str, int]:
    with store.begin() as conn:
        return {q["external_id"]: q["id"] for q in store.quarantine_entries(conn, tenant, include_resolved=True)}


def test_list_shows_every_open_entry_as_a_table(store, capsys):
    assert main(["quarantine", "list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("3 open quarantine entries\n")
    assert "campaign 11 unknown to Econobis" in out and "stalled without a kans" in out and "coop-zuid" in out


def test_list_filters_by_tenant_source_reason_and_id_as_json(store, capsys):
    assert main(["quarantine", "list", "--tenant", "coop-noord", "--source", "outbox:econobis", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["tenant"], r["source"], r["external_id"]) for r in rows] == [
        ("coop-noord", "outbox:econobis", "signup:web-1")
    ]
    assert "payload" not in rows[0]  # the list is the overview; `show` has the payload
    assert main(["quarantine", "list", "--reason", "UNKNOWN", "--json"]) == 0
    assert {r["tenant"] for r in json.loads(capsys.readouterr().out)} == {"coop-noord", "coop-zuid"}
    stalled = _ids(store, "coop-noord")["d-1"]
    assert main(["quarantine", "list", "--id", str(stalled), "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [stalled]
    assert main(["quarantine", "list", "--reason", "nothing like it"]) == 0
    assert capsys.readouterr().out.strip() == "no open quarantine entries match"


def test_show_gives_the_reason_and_the_payload_with_personal_data_masked(store, capsys):
    entry = _ids(store, "coop-noord")["signup:web-1"]
    assert main(["quarantine", "show", "--id", str(entry)]) == 0
    out = capsys.readouterr().out
    assert "reason: campaign 11 unknown to Econobis" in out
    assert '"campaign_id": 11' in out  # what explains the refusal stays
    for personal in ("Sanne", "Jansen", "sanne.jansen@example.org", "1621AA", "0612345678", "info@coop.nl"):
        assert personal not in out
    assert main(["quarantine", "show", "--id", str(entry), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["payload"]["payload"]["email"] == "***" and shown["payload"]["payload"]["number"] == "***"
    assert shown["status"] == "open" and shown["occurrences"] == 1


def test_show_of_another_tenants_entry_finds_nothing(store, capsys):
    other = _ids(store, "coop-zuid")["signup:z"]
    assert main(["quarantine", "show", "--tenant", "coop-noord", "--id", str(other)]) == 2
    assert (
        capsys.readouterr().err.strip() == f"hub quarantine: error: tenant coop-noord has no quarantine entry {other}"
    )


def test_replay_of_one_source_requeues_the_push_and_leaves_the_rest_open(store, capsys):
    args = ["quarantine", "replay", "--tenant", "coop-noord", "--source", "outbox:econobis", "--json"]
    assert main(args) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["tenant"] == "coop-noord"
    assert result["open_before"] == 2 and result["requeued"] == {"outbox:econobis": 1} and result["open_after"] == 1
    with store.begin() as conn:
        item = conn.execute(t.outbox.select().where(t.outbox.c.idempotency_key == "signup:web-1")).mappings().one()
        assert item["status"] == "uncertain"  # due again; the push looks before it sends
        assert [q["source"] for q in store.open_quarantine(conn, "coop-noord")] == ["hub:follow-up"]
        assert len(store.open_quarantine(conn, "coop-zuid")) == 1  # another tenant's is not touched


def test_replay_by_reason_prints_a_summary_table(store, capsys):
    assert main(["quarantine", "replay", "--reason", "without a kans"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hub quarantine replay\n")
    noord = next(line for line in out.splitlines() if line.startswith("coop-noord"))
    assert noord.split() == ["coop-noord", "2", "1", "0", "0", "0", "0", "0", "1"]
    with store.begin() as conn:
        assert [q["source"] for q in store.open_quarantine(conn, "coop-noord")] == ["outbox:econobis"]
