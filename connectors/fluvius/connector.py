"""The premium portal's declaration (hub/connector.py): one modelled service for Mijn VerbouwPremie (MVP_VL,
Flanders, run with Fluvius) and RVO's ISDE (ISDE_NL), contracts/woningpas_premiums.md §6.4.

- plan (`fluvius_plan`): applications built from what the hub knows, refusals the hub foresees held back with
  their reason, what the resident must still supply listed per dossier, the invoice window and appeal term
  watched (plan.py, watch.py);
- push (`fluvius_push`): draft → documents → submit through the outbox, idempotent end to end (push.py);
- inbox (`fluvius_inbox`) and webhooks: the portal's signed status events (Standard Webhooks) → the
  applications' decisions and payments (follow.py);
- pull (`fluvius_pull`): the poll feed (`updated_since`), the same follow without webhooks; the change sensor
  asks the feed whether anything changed (`detect`); reconciliation counts applications on both sides."""

from __future__ import annotations

from typing import Any

from connectors.fluvius.client import PortalClient
from connectors.fluvius.consent import CONSENT
from connectors.fluvius.erase import plan as erase_plan
from connectors.fluvius.follow import FollowReport, apply_webhooks, poll
from connectors.fluvius.plan import plan
from connectors.fluvius.push import PremiumPush
from connectors.fluvius.sandbox.server import SANDBOX
from connectors.fluvius.settings import (
    APPLICATION_CATEGORY,
    CLIENT_SECRET,
    ERASE,
    FEED_CURSOR,
    INBOX_SOURCE,
    PARTNER,
    QUARANTINE_SOURCE,
    WEBHOOK_SECRETS,
    FluviusSettings,
)
from hub.config import PartnerConfig
from hub.connector import (
    Connector,
    Erase,
    Freshness,
    Inbox,
    JourneyRules,
    PartnerRun,
    Plan,
    Pull,
    Push,
    Replay,
    ReplayRule,
    WebhookPolicy,
    WebhookSource,
)
from hub.worker import PushOutcome


def client(run: PartnerRun) -> PortalClient:
    return PortalClient.for_tenant(run.tenant, run.store)


def pull(run: PartnerRun, full: bool) -> FollowReport:
    return poll(run.store, client(run), run.tenant_id, full=full)


def detect(run: PartnerRun) -> str | None:
    """The change sensor's look: one page of the feed from the stored watermark. The newest `updated_at`
    after it when the portal changed an application since; None before the first poll or when nothing is new."""
    with run.store.begin() as conn:
        since = run.store.get_cursor(conn, PARTNER, run.tenant_id, FEED_CURSOR)
    if since is None:
        return None
    page = client(run).page(updated_since=since)
    newer = [str(a.get("updated_at")) for a in page.items if str(a.get("updated_at") or "") > since]
    return max(newer) if newer else None


def reconcile(run: PartnerRun) -> list[dict[str, Any]]:
    """Applications: what the portal lists for the tenant's client against the portal applications the hub
    follows (distinct portal ids on its canonical premium applications) plus those parked in quarantine."""
    portal: set[str] = set()
    for page in client(run).pages():
        portal.update(str(a.get("id")) for a in page.items)
    with run.store.begin() as conn:
        rows = run.store.live_entities(conn, "premium_application", run.tenant_id)
        parked = run.store.quarantine_open_counts(conn, run.tenant_id).get(f"outbox:{PARTNER}", 0)
    hub = {str(r["data"]["portal_id"]) for r in rows if r["data"].get("portal_id")}
    return [
        {
            "entity": "application",
            "partner": len(portal),
            "hub": len(hub),
            "quarantined": parked,
            "difference": len(portal - hub),
        }
    ]


def push(run: PartnerRun) -> PushOutcome:
    return PushOutcome.of(run.store, PremiumPush(run.store, client(run), run.tenant_id).run())


def apply(run: PartnerRun) -> FollowReport:
    return apply_webhooks(run.store, client(run), run.tenant_id)


def policy(pc: PartnerConfig) -> WebhookPolicy:
    s = FluviusSettings.model_validate(pc.settings)
    return WebhookPolicy(events=frozenset(s.events), tolerance_seconds=s.tolerance_seconds)


