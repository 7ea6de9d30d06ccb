"""Dagster assets per stage (partner extracts, mart), their resources and jobs."""

from dagster import AssetSelection, define_asset_job

from assets.econobis import econobis_pull, econobis_push, tenant_partitions
from assets.hoomdossier import hoomdossier_inbox, hoomdossier_partitions, hoomdossier_push
from assets.mart import reporting_mart
from assets.resources import EconobisResource, HubConfigResource, MartResource, StateStoreResource

ALL_ASSETS = [econobis_push, econobis_pull, hoomdossier_inbox, hoomdossier_push, reporting_mart]

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
    description="Push due outbox items (sign-ups, kansacties) into one tenant's Econobis.",
)
hoomdossier_job = define_asset_job(
    "hoomdossier_job",
    selection=AssetSelection.assets(hoomdossier_inbox, hoomdossier_push),
    partitions_def=hoomdossier_partitions,
    description="Apply and forward received Hoomdossier messages; plan and push registrations and coach links.",
)
mart_job = define_asset_job("mart_job", selection=AssetSelection.assets(reporting_mart))


def default_resources() -> dict[str, object]:
    return {
        "hub_config": HubConfigResource(),
        "state_store": StateStoreResource(),
        "econobis": EconobisResource(),
        "mart": MartResource(),
    }


__all__ = [
    "ALL_ASSETS",
    "EconobisResource",
    "HubConfigResource",
    "MartResource",
    "StateStoreResource",
    "default_resources",
    "econobis_pull",
    "econobis_pull_job",
    "econobis_push",
    "econobis_push_job",
    "hoomdossier_inbox",
    "hoomdossier_job",
    "hoomdossier_push",
    "mart_job",
    "reporting_mart",
]
