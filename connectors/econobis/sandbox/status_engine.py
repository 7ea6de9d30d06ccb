"""The kansactie status rules and kans status derivation of contracts/econobis.md §1.8, and the one write path
(`apply_kansactie_write`) every kansactie save takes, whatever route made it.

`apply_kansactie_write` is what Econobis' QuotationRequestObserver + OpportunityHelper do on every kansactie save:
date-driven status rules (last applicable wins, only if the target code_ref exists for the action type),
then, if the status changed, the kans status is recomputed from all its kansacties."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.lookups import Lookups
from hub.sandbox.php import php_loose_equal

VISIT_OPEN = frozenset({"default", "made"})
QR_OPEN = frozenset({"not-made", "default", "under-review", "under-review-occupant", "pm-approved"})
SUBSIDY_PENDING = frozenset(
    {
        "default",
        "made",
        "pm-approved",
        "linked",
        "under-review-occupant",
        "under-review",
        "approved",
        "under-review-det",
    }
)


def observer_status(
    action: str, status: str, before: dict[str, Any], after: dict[str, Any], valid: set[str]
) -> tuple[str, dict[str, Any]]:
    """The status after a save, by the observer rules. Returns (status, extra field changes)."""
    extra: dict[str, Any] = {}

    # The observer compares a field with its original by PHP's `!=`: on a create the original is null, and
    # null == false == '', so a flag saved as false on a new kansactie is no change.
    def changed(f: str) -> bool:
        return not php_loose_equal(before.get(f), after.get(f))

    def newly_set(f: str) -> bool:
        return changed(f) and after.get(f) not in (None, "", False)

    result = status

    def to(code: str) -> None:
        nonlocal result
        if code in valid:
            result = code

    if action == "redirection" and newly_set("date_planned_attempt1"):
        to("under-review")
    if newly_set("date_planned_attempt3"):
        to("not-made")
    if newly_set("date_planned"):
        to("made")
    if newly_set("date_recorded"):
        to("done")
    if newly_set("date_released"):
        to("under-review-occupant")
    if newly_set("date_under_review"):
        to("under-review")
    if action == "quotation-request" and (changed("date_approved_client") or changed("not_approved_client")):
        if after.get("not_approved_client"):
            to("not-approved")
            extra["date_approved_client"] = None
        elif after.get("date_approved_client"):
            to("approved")
        else:
            to("under-review-occupant")
    if changed("date_approved_project_manager") or changed("not_approved_project_manager"):
        if after.get("not_approved_project_manager"):
            to("pm-not-approved")
        elif after.get("date_approved_project_manager"):
            to("pm-approved")
    if changed("date_approved_external") or changed("not_approved_external"):
        if after.get("not_approved_external"):
            to("not-approved")
        elif after.get("date_approved_external"):
            to("approved")
        else:
            to("under-review")
    if newly_set("date_executed"):
        to("executed")
    if newly_set("date_under_review_determination"):
        to("under-review-det")
    if changed("date_approved_determination") or changed("not_approved_determination"):
        if after.get("not_approved_determination"):
            to("not-approved-det")
        elif after.get("date_approved_determination"):
            to("approved-det")
        else:
            to("under-review-det")
            if changed("date_approved_determination"):
                to("not-approved-det")
    return result, extra


def derive_opportunity_status(current: str, action: str, new_status: str, others: Iterable[tuple[str, str]]) -> str:
    """Kans status after kansactie `action` moved to `new_status`; `others` = (action, status) of the
    kans's other kansacties. Returns `current` when the rules leave the kans alone."""
    others = list(others)
    qrs = [s for a, s in others if a == "quotation-request"]
    visits = [s for a, s in others if a == "visit"]
    qr_open = any(s in QR_OPEN for s in qrs)
    visit_open = any(s in VISIT_OPEN for s in visits)

    if action == "visit":
        if new_status == "made":
            return "in_progress"
        if new_status == "not-made":
            return "pending"
        if new_status == "done":
            if not qrs and not visit_open:
                return "executed"
            if any(s == "executed" for s in qrs) and not qr_open:
                return "executed"
            if qr_open:
                return "pending"
            return current
        if new_status == "cancelled":
            if not qrs and all(s == "cancelled" for s in visits):
                return "no_execution"
            return current
        return current
    if action == "quotation-request":
        if new_status in {"default", "under-review", "under-review-occupant", "no-response", "pm-approved"}:
            return "pending"
        if new_status == "approved":
            if not any(s in {"under-review", "under-review-occupant"} for s in qrs):
                return "mandate"
            return current
        if new_status in {"not-approved", "pm-not-approved", "not-possible"}:
            return "no_execution" if not visit_open and not qr_open else current
        if new_status == "executed":
            return "executed" if not visit_open and not qr_open else current
        return current
    if action == "subsidy-request":
        if new_status in SUBSIDY_PENDING:
            return "subsidy-request_pending"
        if new_status == "approved-det":
            return "subsidy-request_granted"
        executed_elsewhere = any(s == "executed" for s in qrs) or any(s == "done" for s in visits)
        if new_status in {"pm-not-approved", "not-approved"}:
            return "executed" if executed_elsewhere else "subsidy-request_rejected"
        if new_status == "not-approved-det":
            return "executed" if executed_elsewhere else "subsidy-request_pending"
        return current
    return current  # redirection: no effect


