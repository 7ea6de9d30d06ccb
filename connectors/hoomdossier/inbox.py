"""Received Hoomdossier messages applied to the canonical model, in the order received (the inbox side of
this connector; sending them on to Econobis is the coupling's, couplings/econobis_hoomdossier.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from connectors.hoomdossier.mapping import HoomdossierApply
from connectors.hoomdossier.schemas import Delete, parse
from connectors.hoomdossier.settings import INBOX_SOURCE, PARTNER
from hub.erasure import observe_gone
from hub.store import Store, as_utc, utcnow

APPLY_QUARANTINE = f"inbox:{INBOX_SOURCE}:apply"


@dataclass
class ApplyOutcome:
    applied: int = 0
    quarantined: int = 0
    journey_events_added: int = 0
    erasures_confirmed: int = 0
    entities: dict[str, Any] = field(default_factory=dict)
    inbox_now: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "quarantined": self.quarantined,
            "journey_events_added": self.journey_events_added,
            "entities": self.entities,
        }

    def metadata(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "quarantined_on_apply": self.quarantined,
            "journey_events_added": self.journey_events_added,
            "erasures_confirmed": self.erasures_confirmed,
            "entities": self.entities,
            "inbox_now": self.inbox_now,
        }


def apply_inbox(store: Store, tenant: str) -> ApplyOutcome:
    """Apply every not-yet-applied message (oldest first); a message that does not parse is quarantined and
    marked applied, so it never blocks the messages behind it."""
    applier = HoomdossierApply(store, tenant)
    out = ApplyOutcome()
    for m in store.inbox_unapplied(tenant, INBOX_SOURCE):
        endpoint = m["meta"].get("endpoint", "")
        received = as_utc(m["received_at"]) or utcnow()
        with store.begin() as conn:
            try:
                msg = parse(endpoint, _json(m["payload"]))
            except (ValidationError, ValueError, KeyError) as exc:
                store.quarantine_put(
                    conn,
                    tenant,
                    APPLY_QUARANTINE,
                    endpoint,
                    str(m["id"]),
                    f"Hoomdossier message does not match the contract: {str(exc).splitlines()[0][:500]}",
                    {"inbox_id": m["id"]},
                )
                store.inbox_update(conn, m["tenant"], m["id"], applied_at=utcnow())
                out.quarantined += 1
                continue
            applier.apply(conn, endpoint, msg, int(m["id"]), received)
            store.inbox_update(conn, m["tenant"], m["id"], applied_at=utcnow())
            out.applied += 1
        if isinstance(msg, Delete):
            # Hoomdossier deleted the user: an erasure waiting for that is confirmed (after the commit above)
            related = msg.account_related
            for entity, value in (("account", related.account_id), ("building", related.building_id)):
                if value is not None:
                    out.erasures_confirmed += len(observe_gone(store, tenant, PARTNER, entity, [str(value)]))
    out.journey_events_added = applier.journey_events
    out.entities = applier.stats.as_dict()
    return out


def _json(payload: str) -> dict[str, Any]:
    value = json.loads(payload)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value
