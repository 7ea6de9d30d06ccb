"""The web form's declaration (hub/connector.py): a municipality's or desk's own sign-up form that posts
signed events to the hub (Standard Webhooks), so a desk without Econobis' own webform can feed the hub.

Receives `signup.created` on `POST /webhooks/{tenant}/webform` (hub/receiver/webhooks.py verifies and stores
it), checks each against the schema in its inbox step, and quarantines what does not parse. Where the sign-up
goes next is a coupling's (couplings/webform_econobis.py); for a tenant no coupling takes sign-ups on for (a
desk without a CRM), the inbox's `unclaimed` step opens the dossier in the hub itself (dossiers.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.webform.dossiers import open_dossiers
from connectors.webform.inbox import apply_inbox, apply_waiting_works
from connectors.webform.sandbox.credentials import sandbox_partner_config, sandbox_webform_secrets
from connectors.webform.settings import (
    APPLY_QUARANTINE,
    DEFAULT_MAX_BYTES,
    EVENTS,
    INBOX_SOURCE,
    MAX_BYTES_LIMIT,
    PARTNER,
    SIGNING_SECRETS,
)
from connectors.webform.works import document_content
from hub.config import PartnerConfig
from hub.connector import (
    Connector,
    Inbox,
    PartnerRun,
    Replay,
    ReplayRule,
    SandboxFactory,
    SandboxStart,
    WebhookPolicy,
    WebhookSource,
)


class WebformSettings(BaseModel):
    """`partners.webform.settings` of a tenant."""

    model_config = ConfigDict(extra="allow")

    events: list[str] = Field(default_factory=lambda: list(EVENTS))  # the event types the receiver accepts
    # how far webhook-timestamp may be from now; at most the library's 5 minutes (narrowing only)
    tolerance_seconds: int = Field(default=300, ge=5, le=300)
    # a form that posts works.completed with the resident's documents (≤ 2 MB each) needs more (up to 32 MiB)
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1024, le=MAX_BYTES_LIMIT)
    # a campaign code the form sends → the CRM's campaign id (a form that sends the id itself needs none)
    campaigns: dict[str, int] = Field(default_factory=dict)
    # a campaign code the form sends → its name, for a desk without a CRM: the hub keeps the campaign and the
    # dossiers itself (dossiers.py)
    hub_campaigns: dict[str, str] = Field(default_factory=dict)
    # the partners the desk's privacy policy (the form's consent tick) covers sharing with: for a dossier the
    # hub opens itself, the tick is recorded as consent to share with each (hub/consent.py); none by default
    privacy_policy_covers: list[str] = Field(default_factory=list)
    # the premium portals a works.completed's consent tick (apply for premiums in my name) is recorded for
    # (hub/consent.py, purpose apply-for-premium); none by default: config names the partner, code never does
    premium_partners: list[str] = Field(default_factory=list)

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(EVENTS))
        if unknown:
            raise ValueError(f"unknown event type(s) {unknown}; known: {list(EVENTS)}")
        return value


def settings_of(pc: PartnerConfig) -> WebformSettings:
    return WebformSettings.model_validate(pc.settings)


def policy(pc: PartnerConfig) -> WebhookPolicy:
    s = settings_of(pc)
    return WebhookPolicy(events=frozenset(s.events), tolerance_seconds=s.tolerance_seconds, max_bytes=s.max_bytes)


def apply(run: PartnerRun) -> Any:
    s = settings_of(run.tenant.partner(PARTNER))
    outcome = apply_inbox(run.store, run.tenant_id, s.campaigns, s.hub_campaigns, premium_partners_of(run))
    outcome.inbox_now = run.store.inbox_counts(run.tenant_id, INBOX_SOURCE)
    return outcome


def premium_partners_of(run: PartnerRun) -> list[str]:
    """The tenant's `premium_partners` it actually has."""
    s = settings_of(run.tenant.partner(PARTNER))
    return [p for p in s.premium_partners if run.tenant.has(p)]


def open_in_hub(run: PartnerRun) -> Any:
    """The inbox's `unclaimed` step: a tenant whose sign-ups no coupling takes on (no CRM) gets its dossiers
    opened in the hub."""
    s = settings_of(run.tenant.partner(PARTNER))
    covers = [p for p in s.privacy_policy_covers if run.tenant.has(p)]
    outcome = open_dossiers(run.store, run.tenant_id, s.hub_campaigns, covers)
    # works.completed events of sign-ups opened just now
    apply_waiting_works(run.store, run.tenant_id, premium_partners_of(run))
    return outcome


# --- sandbox ----------------------------------------------------------------------------------------------


def _start(s: SandboxStart) -> Any:
    from connectors.webform.sandbox.app import start_webform

    return start_webform(s.tenants, port=s.ports.get("*", 0), **{**dict(s.seeds), **dict(s.options)})


def _ports(running: Any) -> dict[str, int]:
    return {"*": int(running.server.port)}


def _describe(running: Any) -> dict[str, Any]:
    """Per tenant: the form's URL, where it posts, and the demo signing secrets (current, previous)."""
    sb = running.sandbox
    return {
        t: {
            "form_url": f"{running.base_url}/{t}",
            "posts_to": f"{sb.hub_url}/webhooks/{t}/{INBOX_SOURCE}" if sb.hub_url else None,
            **sandbox_webform_secrets(t),
        }
        for t in sb.tenants
    }


def _stop(running: Any) -> None:
    running.stop()


CONNECTOR = Connector(
    name=PARTNER,
    title="Web form",
    summary="a municipality's or desk's own sign-up form, posting signed events (Standard Webhooks)",
    secrets=(SIGNING_SECRETS,),
    inbound_secrets=(SIGNING_SECRETS,),
    settings=WebformSettings,
    webhooks=(WebhookSource(source=INBOX_SOURCE, secret=SIGNING_SECRETS, policy=policy),),
    inbox=Inbox(
        source=INBOX_SOURCE,
        apply=apply,
        description=(
            "Sign-ups a web form posted to the hub's receiver as signed webhooks (signup.created), checked "
            "against the sign-up schema in the order received; what does not parse is quarantined with its reason. "
            "A works.completed (what the resident supplies for premiums) is written into the canonical model "
            "here: premium file, invoices, document references, consent to apply for premiums."
        ),
        unclaimed=open_in_hub,
        unclaimed_description=(
            "for a tenant whose sign-ups no coupling takes on (a desk without a CRM), each checked sign-up opens "
            "its dossier in the hub (resident, dwelling, campaign, intake; phase interest), once per sign-up"
        ),
    ),
    replay={APPLY_QUARANTINE: ReplayRule(Replay.REAPPLY_INBOX)},
    sandbox=SandboxFactory(
        config=sandbox_partner_config,
        start=_start,
        ports=_ports,
        describe=_describe,
        stop=_stop,
        port_offset=20,
        order=30,
    ),
    document_content=document_content,
    one_to_one=("intake",),
    demo_lines={
        "webform_inbox": (
            "web form: {applied} sign-ups checked, {quarantined_on_apply} quarantined, {signups_queued} sent on",
            "web form: {applied} sign-ups checked, {quarantined_on_apply} quarantined, {dossiers_opened} dossiers "
            "opened in the hub ({dossiers_already_open} already open)",
        )
    },
)
