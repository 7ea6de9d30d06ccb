"""The Econobis ⇄ Hoomdossier coupling the hub drives (each connector only knows its own partner):

- received Hoomdossier messages, once applied, are sent on to the tenant's Econobis losslessly
  (`forward_hoomdossier_inbox`, by connectors/econobis/forward.py);
- from the canonical model, what Hoomdossier needs is queued (`plan_hoomdossier`): a registration (through
  Econobis' make-hoomdossier, which calls the hub's idempotent register proxy) for each consenting resident
  whose intake is in one of the tenant's Hoomdossier campaigns, and a coach link for each visit kansactie
  with a coach in those campaigns;
- the sandboxes are wired the way a cooperation wires the real systems to the hub.

The registration loop, end to end: canonical intake → `plan_hoomdossier` → Econobis outbox `make-hoomdossier`
→ Econobis → its `hoom_link`, the hub's receiver (connectors/hoomdossier/routes.py `Proxy.register`) →
Hoomdossier → the ids in the xref → the coach-link push sees the resident registered."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from connectors.econobis import connector as econobis
from connectors.econobis.client import EconobisClient
from connectors.econobis.commands import enqueue_make_hoomdossier
from connectors.econobis.forward import EconobisForward, ForwardReport
from connectors.hoomdossier import connector as hoomdossier
from connectors.hoomdossier.client import HoomdossierClient
from connectors.hoomdossier.inbox import ApplyOutcome, apply_inbox
from connectors.hoomdossier.push import HoomdossierPush, enqueue_coach_link
from connectors.hoomdossier.settings import INBOX_SOURCE as HOOMDOSSIER_INBOX
from hub.config import TenantConfig
from hub.connector import Coupling, CouplingStep, PartnerRun
from hub.logs import log_event
from hub.store import Store
from hub.worker import WorkReport

log = logging.getLogger("couplings.econobis_hoomdossier")
ECONOBIS, HOOMDOSSIER = econobis.CONNECTOR.name, hoomdossier.CONNECTOR.name


def apply_hoomdossier_inbox(store: Store, tenant: str) -> ApplyOutcome:
    return apply_inbox(store, tenant)


def forward_hoomdossier_inbox(
    store: Store, tenant: TenantConfig, client: EconobisClient | None = None, **kwargs: Any
) -> ForwardReport:
    client = client or EconobisClient.for_tenant(tenant, store)
    key = tenant.secret(ECONOBIS, "hoom_endpoint_key")
    return EconobisForward(store, client, tenant.id, key, **kwargs).run()


def plan_hoomdossier(store: Store, tenant: TenantConfig) -> dict[str, int]:
    """Queue registrations and coach links (each once: the outbox key is the work itself)."""
    settings = tenant.partner(HOOMDOSSIER).settings
    campaigns = [str(c) for c in settings.get("campaign_ids", [])]
    since = _date(settings.get("register_from"))
    out = {"intakes_in_scope": 0, "registrations_queued": 0, "coach_links_queued": 0}
    if not campaigns:
        return out
    with store.begin() as conn:
        campaign_ids = set(store.lookup_ids(conn, ECONOBIS, tenant.id, "campaign", campaigns).values())
        intakes = [
            r
            for r in store.live_entities(conn, "intake", tenant.id)
            if r["data"].get("campaign_id") in campaign_ids and _on_or_after(r["data"].get("created_at"), since)
        ]
        out["intakes_in_scope"] = len(intakes)
        resident_ids = sorted({r["data"]["resident_id"] for r in intakes if r["data"].get("resident_id")})
        residents = store.load_entities(conn, resident_ids, tenant=tenant.id)
        contacts = store.external_ids(conn, ECONOBIS, tenant.id, "contact", resident_ids)
        for rid in resident_ids:
            data = (residents.get(rid) or {}).get("data") or {}
            if data.get("hoomdossier_account_id") or data.get("kind") == "organisation" or rid not in contacts:
                continue
            if store.external_ids_of(conn, HOOMDOSSIER, tenant.id, "account", rid):
                continue
            if enqueue_make_hoomdossier(store, conn, tenant.id, int(contacts[rid])):
                out["registrations_queued"] += 1
        opps = store.child_ids(conn, "opportunity", [r["canonical_id"] for r in intakes], tenant=tenant.id)
        opp_to_resident = {o: r["data"]["resident_id"] for r in intakes for o in opps.get(r["canonical_id"], [])}
        actions = store.child_ids(conn, "action", list(opp_to_resident), tenant=tenant.id)
        action_rows = store.load_entities(conn, [a for ids in actions.values() for a in ids], tenant=tenant.id)
        coach_ids = {
            a["data"]["coach_or_organisation_id"]
            for a in action_rows.values()
            if a["data"].get("kind") == "visit" and a["data"].get("coach_or_organisation_id")
        }
        coach_contacts = store.external_ids(conn, ECONOBIS, tenant.id, "contact", coach_ids)
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


def push_hoomdossier(store: Store, tenant: TenantConfig, client: HoomdossierClient | None = None) -> WorkReport:
    client = client or HoomdossierClient.for_tenant(tenant, store)
    return HoomdossierPush(store, client, tenant.id).run()


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


# --- as steps of the partners' assets -----------------------------------------------------------------------


@dataclass
class Planned:
    counts: dict[str, int]

    def metadata(self) -> dict[str, Any]:
        return dict(self.counts)


def _forward(run: PartnerRun) -> ForwardReport:
    return forward_hoomdossier_inbox(run.store, run.tenant, econobis.client(run))


def _plan(run: PartnerRun) -> Planned:
    return Planned(plan_hoomdossier(run.store, run.tenant))


# --- the sandboxes, wired as a cooperation wires the real systems -------------------------------------------


def coaches_of(running: Any) -> list[dict[str, Any]]:
    """The Econobis coaches of a sandbox, as Hoomdossier coach users (contact ids in `extra.contact_id`)."""
    db = running.sandbox.db
    out = []
    for c in db.tables["contacts"].values():
        if c.get("inspection_person_type_id") != "coach" or c.get("deleted_at") is not None:
            continue
        email = db.primary("email_addresses", c["id"]) or {}
        out.append(
            {
                "contact_id": c["id"],
                "first_name": c.get("first_name") or "Coach",
                "last_name": c.get("last_name") or str(c["id"]),
                "email": email.get("email") or f"coach{c['id']}@{running.tenant}.example",
            }
        )
    return out


def _seed(partner: str, started: Any) -> dict[str, Any]:
    if partner != HOOMDOSSIER or ECONOBIS not in started:
        return {}
    return {"coaches": {r.tenant: coaches_of(r) for r in started[ECONOBIS]}}


def _wire(stack: Any) -> None:
    """Econobis' `hoom_link` / `hoom_connect_coach_link` → the receiver's Hoomdossier-compatible API v1, with
    the tenant's inbound token as `hoom_key`; Hoomdossier's Econobis link → the receiver's
    Econobis-compatible endpoints, with the tenant's inbound key."""
    if stack.receiver is None or ECONOBIS not in stack.running or HOOMDOSSIER not in stack.running:
        return
    from connectors.hoomdossier.sandbox.credentials import sandbox_hoomdossier_credentials

    url = stack.receiver.base_url
    for r in stack.running[ECONOBIS]:
        creds = sandbox_hoomdossier_credentials(r.tenant)
        coop = r.sandbox.cooperation
        coop.hoom_link = f"{url}/api/v1/register"
        coop.hoom_connect_coach_link = f"{url}/api/v1/building-coach-status"
        coop.hoom_key = creds["inbound_token"]
        stack.running[HOOMDOSSIER].sandbox.set_cooperation(
            r.tenant, econobis_base_url=url, econobis_api_key=creds["inbound_key"]
        )


COUPLING = Coupling(
    name="econobis_hoomdossier",
    partners=(ECONOBIS, HOOMDOSSIER),
    summary="Hoomdossier's messages on to Econobis; registrations and coach links planned from the model",
    after_inbox={HOOMDOSSIER_INBOX: CouplingStep((ECONOBIS, HOOMDOSSIER), _forward, ECONOBIS)},
    before_push={HOOMDOSSIER: CouplingStep((ECONOBIS, HOOMDOSSIER), _plan)},
    feeds=(ECONOBIS, HOOMDOSSIER),
    sandbox_seed=_seed,
    sandbox_wire=_wire,
)
