"""Received web-form events checked against the schema, in the order received (the inbox side of this
connector). A valid sign-up is kept in the message's `result` (`{"signup": …}`, campaign resolved) and stays
`received` until a coupling sends it on (couplings/webform_econobis.py) or, for a tenant whose sign-ups no
coupling takes on, the hub opens the dossier itself (dossiers.py); one that does not parse is
quarantined with its reason (field names and messages only, never the values) and marked `failed`, so it
never blocks the messages behind it. A quarantine replay applies it again (e.g. after a campaign code was
added to the settings)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from connectors.webform.schemas import Event, SignUpForm
from connectors.webform.settings import APPLY_QUARANTINE, INBOX_SOURCE, SIGNUP_CREATED
from hub.store import InboxRow, InboxStatus, Store, utcnow


class NotASignUp(ValueError):
    """A stored event that cannot become a sign-up; the message says why without personal data."""


@dataclass
class ApplyOutcome:
    applied: int = 0
    quarantined: int = 0
    inbox_now: dict[str, int] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {"applied": self.applied, "quarantined_on_apply": self.quarantined, "inbox_now": self.inbox_now}


def _errors(exc: ValidationError) -> str:
    """A validation error as `loc: msg` pairs: pydantic's own text echoes the input (personal data)."""
    parts = []
    for e in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in e["loc"]) or "data"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)[:900]


def submission_key(tenant: str, form_id: str | None, webhook_id: str) -> str:
    """The sign-up's stable key: the form's submission id (else the webhook-id), per tenant. Readable when it
    fits the 64 characters a CRM key allows, else a digest of the same."""
    own = f"wf-{tenant}-{form_id}" if form_id else ""
    if own and len(own) <= 64:
        return own
    basis = f"{tenant}\n{form_id}" if form_id else f"{tenant}\nwebhook:{webhook_id}"
    return "wf-" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:40]


def parse_signup(
    m: InboxRow, tenant: str, campaigns: Mapping[str, int], hub_campaigns: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The sign-up a stored message carries, normalised, with `key` and `campaign_id` (the CRM's campaign: an
    id the form sent, or its code mapped by `campaigns`; None for a code of the tenant's own `hub_campaigns`,
    the campaigns the hub keeps for a desk without a CRM); raises NotASignUp."""
    try:
        value = json.loads(m["payload"])
    except (ValueError, RecursionError):
        raise NotASignUp("the body is not JSON") from None
    try:
        event = Event.model_validate(value)
    except ValidationError as exc:
        raise NotASignUp(f"not a Standard Webhooks payload: {_errors(exc)}") from None
    if event.type != SIGNUP_CREATED:
        raise NotASignUp(f"event type {event.type!r} is not handled")
    try:
        form = SignUpForm.model_validate(event.data)
    except ValidationError as exc:
        raise NotASignUp(f"sign-up does not match the schema: {_errors(exc)}") from None
    campaign_id: int | None
    if isinstance(form.campaign, int):
        campaign_id = form.campaign
    elif form.campaign in campaigns:
        campaign_id = int(campaigns[form.campaign])
    elif form.campaign in (hub_campaigns or {}):
        campaign_id = None  # the hub's own campaign (a desk without a CRM: dossiers.py)
    else:
        raise NotASignUp(
            f"campaign code {form.campaign!r} is not in this tenant's settings.campaigns or settings.hub_campaigns"
        )
    webhook_id = str(m["meta"].get("webhook_id") or m["message_id"])
    return {
        **form.model_dump(mode="json"),
        "key": submission_key(tenant, form.id, webhook_id),
        "campaign_id": campaign_id,
        "webhook_id": webhook_id,
    }


def apply_inbox(
    store: Store, tenant: str, campaigns: Mapping[str, int], hub_campaigns: Mapping[str, str] | None = None
) -> ApplyOutcome:
    """Check every not-yet-applied message (oldest first)."""
    out = ApplyOutcome()
    for m in store.inbox_unapplied(tenant, INBOX_SOURCE):
        with store.begin() as conn:
            try:
                signup = parse_signup(m, tenant, campaigns, hub_campaigns)
            except NotASignUp as exc:
                store.quarantine_put(
                    conn,
                    tenant,
                    APPLY_QUARANTINE,
                    "signup",
                    str(m["id"]),
                    f"web-form event refused: {exc}",
                    {"inbox_id": m["id"], "webhook_id": m["meta"].get("webhook_id")},
                )
                store.inbox_update(
                    conn, tenant, m["id"], applied_at=utcnow(), status=InboxStatus.FAILED, last_error=str(exc)[:1000]
                )
                out.quarantined += 1
                continue
            # a replayed message that was refused before is open again once it parses
            status = InboxStatus.RECEIVED if m["status"] == InboxStatus.FAILED else m["status"]
            store.inbox_update(
                conn, tenant, m["id"], applied_at=utcnow(), status=status, last_error=None, result={"signup": signup}
            )
            out.applied += 1
    return out
