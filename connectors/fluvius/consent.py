"""What the premium push needs consent for: an application is made in the resident's name, so every `premium-apply`
and `premium-documents` item is checked for the resident's `apply-for-premium` statement for this partner
(hub/consent.py; without a granted one nothing is sent, and no record never means yes). The desk's form records
it with the mandate reference; the portal's own 403 `MANDAAT_ONTBREKEND` records a withdrawal (push.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from connectors.fluvius.settings import APPLY, MORE_DOCUMENTS, PARTNER
from hub.consent import ConsentNeed, Purpose
from hub.store import Store


def _applicant(store: Store, conn: Connection, tenant: str, payload: Mapping[str, Any]) -> Sequence[str] | None:
    resident = payload.get("resident_id")
    return [str(resident)] if resident else None


CONSENT = {
    APPLY: ConsentNeed(Purpose.APPLY_FOR_PREMIUM, PARTNER, _applicant),
    MORE_DOCUMENTS: ConsentNeed(Purpose.APPLY_FOR_PREMIUM, PARTNER, _applicant),
}
