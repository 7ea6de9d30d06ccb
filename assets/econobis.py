"""Econobis extract → canonical, and outbox → Econobis: one partition per tenant."""

from typing import Any

from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.resources import EconobisResource, HubConfigResource, StateStoreResource, per_tenant
from connectors.econobis.sync import EconobisPull

# What every Econobis asset shares: one partition per tenant, in the econobis group.
PER_TENANT: dict[str, Any] = per_tenant("econobis", {"python", "sqlite"})
tenant_partitions = PER_TENANT["partitions_def"]


@asset(
    **PER_TENANT,
    description=(
        "New contacts, intakes, kansen, kansacties and housing files from the tenant's Econobis (SPA grids), "
        "mapped to canonical residents, dwellings, intakes, opportunities, actions and dwelling files; "
        "dossier phases re-derived. Incremental by cursor; run with tag `full=true` for a full re-read."
    ),
)
def econobis_pull(
    context: AssetExecutionContext,
    hub_config: HubConfigResource,
    state_store: StateStoreResource,
    econobis: EconobisResource,
) -> MaterializeResult:
    tenant = context.partition_key
    with state_store.session() as store:
        client = econobis.client(hub_config.load(), tenant, store)
        version = client.client_version().get("version")
        full = context.run.tags.get("full") == "true"
        report = EconobisPull(store, client, tenant, econobis.page_size).run(full=full)
    d = report.as_dict()
    rows = [
        f"| {entity} | {c['seen']} | {c['created']} | {c['updated']} | {c['unchanged']} | {c['quarantined']} |"
        for entity, c in d["entities"].items()
    ]
    table = "| entity | seen | created | updated | unchanged | quarantined |\n|---|---|---|---|---|---|\n" + "\n".join(
        rows
    )
    return MaterializeResult(
        metadata={
            "econobis_version": version or "unknown",
            "records_seen": sum(c["seen"] for c in d["entities"].values()),
            "created": report.merge.total("created"),
            "updated": report.merge.total("updated"),
            "unchanged": report.merge.total("unchanged"),
            "quarantined": report.quarantined,
            "partner_calls": d["partner_calls"].get("calls", 0),
            "partner_retries": d["partner_calls"].get("retries", 0),
            "detail_calls": report.detail_calls,
            "journey_events_added": report.journey_events,
            "seconds": d["seconds"],
            "by_entity": MetadataValue.md(table),
            "full_pull": full,
            "audit_trail_revisions": d["changes"].get("revisions", 0),
            "records_reread": MetadataValue.json(d["changes"].get("records_reread", {})),
            "records_deleted": MetadataValue.json(d["changes"].get("records_deleted", {})),
            "reconcile_deleted": MetadataValue.json(d["reconcile"].get("deleted", {})),
        }
    )


@asset(
    **PER_TENANT,
    description=(
        "Due outbox items pushed into the tenant's Econobis: sign-ups as webform calls (intake_id_extern = the "
        "hub's key; lookup before any retry whose outcome is unknown), follow-up kansacties and kansactie "
        "updates as SPA calls. Refusals that will not heal go to quarantine with Econobis' log lines."
    ),
)
def econobis_push(
    context: AssetExecutionContext,
    hub_config: HubConfigResource,
    state_store: StateStoreResource,
    econobis: EconobisResource,
) -> MaterializeResult:
    tenant = context.partition_key
    with state_store.session() as store:
        report = econobis.pusher(hub_config.load(), tenant, store).run()
        with store.begin() as conn:
            outbox = store.outbox_counts(conn, tenant, "econobis")
    d = report.as_dict()
    return MaterializeResult(
        metadata={
            "claimed": report.claimed,
            "sent": report.sent,
            "found_by_lookup": report.found_by_lookup,
            "retry_later": report.retry_later,
            "outcome_unknown": report.uncertain,
            "quarantined": report.quarantined,
            "partner_calls": d["calls"].get("calls", 0),
            "partner_retries": d["calls"].get("retries", 0),
            "by_operation": MetadataValue.json(d["by_operation"]),
            "outbox_now": MetadataValue.json(outbox),
            "seconds": round(report.seconds, 2),
        }
    )
