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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from connectors.webform.schemas import Event, SignUpForm, WorksCompleted
from connectors.webform.settings import APPLY_QUARANTINE, INBOX_SOURCE, SIGNUP_CREATED, WORKS_COMPLETED
from connectors.webform.works import UnknownDossier, apply_works, target_of
from hub.store import InboxRow, InboxStatus, Store, as_utc, utcnow


class NotASignUp(ValueError):
    """A stored event that cannot become a sign-up; the message says why without personal data."""


class IsWorks(Exception):
    """The stored event is a works.completed, not a sign-up (its data is the argument)."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__("works.completed")
        self.data = data


@dataclass
class ApplyOutcome:
    applied: int = 0
    quarantined: int = 0
    works_applied: int = 0
    works_waiting: int = 0
    consents_recorded: int = 0
    inbox_now: dict[str, int] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "quarantined_on_apply": self.quarantined,
            "works_applied": self.works_applied,
            "works_waiting_for_dossier": self.works_waiting,
            "consents_recorded": self.consents_recorded,
            "inbox_now": self.inbox_now,
        }


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
    if event.type == WORKS_COMPLETED:
        raise IsWorks(event.data)
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


def parse_works(data: dict[str, Any]) -> WorksCompleted:
    """A works.completed event's data, checked; raises NotASignUp with the field names (never the values)."""
    try:
        return WorksCompleted.model_validate(data)
    except ValidationError as exc:
        raise NotASignUp(f"works.completed does not match the schema: {_errors(exc)}") from None


def works_key(tenant: str, form: WorksCompleted, webhook_id: str) -> str:
    """The event's own key (its provenance reference): the form's submission id, else the webhook-id."""
    return submission_key(tenant, form.id, webhook_id)


def _apply_works(
    store: Store, conn: Any, tenant: str, m: InboxRow, data: dict[str, Any], premium_partners: tuple[str, ...]
) -> tuple[str, dict[str, Any]]:
    """('kept' | 'waiting', result) for one works.completed message; raises NotASignUp."""
    form = parse_works(data)
    webhook_id = str(m["meta"].get("webhook_id") or m["message_id"])
    signup_key = submission_key(tenant, form.signup, webhook_id) if form.signup else None
    try:
        target = target_of(store, conn, tenant, form, signup_key)
    except UnknownDossier as exc:
        raise NotASignUp(str(exc)) from None
    if target is None:
        return "waiting", {"works_waiting": "the sign-up's dossier is not known yet"}
    done = apply_works(
        store,
        conn,
        tenant,
        form,
        target,
        m["id"],
        works_key(tenant, form, webhook_id),
        as_utc(m["received_at"]),
        premium_partners,
    )
    return "kept", {
        "works": {
            "intake_id": target.intake_id,
            "premium_file_id": done.premium_file_id,
            "invoices": done.invoices,
            "documents": done.documents,
        },
        "consents_recorded": done.consents_recorded,
    }


def _works_step(
    store: Store,
    conn: Any,
    tenant: str,
    m: InboxRow,
    data: dict[str, Any],
    premium_partners: tuple[str, ...],
    out: ApplyOutcome,
) -> None:
    outcome, result = _apply_works(store, conn, tenant, m, data, premium_partners)
    if outcome == "waiting":
        store.inbox_update(
            conn, tenant, m["id"], applied_at=utcnow(), status=InboxStatus.RECEIVED, last_error=None, result=result
        )
        out.works_waiting += 1
        return
    store.inbox_update(
        conn,
        tenant,
        m["id"],
        applied_at=utcnow(),
        status=InboxStatus.KEPT,
        processed_at=utcnow(),
        last_error=None,
        result=result,
    )
    out.works_applied += 1
    out.consents_recorded += int(result.get("consents_recorded") or 0)


def apply_waiting_works(
    store: Store, tenant: str, premium_partners: Iterable[str] = (), out: ApplyOutcome | None = None
) -> ApplyOutcome:
    """Try again the works.completed events whose sign-up's dossier was not known yet (oldest first)."""
    out = out or ApplyOutcome()
    partners = tuple(premium_partners)
    for m in store.inbox_open(tenant, INBOX_SOURCE):
        result = m.get("result") or {}
        if m["applied_at"] is None or not (isinstance(result, dict) and result.get("works_waiting")):
            continue
        with store.begin() as conn:
            try:
                data = json.loads(m["payload"])["data"]
                _works_step(store, conn, tenant, m, data, partners, out)
            except (NotASignUp, ValueError, KeyError, TypeError) as exc:
                _refuse(store, conn, tenant, m, NotASignUp(str(exc)) if not isinstance(exc, NotASignUp) else exc)
                out.quarantined += 1
    return out


def _refuse(store: Store, conn: Any, tenant: str, m: InboxRow, exc: NotASignUp) -> None:
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


def apply_inbox(
    store: Store,
    tenant: str,
    campaigns: Mapping[str, int],
    hub_campaigns: Mapping[str, str] | None = None,
    premium_partners: Iterable[str] = (),
) -> ApplyOutcome:
    """Check every not-yet-applied message (oldest first); a works.completed is applied to the canonical model
    here (works.py), and the ones waiting for their sign-up's dossier are tried again first."""
    partners = tuple(premium_partners)
    out = apply_waiting_works(store, tenant, partners)
    for m in store.inbox_unapplied(tenant, INBOX_SOURCE):
        with store.begin() as conn:
            try:
                try:
                    signup = parse_signup(m, tenant, campaigns, hub_campaigns)
                except IsWorks as works:
                    _works_step(store, conn, tenant, m, works.data, partners, out)
                    continue
            except NotASignUp as exc:
                _refuse(store, conn, tenant, m, exc)
                out.quarantined += 1
                continue
            # a replayed message that was refused before is open again once it parses
            status = InboxStatus.RECEIVED if m["status"] == InboxStatus.FAILED else m["status"]
            store.inbox_update(
                conn, tenant, m["id"], applied_at=utcnow(), status=status, last_error=None, result={"signup": signup}
            )
            out.applied += 1
    return out
