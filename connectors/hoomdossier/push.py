"""Pushes into Hoomdossier through the outbox: link the coach of a visit kansactie to the resident's building
(contracts/hoomdossier.md §1.7) — including visits created through Econobis' webform, which Econobis itself
never links (contracts/econobis.md §2.2).

Safe to repeat: the link is looked up first (the hub records every link it made or proxied), and a 422 that
only says "already linked" is the wanted state. While the resident has no Hoomdossier account yet the item
waits (not a failed attempt); a coach Hoomdossier does not know is retried a few times (someone may fix it)
and then quarantined with Hoomdossier's own messages. A link shares the resident with Hoomdossier: the worker
checks the resident's consent before every send (consent.py), and a refusal because the resident withdrew
access in Hoomdossier is recorded as a withdrawal and the item withheld. The worker (hub/worker.py) decides
the delays by its one retry table."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection

from connectors.hoomdossier.client import HoomdossierClient
from connectors.hoomdossier.consent import CONSENT, record_allow_access, refused_for_no_access, resident_of_contact
from connectors.hoomdossier.routes import coach_link_known, only_already_linked, record_coach_link
from connectors.hoomdossier.settings import (
    COACH_LINK_OPERATION,
    ECONOBIS_CONTACTS,
    PARTNER,
    PUSH_BATCH,
    REGISTRATION_WAIT_SECONDS,
)
from hub.http import OutcomeUnknown, PartnerError, PartnerRateLimited
from hub.store import OutboxRow, Store
from hub.worker import RETRY, Decision, Failure, OutboxWorker, Park, Retry, Sent, Withhold, WorkReport, outbox_key

WAITING_FOR_REGISTRATION = "waiting_for_registration"


class CoachLink(BaseModel):
    coach_contact_id: int
    resident_contact_id: int


def coach_link_key(tenant: str, coach: int, resident: int) -> str:
    return outbox_key(PARTNER, COACH_LINK_OPERATION, tenant, coach, resident)


def enqueue_coach_link(store: Store, conn: Connection, tenant: str, coach: int, resident: int) -> bool:
    item = store.outbox_enqueue(
        conn,
        tenant,
        PARTNER,
        COACH_LINK_OPERATION,
        coach_link_key(tenant, coach, resident),
        CoachLink(coach_contact_id=coach, resident_contact_id=resident).model_dump(),
    )
    return item.created


class HoomdossierPush:
    """Send one tenant's due coach links to Hoomdossier: the hub's outbox worker with Hoomdossier's send."""

    def __init__(self, store: Store, client: HoomdossierClient, tenant: str, *, backoff: float | None = None) -> None:
        self.store = store
        self.client = client
        self.tenant = tenant
        self.worker = OutboxWorker(
            store,
            tenant,
            PARTNER,
            self._send,
            redact=client.http.redactor.text,
            schedule=RETRY.scaled(backoff),
            metrics=(WAITING_FOR_REGISTRATION,),
            consent=CONSENT,
        )
        self.report = self.worker.report

    def run(self, limit: int = PUSH_BATCH) -> WorkReport:
        return self.worker.run(limit, calls=self.client.http.stats.as_dict)

    def _send(self, item: OutboxRow) -> Decision:
        link = CoachLink.model_validate(item["payload"])
        if coach_link_known(self.store, self.tenant, link.coach_contact_id, link.resident_contact_id):
            return Sent({"via": "lookup"}, found_by_lookup=True)
        if not self._resident_registered(link.resident_contact_id):
            return Retry(
                Failure.WAITING,
                "waiting for the resident's Hoomdossier account",
                REGISTRATION_WAIT_SECONDS,
                WAITING_FOR_REGISTRATION,
            )
        try:
            resp = self.client.link_coach(link.coach_contact_id, link.resident_contact_id)
        except PartnerRateLimited as exc:
            return Retry(Failure.RATE_LIMITED, str(exc), exc.retry_after)
        except (OutcomeUnknown, PartnerError) as exc:
            # a repeat is harmless: "already linked" counts as done
            return Retry(Failure.UNAVAILABLE, str(exc))
        try:
            answer: Any = resp.json()
        except ValueError:
            answer = resp.text[:500]
        if resp.status_code == 200 or (resp.status_code == 422 and only_already_linked(answer)):
            record_coach_link(self.store, self.tenant, link.coach_contact_id, link.resident_contact_id)
            return Sent({"status": resp.status_code})
        if resp.status_code == 422 and refused_for_no_access(answer):
            withheld = self._withdrawn(item, link)
            if withheld is not None:
                return withheld
        # a coach Hoomdossier does not know: someone may fix it
        return Retry(Failure.NOT_YET, f"Hoomdossier refused ({resp.status_code}): {answer}")

    def _withdrawn(self, item: OutboxRow, link: CoachLink) -> Decision | None:
        """Hoomdossier says the resident gave no access: a withdrawal, recorded; the item is withheld."""
        with self.store.begin() as conn:
            rid = resident_of_contact(self.store, conn, self.tenant, link.resident_contact_id)
            if rid is None:
                return None
            ref = f"building-coach-status:{link.resident_contact_id}"
            record_allow_access(self.store, conn, self.tenant, rid, False, ref)
        decision = self.worker.consent_gate(item)
        return decision if isinstance(decision, Withhold) else None

    def _resident_registered(self, contact_id: int) -> bool:
        """The hub knows the resident's Hoomdossier account (registered through its proxy, or seen in a
        Hoomdossier message). Hoomdossier's contract names residents by their Econobis contact id."""
        with self.store.begin() as conn:
            rid = self.store.lookup_ids(conn, ECONOBIS_CONTACTS, self.tenant, "contact", [str(contact_id)]).get(
                str(contact_id)
            )
            return rid is not None and bool(self.store.external_ids_of(conn, PARTNER, self.tenant, "account", rid))


__all__ = ["CoachLink", "HoomdossierPush", "Park", "enqueue_coach_link"]
