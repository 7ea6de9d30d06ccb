"""Econobis extract → canonical, a date-range re-read for backfills, and outbox → Econobis; one partition per
tenant (the window asset: tenant × day). A tenant without Econobis materializes as skipped."""

from datetime import date, timedelta
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    Backoff,
    FreshnessPolicy,
    Jitter,
    MaterializeResult,
    MetadataValue,
    MultiPartitionKey,
    RetryPolicy,
    asset,
    asset_check,
)

from assets.resources import (
    POOL_ECONOBIS,
    EconobisResource,
    HubConfigResource,
    StateStoreResource,
    per_tenant,
    tenant_partitions,
    window_partitions,
)
from connectors.econobis.sync import EconobisPull, PullReport, reconcile_counts
from hub.work import record_success

PARTNER = "econobis"
PER_TENANT: dict[str, Any] = per_tenant("econobis", {"python"}, POOL_ECONOBIS)
# A partner asset that fails (the partner down past the client's own retries) is tried again by Dagster.
PARTNER_RETRY = RetryPolicy(max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
# Scheduled every 15 minutes: warn after an hour without a successful pull, fail after three.
PULL_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=3), warn_window=timedelta(hours=1))

__all__ = ["econobis_pull", "econobis_push", "econobis_reconciliation", "econobis_window", "tenant_partitions"]


def skipped(reason: str) -> MaterializeResult:
    return MaterializeResult(metadata={"skipped": reason})


def call_metadata(calls: dict[str, Any]) -> dict[str, Any]:
    """A run's partner calls as every partner asset reports them (from `CallStats.as_dict()`)."""
    return {
        "partner_calls": calls.get("calls", 0),
        "partner_writes": calls.get("writes", 0),
        "partner_retries": calls.get("retries", 0),
    }


def pull_metadata(report: PullReport, **extra: Any) -> dict[str, Any]:
    """What a pull tells the UI: records seen/created/updated/unchanged/quarantined, calls, a table per entity."""
    d = report.as_dict()
    rows = [
        f"| {entity} | {c['seen']} | {c['created']} | {c['updated']} | {c['unchanged']} | {c['quarantined']} |"
        for entity, c in d["entities"].items()
    ]
    table = "| entity | seen | created | updated | unchanged | quarantined |\n|---|---|---|---|---|---|\n" + "\n".join(
        rows
    )
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
        "by_entity": MetadataValue.md(table),
        **extra,
    }


