"""Stalled dossiers ("als na 1 week niets gebeurt → bellen of mailen", DOMAIN.md): their detection. Their
follow-up is planned by a follow-up channel of a coupling (couplings/follow_up.py).

A dossier is stalled when its latest journey event (the last phase it reached, at the time the partner's evidence
says) lies more than `follow_up.after_days` ago but within `follow_up.look_back_days`, it is in one of
`follow_up.phases`, it reached neither done nor stopped, and no coach visit is planned ahead for it (a visit
kansactie made for a later time, or an appointment on the resident's dwelling file: that is progress). Each stall
gets ONE follow-up for the coordinator: the outbox key is (dossier, phase), so a stall is followed up once however
often it is detected, and the push finds a follow-up it already created by its marker.
A dossier that moves on and stalls again in a later phase gets a new follow-up.

Detection reads only the state store (the stalled-dossier sensor calls it in its tick); planning writes only
the store (outbox or quarantine); the push is the channel partner's outbox's.

The hub's own follow-up list (`raise_follow_ups`): tasks for the coordinator that no partner's task list
carries (a tenant without a CRM, a renovation deadline that nears while the dossier is early, a doubtful
address join), stored as canonical `follow_up` records and shown in the mart's `follow_ups`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from hub.canonical.models import FollowUp
from hub.canonical.phases import Phase
from hub.config import FollowUpConfig
from hub.journey import visits_ahead
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store, utcnow

QUARANTINE_SOURCE = "hub:follow-up"
OutboxKey = Callable[[str], str]


@dataclass(frozen=True)
class Stalled:
    dossier_id: str
    phase: str
    last_progress: datetime
    intake_id: str | None = None

    @property
    def key(self) -> str:
        """The follow-up's key: one per dossier and phase (also the marker the follow-up carries)."""
        return f"stalled:{self.dossier_id}:{self.phase}"


def stalled_dossiers(
    store: Store,
    conn: Connection,
    tenant: str,
    cfg: FollowUpConfig,
    outbox_key: OutboxKey,
    now: datetime | None = None,
) -> list[Stalled]:
    """Stalled dossiers of a tenant whose follow-up is not planned yet (neither queued nor parked), oldest
    stall first, at most `cfg.max_per_run`. `outbox_key`: the follow-up channel's outbox key of a stall's key
    (couplings/follow_up.py). Store reads only: safe inside a sensor tick."""
    if not cfg.enabled:
        return []
    now = now or utcnow()
    last_by_dossier = store.journey_last_progress(
        conn,
        tenant,
        before=now - timedelta(days=cfg.after_days),
        since=now - timedelta(days=cfg.look_back_days),
        excluding=(Phase.DONE.value, Phase.STOPPED.value),
    )
    if not last_by_dossier:
        return []
    dossiers = store.load_entities(conn, list(last_by_dossier), tenant=tenant)
    live = {
        did: d["data"]
        for did in last_by_dossier
        if (d := dossiers.get(did)) is not None and d.get("deleted_at") is None and d["data"].get("phase") in cfg.phases
    }
    # a coach visit planned ahead is progress: the dossier waits for it, it is not stalled
    ahead = visits_ahead(store, conn, tenant, live, now)
    candidates = [
        Stalled(did, str(data.get("phase")), last_by_dossier[did] or now, data.get("intake_id"))
        for did, data in live.items()
        if did not in ahead
    ]
    planned = _planned(store, conn, tenant, candidates, outbox_key)
    return [s for s in candidates if s.key not in planned][: cfg.max_per_run]


def _planned(store: Store, conn: Connection, tenant: str, candidates: list[Stalled], outbox_key: OutboxKey) -> set[str]:
    """Keys of candidates whose follow-up is already in the outbox (any status) or parked in quarantine."""
    if not candidates:
        return set()
    by_outbox = {outbox_key(s.key): s.key for s in candidates}
    found = {by_outbox[k] for k in store.outbox_keys_present(conn, tenant, by_outbox)}
    found |= store.quarantine_open_ids(conn, tenant, QUARANTINE_SOURCE, [s.key for s in candidates])
    return found


# --- the hub's own follow-up list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One task for the hub's own follow-up list (canonical `follow_up`, the mart's `follow_ups`): `key` makes it
    once-only (the same key raised again is the same task; a changed reason updates it, a done task stays done)."""

    key: str
    kind: str
    reason: str
    dossier_id: str | None = None
    dwelling_id: str | None = None
    due_on: date | None = None
    detail: Mapping[str, Any] | None = None


def raise_follow_ups(
    store: Store, conn: Connection, tenant: str, tasks: list[Task], source: str, now: datetime | None = None
) -> int:
    """Put tasks on the tenant's follow-up list in the caller's transaction; returns how many are new. A task
    already on the list keeps its status and when it was raised."""
    if not tasks:
        return 0
    now = now or utcnow()
    ids = store.resolve_ids(conn, "hub", tenant, "follow_up", [t.key for t in tasks])
    existing = store.load_entities(conn, list(ids.values()), tenant=tenant)
    items = []
    for t in tasks:
        fid = ids[t.key]
        old = existing.get(fid)
        old_data = old["data"] if old else {}
        model = FollowUp(
            id=fid,
            tenant=tenant,
            dossier_id=t.dossier_id,
            dwelling_id=t.dwelling_id,
            kind=t.kind,
            reason=t.reason,
            due_on=t.due_on,
            status=old_data.get("status", "open"),
            raised_at=old_data.get("raised_at") or now,
            detail=dict(t.detail or {}),
        )
        items.append(Incoming(model, source, t.key, now, natural_key=t.key))
    stats = MergeStats()
    merge(store, conn, items, stats)
    return stats.total("created")


def close_follow_ups(store: Store, conn: Connection, tenant: str, keys: list[str], source: str) -> int:
    """Mark the open tasks with these keys done (e.g. the deadline was met); returns how many were open."""
    ids = store.lookup_ids(conn, "hub", tenant, "follow_up", keys)
    rows = store.load_entities(conn, list(ids.values()), tenant=tenant)
    items = []
    for fid, row in rows.items():
        if row["data"].get("status") == "open" and row["deleted_at"] is None:
            data = {**row["data"], "status": "done"}
            items.append(Incoming(FollowUp(id=fid, tenant=tenant, **data), source, f"closed:{fid}", utcnow()))
    stats = MergeStats()
    merge(store, conn, items, stats)
    return len(items)


def open_follow_ups(store: Store, conn: Connection, tenant: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The tenant's open tasks (their data with `_id`), optionally of one kind."""
    return [
        {**r["data"], "_id": r["canonical_id"]}
        for r in store.live_entities(conn, "follow_up", tenant)
        if r["data"].get("status") == "open" and (kind is None or r["data"].get("kind") == kind)
    ]
