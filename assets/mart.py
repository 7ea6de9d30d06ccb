"""The reporting mart (DuckDB + Parquet) that PowerBI reads."""

from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.econobis import econobis_pull
from assets.resources import HubConfigResource, MartResource, StateStoreResource
from hub.mart import build_mart, read_funnel


@asset(
    deps=[econobis_pull],
    group_name="mart",
    kinds={"duckdb", "parquet"},
    description="Dossiers by phase per tenant and campaign, journey events and campaigns; rebuilt into a fresh "
    "DuckDB file, checked, and swapped in atomically (PowerBI never sees a half-built file).",
)
def reporting_mart(
    context: AssetExecutionContext,
    hub_config: HubConfigResource,
    state_store: StateStoreResource,
    mart: MartResource,
) -> MaterializeResult:
    with state_store.session() as store:
        result = build_mart(store, hub_config.load(), Path(mart.path()))
    funnel = read_funnel(result.path)
    preview = "| tenant | campaign | phase | now | reached |\n|---|---|---|---|---|\n" + "\n".join(
        f"| {t} | {c} | {p} | {n} | {r} |" for t, c, p, n, r in funnel
    )
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(result.path)),
            "parquet": MetadataValue.path(str(result.parquet_dir)),
            **{f"rows_{k}": v for k, v in result.rows.items()},
            "funnel": MetadataValue.md(preview),
        }
    )
