"""What a coordinator launches by hand: the quarantine replay of one tenant."""

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from assets.econobis import pull_metadata
from assets.resources import POOL_ECONOBIS, EconobisResource, HubConfigResource, StateStoreResource, per_tenant
from connectors.econobis.sync import EconobisPull
from hub.work import NOT_REPLAYABLE, open_quarantine_counts, replay_quarantine


class ReplayConfig(Config):
    """Leave both empty to replay everything open for the tenant."""

    sources: list[str] = Field(
        default_factory=list,
        description="only these quarantine sources, e.g. outbox:econobis, inbox:hoomdossier, econobis",
    )
    ids: list[int] = Field(default_factory=list, description="only these quarantine entry ids")


@asset(
    **per_tenant("operations", {"python"}, POOL_ECONOBIS),
    description=(
        "Replays the tenant's open quarantine: parked pushes and Econobis-refused Hoomdossier messages are due "
        "again (the outbox and inbox sensors send them within a minute; lookups keep a replay from writing "
        "twice), records a pull could not map are re-read from Econobis now, stalled dossiers without a kans are "
        "re-examined. An entry that fails again returns with its new reason. Launch it from the UI "
        "(Materialize → pick the tenant; optional config narrows it to sources or entry ids)."
    ),
)
def quarantine_replay(
    context: AssetExecutionContext,
    config: ReplayConfig,
    hub_config: HubConfigResource,
    state_store: StateStoreResource,
    econobis: EconobisResource,
) -> MaterializeResult:
    tenant = context.partition_key
    cfg = hub_config.load()
    with state_store.session() as store:
        before = open_quarantine_counts(store, tenant)
        report, reread = replay_quarantine(store, tenant, config.sources or None, config.ids or None)
        pulled = {}
        if reread and cfg.tenant(tenant).has("econobis"):
            pull = EconobisPull(store, econobis.client(cfg, tenant, store), tenant, econobis.page_size).reread(reread)
            pulled = pull_metadata(pull)
        after = open_quarantine_counts(store, tenant)
    context.log.info("replayed quarantine of %s: %s", tenant, report.requeued)
    return MaterializeResult(
        metadata={
            "open_before": sum(before.values()),
            "requeued": MetadataValue.json(report.requeued),
            "reread_from_econobis": report.reread,
            "reread_still_quarantined": pulled.get("quarantined", 0) if pulled else 0,
            "nothing_left_to_replay": report.gone,
            "not_replayable": MetadataValue.json(
                {s: {"open": n, "why": NOT_REPLAYABLE[s]} for s, n in report.not_replayable.items()}
            ),
            "open_after": sum(after.values()),
            "open_after_by_source": MetadataValue.json(after),
            "preview": MetadataValue.json(report.preview),
        }
    )
