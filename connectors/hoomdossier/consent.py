"""Hoomdossier's `allow_access` as consent (hub/consent.py): whether the resident lets the cooperation's
coaches see their dossier in Hoomdossier stands for sharing the resident's data with Hoomdossier.

Hoomdossier never tells the hub of a withdrawal by itself (it only stops sending). What the hub sees:
- a coach link refused with `custom.building-coach-statuses.no-access` (contracts/hoomdossier.md §1.7, check
  5): Hoomdossier says `allow_access` is false → recorded as withdrawn;
- a `woonplan` or `pdf` message: Hoomdossier sends those only for residents with `allow_access` = 1 (§2.3,
  §2.5) → recorded as granted, *implied*: it counts only after Hoomdossier had said no (a resident who
  allowed access again), never against what another system said.
Declared here: a coach link shares the resident (and their coach) with Hoomdossier, so it needs consent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from connectors.hoomdossier.settings import COACH_LINK_OPERATION, ECONOBIS_CONTACTS, PARTNER
from hub.consent import ConsentNeed, Purpose, record
from hub.store import Store

# Hoomdossier's nl text for custom.building-coach-statuses.no-access (lang/nl/validation.php)
NO_ACCESS_TEXTS = ("geen toestemming", "no-access", "no access")
RESIDENT_KEY = "building_coach_statuses.resident_contact_id"
# the messages Hoomdossier's scheduler sends only while the resident allows access
SENT_ONLY_WITH_ACCESS = frozenset({"woonplan", "pdf"})


def resident_of_contact(store: Store, conn: Connection, tenant: str, contact_id: Any) -> str | None:
    """The canonical resident Hoomdossier names by its Econobis contact id, when the hub knows it."""
    return store.lookup_ids(conn, ECONOBIS_CONTACTS, tenant, "contact", [str(contact_id)]).get(str(contact_id))


def coach_link_subjects(
    store: Store, conn: Connection, tenant: str, payload: Mapping[str, Any]
) -> Sequence[str] | None:
    rid = resident_of_contact(store, conn, tenant, payload["resident_contact_id"])
    return None if rid is None else [rid]


def refused_for_no_access(body: Any) -> bool:
    """A 422 whose resident messages say the resident gave no access (check 5 of §1.7)."""
    if not isinstance(body, dict):
        return False
    messages = body.get(RESIDENT_KEY) or []
    return any(any(t in str(m).lower() for t in NO_ACCESS_TEXTS) for m in messages)


def record_allow_access(
    store: Store,
    conn: Connection,
    tenant: str,
    resident_id: str,
    allowed: bool,
    source_ref: str,
    observed_at: datetime | None = None,
    implied: bool = False,
) -> bool:
    """Record what Hoomdossier showed of the resident's `allow_access`; True when it was new."""
    return record(
        store,
        conn,
        tenant,
        resident_id,
        Purpose.SHARE_WITH_PARTNER,
        PARTNER,
        allowed,
        PARTNER,
        source_ref,
        observed_at,
        implied=implied,
    ).logged


# operation → what it shares (`Push.consent`; the outbox worker checks it before every send)
CONSENT: Mapping[str, ConsentNeed] = {
    COACH_LINK_OPERATION: ConsentNeed(Purpose.SHARE_WITH_PARTNER, PARTNER, coach_link_subjects),
}
