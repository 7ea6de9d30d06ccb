"""Econobis' declaration: everything the rest of the hub needs from this connector (hub/connector.py).

Reads contacts, intakes, kansen, kansacties and housing files (SPA grids + audit trail), pushes sign-ups,
kansacties and Hoomdossier registrations, receives Hoomdossier's messages in Econobis' own contract."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import Field, StrictStr, field_validator

from connectors.econobis.client import EconobisClient
from connectors.econobis.consent import CONSENT
from connectors.econobis.erase import ERASE
from connectors.econobis.erase import plan as erase_plan
from connectors.econobis.forward import QUARANTINE_SOURCE as FORWARD_QUARANTINE
from connectors.econobis.push import EconobisPush
from connectors.econobis.routes import RECEIVER_QUARANTINE, hoomdossier_endpoints
from connectors.econobis.sandbox.credentials import sandbox_partner_config
from connectors.econobis.settings import PARTNER, SANDBOX_REGIONS
from connectors.econobis.sync import EconobisPull, PullReport, reconcile_counts
from hub.config import HubConfig
from hub.connector import (
    Connector,
    Erase,
    Freshness,
    JourneyRules,
    Markdown,
    PartnerRun,
    PartnerSettings,
    Pull,
    Push,
    Replay,
    ReplayRule,
    SandboxFactory,
    SandboxStart,
    table,
)
from hub.store import Store
from hub.worker import PushOutcome, call_metadata


class EconobisSettings(PartnerSettings):
    """`partners.econobis.settings` of a tenant (budget settings are the partner client's); other keys are
    refused. Its secrets (password, client_secret, webform_key, hoom_endpoint_key) go under `secrets:`."""

    username: StrictStr = Field(min_length=1, max_length=255)  # the service user's login (an e-mail address)
    # the SPA's Passport password-grant client: an id (Passport ≤ 10) or a UUID
    client_id: StrictStr = Field(default="2", pattern=r"^[A-Za-z0-9-]{1,64}$")

    @field_validator("client_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        """`client_id: 2` in YAML is an int; the id is sent as text either way."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def client(run: PartnerRun) -> EconobisClient:
    return EconobisClient.for_tenant(run.tenant, run.store, share_login=bool(run.options.get("share_login", True)))


def _pull(run: PartnerRun) -> EconobisPull:
    return EconobisPull(run.store, client(run), run.tenant_id, int(run.options.get("page_size", 500)))


@dataclass
class PullOutcome:
    """A pull's report as run metadata: records seen/created/updated/unchanged/quarantined, calls, a table."""

    report: PullReport
    extra: dict[str, Any]

    def metadata(self) -> dict[str, Any]:
        report = self.report
        d = report.as_dict()
        rows = [
            (entity, c["seen"], c["created"], c["updated"], c["unchanged"], c["quarantined"])
            for entity, c in d["entities"].items()
        ]
        by_entity: Markdown = table(("entity", "seen", "created", "updated", "unchanged", "quarantined"), rows)
        return {
            "records_seen": sum(c["seen"] for c in d["entities"].values()),
            "created": report.merge.total("created"),
            "updated": report.merge.total("updated"),
            "unchanged": report.merge.total("unchanged"),
            "quarantined": report.quarantined,
            **call_metadata(d["partner_calls"]),
            "detail_calls": report.detail_calls,
            "journey_events_added": report.journey_events,
            "seconds": d["seconds"],
            "by_entity": by_entity,
            **self.extra,
        }


def pull(run: PartnerRun, full: bool) -> PullOutcome:
    puller = _pull(run)
    version = puller.client.client_version().get("version")
    report = puller.run(full=full)
    d = report.as_dict()
    return PullOutcome(
        report,
        {
            "econobis_version": version or "unknown",
            "full_pull": full,
            "audit_trail_revisions": d["changes"].get("revisions", 0),
            "records_reread": d["changes"].get("records_reread", {}),
            "records_deleted": d["changes"].get("records_deleted", {}),
            "reconcile_deleted": d["reconcile"].get("deleted", {}),
        },
    )


def window(run: PartnerRun, first: date, last: date) -> PullOutcome:
    report = _pull(run).run_window(first, last)
    return PullOutcome(report, {"tenant": run.tenant_id, "day": first.isoformat()})


def reread(run: PartnerRun, records: dict[str, list[str]]) -> PullOutcome:
    return PullOutcome(_pull(run).reread(records), {})


def reconcile(run: PartnerRun) -> list[dict[str, Any]]:
    return reconcile_counts(run.store, client(run), run.tenant_id)


def pusher(run: PartnerRun) -> EconobisPush:
    """Outbox pushes for one tenant; the webform key is a secret named in the tenants file."""
    return EconobisPush(run.store, client(run), run.tenant_id, run.tenant.secret(PARTNER, "webform_key"))


def push(run: PartnerRun) -> PushOutcome:
    return PushOutcome.of(run.store, pusher(run).run())


def routes(config: HubConfig, store: Store) -> list[Any]:
    return [hoomdossier_endpoints(config, store)]


# --- sandbox ----------------------------------------------------------------------------------------------


def _start(s: SandboxStart) -> Any:
    from connectors.econobis.sandbox.server import start_sandboxes

    return start_sandboxes(
        s.residents, tenants=s.tenants, ports=dict(s.ports), throttle_per_minute=s.throttle, **dict(s.options)
    )


def _ports(running: Any) -> dict[str, int]:
    return {r.tenant: r.server.port for r in running}


def _describe(running: Any) -> dict[str, Any]:
    return {r.tenant: r.describe()["econobis"] for r in running}


def _stop(running: Any) -> None:
    from connectors.econobis.sandbox.server import stop_sandboxes

    stop_sandboxes(running)


# The statuses Econobis writes (code_refs, mapped into the canonical model by mapping.py) → journey phases.
JOURNEY = JourneyRules(
    intake_contact=frozenset({"in_progress", "closed_with_opportunity"}),
    intake_stopped=frozenset({"closed_without_opportunity"}),
    opportunity_executed=frozenset({"executed", "executed-do-it-yourself", "executed_without_measure"}),
    opportunity_stopped=frozenset({"no_execution", "deleted_in_hd", "inactive"}),
    opportunity_financing=frozenset({"subsidy-request_pending", "subsidy-request_granted"}),
    opportunity_quotation=frozenset({"mandate"}),
    # Econobis sets a kans to in_progress when a visit is planned: that is advice, not execution
    opportunity_in_progress=frozenset({"in_progress"}),
    visit_advice=frozenset({"made", "done"}),
    visit_made=frozenset({"made"}),
    subsidy_rejected=frozenset({"pm-not-approved", "not-approved", "not-approved-det"}),
    quotation_active=frozenset(
        {"default", "under-review", "under-review-occupant", "approved", "pm-approved", "executed", "no-response"}
    ),
    quotation_executed=frozenset({"executed"}),
)

CONNECTOR = Connector(
    name=PARTNER,
    title="Econobis",
    summary="CRM of the energy cooperations: contacts, intakes, kansen, kansacties, housing files",
    secrets=("password", "client_secret", "webform_key"),
    optional_secrets=("hoom_endpoint_key",),
    settings=EconobisSettings,
    # contracts/econobis.md §3.1, §4: the webform key and the Hoomdossier endpoint key travel in the path
    path_secrets=(
        re.compile(r"(/api/webform/external/)([^/?#\s\"']+)"),
        re.compile(r"(/api/)(?!webform/|v\d+/)([^/?#\s\"']+)(/hoomdossier/)"),
    ),
    routes=routes,
    pull=Pull(
        run=pull,
        description=(
            "New contacts, intakes, kansen, kansacties and housing files from the tenant's Econobis (SPA grids), "
            "mapped to canonical residents, dwellings, intakes, opportunities, actions and dwelling files; "
            "dossier phases re-derived. Incremental by the cursors in the state store; a full re-read (with the "
            "deletion reconcile) for a run a person launches (a run or backfill from the UI) and the nightly "
            "reconcile; schedule and sensor runs read incrementally (run config `read` chooses)."
        ),
        window=window,
        window_description=(
            "Backfill of a date range: the intakes, kansen and kansacties created in Econobis on each day "
            "(Europe/Amsterdam), re-read and merged; the incremental cursors are left alone. Pick tenants and days "
            "in the UI; a day re-read twice reports every record unchanged."
        ),
        reread=reread,
        reconcile=reconcile,
        reconcile_description=(
            "Reconciliation: per entity, the records Econobis lists (grid totals) against the live records the hub "
            "holds plus those parked in quarantine. A difference means a record was missed or deleted unseen; the "
            "nightly full reconcile repairs it."
        ),
    ),
    push=Push(
        run=push,
        description=(
            "Due outbox items pushed into the tenant's Econobis: sign-ups as webform calls (intake_id_extern = the "
            "hub's key; lookup before any retry whose outcome is unknown), follow-up kansacties for stalled "
            "dossiers, kansactie updates and Hoomdossier registrations (make-hoomdossier) as SPA calls. Refusals "
            "that will not heal go to quarantine with Econobis' log lines. A registration shares the resident's "
            "data with Hoomdossier: without the resident's consent (Econobis' privacy agreement) it is withheld."
        ),
        consent=CONSENT,
    ),
    replay={
        PARTNER: ReplayRule(Replay.REREAD, partner=PARTNER),
        FORWARD_QUARANTINE: ReplayRule(Replay.RETRY_INBOX),
        RECEIVER_QUARANTINE: ReplayRule(
            Replay.NOT_REPLAYABLE,
            "the body Hoomdossier sent was refused at the door; it cannot be sent again from here",
        ),
    },
    journey=JOURNEY,
    freshness=Freshness(f"sync:{PARTNER}"),
    erase=Erase(
        plan=erase_plan,
        how="Econobis gives the hub no delete: a task for the coordinator on the contact through the webform; "
        "confirmed when a full pull no longer lists the contact",
        confirms="pull",
        operation=ERASE,
        coordinator_channel=True,
    ),
    sandbox=SandboxFactory(
        config=sandbox_partner_config,
        start=_start,
        ports=_ports,
        describe=_describe,
        stop=_stop,
        port_offset=0,
        per_tenant=True,
        order=10,
        regions=SANDBOX_REGIONS,
    ),
    one_to_one=("intake", "opportunity", "quotation-request", "housing-file"),
    metadata_labels={
        "econobis_version": "Econobis version",
        "full_pull": "Everything re-read (with the deletion check)",
        "detail_calls": "Records fetched one by one (detail calls)",
        "audit_trail_revisions": "Changes listed in Econobis' audit trail",
        "reconcile_deleted": "Deleted in Econobis, found by the full re-read",
        "records_deleted": "Deleted in Econobis, found in the audit trail",
        "records_reread": "Re-read because the audit trail showed a change",
    },
    demo_lines={
        "econobis_pull": "pulled {records_seen} records ({created} new, {updated} updated, {unchanged} unchanged, "
        "{quarantined} quarantined) over {partner_calls} calls",
        "econobis_push": "pushed {sent} items into Econobis in {partner_writes} write calls ({found_by_lookup} "
        "found there already, {quarantined} quarantined, {retry_later} to retry)",
    },
)
