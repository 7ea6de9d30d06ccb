"""The CRM follows the premium: for a tenant with both the premium portal and Econobis, each kans whose works a
premium application claims gets ONE Budgetaanvraag (subsidy-request kansactie) that follows the application —
its status and the granted amount — through the SPA update the Econobis connector already uses.

Which kansactie: the kans' own Budgetaanvraag when it has one (the coordinator may have made it), else one the
hub creates (marked `[hub:premium:<kans>]`, so a repeat finds it instead of making a second); later updates
find it by that marker. Statuses (contracts/econobis.md §1.7; the dates are set so Econobis' own
observer, §1.8, lands on the same status):

| application | Budgetaanvraag | set |
|---|---|---|
| submitted, in review, documents asked, appeal | `under-review` (Subsidieaanvraag in behandeling) | `dateUnderReview` |
| approved, partly approved | `approved` (Subsidie aanvraag beschikt) | `dateApprovedExternal`, `awardAmount` |
| rejected | `not-approved` (Subsidie aanvraag niet beschikt) | `notApprovedExternal` |
| paid | `approved-det` (Subsidie vastgesteld) | `dateApprovedDetermination`, `awardAmount` = paid |
| withdrawn | `pm-not-approved` (Budgetaanvraag niet akkoord) | — |

Econobis' update ignores `amountDetermination` (the field is commented out in its controller), so the paid
amount goes in `awardAmount`. One update is queued per state of the kans' applications (status, amount, and when
the portal last changed them): planning again, or a replay, queues nothing new; a change queues exactly one,
also a return to an earlier status (after an appeal). Several categories claiming one kans share its
Budgetaanvraag: the kansactie shows the sum, and the furthest-behind status of them (so it never says paid while
a category is still open)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from connectors.econobis.commands import KansactieCreate, KansactieUpdate, enqueue_kansactie_in
from connectors.econobis.settings import PARTNER as ECONOBIS
from connectors.fluvius.settings import PARTNER as PREMIUMS
from hub.connector import Coupling, CouplingStep, PartnerRun
from hub.store import Store

# canonical premium status → (Budgetaanvraag status code_ref, dates/flags to set, amount field)
STATUS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "submitted": ("under-review", {"date_under_review": "submitted_on"}, None),
    "in_review": ("under-review", {"date_under_review": "submitted_on"}, None),
    "more_documents_requested": ("under-review", {"date_under_review": "submitted_on"}, None),
    "appeal_lodged": ("under-review", {"date_under_review": "submitted_on"}, None),
    "approved": ("approved", {"date_approved_external": "decided_on"}, "amount_granted"),
    "partly_approved": ("approved", {"date_approved_external": "decided_on"}, "amount_granted"),
    "rejected": ("not-approved", {"not_approved_external": True}, None),
    "paid": ("approved-det", {"date_approved_determination": "paid_on"}, "amount_paid"),
    "withdrawn": ("pm-not-approved", {}, None),
}
# the order in which a shared kansactie shows the least advanced of its applications
ORDER = ["withdrawn", "submitted", "in_review", "more_documents_requested", "appeal_lodged", "rejected",
         "partly_approved", "approved", "paid"]  # fmt: skip


@dataclass
class FollowReport:
    applications: int = 0
    kansen: int = 0
    created: int = 0
    updates: int = 0
    without_kans: int = 0
    notes: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        return {
            "premium_kansen_followed": self.kansen,
            "budgetaanvragen_created": self.created,
            "budgetaanvraag_updates_queued": self.updates,
            "premiums_without_kans": self.without_kans,
        }


def _kans_ids(store: Store, conn: Connection, tenant: str, opportunity: str) -> list[int]:
    return [int(e) for e in store.external_ids_of(conn, ECONOBIS, tenant, "opportunity", opportunity) if e.isdigit()]


def _own_budgetaanvraag(store: Store, conn: Connection, tenant: str, opportunity: str) -> int | None:
    """The kans' Budgetaanvraag that Econobis already holds (the lowest id), if any."""
    actions = store.child_ids(conn, "action", [opportunity], tenant=tenant).get(opportunity, [])
    rows = store.load_entities(conn, actions, tenant=tenant)
    ids: list[int] = []
    for cid, r in rows.items():
        if r["deleted_at"] is None and r["data"].get("kind") == "subsidy-request":
            ids += [
                int(e) for e in store.external_ids_of(conn, ECONOBIS, tenant, "quotation-request", cid) if e.isdigit()
            ]
    return min(ids) if ids else None


