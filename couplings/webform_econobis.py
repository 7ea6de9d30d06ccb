"""Web form → Econobis: a sign-up a municipality's form posted to the hub (signed, connectors/webform/) becomes
a sign-up in the tenant's Econobis outbox, which Econobis' push sends as a webform call — so a desk without
Econobis' own webform feeds the same intake flow.

Once per sign-up, whatever the sender does: a replayed delivery (same webhook-id) is stored once by the
receiver; the same sign-up posted again under a new webhook-id carries the same form submission id, so it gets
the same sign-up key, and the outbox key (Econobis' `signup_key`) queues it once. Runs after the web-form inbox
is applied, for tenants that have both partners; the Econobis push runs after it (same sync run)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from connectors.econobis import connector as econobis
from connectors.econobis.commands import SignUp, enqueue_signup_in, signup_key
from connectors.webform import connector as webform
from connectors.webform.settings import INBOX_SOURCE as WEBFORM_INBOX
from hub.connector import Coupling, CouplingStep, PartnerRun, Replay, ReplayRule
from hub.logs import log_event
from hub.store import InboxStatus, Store, utcnow

log = logging.getLogger("couplings.webform_econobis")
ECONOBIS, WEBFORM = econobis.CONNECTOR.name, webform.CONNECTOR.name
QUARANTINE_SOURCE = f"forward:{WEBFORM}:{ECONOBIS}"


def econobis_signup(signup: dict[str, Any]) -> SignUp:
    """A checked web-form sign-up (connectors/webform/inbox.py) as Econobis' SignUp command."""
    return SignUp(
        key=signup["key"],
        first_name=signup.get("first_name"),
        last_name_prefix=signup.get("last_name_prefix"),
        last_name=signup.get("last_name"),
        organisation_name=signup.get("organisation_name"),
        email=signup.get("email"),
        phone=signup.get("phone"),
        street=signup.get("street"),
        number=signup["number"],
        addition=signup.get("addition"),
        postcode=signup["postcode"],
        city=signup.get("city"),
        campaign_id=signup["campaign_id"],
        measures=list(signup.get("measures") or []),
        sources=list(signup.get("sources") or []),
        consent=bool((signup.get("consent") or {}).get("privacy_policy")),
        note=signup.get("note"),
    )


def queue_signups(store: Store, tenant: str) -> dict[str, int]:
    """Each checked, not yet sent-on sign-up → the Econobis outbox, and the message marked forwarded, in one
    transaction (a crash between them leaves neither)."""
    out = {"signups_queued": 0, "signups_already_queued": 0, "signups_refused": 0}
    for m in store.inbox_open(tenant, WEBFORM_INBOX):
        result = m.get("result") or {}
        data = result.get("signup") if isinstance(result, dict) else None
        if m["applied_at"] is None or not data:
            continue  # not checked yet (or refused: then it is failed, not open)
        with store.begin() as conn:
            reason = ""
            if data.get("campaign_id") is None:
                reason = (
                    f"campaign code {data.get('campaign')!r} is a campaign the hub keeps (settings.hub_campaigns),"
                    " not one of Econobis (settings.campaigns)"
                )
            else:
                try:
                    s = econobis_signup(data)
                except (ValidationError, KeyError) as exc:
                    reason = f"sign-up does not fit Econobis' SignUp: {type(exc).__name__}"
            if reason:
                store.quarantine_put(
                    conn, tenant, QUARANTINE_SOURCE, "signup", str(m["id"]), reason, {"inbox_id": m["id"]}
                )
                store.inbox_update(conn, tenant, m["id"], status=InboxStatus.FAILED, last_error=reason)
                out["signups_refused"] += 1
                continue
            created = enqueue_signup_in(store, conn, tenant, s)
            store.inbox_update(
                conn,
                tenant,
                m["id"],
                status=InboxStatus.FORWARDED,
                forwarded_at=utcnow(),
                result={**result, "outbox_key": signup_key(s.key), "newly_queued": created},
            )
        out["signups_queued" if created else "signups_already_queued"] += 1
    log_event(log, "web-form sign-ups queued", tenant=tenant, **out)
    return out


@dataclass
class Queued:
    counts: dict[str, int]

    def metadata(self) -> dict[str, Any]:
        return dict(self.counts)


def _queue(run: PartnerRun) -> Queued:
    return Queued(queue_signups(run.store, run.tenant_id))


# --- the sandboxes ----------------------------------------------------------------------------------------


def _seed(partner: str, started: Any) -> dict[str, Any]:
    """The sandbox form signs residents up for the first campaign of the tenant's sandbox Econobis."""
    if partner != WEBFORM or ECONOBIS not in started:
        return {}
    return {"campaigns": {r.tenant: r.sandbox.db.ids["campaigns"][0] for r in started[ECONOBIS]}}


def _wire(stack: Any) -> None:
    """The sandbox form posts to the hub's receiver, as a municipality points its form tool at the hub."""
    if stack.receiver is not None and WEBFORM in stack.running:
        stack.running[WEBFORM].sandbox.hub_url = stack.receiver.base_url


COUPLING = Coupling(
    name="webform_econobis",
    partners=(WEBFORM, ECONOBIS),
    summary="web-form sign-ups queued as sign-ups in the tenant's Econobis outbox (once per sign-up)",
    after_inbox={WEBFORM_INBOX: CouplingStep((WEBFORM, ECONOBIS), _queue)},
    feeds=(ECONOBIS,),
    replay={QUARANTINE_SOURCE: ReplayRule(Replay.RETRY_INBOX)},
    sandbox_seed=_seed,
    sandbox_wire=_wire,
)