def apply_kansactie_write(
    db: SandboxDB,
    lk: Lookups,
    qid: int,
    change: dict[str, Any],
    at: datetime | None = None,
    *,
    created: bool = False,
    updated_with: str = "econobis",
) -> tuple[str, str]:
    """Save a kansactie as Econobis does, whatever route wrote it; returns (kansactie status, kans status).

    An explicit `status` (a code_ref valid for the action type) is set first, as the controllers do; the
    QuotationRequestObserver's date rules then run and may override it (§1.8). If the status changed (or the
    kansactie was just created), an actions-log row is written and the kans status is recomputed
    (OpportunityHelper). Runs in one transaction."""
    at = at or db.now()
    with db.transaction():
        row = db.tables["quotation_requests"][qid]
        action = lk.by_id("opportunityActions", row["opportunity_action_id"])["codeRef"]
        old_status = lk.by_id("quotationRequestStatus", row["status_id"])["codeRef"]
        status = old_status
        fields = {k: v for k, v in change.items() if k != "status"}
        before = dict(row)
        after = {**row, **fields}
        valid = lk.qr_status_codes(action)
        if change.get("status") in valid:
            status = change["status"]
        new_status, extra = observer_status(action, status, before, after, valid)
        status_row = lk.qr_status(action, new_status)
        if status_row is None:  # cannot happen: the observer only moves to a code_ref valid for the action
            raise KeyError(f"quotationRequestStatus has no {action}/{new_status}")
        db.update("quotation_requests", qid, {**fields, **extra, "status_id": status_row["id"], "updated_at": at})
        opp = db.tables["opportunities"][row["opportunity_id"]]
        opp_status = lk.by_id("opportunityStatus", opp["status_id"])["codeRef"]
        if new_status != old_status or created:
            if new_status != old_status:
                db.insert(
                    "quotation_request_actions_log",
                    {
                        "quotation_request_id": qid,
                        "old_status_id": before["status_id"],
                        "new_status_id": status_row["id"],
                        "user_id": db.acting_user,
                        "updated_with": updated_with,
                        "created_at": at,
                    },
                )
            others = [
                (
                    lk.by_id("opportunityActions", q["opportunity_action_id"])["codeRef"],
                    lk.by_id("quotationRequestStatus", q["status_id"])["codeRef"],
                )
                for q in db.kansacties_of(row["opportunity_id"])
                if q["id"] != qid and q.get("deleted_at") is None
            ]
            derived = derive_opportunity_status(opp_status, action, new_status, others)
            if derived != opp_status:
                db.update(
                    "opportunities",
                    opp["id"],
                    {"status_id": lk.by_code("opportunityStatus", derived)["id"], "updated_at": at},
                )
                opp_status = derived
        return new_status, opp_status
