"""Econobis' privacy agreement as consent (hub/consent.py): what the resident agreed to in Econobis
(`didAgreeAvg`, *akkoord privacybeleid*) stands for sharing the resident's data with the partners it covers
(settings.PRIVACY_AGREEMENT_COVERS: the cooperation's Hoomdossier).

Fed from what Econobis says: a contact's detail (the pull re-reads a contact whose record changed; the
registration push reads it before it asks Econobis to register), and a sign-up the hub sent through the
webform (`akkoord_privacybeleid`; Econobis stores what the sign-up said). Declared here: a registration
(make-hoomdossier) shares the resident's data with Hoomdossier, so it needs that consent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from connectors.econobis.commands import MAKE_HOOMDOSSIER
from connectors.econobis.mapping import SOURCE
from connectors.econobis.settings import HOOMDOSSIER_INBOX, PRIVACY_AGREEMENT_COVERS
from hub.consent import ConsentNeed, Purpose, record_for
from hub.store import Store


def record_privacy_agreement(
    store: Store,
    conn: Connection,
    tenant: str,
    resident_id: str,
    agreed: bool,
    source_ref: str,
    observed_at: datetime | None = None,
    said_after: datetime | None = None,
    undated: bool = False,
) -> int:
    """Record what Econobis holds as the resident's privacy agreement, for every partner it covers. Only a
    change of it is a new statement (a re-read of an unchanged agreement is not); `said_after`, when the
    caller knows when it was said (an audit-trail revision), lets a grant lift a withdrawal made before it;
    `undated` (a sign-up the hub sent on: its own send changed the flag) never does (hub/store/consent.py)."""
    return record_for(
        store,
        conn,
        tenant,
        resident_id,
        Purpose.SHARE_WITH_PARTNER,
        PRIVACY_AGREEMENT_COVERS,
        agreed,
        SOURCE,
        source_ref,
        observed_at,
        said_after,
        undated=undated,
    )


def contact_resident(store: Store, conn: Connection, tenant: str, contact_id: Any) -> str | None:
    """The canonical resident of an Econobis contact, when the hub knows the contact."""
    return store.lookup_ids(conn, SOURCE, tenant, "contact", [str(contact_id)]).get(str(contact_id))


def registration_subjects(
    store: Store, conn: Connection, tenant: str, payload: Mapping[str, Any]
) -> Sequence[str] | None:
    rid = contact_resident(store, conn, tenant, payload["contact_id"])
    return None if rid is None else [rid]


# operation → what it shares (`Push.consent`; the outbox worker checks it before every send)
CONSENT: Mapping[str, ConsentNeed] = {
    MAKE_HOOMDOSSIER: ConsentNeed(Purpose.SHARE_WITH_PARTNER, HOOMDOSSIER_INBOX, registration_subjects),
}
