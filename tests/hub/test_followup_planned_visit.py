"""Stalled-dossier detection (hub/followup.py): a dossier with a coach visit planned ahead — a visit kansactie
made for a later day, or an appointment on the resident's dwelling file — is not stalled: the visit is
progress. One whose visit lies in the past still is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.canonical import Action, Appointment, Dwelling, DwellingFile, Intake, Opportunity, Resident
from hub.config import FollowUpConfig
from hub.followup import stalled_dossiers
from hub.journey import recompute_dossiers
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store

T = "coop-noord"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CFG = FollowUpConfig(after_days=7, look_back_days=90)


def _journey(n: int, visits: list[datetime | None], appointment: datetime | None = None) -> list:
    """Resident n, one intake and kans, a done visit 20 days ago, further visits (made) at `visits`, and
    optionally an appointment (naive Amsterdam time) on the resident's dwelling file."""
    rid, oid = f"r{n}", f"o{n}"
    out: list = [
        Resident(id=rid, tenant=T, last_name=f"Jansen{n}"),
        Intake(id=f"i{n}", tenant=T, resident_id=rid, status="in_progress", created_at=NOW - timedelta(days=40)),
        Opportunity(id=oid, tenant=T, intake_id=f"i{n}", status="active", created_at=NOW - timedelta(days=30)),
        Action(
            id=f"a{n}", tenant=T, opportunity_id=oid, kind="visit", status="done", date_planned=NOW - timedelta(days=20)
        ),
    ]
    for k, when in enumerate(visits):
        out.append(Action(id=f"a{n}-{k}", tenant=T, opportunity_id=oid, kind="visit", status="made", date_planned=when))
    if appointment is not None:
        out += [
            Dwelling(id=f"w{n}", tenant=T, resident_id=rid, dwelling_key=f"nl:addr:1000AA|{n}||"),
            DwellingFile(id=f"f{n}", tenant=T, dwelling_id=f"w{n}"),
            Appointment(id=f"p{n}", tenant=T, dwelling_file_id=f"f{n}", resident_id=rid, planned_at=appointment),
        ]
    return out


def _stalled(store: Store, models: list) -> set[str]:
    with store.begin() as conn:
        merge(store, conn, [Incoming(m, "test", m.id, NOW) for m in models], MergeStats())
    intakes = [m.id for m in models if isinstance(m, Intake)]
    with store.begin() as conn:
        recompute_dossiers(store, conn, T, intakes, "test", NOW - timedelta(days=20), MergeStats())
        ids = store.lookup_ids(conn, "hub", T, "dossier", intakes)
        found = stalled_dossiers(store, conn, T, CFG, lambda key: key, NOW)
    by_dossier = {did: iid for iid, did in ids.items()}
    return {by_dossier[s.dossier_id] for s in found}


def test_a_visit_planned_ahead_is_progress_not_a_stall(any_store: Store):
    models = (
        _journey(1, [])  # nothing planned: stalled
        + _journey(2, [NOW + timedelta(days=5)])  # a visit kansactie made for next week
        + _journey(3, [NOW - timedelta(days=10)])  # a visit planned 10 days ago (the day is past): stalled
        + _journey(4, [], appointment=(NOW + timedelta(days=3)).replace(tzinfo=None))  # a Hoomdossier appointment
        + _journey(5, [], appointment=(NOW - timedelta(days=9)).replace(tzinfo=None))  # one in the past
        # a visit ahead by the instant: 13:30 Amsterdam (12:30 UTC) is ahead of 12:00 UTC
        + _journey(6, [], appointment=NOW.replace(hour=13, minute=30, tzinfo=None))
    )
    assert _stalled(any_store, models) == {"i1", "i3", "i5"}
