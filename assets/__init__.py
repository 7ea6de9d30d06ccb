"""Dagster assets per stage, their checks, resources and jobs.

Stages (groups in the UI): econobis (extract, date-range re-read, push) → hoomdossier (inbox, push) →
canonical (the model and its checks, stalled-dossier follow-ups) → mart (freshness gate, DuckDB); and
operations (the quarantine replay)."""

from __future__ import annotations

import os

from dagster import AssetSelection, EnvVar, define_asset_job

from assets.canonical import canonical_model, quarantine_empty, stalled_dossiers, xref_unique
from assets.econobis import econobis_pull, econobis_push, econobis_reconciliation, econobis_window
from assets.hoomdossier import hoomdossier_inbox, hoomdossier_push
from assets.mart import hub_freshness, reporting_mart, tenants_fresh
from assets.operations import quarantine_replay
from assets.resources import (
    EconobisResource,
    HoomdossierResource,
    HubConfigResource,
    MartResource,
    StateStoreResource,
    tenant_partitions,
    window_partitions,
)

ALL_ASSETS = [
    econobis_pull,
    econobis_window,
    hoomdossier_inbox,
    canonical_model,
    hoomdossier_push,
    stalled_dossiers,
    econobis_push,
    hub_freshness,
    reporting_mart,
    quarantine_replay,
]
ALL_CHECKS = [econobis_reconciliation, quarantine_empty, xref_unique, tenants_fresh]

# The whole per-tenant graph, in dependency order: pull, inbox, canonical model, plans and pushes.
SYNC_ASSETS = [econobis_pull, hoomdossier_inbox, canonical_model, hoomdossier_push, stalled_dossiers, econobis_push]
# Runs land in a per-tenant queue (see `hub ui`'s dagster.yaml): one run per tenant at a time.
TENANT_TAG = "hub/tenant"

sync_job = define_asset_job(
    "sync_job",
    selection=AssetSelection.assets(*SYNC_ASSETS),
    partitions_def=tenant_partitions,
    description="Incremental sync of one tenant: pull, inbox, canonical model, follow-ups and pushes "
    "(every 15 minutes by schedule; backfill it for a full re-read of chosen tenants).",
)
nightly_reconcile_job = define_asset_job(
    "nightly_reconcile_job",
    selection=AssetSelection.assets(*SYNC_ASSETS),
    partitions_def=tenant_partitions,
    tags={"full": "true"},
    description="Full re-read and deletion reconcile of one tenant, then the rest of the sync (nightly).",
)
econobis_pull_job = define_asset_job(
    "econobis_pull_job",
    selection=AssetSelection.assets(econobis_pull),
    partitions_def=tenant_partitions,
    description="Incremental Econobis pull for one tenant (pick the partition).",
)
econobis_push_job = define_asset_job(
    "econobis_push_job",
    selection=AssetSelection.assets(econobis_push),
    partitions_def=tenant_partitions,
    description="Push due outbox items (sign-ups, kansacties, registrations) into one tenant's Econobis.",
)
econobis_window_job = define_asset_job(
    "econobis_window_job",
    selection=AssetSelection.assets(econobis_window),
    partitions_def=window_partitions,
    description="Re-read what was created in Econobis on the chosen days for the chosen tenants (a backfill).",
)
hoomdossier_inbox_job = define_asset_job(
    "hoomdossier_inbox_job",
    selection=AssetSelection.assets(hoomdossier_inbox),
    partitions_def=tenant_partitions,
    description="Apply and forward received Hoomdossier messages of one tenant (requested by the inbox sensor).",
)
hoomdossier_push_job = define_asset_job(
    "hoomdossier_push_job",
    selection=AssetSelection.assets(hoomdossier_push),
    partitions_def=tenant_partitions,
    description="Plan and push registrations and coach links for one tenant (requested by the outbox sensor).",
)
hoomdossier_job = define_asset_job(
    "hoomdossier_job",
    selection=AssetSelection.assets(hoomdossier_inbox, hoomdossier_push),
    partitions_def=tenant_partitions,
    description="Apply and forward received Hoomdossier messages; plan and push registrations and coach links.",
)
follow_up_job = define_asset_job(
    "follow_up_job",
    selection=AssetSelection.assets(stalled_dossiers, econobis_push),
    partitions_def=tenant_partitions,
    description="Queue and push one follow-up kansactie per stalled dossier (requested by the stalled sensor).",
)
mart_job = define_asset_job(
    "mart_job",
    selection=AssetSelection.assets(hub_freshness, reporting_mart),
    description="Rebuild the DuckDB mart, unless a tenant is stale (blocking freshness check).",
)
quarantine_replay_job = define_asset_job(
    "quarantine_replay_job",
    selection=AssetSelection.assets(quarantine_replay),
    partitions_def=tenant_partitions,
    description="Replay one tenant's open quarantine (a coordinator launches it; pick the tenant).",
)
ALL_JOBS = [
    sync_job,
    nightly_reconcile_job,
    econobis_pull_job,
    econobis_push_job,
    econobis_window_job,
    hoomdossier_inbox_job,
    hoomdossier_push_job,
    hoomdossier_job,
    follow_up_job,
    mart_job,
    quarantine_replay_job,
]


def default_resources() -> dict[str, object]:
    """The resources of the definitions. The state store URL (it may carry a password) is an EnvVar when
    HUB_DATABASE_URL is set: resolved at launch, never shown in the UI."""
    db = EnvVar("HUB_DATABASE_URL") if os.environ.get("HUB_DATABASE_URL") else ""
    return {
        "hub_config": HubConfigResource(),
        "state_store": StateStoreResource(database_url=db),
        "econobis": EconobisResource(),
        "hoomdossier": HoomdossierResource(),
        "mart": MartResource(),
    }


__all__ = [
    "ALL_ASSETS",
    "ALL_CHECKS",
    "ALL_JOBS",
    "SYNC_ASSETS",
    "TENANT_TAG",
    "EconobisResource",
    "HoomdossierResource",
    "HubConfigResource",
    "MartResource",
    "StateStoreResource",
    "canonical_model",
    "default_resources",
    "econobis_pull",
    "econobis_pull_job",
    "econobis_push",
    "econobis_push_job",
    "econobis_window",
    "follow_up_job",
    "hoomdossier_inbox",
    "hoomdossier_job",
    "hoomdossier_push",
    "hub_freshness",
    "mart_job",
    "nightly_reconcile_job",
    "quarantine_replay",
    "reporting_mart",
    "stalled_dossiers",
    "sync_job",
    "tenant_partitions",
]
