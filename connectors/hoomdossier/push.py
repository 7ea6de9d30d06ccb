"""Pushes into Hoomdossier through the outbox: link the coach of a visit kansactie to the resident's building
(contracts/hoomdossier.md §1.7) — including visits created through Econobis' webform, which Econobis itself
never links (contracts/econobis.md §2.2).

Safe to repeat: the link is looked up first (the hub records every link it made or proxied), and a 422 that
only says "already linked" is the wanted state. While the resident has no Hoomdossier account yet the item
waits (not a failed attempt); a coach Hoomdossier does not know, or a resident who withdrew access, is
retried a few times (someone may fix it) and then quarantined with Hoomdossier's own messages."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection

from connectors.hoomdossier.client import HoomdossierClient
from connectors.hoomdossier.routes import coach_link_known, only_already_linked, record_coach_link
from hub.http import OutcomeUnknown, PartnerError, PartnerRateLimited
from hub.logs import log_event
from hub.reports import RunReport
from hub.store import OutboxRow, Store, utcnow

log = logging.getLogger("connectors.hoomdossier.push")
PARTNER = "hoomdossier"
MAX_ATTEMPTS = 8
RESIDENT_KEY = "building_coach_statuses.resident_contact_id"


class CoachLink(BaseModel):
    coach_contact_id: int
    resident_contact_id: int


def enqueue_coach_link(store: Store, conn: Connection, tenant: str, coach: int, resident: int) -> bool:
    item = store.outbox_enqueue(
        conn,
        tenant,
        PARTNER,
        "coach-link",
        f"hoomdossier:coach-link:{tenant}:{coach}:{resident}",
        CoachLink(coach_contact_id=coach, resident_contact_id=resident).model_dump(),
    )
    return item.created


@dataclass
class HoomdossierPushReport(RunReport):
    tenant: str
    claimed: int = 0
    sent: int = 0
    found_by_lookup: int = 0
    waiting: int = 0
    retry_later: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    calls: dict[str, Any] = field(default_factory=dict)


class HoomdossierPush:
    def __init__(self, store: Store, client: HoomdossierClient, tenant: str, *, backoff: float = 60.0) -> None:
        self.store = store
        self.client = client
        self.tenant = tenant
        self.backoff = backoff
        self.report = HoomdossierPushReport(tenant)

    def run(self, limit: int = 500) -> HoomdossierPushReport:
        started = time.monotonic()
        items = self.store.outbox_claim(self.tenant, PARTNER, limit=limit)
        self.report.claimed = len(items)
        for item in items:
            self._one(item)
        self.report.seconds = round(time.monotonic() - started, 3)
        self.report.calls = self.client.http.stats.as_dict()
        log_event(log, "hoomdossier push finished", tenant=self.tenant, partner=PARTNER, sent=self.report.sent)
        return self.report

    def _one(self, item: OutboxRow) -> None:
        link = CoachLink.model_validate(item["payload"])
        attempts = int(item["attempts"]) + 1
        if coach_link_known(self.store, self.tenant, link.coach_contact_id, link.resident_contact_id):
            self.report.found_by_lookup += 1
            self._done(item, attempts, {"via": "lookup"})
            return
        if not self._resident_registered(link.resident_contact_id):
            self._later(item, attempts - 1, "waiting for the resident's Hoomdossier account", 300.0)
            self.report.waiting += 1
            return
        try:
            resp = self.client.link_coach(link.coach_contact_id, link.resident_contact_id)
        except PartnerRateLimited as exc:
            self._later(item, attempts - 1, str(exc), exc.retry_after or self.backoff)
            return
        except (OutcomeUnknown, PartnerError) as exc:
            # a repeat is harmless: "already linked" counts as done
            self._retry(item, attempts, str(exc), None)
            return
        try:
            answer: Any = resp.json()
        except ValueError:
            answer = resp.text[:500]
        if resp.status_code == 200 or (resp.status_code == 422 and only_already_linked(answer)):
            record_coach_link(self.store, self.tenant, link.coach_contact_id, link.resident_contact_id)
            self._done(item, attempts, {"status": resp.status_code})
            return
        self._retry(item, attempts, f"Hoomdossier refused ({resp.status_code}): {answer}", answer)

    def _resident_registered(self, contact_id: int) -> bool:
        """The hub knows the resident's Hoomdossier account (registered through its proxy, or seen in a
        Hoomdossier message)."""
        with self.store.begin() as conn:
            rid = self.store.lookup_ids(conn, "econobis", self.tenant, "contact", [str(contact_id)]).get(
                str(contact_id)
            )
            return rid is not None and bool(self.store.external_ids_of(conn, PARTNER, self.tenant, "account", rid))

    def _done(self, item: OutboxRow, attempts: int, result: dict[str, Any]) -> None:
        with self.store.begin() as conn:
            self.store.outbox_update(
                conn, item["id"], status="sent", attempts=attempts, sent_at=utcnow(), result=result, last_error=None
            )
        self.report.sent += 1

    def _later(self, item: OutboxRow, attempts: int, reason: str, delay: float) -> None:
        with self.store.begin() as conn:
            self.store.outbox_update(
                conn,
                item["id"],
                status="retry",
                attempts=attempts,
                next_attempt_at=utcnow() + timedelta(seconds=delay),
                last_error=self.client.http.redactor.text(reason)[:2000],
            )
        self.report.retry_later += 1

    def _retry(self, item: OutboxRow, attempts: int, reason: str, answer: Any) -> None:
        if attempts >= MAX_ATTEMPTS:
            with self.store.begin() as conn:
                self.store.outbox_park(conn, item, attempts, self.client.http.redactor.text(reason), answer)
            self.report.quarantined += 1
            return
        self._later(item, attempts, reason, self.backoff * 2 ** min(attempts - 1, 6))
