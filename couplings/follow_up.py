"""The follow-up of a stalled dossier, written as an Econobis kansactie: one Doorverwijzing "Nog doorverwijzen"
on the dossier's first kans (contracts/econobis.md §1.8: the one type that does not change the kans status), so
the follow-up can neither move nor block the resident's journey. Detection is the core's (hub/followup.py);
the push is Econobis'. A dossier with no kans in Econobis is parked for the coordinator instead."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from connectors.econobis.commands import KANSACTIE_CREATE, KansactieCreate, enqueue_kansactie_in, kansactie_key
from connectors.econobis.settings import PARTNER
from hub.canonical.phases import Phase
from hub.config import FollowUpConfig
from hub.connector import Coupling, FollowUpChannel, PartnerRun, Replay, ReplayRule
from hub.followup import QUARANTINE_SOURCE, Stalled
from hub.followup import stalled_dossiers as _detect
from hub.store import Store


def follow_up_key(stall_key: str) -> str:
    """The outbox key of a stall's follow-up (the Econobis push's kansactie-create key)."""
    return kansactie_key(KANSACTIE_CREATE, stall_key)


def stalled_dossiers(
    store: Store, conn: Connection, tenant: str, cfg: FollowUpConfig, now: datetime | None = None
) -> list[Stalled]:
    """Stalled dossiers of a tenant whose Econobis follow-up is not planned yet (hub/followup.py)."""
    return _detect(store, conn, tenant, cfg, follow_up_key, now)


@dataclass
class FollowUpReport:
    tenant: str
    stalled: int = 0
    enqueued: int = 0
    already_planned: int = 0
    without_kans: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)


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
            created = enqueue_kansactie_in(store, conn, tenant, request)
        if created:
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
    opps = store.child_ids(conn, "opportunity", [intake], tenant=tenant).get(intake, [])
    ids: list[int] = []
    for opp in opps:
        ids.extend(int(e) for e in store.external_ids_of(conn, PARTNER, tenant, "opportunity", opp) if e.isdigit())
    return min(ids) if ids else None


@dataclass
class FollowUpOutcome:
    report: FollowUpReport
    after_days: int

    def metadata(self) -> dict[str, Any]:
        r = self.report
        return {
            "stalled_found": r.stalled,
            "follow_ups_queued": r.enqueued,
            "already_planned": r.already_planned,
            "without_kans": r.without_kans,
            "after_days": self.after_days,
            "preview": r.preview,
        }


def _plan(run: PartnerRun) -> FollowUpOutcome:
    cfg = run.tenant.follow_up
    return FollowUpOutcome(plan_follow_ups(run.store, run.tenant_id, cfg), cfg.after_days)


COUPLING = Coupling(
    name="follow_up",
    partners=(PARTNER,),
    summary="a stalled dossier's follow-up as an Econobis kansactie for the coordinator",
    follow_up=FollowUpChannel(
        partner=PARTNER,
        plan=_plan,
        description=(
            "Stalled dossiers (no journey progress for `follow_up.after_days`, default 7) each get one follow-up "
            "kansactie for the coordinator, queued for econobis_push (once per dossier and phase). A dossier with "
            "no kans in Econobis goes to quarantine, to be followed up by hand."
        ),
    ),
    feeds=(PARTNER,),
    replay={QUARANTINE_SOURCE: ReplayRule(Replay.REDETECT)},
)
