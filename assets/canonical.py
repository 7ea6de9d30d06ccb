"""The canonical stage, per tenant: the model the partner extracts and inboxes feed (residents, dwellings,
dossiers, journey events), with its checks, and the follow-up of stalled dossiers planned from it (by the
couplings' follow-up channels). The merge into the model happens inside each pull and inbox run (cursor and
data in one transaction), so this stage reports and guards the model rather than producing it."""

from collections.abc import Iterable
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.partners import BASE_KEYS, skipped, to_metadata
from assets.resources import PartnerResource, per_tenant, tenant_partitions
from hub.connector import REGISTRY, Coupling, FollowUpChannel, Registry
from hub.store import Store
from hub.work import open_quarantine_counts

PER_TENANT: dict[str, Any] = per_tenant("canonical", {"python"})


def canonical_counts(store: Store, tenant: str) -> dict[str, Any]:
    with store.begin() as conn:
        return {
            "entities": store.count_live_entities(conn, tenant),
            "dossiers_by_phase": store.count_live_by_data(conn, tenant, "dossier", "phase"),
            "journey_events": store.count_journey_events(conn, tenant),
        }


def xref_duplicates(store: Store, tenant: str, one_to_one: Iterable[tuple[str, str]] | None = None) -> dict[str, int]:
    """(system/entity) → canonical ids that two partner records of a one-to-one kind point at (`one_to_one`,
    default: the registry's), plus external ids mapped twice (the unique constraint forbids it; counted in
    case a store lacks it)."""
    out: dict[str, int] = {}
    with store.begin() as conn:
        for system, entity in REGISTRY.one_to_one() if one_to_one is None else one_to_one:
            if n := store.xref_shared_canonical_ids(conn, tenant, system, entity):
                out[f"{system}/{entity}"] = n
        if n := store.xref_external_ids_mapped_twice(conn, tenant):
            out["external ids mapped twice"] = n
    return out


def canonical_assets(reg: Registry, couplings: tuple[Coupling, ...]) -> tuple[list[Any], list[Any]]:
    """The canonical stage for these connectors: the model (after every pull and inbox), its checks, and the
    stalled-dossier follow-ups of the couplings' follow-up channels."""
    feeds = [f"{c.name}_pull" for c in reg.with_pull()] + [f"{c.name}_inbox" for c in reg.with_inbox()]

    @asset(
        name="canonical_model",
        **PER_TENANT,
        deps=[AssetKey(f) for f in feeds],
        required_resource_keys={"state_store"},
        description=(
            "The tenant's canonical model after the extracts and the inboxes: live residents, dwellings, dwelling "
            "files, intakes, opportunities, actions, dossiers (by journey phase) and journey events. Its checks "
            "guard it: cross-references unique, quarantine empty."
        ),
    )
    def canonical_model(context: AssetExecutionContext) -> MaterializeResult:
        with context.resources.state_store.session() as store:
            counts = canonical_counts(store, context.partition_key)
        live = counts["entities"]
        return MaterializeResult(
            metadata={
                "residents": live.get("resident", 0),
                "dwellings": live.get("dwelling", 0),
                "dwelling_files": live.get("dwelling_file", 0),
                "intakes": live.get("intake", 0),
                "opportunities": live.get("opportunity", 0),
                "actions": live.get("action", 0),
                "dossiers": live.get("dossier", 0),
                "journey_events": counts["journey_events"],
                "dossiers_by_phase": MetadataValue.json(counts["dossiers_by_phase"]),
                "entities": MetadataValue.json(live),
            }
        )

    @asset_check(
        asset=canonical_model,
        partitions_def=tenant_partitions,
        required_resource_keys={"state_store"},
        description="Open quarantine entries of the tenant (warns; replay them with quarantine_replay_job).",
    )
    def quarantine_empty(context: AssetCheckExecutionContext) -> AssetCheckResult:
        with context.resources.state_store.session() as store:
            counts = open_quarantine_counts(store, context.partition_key)
        total = sum(counts.values())
        return AssetCheckResult(
            passed=total == 0,
            severity=AssetCheckSeverity.WARN,
            metadata={"open": total, "by_source": MetadataValue.json(counts)},
        )

    pairs = reg.one_to_one()

    @asset_check(
        asset=canonical_model,
        partitions_def=tenant_partitions,
        required_resource_keys={"state_store"},
        description=(
            "Cross-references are unique: no partner record maps to two canonical records, and no canonical record "
            "of a one-to-one kind (" + ", ".join(f"{s}/{e}" for s, e in pairs) + ") stands for two partner records."
        ),
    )
    def xref_unique(context: AssetCheckExecutionContext) -> AssetCheckResult:
        with context.resources.state_store.session() as store:
            dupes = xref_duplicates(store, context.partition_key, pairs)
        return AssetCheckResult(
            passed=not dupes,
            severity=AssetCheckSeverity.ERROR,
            metadata={"duplicates": MetadataValue.json(dupes)},
        )

    assets: list[Any] = [canonical_model]
    channels = [cp.follow_up for cp in couplings if cp.follow_up is not None]
    if channels:
        assets.append(_stalled(channels, canonical_model))
    return assets, [quarantine_empty, xref_unique]


def _stalled(channels: list[FollowUpChannel], canonical_model: Any) -> Any:
    @asset(
        name="stalled_dossiers",
        **PER_TENANT,
        deps=[canonical_model],
        required_resource_keys=BASE_KEYS | {ch.partner for ch in channels},
        description=" ".join(ch.description for ch in channels),
    )
    def stalled_dossiers(context: AssetExecutionContext) -> MaterializeResult:
        tenant = context.partition_key
        config = context.resources.hub_config.load()
        cfg = config.tenant(tenant)
        mine = [ch for ch in channels if cfg.has(ch.partner)]
        if not mine or not cfg.follow_up.enabled:
            return skipped(f"no follow-ups for tenant {tenant}")
        metadata: dict[str, Any] = {}
        with context.resources.state_store.session() as store:
            for ch in mine:
                resource: PartnerResource = getattr(context.resources, ch.partner)
                metadata.update(ch.plan(resource.run(config, tenant, store, dict(context.run.tags))).metadata())
        return MaterializeResult(metadata=to_metadata(metadata))

    return stalled_dossiers