@asset(
    **PER_TENANT,
    retry_policy=PARTNER_RETRY,
    freshness_policy=PULL_FRESHNESS,
    description=(
        "New contacts, intakes, kansen, kansacties and housing files from the tenant's Econobis (SPA grids), "
        "mapped to canonical residents, dwellings, intakes, opportunities, actions and dwelling files; "
        "dossier phases re-derived. Incremental by the cursors in the state store; a full re-read (with the "
        "deletion reconcile) when the run has tag `full=true` (the nightly reconcile) or is part of a backfill."
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
    if not config.tenant(tenant).has(PARTNER):
        return skipped(f"tenant {tenant} has no Econobis")
    tags = context.run.tags
    full = tags.get("full") == "true" or "dagster/backfill" in tags
    with state_store.session() as store:
        client = econobis.client(config, tenant, store)
        version = client.client_version().get("version")
        report = EconobisPull(store, client, tenant, econobis.page_size).run(full=full)
        record_success(store, tenant, "sync:econobis")
    d = report.as_dict()
    return MaterializeResult(
        metadata=pull_metadata(
            report,
            econobis_version=version or "unknown",
            full_pull=full,
            audit_trail_revisions=d["changes"].get("revisions", 0),
            records_reread=MetadataValue.json(d["changes"].get("records_reread", {})),
            records_deleted=MetadataValue.json(d["changes"].get("records_deleted", {})),
            reconcile_deleted=MetadataValue.json(d["reconcile"].get("deleted", {})),
        )
    )


@asset_check(
    asset=econobis_pull,
    partitions_def=tenant_partitions,
    pool=POOL_ECONOBIS,
    description=(
        "Reconciliation: per entity, the records Econobis lists (grid totals) against the live records the hub "
        "holds plus those parked in quarantine. A difference means a record was missed or deleted unseen; the "
        "nightly full reconcile repairs it."
    ),
)
def econobis_reconciliation(
    context: AssetCheckExecutionContext,
    hub_config: HubConfigResource,
    state_store: StateStoreResource,
    econobis: EconobisResource,
) -> AssetCheckResult:
    tenant = context.partition_key
    config = hub_config.load()
    if not config.tenant(tenant).has(PARTNER):
        return AssetCheckResult(passed=True, metadata={"skipped": f"tenant {tenant} has no Econobis"})
    with state_store.session() as store:
        rows = reconcile_counts(store, econobis.client(config, tenant, store), tenant)
    off = [r for r in rows if r["difference"] != 0]
    table = "| entity | econobis | hub | quarantined | difference |\n|---|---|---|---|---|\n" + "\n".join(
        f"| {r['entity']} | {r['partner']} | {r['hub']} | {r['quarantined']} | {r['difference']} |" for r in rows
    )
    return AssetCheckResult(
        passed=not off,
        severity=AssetCheckSeverity.WARN,
        metadata={"counts": MetadataValue.md(table), "entities_off": len(off)},
        description=None if not off else f"{len(off)} entities differ: " + ", ".join(r["entity"] for r in off),
    )


@asset(
    partitions_def=window_partitions,
    group_name="econobis",
    kinds={"python"},
    pool=POOL_ECONOBIS,
    retry_policy=PARTNER_RETRY,
    description=(
        "Backfill of a date range: the intakes, kansen and kansacties created in Econobis on each day "
        "(Europe/Amsterdam), re-read and merged; the incremental cursors are left alone. Pick tenants and days "
        "in the UI; a day re-read twice reports every record unchanged."
    ),
)
def econobis_window(
    context: AssetExecutionContext,
    hub_config: HubConfigResource,
    state_store: StateStoreResource,
    econobis: EconobisResource,
) -> MaterializeResult:
    key = context.partition_key
    assert isinstance(key, MultiPartitionKey)
    tenant, day = key.keys_by_dimension["tenant"], date.fromisoformat(key.keys_by_dimension["day"])
    config = hub_config.load()
    if not config.tenant(tenant).has(PARTNER):
        return skipped(f"tenant {tenant} has no Econobis")
    with state_store.session() as store:
        client = econobis.client(config, tenant, store)
        report = EconobisPull(store, client, tenant, econobis.page_size).run_window(day, day)
    return MaterializeResult(metadata=pull_metadata(report, tenant=tenant, day=day.isoformat()))


@asset(
    **PER_TENANT,
    retry_policy=PARTNER_RETRY,
    description=(
        "Due outbox items pushed into the tenant's Econobis: sign-ups as webform calls (intake_id_extern = the "
        "hub's key; lookup before any retry whose outcome is unknown), follow-up kansacties for stalled dossiers, "
        "kansactie updates and Hoomdossier registrations (make-hoomdossier) as SPA calls. Refusals that will not "
        "heal go to quarantine with Econobis' log lines."
    ),
    deps=["stalled_dossiers", "hoomdossier_push"],
)
def econobis_push(
    context: AssetExecutionContext,
    hub_config: HubConfigResource,
    state_store: StateStoreResource,
    econobis: EconobisResource,
) -> MaterializeResult:
    tenant = context.partition_key
    config = hub_config.load()
    if not config.tenant(tenant).has(PARTNER):
        return skipped(f"tenant {tenant} has no Econobis")
    with state_store.session() as store:
        report = econobis.pusher(config, tenant, store).run()
        with store.begin() as conn:
            outbox = store.outbox_counts(conn, tenant, PARTNER)
    d = report.as_dict()
    return MaterializeResult(
        metadata={
            "claimed": report.claimed,
            "sent": report.sent,
            "found_by_lookup": report.found_by_lookup,
            "retry_later": report.retry_later,
            "outcome_unknown": report.uncertain,
            "quarantined": report.quarantined,
            **call_metadata(d["calls"]),
            "by_operation": MetadataValue.json(d["by_operation"]),
            "outbox_now": MetadataValue.json(outbox),
            "seconds": round(report.seconds, 2),
        }
    )
