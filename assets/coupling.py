"""The Econobis ⇄ Hoomdossier coupling the hub drives, as plain functions (the Dagster assets, the CLI and
the tests call them):

- `apply_hoomdossier_inbox`: stored Hoomdossier messages → canonical model, in the order received.
- `forward_hoomdossier_inbox`: the same messages → the tenant's Econobis, losslessly (connectors/econobis/forward).
- `plan_hoomdossier`: from the canonical model, queue what Hoomdossier needs: a registration (through
  Econobis' make-hoomdossier) for each consenting resident whose intake is in one of the tenant's Hoomdossier
  campaigns, and a coach link for each visit kansactie with a coach in those campaigns.
- `push_hoomdossier`: send the queued coach links to Hoomdossier (registrations go out with `econobis_push`).

Composition lives here because it joins two partners; each connector only knows its own."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from connectors.econobis.client import EconobisClient
from connectors.econobis.forward import EconobisForward, ForwardReport
from connectors.econobis.push import enqueue_make_hoomdossier
from connectors.econobis.routes import INBOX_SOURCE
from connectors.hoomdossier.client import HoomdossierClient
from connectors.hoomdossier.mapping import HoomdossierApply
from connectors.hoomdossier.push import HoomdossierPush, HoomdossierPushReport, enqueue_coach_link
from connectors.hoomdossier.schemas import parse
from hub.config import TenantConfig
from hub.logs import log_event
from hub.store import Store, as_utc, utcnow
from hub.store import tables as t

log = logging.getLogger("assets.coupling")


def apply_hoomdossier_inbox(store: Store, tenant: str) -> dict[str, Any]:
    """Apply every not-yet-applied message (oldest first); a message that does not parse is quarantined and
    marked applied, so it never blocks the messages behind it."""
    applier = HoomdossierApply(store, tenant)
    applied = bad = 0
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
                    f"inbox:{INBOX_SOURCE}:apply",
                    endpoint,
                    str(m["id"]),
                    f"Hoomdossier message does not match the contract: {str(exc).splitlines()[0][:500]}",
                    {"inbox_id": m["id"]},
                )
                store.inbox_update(conn, m["id"], applied_at=utcnow())
                bad += 1
                continue
            applier.apply(conn, endpoint, msg, int(m["id"]), received)
            store.inbox_update(conn, m["id"], applied_at=utcnow())
            applied += 1
    return {
        "applied": applied,
        "quarantined": bad,
        "journey_events_added": applier.journey_events,
        "entities": applier.stats.as_dict(),
    }


def _json(payload: str) -> dict[str, Any]:
    value = json.loads(payload)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def forward_hoomdossier_inbox(
    store: Store, tenant: TenantConfig, client: EconobisClient | None = None, **kwargs: Any
) -> ForwardReport:
    client = client or EconobisClient.for_tenant(tenant, store)
    key = tenant.secret("econobis", "hoom_endpoint_key")
    return EconobisForward(store, client, tenant.id, key, **kwargs).run()


def plan_hoomdossier(store: Store, tenant: TenantConfig) -> dict[str, int]:
    """Queue registrations and coach links (each once: the outbox key is the work itself)."""
    settings = tenant.partner("hoomdossier").settings
    campaigns = [str(c) for c in settings.get("campaign_ids", [])]
    since = _date(settings.get("register_from"))
    out = {"intakes_in_scope": 0, "registrations_queued": 0, "coach_links_queued": 0}
    if not campaigns:
        return out
    with store.begin() as conn:
        campaign_ids = set(store.lookup_ids(conn, "econobis", tenant.id, "campaign", campaigns).values())
        intakes = [
            r
            for r in _live(conn, tenant.id, "intake")
            if r["data"].get("campaign_id") in campaign_ids and _on_or_after(r["data"].get("created_at"), since)
        ]
        out["intakes_in_scope"] = len(intakes)
        resident_ids = sorted({r["data"]["resident_id"] for r in intakes if r["data"].get("resident_id")})
        residents = store.load_entities(conn, resident_ids)
        contacts = store.external_ids(conn, "econobis", tenant.id, "contact", resident_ids)
        for rid in resident_ids:
            data = (residents.get(rid) or {}).get("data") or {}
            if data.get("hoomdossier_account_id") or data.get("kind") == "organisation" or rid not in contacts:
                continue
            if store.external_ids_of(conn, "hoomdossier", tenant.id, "account", rid):
                continue
            if enqueue_make_hoomdossier(store, conn, tenant.id, int(contacts[rid])):
                out["registrations_queued"] += 1
        opps = store.child_ids(conn, "opportunity", [r["canonical_id"] for r in intakes])
        opp_to_resident = {o: r["data"]["resident_id"] for r in intakes for o in opps.get(r["canonical_id"], [])}
        actions = store.child_ids(conn, "action", list(opp_to_resident))
        action_rows = store.load_entities(conn, [a for ids in actions.values() for a in ids])
        coach_ids = {
            a["data"]["coach_or_organisation_id"]
            for a in action_rows.values()
            if a["data"].get("kind") == "visit" and a["data"].get("coach_or_organisation_id")
        }
        coach_contacts = store.external_ids(conn, "econobis", tenant.id, "contact", coach_ids)
        for opp, ids in actions.items():
            resident_contact = contacts.get(opp_to_resident[opp])
            for aid in ids:
                a = action_rows[aid]["data"]
                coach = coach_contacts.get(a.get("coach_or_organisation_id") or "")
                if a.get("kind") != "visit" or coach is None or resident_contact is None:
                    continue
                if enqueue_coach_link(store, conn, tenant.id, int(coach), int(resident_contact)):
                    out["coach_links_queued"] += 1
    log_event(log, "hoomdossier coupling planned", tenant=tenant.id, **out)
    return out


def push_hoomdossier(
    store: Store, tenant: TenantConfig, client: HoomdossierClient | None = None
) -> HoomdossierPushReport:
    client = client or HoomdossierClient.for_tenant(tenant, store)
    return HoomdossierPush(store, client, tenant.id).run()


def _live(conn: Any, tenant: str, entity: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(t.entities.c.canonical_id, t.entities.c.data).where(
            t.entities.c.tenant == tenant, t.entities.c.entity == entity, t.entities.c.deleted_at.is_(None)
        )
    ).mappings()
    return [dict(r) for r in rows]


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _on_or_after(created: Any, since: date | None) -> bool:
    if since is None:
        return True
    if created is None:
        return False
    when = created if isinstance(created, datetime) else datetime.fromisoformat(str(created))
    return when.date() >= since
