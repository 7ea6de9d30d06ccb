"""Econobis extract → canonical: one partition per tenant."""

from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    StaticPartitionsDefinition,
    asset,
)

from assets.resources import EconobisResource, HubConfigResource, StateStoreResource
from connectors.econobis.sync import EconobisPull
from hub.config import load_config


def econobis_tenants() -> list[str]:
    """Tenants with Econobis in the tenants config (read when definitions load)."""
    return [t.id for t in load_config().tenants_with("econobis")]


tenant_partitions = StaticPartitionsDefinition(econobis_tenants())


@asset(
    partitions_def=tenant_partitions,
    group_name="econobis",
    kinds={"python", "sqlite"},
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
    config = hub_config.load()
    store = state_store.open()
    try:
        client = econobis.client(config, tenant, store)
        version = client.client_version().get("version")
        full = context.run.tags.get("full") == "true"
        report = EconobisPull(store, client, tenant, econobis.page_size).run(full=full)
    finally:
        store.dispose()
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
        }
    )
