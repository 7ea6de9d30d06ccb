"""The Hoomdossier coupling as Dagster assets, one partition per tenant: received messages applied to the
canonical model and forwarded to Econobis; registrations and coach links planned and pushed."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.coupling import apply_hoomdossier_inbox, forward_hoomdossier_inbox, plan_hoomdossier, push_hoomdossier
from assets.econobis import PARTNER_RETRY, call_metadata, econobis_pull, skipped
from assets.resources import (
    POOL_ECONOBIS,
    POOL_HOOMDOSSIER,
    EconobisResource,
    HoomdossierResource,
    HubConfigResource,
    StateStoreResource,
    per_tenant,
)
from connectors.econobis.routes import INBOX_SOURCE

PARTNER = "hoomdossier"


@asset(
    # it applies to the canonical model and forwards to Econobis: Econobis' pool
    **per_tenant(PARTNER, {"python"}, POOL_ECONOBIS),
    retry_policy=PARTNER_RETRY,
    description=(
        "Messages Hoomdossier posted to the hub's receiver (afspraak, woning-status, scan-status, gebruik, "
        "woonplan, pdf, delete): applied to the canonical model in the order received (appointment, building "
        "status, scans, dwelling-file facts, advices, report reference), then forwarded to the tenant's "
        "Econobis per building in order, newest state winning, retried until Econobis takes them."
    ),
)
def hoomdossier_inbox(
    context: AssetExecutionContext,
    hub_config: HubConfigResource,
    state_store: StateStoreResource,
    econobis: EconobisResource,
) -> MaterializeResult:
    tenant = context.partition_key
    config = hub_config.load()
    if not config.tenant(tenant).has(PARTNER, "econobis"):
        return skipped(f"tenant {tenant} has no Hoomdossier coupling")
    with state_store.session() as store:
        applied = apply_hoomdossier_inbox(store, tenant)
        report = forward_hoomdossier_inbox(store, config.tenant(tenant), econobis.client(config, tenant, store))
        counts = store.inbox_counts(tenant, INBOX_SOURCE)
    d = report.as_dict()
    return MaterializeResult(
        metadata={
            "applied": applied["applied"],
            "quarantined_on_apply": applied["quarantined"],
            "journey_events_added": applied["journey_events_added"],
            "forwarded": report.forwarded,
            "superseded": report.superseded,
            "retry_later": report.retry_later,
            "waiting_behind_a_retry": report.waiting_behind,
            "quarantined_on_forward": report.quarantined,
            **call_metadata(d["calls"]),
            "by_endpoint": MetadataValue.json(d["by_endpoint"]),
            "inbox_now": MetadataValue.json(counts),
            "entities": MetadataValue.json(applied["entities"]),
        }
    )


@asset(
    **per_tenant(PARTNER, {"python"}, POOL_HOOMDOSSIER),
    retry_policy=PARTNER_RETRY,
    deps=[econobis_pull],
    description=(
        "What Hoomdossier needs, planned from the canonical model and pushed: a registration (through Econobis' "
        "make-hoomdossier, via the hub's idempotent register proxy) for each consenting resident in a "
        "Hoomdossier campaign, and a coach link for each visit kansactie with a coach — also visits created "
        "through the webform, which Econobis never links. Registrations go out with econobis_push."
    ),
)
def hoomdossier_push(
    context: AssetExecutionContext,
    hub_config: HubConfigResource,
    state_store: StateStoreResource,
    hoomdossier: HoomdossierResource,
) -> MaterializeResult:
    tenant = context.partition_key
    config = hub_config.load()
    if not config.tenant(tenant).has(PARTNER, "econobis"):
        return skipped(f"tenant {tenant} has no Hoomdossier coupling")
    with state_store.session() as store:
        planned = plan_hoomdossier(store, config.tenant(tenant))
        report = push_hoomdossier(store, config.tenant(tenant), hoomdossier.client(config, tenant, store))
        with store.begin() as conn:
            outbox = store.outbox_counts(conn, tenant, "hoomdossier")
    d = report.as_dict()
    return MaterializeResult(
        metadata={
            **planned,
            "sent": report.sent,
            "found_by_lookup": report.found_by_lookup,
            "waiting_for_registration": report.waiting,
            "retry_later": report.retry_later,
            "quarantined": report.quarantined,
            **call_metadata(d["calls"]),
            "outbox_now": MetadataValue.json(outbox),
        }
    )
