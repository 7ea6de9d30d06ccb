"""The watches that no partner keeps: the premium's invoice window and the appeal term.

- **Invoice window** (§2.4, §3.1): a premium must be applied for within 24 months of the first invoice (MVP
  counts from the first invoice, an advance invoice included; ISDE from the execution or installation date).
  A dossier whose window closes within `invoice_window_warn_days` while none of its applications is submitted
  goes on the coordinator's follow-up list, once per dossier and window; it is closed when an application is
  submitted.
- **Appeal term**: a decision that refuses all or part may be appealed within the term (MVP `beroep` 1 month,
  ISDE `bezwaar` 6 weeks; the portal gives `beroep_tot`). One nearing its end (`appeal_warn_days`) goes on the
  list once; closed when the term passed or an appeal was lodged.

Dates are the tenant's local dates (`today`), passed in so tests and the demo can run on the sandbox clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection

from connectors.fluvius.settings import FOLLOW_UP_APPEAL, FOLLOW_UP_INVOICE_WINDOW, ISDE, PARTNER
from connectors.fluvius.wire import day
from hub.followup import Task, close_follow_ups, raise_follow_ups
from hub.store import Store

# statuses of an application that is in the portal's hands (the window no longer matters)
FILED = frozenset(
    {
        "submitted",
        "in_review",
        "more_documents_requested",
        "approved",
        "partly_approved",
        "rejected",
        "appeal_lodged",
        "paid",
    }
)
WINDOW_MONTHS = 24


def add_months(start: date, months: int) -> date:
    """`start` plus whole months (the last day of a shorter month when the day does not exist)."""
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    for d in (start.day, 30, 29, 28):
        try:
            return date(year, month, min(start.day, d))
        except ValueError:
            continue
    return date(year, month, 28)


def window_start(regeling: str, invoices: list[dict[str, Any]]) -> date | None:
    """Where the 24 months start: MVP the first invoice (advance included); ISDE the first execution or
    installation date (the invoice date when none is given)."""
    days = [
        (day(i.get("executed_on")) or day(i.get("issued_on"))) if regeling == ISDE else day(i.get("issued_on"))
        for i in invoices
    ]
    found = [d for d in days if d is not None]
    return min(found) if found else None


@dataclass
class WatchReport:
    windows_flagged: int = 0
    windows_closed: int = 0
    appeals_flagged: int = 0
    appeals_closed: int = 0

    def metadata(self) -> dict[str, Any]:
        return {
            "invoice_windows_flagged": self.windows_flagged,
            "invoice_windows_closed": self.windows_closed,
            "appeal_terms_flagged": self.appeals_flagged,
            "appeal_terms_closed": self.appeals_closed,
        }


def watch(
    store: Store, conn: Connection, tenant: str, regeling: str, today: date, *, warn_days: int, appeal_warn_days: int
) -> WatchReport:
    report = WatchReport()
    invoices: dict[str, list[dict[str, Any]]] = {}
    for r in store.live_entities(conn, "invoice", tenant):
        if r["data"].get("intake_id"):
            invoices.setdefault(str(r["data"]["intake_id"]), []).append(r["data"])
    applications = [r for r in store.live_entities(conn, "premium_application", tenant)]
    filed = {str(r["data"].get("intake_id")) for r in applications if r["data"].get("status") in FILED}
    dossiers = {str(r["data"].get("intake_id")): r for r in store.live_entities(conn, "dossier", tenant)}
    tasks: list[Task] = []
    done: list[str] = []
    for intake, rows in invoices.items():
        start = window_start(regeling, rows)
        if start is None:
            continue
        closes = add_months(start, WINDOW_MONTHS)
        key = f"{FOLLOW_UP_INVOICE_WINDOW}:{intake}:{closes.isoformat()}"
        if intake in filed:
            done.append(key)
            continue
        if today < closes - timedelta(days=warn_days):
            continue
        dossier = dossiers.get(intake)
        left = (closes - today).days
        tasks.append(
            Task(
                key=key,
                kind=FOLLOW_UP_INVOICE_WINDOW,
                reason=(
                    f"the premium's 24-month window closes on {closes.isoformat()} ({left} days left) and no "
                    "application is submitted: apply now or the premium is lost"
                    if left >= 0
                    else f"the premium's 24-month window closed on {closes.isoformat()} without an application"
                ),
                dossier_id=dossier["canonical_id"] if dossier else None,
                dwelling_id=dossier["data"].get("dwelling_id") if dossier else None,
                due_on=closes,
                detail={"window_start": start.isoformat(), "closes_on": closes.isoformat(), "regeling": regeling},
            )
        )
    report.windows_flagged = raise_follow_ups(store, conn, tenant, tasks, PARTNER)
    report.windows_closed = close_follow_ups(store, conn, tenant, done, PARTNER)
    appeal_tasks: list[Task] = []
    appeal_done: list[str] = []
    for r in applications:
        d = r["data"]
        until = day(d.get("appeal_until"))
        if until is None:
            continue
        key = f"{FOLLOW_UP_APPEAL}:{r['canonical_id']}:{until.isoformat()}"
        if d.get("status") not in ("partly_approved", "rejected") or until < today:
            appeal_done.append(key)
            continue
        if today < until - timedelta(days=appeal_warn_days):
            continue
        appeal_tasks.append(
            Task(
                key=key,
                kind=FOLLOW_UP_APPEAL,
                reason=(
                    f"the premium for {d.get('category')} was {str(d.get('status')).replace('_', ' ')} "
                    f"({', '.join(d.get('reason_codes') or []) or 'no reason code'}); the appeal term ends on "
                    f"{until.isoformat()}: decide with the resident whether to appeal"
                ),
                dossier_id=d.get("dossier_id"),
                dwelling_id=d.get("dwelling_id"),
                due_on=until,
                detail={"application": r["canonical_id"], "dossier_number": d.get("dossier_number")},
            )
        )
    report.appeals_flagged = raise_follow_ups(store, conn, tenant, appeal_tasks, PARTNER)
    report.appeals_closed = close_follow_ups(store, conn, tenant, appeal_done, PARTNER)  # only open ones close
    return report