def follow_premiums(store: Store, tenant: str) -> FollowReport:
    report = FollowReport()
    with store.begin() as conn:
        apps = [
            r["data"]
            for r in store.live_entities(conn, "premium_application", tenant)
            if r["data"].get("status") in STATUS
        ]
        by_kans: dict[str, list[dict[str, Any]]] = {}
        for a in apps:
            report.applications += 1
            opps = [str(o) for o in a.get("opportunity_ids") or []]
            if not opps:
                report.without_kans += 1
                continue
            for o in opps:
                by_kans.setdefault(o, []).append(a)
        for opportunity, mine in sorted(by_kans.items()):
            kans = _kans_ids(store, conn, tenant, opportunity)
            if not kans:
                report.without_kans += 1
                continue
            report.kansen += 1
            _follow_one(store, conn, tenant, kans[0], opportunity, mine, report)
    return report


def _follow_one(
    store: Store,
    conn: Connection,
    tenant: str,
    kans: int,
    opportunity: str,
    apps: list[dict[str, Any]],
    report: FollowReport,
) -> None:
    least = min(apps, key=lambda a: ORDER.index(str(a["status"])))
    status, sets, amount_field = STATUS[str(least["status"])]
    # one Budgetaanvraag per kans, whichever applications claim it: the marker names the kans alone
    marker = f"premium:{kans}"
    own = _own_budgetaanvraag(store, conn, tenant, opportunity)
    numbers = ", ".join(sorted({str(a.get("dossier_number")) for a in apps if a.get("dossier_number")}))
    text = f"Premieaanvraag {least.get('scheme')} {numbers or ''}".strip()
    if own is None:
        created = enqueue_kansactie_in(
            store,
            conn,
            tenant,
            KansactieCreate(key=marker, opportunity_id=kans, action="subsidy-request", status="default", text=text),
        )
        report.created += int(created)
    amount = None
    if amount_field is not None:
        values = [a.get(amount_field) for a in apps if a.get(amount_field) is not None]
        amount = round(sum(float(str(v)) for v in values), 2) if values else None
    fields: dict[str, Any] = {}
    for name, source in sets.items():
        fields[name] = source if isinstance(source, bool) else (str(least.get(source) or "")[:10] or None)
    # one update per state of the applications: the status, the amount, and when the portal last changed them
    # (so a status the kansactie had before, reached again after an appeal, is sent again); digested to fit
    state = "|".join([status, str(amount), *sorted(str(a.get("status_at") or "") for a in apps)])
    update = KansactieUpdate(
        key=f"{marker}:{hashlib.sha256(state.encode()).hexdigest()[:24]}",
        quotation_request_id=own,
        opportunity_id=None if own is not None else kans,
        marker=None if own is not None else marker,
        status=status,
        award_amount=amount,
        **{k: v for k, v in fields.items() if v is not None},
    )
    report.updates += int(enqueue_kansactie_in(store, conn, tenant, update))


@dataclass
class _Outcome:
    report: FollowReport

    def metadata(self) -> dict[str, Any]:
        return self.report.metadata()


def _plan(run: PartnerRun) -> _Outcome:
    return _Outcome(follow_premiums(run.store, run.tenant_id))


COUPLING = Coupling(
    name="fluvius_econobis",
    partners=(PREMIUMS, ECONOBIS),
    summary="each kans a premium application claims keeps one Budgetaanvraag in Econobis that follows the "
    "application's status and granted amount",
    before_push={ECONOBIS: CouplingStep(partners=(PREMIUMS, ECONOBIS), run=_plan)},
    feeds=(ECONOBIS,),
)
