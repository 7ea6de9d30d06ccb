"""The canonical stage, per tenant: the model the partner extracts and the inbox feed (residents, dwellings,
dossiers, journey events), with its checks, and the follow-up of stalled dossiers planned from it."""

from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)
from sqlalchemy import func, select

from assets.econobis import econobis_pull
from assets.hoomdossier import hoomdossier_inbox
from assets.resources import HubConfigResource, StateStoreResource, per_tenant, tenant_partitions
from hub.followup import plan_follow_ups
from hub.store import Store
from hub.store import tables as t
from hub.work import open_quarantine_counts

PER_TENANT: dict[str, Any] = per_tenant("canonical", {"python"})
# (system, entity) pairs where one canonical record stands for exactly one partner record.
ONE_TO_ONE = (
    ("econobis", "intake"),
    ("econobis", "opportunity"),
    ("econobis", "quotation-request"),
    ("econobis", "housing-file"),
    ("hoomdossier", "building"),
)


def canonical_counts(store: Store, tenant: str) -> dict[str, Any]:
    e = t.entities
    with store.begin() as conn:
        live = {
            r[0]: int(r[1])
            for r in conn.execute(
                select(e.c.entity, func.count())
                .where(e.c.tenant == tenant, e.c.deleted_at.is_(None))
                .group_by(e.c.entity)
            )
        }
        phase = e.c.data["phase"].as_string()
        phases = {
            str(r[0]): int(r[1])
            for r in conn.execute(
                select(phase, func.count())
                .where(e.c.tenant == tenant, e.c.entity == "dossier", e.c.deleted_at.is_(None))
                .group_by(phase)
            )
        }
        events = int(
            conn.execute(
                select(func.count()).select_from(t.journey_events).where(t.journey_events.c.tenant == tenant)
            ).scalar_one()
        )
    return {"entities": live, "dossiers_by_phase": phases, "journey_events": events}


@asset(
    **PER_TENANT,
    deps=[econobis_pull, hoomdossier_inbox],
    description=(
        "The tenant's canonical model after the extracts and the inbox: live residents, dwellings, dwelling "
        "files, intakes, opportunities, actions, dossiers (by journey phase) and journey events. Its checks "
        "guard it: cross-references unique, quarantine empty."
    ),
)
def canonical_model(context: AssetExecutionContext, state_store: StateStoreResource) -> MaterializeResult:
    tenant = context.partition_key
    with state_store.session() as store:
        counts = canonical_counts(store, tenant)
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
    description="Open quarantine entries of the tenant (warns; replay them with quarantine_replay_job).",
)
def quarantine_empty(context: AssetCheckExecutionContext, state_store: StateStoreResource) -> AssetCheckResult:
    tenant = context.partition_key
    with state_store.session() as store:
        counts = open_quarantine_counts(store, tenant)
    total = sum(counts.values())
    return AssetCheckResult(
        passed=total == 0,
        severity=AssetCheckSeverity.WARN,
        metadata={"open": total, "by_source": MetadataValue.json(counts)},
    )


def xref_duplicates(store: Store, tenant: str) -> dict[str, int]:
    """(system/entity) → canonical ids that two partner records of a one-to-one kind point at, plus external
    ids mapped twice (the unique constraint forbids it; counted in case a store lacks it)."""
    x = t.xref
    out: dict[str, int] = {}
    with store.begin() as conn:
        for system, entity in ONE_TO_ONE:
            shared = (
                select(x.c.canonical_id)
                .where(x.c.tenant == tenant, x.c.system == system, x.c.entity == entity)
                .group_by(x.c.canonical_id)
                .having(func.count() > 1)
                .subquery()
            )
            n = int(conn.execute(select(func.count()).select_from(shared)).scalar_one())
            if n:
                out[f"{system}/{entity}"] = n
        twice = (
            select(x.c.system, x.c.entity, x.c.external_id)
            .where(x.c.tenant == tenant)
            .group_by(x.c.system, x.c.entity, x.c.external_id)
            .having(func.count() > 1)
            .subquery()
        )
        n = int(conn.execute(select(func.count()).select_from(twice)).scalar_one())
        if n:
            out["external ids mapped twice"] = n
    return out


@asset_check(
    asset=canonical_model,
    partitions_def=tenant_partitions,
    description=(
        "Cross-references are unique: no partner record maps to two canonical records, and no canonical intake, "
        "kans, kansactie, housing file or building stands for two partner records."
    ),
)
def xref_unique(context: AssetCheckExecutionContext, state_store: StateStoreResource) -> AssetCheckResult:
    tenant = context.partition_key
    with state_store.session() as store:
        dupes = xref_duplicates(store, tenant)
    return AssetCheckResult(
        passed=not dupes,
        severity=AssetCheckSeverity.ERROR,
        metadata={"duplicates": MetadataValue.json(dupes)},
    )


@asset(
    **PER_TENANT,
    deps=[canonical_model],
    description=(
        "Stalled dossiers (no journey progress for `follow_up.after_days`, default 7) each get one follow-up "
        "kansactie for the coordinator, queued for econobis_push (once per dossier and phase). A dossier with "
        "no kans in Econobis goes to quarantine, to be followed up by hand."
    ),
)
def stalled_dossiers(
    context: AssetExecutionContext, hub_config: HubConfigResource, state_store: StateStoreResource
) -> MaterializeResult:
    tenant = context.partition_key
    cfg = hub_config.load().tenant(tenant)
    if not cfg.has("econobis") or not cfg.follow_up.enabled:
        return MaterializeResult(metadata={"skipped": f"no follow-ups for tenant {tenant}"})
    with state_store.session() as store:
        report = plan_follow_ups(store, tenant, cfg.follow_up)
    return MaterializeResult(
        metadata={
            "stalled_found": report.stalled,
            "follow_ups_queued": report.enqueued,
            "already_planned": report.already_planned,
            "without_kans": report.without_kans,
            "after_days": cfg.follow_up.after_days,
            "preview": MetadataValue.json(report.preview),
        }
    )
