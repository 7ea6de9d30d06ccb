"""Following the portal's applications: their statuses, per-category decisions and payments → the canonical
premium applications, from the webhooks AND from the poll feed, each alone enough.

Both roads end in `apply_application` with the portal's full application (a webhook carries no personal data
and no decision: the hub reads the application it names). What makes them safe together:
- a status already known is not applied again (same portal `updated_at`, same status: `already_known`);
- an older state never overwrites a newer one (`updated_at` before the one stored: `stale`), so a webhook
  delayed behind a poll, or delivered twice, changes nothing;
- a received webhook message is stored under its webhook-id before the 2xx (hub/receiver/webhooks.py), so a
  duplicate delivery is one message.

What follows from a change: a request for more documents becomes a follow-up for the coordinator (once per
request), a decision that refuses all or part records the appeal term (`appeal_until`; the watch flags it
when it nears), and every change re-derives the journey of the dossier (application open → financing; paid
counts toward execution: hub/journey.py)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from connectors.fluvius.client import PortalClient
from connectors.fluvius.settings import (
    APPLICATION_CATEGORY,
    FEED_CURSOR,
    FOLLOW_UP_DOCUMENTS,
    FOLLOW_UP_MANDATE,
    INBOX_SOURCE,
    PARTNER,
    QUARANTINE_SOURCE,
    STATUS_CHANGED,
)
from connectors.fluvius.wire import day, when
from hub.canonical import PremiumApplication
from hub.followup import Task, raise_follow_ups
from hub.http import PartnerAuthError, PartnerError, PartnerNotFound
from hub.journey import recompute_dossiers
from hub.merge import Incoming, MergeStats, merge
from hub.store import InboxStatus, Store, utcnow
from hub.worker import call_metadata

log = logging.getLogger(__name__)

# the portal's status (and a category decision's) → the canonical status
STATUS = {
    "concept": "draft",
    "ingediend": "submitted",
    "in_behandeling": "in_review",
    "aanvulling_gevraagd": "more_documents_requested",
    "goedgekeurd": "approved",
    "gedeeltelijk_goedgekeurd": "partly_approved",
    "afgewezen": "rejected",
    "uitbetaald": "paid",
    "ingetrokken": "withdrawn",
    "beroep_ingediend": "appeal_lodged",
    "herzien": "in_review",
}
# cursor (system `fluvius`) per portal application: the newest `updated_at` the hub applied of it
SEEN_PREFIX = "seen:"
DECIDED = frozenset({"approved", "partly_approved", "rejected"})
OPEN = frozenset({"draft", "submitted", "in_review", "more_documents_requested", "appeal_lodged"})


@dataclass
class FollowReport:
    """What one follow run (poll or webhooks) did."""

    tenant: str
    read: int = 0
    changed: int = 0
    already_known: int = 0
    stale: int = 0
    foreign: int = 0
    documents_asked: int = 0
    messages: int = 0
    quarantined: int = 0
    without_mandate: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    stats: MergeStats = field(default_factory=MergeStats)
    calls: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {
            "applications_read": self.read,
            "changed": self.changed,
            "already_known": self.already_known,
            "stale": self.stale,
            "not_planned_by_hub": self.foreign,
            "documents_asked": self.documents_asked,
            "webhook_messages": self.messages,
            "quarantined": self.quarantined,
            "refused_without_mandate": self.without_mandate,
            "by_status": dict(sorted(self.by_status.items())),
            **call_metadata(self.calls),
        }


def category_status(application: dict[str, Any], item: dict[str, Any]) -> str:
    """One category's canonical status: its own decision once decided (paid when the application was paid and
    the category granted something), else the application's."""
    overall = STATUS.get(str(application.get("status")), "submitted")
    decision = item.get("beslissing") or {}
    if overall in ("draft", "submitted", "in_review", "more_documents_requested", "withdrawn", "appeal_lodged"):
        return overall
    own = STATUS.get(str(decision.get("status")), overall) if decision else overall
    if overall == "paid":
        return "paid" if float(decision.get("toegekend_bedrag") or 0) > 0 else "rejected"
    return own


