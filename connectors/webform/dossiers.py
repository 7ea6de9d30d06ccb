"""Hub-owned dossiers: for a desk without a CRM (an energieloket without Econobis), a checked sign-up opens the
resident's dossier in the hub itself — canonical resident, dwelling, campaign, intake, and the dossier in the
journey's first phase — through the merge, with provenance source `webform`.

It runs as the web-form inbox's `unclaimed` step (hub/connector.py: `Inbox.unclaimed`): only for a tenant whose
sign-ups no coupling takes on, so a tenant with a CRM gets its dossiers from the CRM (the sign-up goes there
first) and never two. Once per sign-up: a replayed delivery is stored once by the receiver; the same sign-up
under a new webhook-id has the same key, which names the intake (xref `webform`/`intake`), so it opens nothing
new — and, as towards a CRM, a re-post with changed answers is not an update (the first one is kept).

The dwelling is keyed like every other source's (hub/canonical/keys.py): a form gives no BAG or Adressenregister
id, so the key is the normalised-address fallback (`nl:addr:…`, `be:addr:{postcode}|{street}|{nr}|{bus}`),
which the registry-resolution upgrade of contracts §4.2 can promote later; no official id is ever made up."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from connectors.webform.settings import INBOX_SOURCE, PARTNER
from hub.canonical import Campaign, Dwelling, Intake, Resident, dwelling_key
from hub.canonical.areas import flemish_area
from hub.canonical.models import Country
from hub.consent import Purpose, record_for
from hub.journey import recompute_dossiers
from hub.logs import log_event
from hub.merge import Incoming, MergeStats, merge
from hub.store import InboxStatus, Store, as_utc, utcnow

log = logging.getLogger("connectors.webform.dossiers")
# The provenance source of what the hub keeps from a sign-up (and the xref system of its ids).
SOURCE = PARTNER
# A hub-owned intake's status: signed up, nobody has picked it up yet (phase 1, interest).
INTAKE_OPEN = "open"


@dataclass
class Opened:
    """What one run of the step did."""

    dossiers_opened: int = 0
    dossiers_already_open: int = 0
    consents_recorded: int = 0
    journey_events: int = 0
    merge: MergeStats = field(default_factory=MergeStats)

    def metadata(self) -> dict[str, Any]:
        return {
            "dossiers_opened": self.dossiers_opened,
            "dossiers_already_open": self.dossiers_already_open,
            "consents_recorded": self.consents_recorded,
            "journey_events": self.journey_events,
        }


def signup_dwelling_key(signup: Mapping[str, Any]) -> str | None:
    """The dwelling's natural key from the address as given: the fallback address key of its country."""
    country = signup.get("country") or "NL"
    return dwelling_key(
        country=country,
        postcode=signup.get("postcode"),
        number=signup.get("number"),
        street=signup.get("street"),
        # the Belgian key's last part is the busnummer, the Dutch one's the addition
        addition=signup.get("box") if country == "BE" else signup.get("addition"),
    )


def _when(value: Any, default: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value)) if value else default
    except ValueError:
        return default


