"""Hoomdossier's declaration: everything the rest of the hub needs from this connector (hub/connector.py).

Receives the dwelling dossier's messages (appointment, scans, woonplan…) into its inbox, proxies Econobis'
register and coach-link calls idempotently, and links coaches to residents' buildings."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from pydantic import Field, StrictInt, StrictStr

from connectors.hoomdossier.client import HoomdossierClient
from connectors.hoomdossier.consent import CONSENT
from connectors.hoomdossier.erase import plan as erase_plan
from connectors.hoomdossier.inbox import APPLY_QUARANTINE, apply_inbox
from connectors.hoomdossier.push import HoomdossierPush
from connectors.hoomdossier.routes import PROXY_QUARANTINE, REFUSED_QUARANTINE, hoomdossier_api
from connectors.hoomdossier.sandbox.credentials import sandbox_hoomdossier_credentials, sandbox_partner_config
from connectors.hoomdossier.settings import INBOX_SOURCE, PARTNER, SANDBOX_REGIONS
from hub.config import HubConfig
from hub.connector import (
    Connector,
    Erase,
    Inbox,
    JourneyRules,
    PartnerRun,
    PartnerSettings,
    Push,
    Replay,
    ReplayRule,
    SandboxFactory,
    SandboxStart,
)
from hub.store import Store
from hub.worker import PushOutcome


class HoomdossierSettings(PartnerSettings):
    """`partners.hoomdossier.settings` of a tenant; other keys are refused. Its secrets (token, inbound_key,
    inbound_token) go under `secrets:`."""

    # the cooperation's slug (X-Cooperation-Slug): Hoomdossier's slugs are lower-case, digits and dashes
    slug: StrictStr = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")
    # Econobis campaigns whose residents register: Econobis' campaign ids (positive integers)
    campaign_ids: list[Annotated[StrictInt, Field(gt=0)]] = Field(default_factory=list)
    register_from: date | None = None  # only intakes created on or after this day (YYYY-MM-DD) are registered


def client(run: PartnerRun) -> HoomdossierClient:
    return HoomdossierClient.for_tenant(run.tenant, run.store)


def apply(run: PartnerRun) -> Any:
    outcome = apply_inbox(run.store, run.tenant_id)
    outcome.inbox_now = run.store.inbox_counts(run.tenant_id, INBOX_SOURCE)
    return outcome


def push(run: PartnerRun) -> PushOutcome:
    return PushOutcome.of(run.store, HoomdossierPush(run.store, client(run), run.tenant_id).run())


def document_content(store: Store, tenant: str, document: Mapping[str, Any]) -> bytes | None:
    """The bytes of a report Hoomdossier sent (its `pdf` message, kept in the inbox), for a push that passes the
    report on (hub/documents.py); None for a document that is not Hoomdossier's or whose message is purged."""
    inbox_id = document.get("inbox_id")
    if not isinstance(inbox_id, int):
        return None
    with store.begin() as conn:
        row = store.inbox_get(conn, tenant, inbox_id)
    if row is None or row["source"] != INBOX_SOURCE:
        return None
    try:
        contents = json.loads(row["payload"])["pdf"]["contents"]
        return base64.b64decode(contents, validate=False) if isinstance(contents, str) and contents else None
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def routes(config: HubConfig, store: Store) -> list[Any]:
    return [hoomdossier_api(config, store)]


# --- sandbox ----------------------------------------------------------------------------------------------


def _start(s: SandboxStart) -> Any:
    from connectors.hoomdossier.sandbox.app import CooperationConfig, HoomdossierSandbox
    from connectors.hoomdossier.sandbox.server import start_hoomdossier

    sb = HoomdossierSandbox(
        cooperations=[CooperationConfig(slug=t, name=f"{t} (sandbox)") for t in s.tenants],
        tokens={sandbox_hoomdossier_credentials(t)["token"]: [f"access:{t}"] for t in s.tenants},
        throttle_per_minute=s.throttle,
        **{**dict(s.seeds), **dict(s.options)},
    )
    return start_hoomdossier(sb, port=s.ports.get("*", 0))


def _ports(running: Any) -> dict[str, int]:
    return {"*": int(running.base_url.rsplit(":", 1)[1])}


def _describe(running: Any) -> dict[str, Any]:
    """Per cooperation (= tenant): the one sandbox's URL, the slug, and the demo token and inbound secrets."""
    slugs = sorted(c.slug for c in running.sandbox.state.cooperations.values())
    return {s: {"base_url": running.base_url, "slug": s, **sandbox_hoomdossier_credentials(s)} for s in slugs}


def _stop(running: Any) -> None:
    running.stop()


CONNECTOR = Connector(
    name=PARTNER,
    title="Hoomdossier",
    summary="the dwelling dossier a coach fills in: building data, appointment, scans, woonplan of measures",
    secrets=("token", "inbound_key", "inbound_token"),
    inbound_secrets=("inbound_key", "inbound_token"),
    settings=HoomdossierSettings,
    routes=routes,
    inbox=Inbox(
        source=INBOX_SOURCE,
        apply=apply,
        description=(
            "Messages Hoomdossier posted to the hub's receiver (afspraak, woning-status, scan-status, gebruik, "
            "woonplan, pdf, delete): applied to the canonical model in the order received (appointment, building "
            "status, scans, dwelling-file facts, advices, report reference)."
        ),
    ),
    push=Push(
        run=push,
        description=(
            "Coach links pushed into Hoomdossier: the coach of each visit kansactie linked to the resident's "
            "building — also visits created through the webform, which Econobis never links. Looked up first; "
            "waits while the resident has no Hoomdossier account. Withheld without the resident's consent to "
            "share with Hoomdossier (Econobis' privacy agreement, Hoomdossier's allow_access)."
        ),
        consent=CONSENT,
    ),
    replay={
        APPLY_QUARANTINE: ReplayRule(Replay.REAPPLY_INBOX),
        PROXY_QUARANTINE: ReplayRule(
            Replay.NOT_REPLAYABLE, "resolves itself when Hoomdossier next sends a message for the resident"
        ),
        REFUSED_QUARANTINE: ReplayRule(
            Replay.NOT_REPLAYABLE,
            "the call was refused at the door with Hoomdossier's 413/422; Econobis sends it again",
        ),
    },
    # a resident with a Hoomdossier account is in contact; appointments, advices and scans are advice
    journey=JourneyRules(contact_fields=frozenset({"hoomdossier_account_id"}), dwelling_file_advice=True),
    erase=Erase(
        plan=erase_plan,
        how="API v1 has no delete the hub may call: an instruction in the coordinator's task; confirmed when "
        "Hoomdossier's own delete message for the user arrives",
        confirms="inbox",
    ),
    sandbox=SandboxFactory(
        config=sandbox_partner_config,
        start=_start,
        ports=_ports,
        describe=_describe,
        stop=_stop,
        port_offset=10,
        order=20,
        regions=SANDBOX_REGIONS,
    ),
    one_to_one=("building",),
    document_content=document_content,
    demo_lines={
        "hoomdossier_inbox": "applied {applied} Hoomdossier messages, forwarded {forwarded} to Econobis",
        "hoomdossier_push": "Hoomdossier: {registrations_queued} registrations and {coach_links_queued} coach links "
        "planned, {sent} coach links sent",
    },
)