def apply_application(
    store: Store, conn: Connection, tenant: str, app: dict[str, Any], report: FollowReport, via: str
) -> list[str]:
    """Write one portal application onto its canonical premium applications (one per category) in the
    caller's transaction; returns the intakes whose dossier is to be re-derived."""
    report.read += 1
    ref = str(app.get("referentie") or "")
    cats = [c for c in app.get("categorieen") or [] if isinstance(c, dict) and c.get("categorie")]
    keys = {f"{ref}/{c['categorie']}": c for c in cats}
    ids = store.lookup_ids(conn, PARTNER, tenant, APPLICATION_CATEGORY, list(keys)) if ref else {}
    if not ids:
        report.foreign += 1  # the resident's own, or another organisation's: not the hub's to follow
        return []
    current = store.load_entities(conn, list(ids.values()), tenant=tenant)
    updated = when(app.get("updated_at")) or utcnow()
    items: list[Incoming] = []
    intakes: set[str] = set()
    for key, cid in ids.items():
        row = current.get(cid)
        if row is None or row["deleted_at"] is not None:
            continue
        data = dict(row["data"] or {})
        known_at = when(data.get("status_at"))
        status = category_status(app, keys[key])
        if known_at is not None and updated < known_at:
            report.stale += 1
            continue
        if known_at is not None and updated == known_at and data.get("status") == status:
            report.already_known += 1
            continue
        if status == "draft" and data.get("status") in ("refused_by_portal", "planned"):
            continue  # the portal's draft of a refused (or not yet submitted) application says nothing new
        item = keys[key]
        decision = item.get("beslissing") or {}
        payment = app.get("betaling") or {}
        asked = app.get("aanvulling") or {}
        paid = status == "paid"
        new = {
            **data,
            "status": status,
            "portal_id": str(app.get("id")),
            "dossier_number": app.get("dossiernummer") or data.get("dossier_number"),
            "amount_requested": item.get("aangevraagd_bedrag", data.get("amount_requested")),
            "amount_granted": decision.get("toegekend_bedrag") if decision else data.get("amount_granted"),
            "amount_paid": decision.get("toegekend_bedrag") if paid else None,
            "reason_codes": list(decision.get("reden_codes") or []),
            "more_documents": list(asked.get("documenten_gevraagd") or [])
            if status == "more_documents_requested"
            else [],
            "submitted_on": (day(app.get("ontvangen_op")) or data.get("submitted_on")),
            "decided_on": day(app.get("beslist_op")) if status in DECIDED | {"paid"} else None,
            "paid_on": day(payment.get("betaald_op")) if paid else None,
            "appeal_until": day(app.get("beroep_tot")) if status in ("partly_approved", "rejected") else None,
            "status_at": updated.isoformat(),
        }
        model = PremiumApplication(id=cid, tenant=tenant, **_plain(new))
        items.append(Incoming(model, PARTNER, f"aanvraag:{app.get('id')}:{via}", utcnow()))
        report.by_status[status] = report.by_status.get(status, 0) + 1
        if data.get("intake_id"):
            intakes.add(str(data["intake_id"]))
        if status == "more_documents_requested":
            report.documents_asked += _ask_documents(store, conn, tenant, app, data)
    if items:
        changed = merge(store, conn, items, report.stats)
        report.changed += len(changed)
    seen = when(store.get_cursor(conn, PARTNER, tenant, SEEN_PREFIX + str(app.get("id"))))
    if seen is None or updated > seen:
        store.set_cursor(conn, PARTNER, tenant, SEEN_PREFIX + str(app.get("id")), updated.isoformat())
    return sorted(intakes)


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """The model's fields only (a tombstone's or an older version's extra keys dropped)."""
    return {k: v for k, v in data.items() if k in PremiumApplication.model_fields and k not in ("id", "tenant")}


def _ask_documents(store: Store, conn: Connection, tenant: str, app: dict[str, Any], data: dict[str, Any]) -> int:
    """One follow-up per request for more documents (keyed by the request's date): the coordinator gets the
    documents from the resident; the hub uploads them when the desk's form sends them."""
    asked = app.get("aanvulling") or {}
    kinds = [str(k) for k in asked.get("documenten_gevraagd") or []]
    when = str(asked.get("gevraagd_op") or app.get("updated_at") or "")
    return raise_follow_ups(
        store,
        conn,
        tenant,
        [
            Task(
                key=f"{FOLLOW_UP_DOCUMENTS}:{app.get('id')}:{when[:10]}",
                kind=FOLLOW_UP_DOCUMENTS,
                reason=(
                    f"the premium portal asks more documents for application {app.get('dossiernummer') or ''}"
                    f" ({', '.join(kinds) or 'see the portal'}): get them from the resident"
                ).replace("  ", " "),
                dossier_id=data.get("dossier_id"),
                dwelling_id=data.get("dwelling_id"),
                due_on=day(asked.get("uiterlijk_op")),
                detail={"portal_id": app.get("id"), "documents": kinds},
            )
        ],
        PARTNER,
    )


def _recompute(store: Store, conn: Connection, tenant: str, intakes: list[str], stats: MergeStats) -> None:
    if intakes:
        recompute_dossiers(store, conn, tenant, intakes, PARTNER, utcnow(), stats)


# --- the poll feed --------------------------------------------------------------------------------------------


def poll(store: Store, client: PortalClient, tenant: str, *, full: bool = False) -> FollowReport:
    """Read the applications changed since the last poll (all when `full`), apply each, keep the newest
    `updated_at` as where the next poll starts. The feed's `updated_since` is inclusive: the application at the
    watermark is read again and found already known."""
    report = FollowReport(tenant)
    with store.begin() as conn:
        since = None if full else store.get_cursor(conn, PARTNER, tenant, FEED_CURSOR)
    newest = since
    for page in client.pages(updated_since=since):
        with store.begin() as conn:
            dossiers: set[str] = set()
            for app in page.items:
                dossiers.update(apply_application(store, conn, tenant, app, report, "poll"))
                stamp = str(app.get("updated_at") or "")
                if stamp and (newest is None or stamp > newest):
                    newest = stamp
            _recompute(store, conn, tenant, sorted(dossiers), report.stats)
            if newest is not None:
                store.set_cursor(conn, PARTNER, tenant, FEED_CURSOR, newest)
    report.calls = client.http.stats.as_dict()
    return report


