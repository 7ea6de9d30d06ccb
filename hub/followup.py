"""Stalled dossiers and their follow-up ("als na 1 week niets gebeurt → bellen of mailen", DOMAIN.md).

A dossier is stalled when its latest journey event (the last phase it reached, at the time the partner's
evidence says) lies more than `follow_up.after_days` ago but within `follow_up.look_back_days`, it is in one
of `follow_up.phases`, and it reached neither done nor stopped. Each stall gets ONE follow-up kansactie for the
coordinator in Econobis, on the dossier's kans: the outbox key is (dossier, phase), so a stall is followed up
once however often it is detected, and the Econobis push finds a kansactie it already created by its marker.
A dossier that moves on and stalls again in a later phase gets a new follow-up.

Detection reads only the state store (the stalled-dossier sensor calls it in its tick); planning writes only
the store (outbox or quarantine); the push is the Econobis outbox's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, select

from connectors.econobis.push import PARTNER, KansactieCreate
from hub.canonical.phases import Phase
from hub.config import FollowUpConfig
from hub.store import Store, as_utc, utcnow
from hub.store import tables as t

QUARANTINE_SOURCE = "hub:follow-up"
OPERATION = "kansactie-create"


@dataclass(frozen=True)
class Stalled:
    dossier_id: str
    phase: str
    last_progress: datetime
    intake_id: str | None = None

    @property
    def key(self) -> str:
        """The follow-up's key: one per dossier and phase (also the marker Econobis' kansactie carries)."""
        return f"stalled:{self.dossier_id}:{self.phase}"

    @property
    def outbox_key(self) -> str:
        return f"{PARTNER}:{OPERATION}:{self.key}"


@dataclass
class FollowUpReport:
    tenant: str
    stalled: int = 0
    enqueued: int = 0
    already_planned: int = 0
    without_kans: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)


def stalled_dossiers(
    store: Store, conn: Connection, tenant: str, cfg: FollowUpConfig, now: datetime | None = None
) -> list[Stalled]:
    """Stalled dossiers of a tenant whose follow-up is not planned yet (neither queued nor parked), oldest
    stall first, at most `cfg.max_per_run`. Store reads only: safe inside a sensor tick."""
    if not cfg.enabled:
        return []
    now = now or utcnow()
    je = t.journey_events
    last = func.max(je.c.occurred_at)
    terminal = func.sum(case((je.c.phase.in_([Phase.DONE.value, Phase.STOPPED.value]), 1), else_=0))
    rows = conn.execute(
        select(je.c.dossier_id, last.label("last"))
        .where(je.c.tenant == tenant)
        .group_by(je.c.dossier_id)
        .having(
            last < _param(conn, now - timedelta(days=cfg.after_days)),
            last >= _param(conn, now - timedelta(days=cfg.look_back_days)),
            terminal == 0,
        )
        .order_by(last, je.c.dossier_id)
    ).all()
    if not rows:
        return []
    last_by_dossier = {r.dossier_id: as_utc(r.last) for r in rows}
    dossiers = store.load_entities(conn, list(last_by_dossier))
    candidates = [
        Stalled(did, str(d["data"].get("phase")), when or now, d["data"].get("intake_id"))
        for did, when in last_by_dossier.items()
        if (d := dossiers.get(did)) is not None and d.get("deleted_at") is None and d["data"].get("phase") in cfg.phases
    ]
    planned = _planned(conn, tenant, candidates)
    return [s for s in candidates if s.key not in planned][: cfg.max_per_run]


def _param(conn: Connection, value: datetime) -> datetime:
    # SQLite keeps datetimes as naive text (UTC here); PostgreSQL compares aware values.
    return value.replace(tzinfo=None) if conn.dialect.name == "sqlite" else value


def _planned(conn: Connection, tenant: str, candidates: list[Stalled]) -> set[str]:
    """Keys of candidates whose follow-up is already in the outbox (any status) or parked in quarantine."""
    if not candidates:
        return set()
    by_outbox = {s.outbox_key: s.key for s in candidates}
    found: set[str] = set()
    keys = list(by_outbox)
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        found.update(
            by_outbox[k]
            for (k,) in conn.execute(select(t.outbox.c.idempotency_key).where(t.outbox.c.idempotency_key.in_(chunk)))
        )
        parked = [by_outbox[k] for k in chunk]
        found.update(
            e
            for (e,) in conn.execute(
                select(t.quarantine.c.external_id).where(
                    t.quarantine.c.tenant == tenant,
                    t.quarantine.c.source == QUARANTINE_SOURCE,
                    t.quarantine.c.external_id.in_(parked),
                    t.quarantine.c.resolved_at.is_(None),
                )
            )
        )
    return found


def plan_follow_ups(
    store: Store, tenant: str, cfg: FollowUpConfig, now: datetime | None = None, preview: int = 10
) -> FollowUpReport:
    """Queue a follow-up kansactie for each newly stalled dossier (one transaction per dossier); a dossier
    with no kans in Econobis to hang it on is parked in quarantine with the reason, for the coordinator."""
    report = FollowUpReport(tenant)
    with store.begin() as conn:
        found = stalled_dossiers(store, conn, tenant, cfg, now)
    report.stalled = len(found)
    for s in found:
        with store.begin() as conn:
            kans = _econobis_kans(store, conn, tenant, s.intake_id)
            if kans is None:
                store.quarantine_put(
                    conn,
                    tenant,
                    QUARANTINE_SOURCE,
                    "dossier",
                    s.key,
                    f"dossier stalled in phase {s.phase} since {s.last_progress:%Y-%m-%d}, but it has no kans in "
                    "Econobis to hang a follow-up kansactie on: follow the resident up by hand",
                    {"dossier_id": s.dossier_id, "phase": s.phase, "last_progress": s.last_progress.isoformat()},
                )
                report.without_kans += 1
                continue
            request = KansactieCreate(
                key=s.key,
                opportunity_id=kans,
                action=cfg.action,
                status=cfg.status,
                text=(
                    f"Opvolgen: geen voortgang sinds {s.last_progress:%d-%m-%Y} (fase "
                    f"{Phase(s.phase).label}). Neem contact op met de bewoner."
                ),
            )
            item = store.outbox_enqueue(conn, tenant, PARTNER, OPERATION, s.outbox_key, request.model_dump())
        if item.created:
            report.enqueued += 1
            if len(report.preview) < preview:
                report.preview.append(
                    {
                        "dossier": s.dossier_id[:8],
                        "phase": s.phase,
                        "since": f"{s.last_progress:%Y-%m-%d}",
                        "kans": kans,
                    }
                )
        else:
            report.already_planned += 1
    return report


def _econobis_kans(store: Store, conn: Connection, tenant: str, intake: str | None) -> int | None:
    """The first live kans in Econobis (lowest id) of the dossier's intake, or None."""
    if not intake:
        return None
    opps = store.child_ids(conn, "opportunity", [intake]).get(intake, [])
    ids: list[int] = []
    for opp in opps:
        ids.extend(int(e) for e in store.external_ids_of(conn, PARTNER, tenant, "opportunity", opp) if e.isdigit())
    return min(ids) if ids else None