# an open or decided application is financing; a paid one counts toward execution (the works were invoiced)
JOURNEY = JourneyRules(
    premium_financing=frozenset(
        {
            "submitted",
            "in_review",
            "more_documents_requested",
            "approved",
            "partly_approved",
            "appeal_lodged",
            "paid",
        }
    ),
    premium_execution=frozenset({"paid"}),
)

CONNECTOR = Connector(
    name=PARTNER,
    title="Premium portal",
    summary="renovation premiums (modelled): Mijn VerbouwPremie (MVP_VL) and ISDE (ISDE_NL) — apply, follow, paid",
    secrets=(CLIENT_SECRET, WEBHOOK_SECRETS),
    inbound_secrets=(WEBHOOK_SECRETS,),
    settings=FluviusSettings,
    webhooks=(WebhookSource(source=INBOX_SOURCE, secret=WEBHOOK_SECRETS, policy=policy),),
    plan=Plan(
        run=plan,
        description=(
            "For each dossier whose works are executed (the CRM's kansen, the woonplan, a better EPC) or whose "
            "resident supplied premium details (invoices, income, IBAN through the desk's form): the application "
            "built from what the hub knows, checked against the portal's published rules; a category the portal "
            "would refuse is recorded as refused_by_hub with the rule's code and put on the follow-up list, never "
            "sent; the rest queued once per application. What the hub cannot know is listed per dossier as "
            "'still needed from the resident'; the share of fields prefilled is recorded per application. Then "
            "the invoice-window (24 months) and appeal-term watches."
        ),
    ),
    push=Push(
        run=push,
        description=(
            "Premium applications submitted through the outbox: draft (Idempotency-Key), documents, submit; an "
            "attempt whose outcome is unknown looks the application up by its reference first, so a lost answer "
            "never makes a second one. Withheld without the resident's consent to apply in their name."
        ),
        consent=CONSENT,
    ),
    inbox=Inbox(
        source=INBOX_SOURCE,
        apply=apply,
        description=(
            "The portal's signed status events (aanvraag.status_gewijzigd): each read back from the portal and "
            "applied to the applications (decisions per category, payments); a status already known (a duplicate "
            "delivery, or one the poll read first) changes nothing; a request for more documents becomes a "
            "follow-up."
        ),
    ),
    pull=Pull(
        run=pull,
        description=(
            "The portal's poll feed (updated_since, cursor paging): every application changed since the last "
            "poll applied like a webhook — enough on its own when webhooks are lost. A full re-read when the run "
            "is launched by a person (a run or backfill from the UI) or is the nightly reconcile; schedule and sensor "
            "runs read incrementally (run config `read` chooses)."
        ),
        detect=detect,
        reconcile=reconcile,
        reconcile_description=(
            "Reconciliation: the applications the portal lists for the tenant's client against those the hub "
            "follows. A difference is an application the hub does not know (the resident's own, or one whose "
            "submit answer was lost and not yet looked up)."
        ),
    ),
    replay={
        QUARANTINE_SOURCE: ReplayRule(Replay.REAPPLY_INBOX),
    },
    journey=JOURNEY,
    freshness=Freshness(f"sync:{PARTNER}"),
    erase=Erase(
        plan=erase_plan,
        how="unsent applications are cancelled; a submitted application is the portal's legal record and stays "
        "there (the resident asks the portal); the hub forgets the portal's ids",
        confirms="answer",
        operation=ERASE,
    ),
    sandbox=SANDBOX,
    one_to_one=(APPLICATION_CATEGORY,),
    demo_lines={
        "fluvius_plan": "premiums ({regeling}): {applications_queued} applications queued, "
        "{categories_refused_by_hub} categories held back as foreseeable refusals {refusals_foreseen}, "
        "{dossiers_waiting_for_resident} dossiers waiting for the resident; prefilled share median "
        "{prefilled_share_median}",
        "fluvius_push": "premiums: {sent} applications submitted ({found_by_lookup} found by lookup, "
        "{withheld_without_consent} withheld without consent)",
        "fluvius_pull": "premiums: {applications_read} applications polled, {changed} changed, "
        "{already_known} already known",
        "fluvius_inbox": "premiums: {webhook_messages} webhooks, {changed} changes, {already_known} already known",
    },
)
