"""Stalled dossiers ("als na 1 week niets gebeurt → bellen of mailen", DOMAIN.md): their detection. Their
follow-up is planned by a follow-up channel of a coupling (couplings/follow_up.py).

A dossier is stalled when its latest journey event (the last phase it reached, at the time the partner's
evidence says) lies more than `follow_up.after_days` ago but within `follow_up.look_back_days`, it is in one
of `follow_up.phases`, and it reached neither done nor stopped. Each stall gets ONE follow-up for the
coordinator: the outbox key is (dossier, phase), so a stall is followed up once however often it is
detected, and the push finds a follow-up it already created by its marker.
A dossier that moves on and stalls again in a later phase gets a new follow-up.

Detection reads only the state store (the stalled-dossier sensor calls it in its tick); planning writes only
the store (outbox or quarantine); the push is the channel partner's outbox's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from hub.canonical.phases import Phase
from hub.config import FollowUpConfig
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
    candidates = [
        Stalled(did, str(d["data"].get("phase")), when or now, d["data"].get("intake_id"))
        for did, when in last_by_dossier.items()
        if (d := dossiers.get(did)) is not None and d.get("deleted_at") is None and d["data"].get("phase") in cfg.phases
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