def open_dossier(
    store: Store,
    conn: Connection,
    tenant: str,
    signup: Mapping[str, Any],
    received_at: datetime,
    hub_campaigns: Mapping[str, str],
    privacy_policy_covers: Iterable[str],
    out: Opened,
) -> str | None:
    """Open (once) the dossier of one checked sign-up (connectors/webform/inbox.py) in the caller's
    transaction; returns the intake's canonical id (the dossier is the intake's)."""
    key = str(signup["key"])
    known = store.lookup_ids(conn, SOURCE, tenant, "intake", [key])
    if key in known:
        out.dossiers_already_open += 1
        return known[key]
    ref = f"signup:{key}"
    code = str(signup["campaign"])
    ids = {e: store.resolve_ids(conn, SOURCE, tenant, e, [key])[key] for e in ("resident", "intake")}
    campaign_id = store.resolve_ids(conn, SOURCE, tenant, "campaign", [code])[code]
    dkey = signup_dwelling_key(signup)
    dwelling_id = store.resolve_ids(conn, "hub", tenant, "dwelling", [dkey])[dkey] if dkey else None
    consent = signup.get("consent") or {}
    agreed = bool(consent.get("privacy_policy"))
    items = [
        Incoming(
            Campaign(id=campaign_id, tenant=tenant, name=hub_campaigns.get(code) or code, number=code),
            SOURCE,
            f"campaign:{code}",
            received_at,
        ),
        Incoming(
            Resident(
                id=ids["resident"],
                tenant=tenant,
                kind="person" if signup.get("last_name") else "organisation",
                first_name=signup.get("first_name"),
                last_name_prefix=signup.get("last_name_prefix"),
                last_name=signup.get("last_name"),
                organisation_name=signup.get("organisation_name"),
                email=signup.get("email"),
                phone=signup.get("phone"),
                consent_privacy=agreed,
                created_at=received_at,
            ),
            SOURCE,
            ref,
            received_at,
        ),
        Incoming(
            Intake(
                id=ids["intake"],
                tenant=tenant,
                resident_id=ids["resident"],
                dwelling_id=dwelling_id,
                campaign_id=campaign_id,
                status=INTAKE_OPEN,
                sources=list(signup.get("sources") or []),
                channel="web_form",  # the desk's own web form
                interests=list(signup.get("measures") or []),
                external_code=key,
                created_at=received_at,
            ),
            SOURCE,
            ref,
            received_at,
        ),
    ]
    if dwelling_id is not None:
        country: Country = "BE" if signup.get("country") == "BE" else "NL"
        items.append(
            Incoming(
                Dwelling(
                    id=dwelling_id,
                    tenant=tenant,
                    dwelling_key=dkey,
                    country=country,
                    street=signup.get("street"),
                    number=signup.get("number"),
                    addition=signup.get("addition"),
                    box=signup.get("box"),
                    postcode=signup.get("postcode"),
                    city=signup.get("city"),
                    resident_id=ids["resident"],
                    # a Flemish resident writes the deelgemeente; its NIS code only from the reference table
                    area=flemish_area(SOURCE, signup.get("postcode")) if country == "BE" else None,
                ),
                SOURCE,
                f"{ref}:address",
                received_at,
                natural_key=dkey,
            )
        )
    merge(store, conn, items, out.merge)
    out.journey_events += recompute_dossiers(store, conn, tenant, [ids["intake"]], SOURCE, received_at, out.merge)
    covers = sorted(set(privacy_policy_covers))
    if covers:  # the desk's privacy policy, ticked on its form: consent as data (hub/consent.py)
        out.consents_recorded += record_for(
            store,
            conn,
            tenant,
            ids["resident"],
            Purpose.SHARE_WITH_PARTNER,
            covers,
            agreed,
            SOURCE,
            f"webform-signup:{key}",
            _when(consent.get("given_at"), received_at),
        )
    out.dossiers_opened += 1
    return ids["intake"]


def open_dossiers(
    store: Store, tenant: str, hub_campaigns: Mapping[str, str], privacy_policy_covers: Iterable[str] = ()
) -> Opened:
    """Each checked sign-up not yet settled → its dossier in the hub, and the message marked `kept`, in one
    transaction (a crash between them leaves neither)."""
    out = Opened()
    covers = tuple(privacy_policy_covers)
    for m in store.inbox_open(tenant, INBOX_SOURCE):
        result = m.get("result") or {}
        data = result.get("signup") if isinstance(result, dict) else None
        if m["applied_at"] is None or not data:
            continue  # not checked yet (or refused: then it is failed, not open)
        with store.begin() as conn:
            before = out.dossiers_opened
            received_at = as_utc(m["received_at"])
            intake_id = open_dossier(store, conn, tenant, data, received_at, hub_campaigns, covers, out)
            store.inbox_update(
                conn,
                tenant,
                m["id"],
                status=InboxStatus.KEPT,
                forwarded_at=utcnow(),
                result={**result, "intake_id": intake_id, "newly_opened": out.dossiers_opened > before},
            )
    log_event(
        log,
        "web-form dossiers opened in the hub",
        tenant=tenant,
        opened=out.dossiers_opened,
        already_open=out.dossiers_already_open,
        consents=out.consents_recorded,
    )
    return out
