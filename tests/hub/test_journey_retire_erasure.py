"""Recomputing journeys next to erasure tombstones and retired dossiers: an erased resident's records are
skipped (no crash, the dossier's journey facts stay as the erasure kept them), and a dossier retired because
its intake was deleted at the source keeps its first stopped date when it is retired again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hub.canonical import Action, Intake, Opportunity, Resident
from hub.config import sandbox_config
from hub.erasure import erase
from hub.journey import DELETED_IN_SOURCE, recompute_dossiers
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store
from hub.store import tables as t

T = "coop-noord"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _seed(store: Store, models, at: datetime = NOW) -> None:
    with store.begin() as conn:
        merge(store, conn, [Incoming(m, "test", m.id, at) for m in models], MergeStats())


def _recompute(store: Store, intake_ids, at: datetime) -> int:
    with store.begin() as conn:
        return recompute_dossiers(store, conn, T, intake_ids, "test", at, MergeStats())


def _dossier(store: Store, intake_id: str, did: str | None = None) -> dict:
    with store.begin() as conn:
        did = did or store.lookup_ids(conn, "hub", T, "dossier", [intake_id])[intake_id]
        return dict(store.load_entities(conn, [did], tenant=T)[did])


def _journey(rid: str, n: int) -> list:
    return [
        Resident(id=rid, tenant=T, last_name=f"Jansen{n}", email=f"r{n}@example.org"),
        Intake(id=f"i{n}", tenant=T, resident_id=rid, status="in_progress", created_at=NOW - timedelta(days=60)),
        Opportunity(id=f"o{n}", tenant=T, intake_id=f"i{n}", status="active", created_at=NOW - timedelta(days=50)),
        Action(
            id=f"a{n}",
            tenant=T,
            opportunity_id=f"o{n}",
            kind="visit",
            status="made",
            date_planned=NOW - timedelta(days=40),
        ),
    ]


def _versions(store: Store) -> dict[str, int]:
    with store.begin() as conn:
        return dict(conn.execute(select(t.entities.c.canonical_id, t.entities.c.version)).all())


def test_recomputing_after_an_erasure_skips_the_tombstones(any_store: Store):
    store = any_store
    _seed(store, _journey("r1", 1) + _journey("r2", 2))
    _recompute(store, ["i1", "i2"], NOW)
    before = _dossier(store, "i1")
    assert before["data"]["phase"] == "advice"
    erase(store, sandbox_config(), T, "r1", "coordinator:1")
    erased = _dossier(store, "i1", before["canonical_id"])
    versions = _versions(store)
    with store.begin() as conn:
        events = store.count_journey_events(conn, T)

    # a later run recomputes both intakes (the erased one is a deleted tombstone now)
    _recompute(store, ["i1", "i2"], NOW + timedelta(days=1))

    after = _dossier(store, "i1", before["canonical_id"])
    assert after["data"] == erased["data"] and after["deleted_at"] is None  # untouched, still counted
    assert after["data"]["phase"] == "advice" and after["data"].get("stop_reason") is None  # not retired
    assert _versions(store) == versions
    with store.begin() as conn:
        assert store.count_journey_events(conn, T) == events


def test_a_dossier_retired_again_keeps_its_first_stopped_date(any_store: Store):
    store = any_store
    _seed(store, _journey("r1", 1))
    _recompute(store, ["i1"], NOW)
    first = NOW + timedelta(days=1)
    with store.begin() as conn:  # the intake is deleted at the source
        store.mark_deleted(conn, ["i1"], tenant=T)
    _recompute(store, ["i1"], first)
    retired = _dossier(store, "i1")
    assert retired["data"]["phase"] == "stopped" and retired["data"]["stop_reason"] == DELETED_IN_SOURCE
    assert datetime.fromisoformat(retired["data"]["phase_since"]) == first
    versions = _versions(store)

    assert _recompute(store, ["i1"], first + timedelta(days=3)) == 0  # retired again on a later run
    again = _dossier(store, "i1")
    assert again["data"] == retired["data"] and _versions(store) == versions


def test_a_dossier_stopped_before_its_intake_was_deleted_keeps_its_stopped_date(any_store: Store):
    store = any_store
    stopped_at = NOW - timedelta(days=10)
    _seed(store, [Intake(id="i1", tenant=T, resident_id=None, status="closed_without_opportunity")])
    _recompute(store, ["i1"], stopped_at)
    assert datetime.fromisoformat(_dossier(store, "i1")["data"]["phase_since"]) == stopped_at
    with store.begin() as conn:
        store.mark_deleted(conn, ["i1"], tenant=T)
    _recompute(store, ["i1"], NOW)
    retired = _dossier(store, "i1")
    assert retired["data"]["stop_reason"] == DELETED_IN_SOURCE
    assert datetime.fromisoformat(retired["data"]["phase_since"]) == stopped_at