# --- the webhooks -----------------------------------------------------------------------------------------------


class NotAStatusEvent(ValueError):
    """A stored webhook that is not a status change the hub can follow; the message names no personal data."""


def parse_event(payload: str) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError):
        raise NotAStatusEvent("the body is not JSON") from None
    if not isinstance(event, dict) or event.get("type") != STATUS_CHANGED:
        raise NotAStatusEvent(f"event type {event.get('type') if isinstance(event, dict) else None!r} is not handled")
    data = event.get("data")
    if not isinstance(data, dict) or not data.get("id"):
        raise NotAStatusEvent("the event names no application (data.id)")
    return data


def apply_webhooks(store: Store, client: PortalClient, tenant: str) -> FollowReport:
    """Apply every received status event (oldest first): an event whose status the hub already holds at that
    `updated_at` (a duplicate, or one the poll read first) is done without a call; any other reads the
    application and applies it. An application the portal no longer shows (404) or an event that does not
    parse is quarantined with its reason; a portal that does not answer leaves the message for the next run."""
    report = FollowReport(tenant)
    for m in store.inbox_unapplied(tenant, INBOX_SOURCE):
        report.messages += 1
        try:
            data = parse_event(m["payload"])
        except NotAStatusEvent as exc:
            _refuse(store, tenant, m, str(exc), report)
            continue
        if _known(store, tenant, data):
            report.already_known += 1
            _done(store, tenant, m)
            continue
        try:
            app = client.get(str(data["id"]))
        except PartnerNotFound:
            _refuse(store, tenant, m, "the portal does not know the application the event names", report)
            continue
        except PartnerAuthError as exc:
            # this application's mandate no longer stands (the portal reads it only under one): the message is
            # parked for a replay once the desk has a new mandate; the other applications' news goes on
            _refuse(store, tenant, m, f"the portal refuses to show the application: {exc.message}", report)
            report.without_mandate += 1
            _mandate_follow_up(store, tenant, data)
            continue
        except PartnerError as exc:
            log.warning("premium portal unavailable; webhook kept for the next run: %s", exc)
            break
        with store.begin() as conn:
            dossiers = apply_application(store, conn, tenant, app, report, "webhook")
            _recompute(store, conn, tenant, dossiers, report.stats)
        _done(store, tenant, m)
    report.calls = client.http.stats.as_dict()
    return report


def _mandate_follow_up(store: Store, tenant: str, data: dict[str, Any]) -> None:
    """The coordinator's task when the portal no longer shows an application the hub follows (no mandate)."""
    ref = str(data.get("referentie") or "")
    with store.begin() as conn:
        rows = [
            r["data"]
            for r in store.live_entities(conn, "premium_application", tenant)
            if ref and r["data"].get("reference") == ref
        ]
        raise_follow_ups(
            store,
            conn,
            tenant,
            [
                Task(
                    key=f"{FOLLOW_UP_MANDATE}:{data.get('id')}:follow",
                    kind=FOLLOW_UP_MANDATE,
                    reason="the premium portal no longer shows an application to the desk (no mandate): its "
                    "decisions and payment cannot be followed until the resident gives the mandate again",
                    dossier_id=rows[0].get("dossier_id") if rows else None,
                    dwelling_id=rows[0].get("dwelling_id") if rows else None,
                    detail={"portal_id": data.get("id")},
                )
            ],
            PARTNER,
        )


def _known(store: Store, tenant: str, data: dict[str, Any]) -> bool:
    """Whether the hub applied this application at (or after) the event's `updated_at` already."""
    at = when(data.get("updated_at"))
    if at is None:
        return False
    with store.begin() as conn:
        seen = when(store.get_cursor(conn, PARTNER, tenant, SEEN_PREFIX + str(data["id"])))
    return seen is not None and seen >= at


def _done(store: Store, tenant: str, m: Any) -> None:
    with store.begin() as conn:
        store.inbox_update(conn, tenant, m["id"], applied_at=utcnow(), status=InboxStatus.KEPT, last_error=None)


def _refuse(store: Store, tenant: str, m: Any, reason: str, report: FollowReport) -> None:
    with store.begin() as conn:
        store.quarantine_put(
            conn,
            tenant,
            QUARANTINE_SOURCE,
            "webhook",
            str(m["id"]),
            f"premium-portal webhook refused: {reason}",
            {"inbox_id": m["id"], "webhook_id": (m["meta"] or {}).get("webhook_id")},
        )
        store.inbox_update(
            conn, tenant, m["id"], applied_at=utcnow(), status=InboxStatus.FAILED, last_error=reason[:1000]
        )
    report.quarantined += 1
