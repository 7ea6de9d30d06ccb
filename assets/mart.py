"""The reporting mart (DuckDB + Parquet) that PowerBI reads, behind a freshness gate: the mart does not
publish while any tenant's last successful sync is older than that tenant's `fresh_within_hours`; then the HTML
report per tenant drawn from it."""

import base64
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.resources import HubConfigResource, MartResource, StateStoreResource
from hub.connector import table
from hub.mart import MART_FILE, build_mart, read_funnel
from hub.mart.meta import tenant_freshness
from hub.mart.report import funnel_png, write_report


@asset(
    group_name="mart",
    kinds={"python"},
    description=(
        "When each tenant last synced successfully with each partner it pulls from (written by the pulls). Its "
        "blocking check `tenants_fresh` keeps the mart from publishing stale figures."
    ),
)
def hub_freshness(hub_config: HubConfigResource, state_store: StateStoreResource) -> MaterializeResult:
    with state_store.session() as store:
        rows = tenant_freshness(store, hub_config.load())
    return MaterializeResult(
        metadata={
            "tenants": len({r["tenant"] for r in rows}),
            "stale": len({r["tenant"] for r in rows if not r["fresh"]}),
            "by_tenant": MetadataValue.md(_table(rows)),
        }
    )


def _table(rows: list[dict[str, Any]]) -> str:
    return table(
        ("tenant", "partner", "last sync", "age (h)", "limit (h)", "fresh"),
        (
            (r["tenant"], r["partner"], r["last_sync"] or "never", r["age_hours"], r["limit_hours"], r["fresh"])
            for r in rows
        ),
    ).text


@asset_check(
    asset=hub_freshness,
    blocking=True,
    description=(
        "Every tenant synced successfully within its `fresh_within_hours`. Blocking: when it fails, the mart in "
        "the same run is not rebuilt and PowerBI keeps the last good file."
    ),
)
def tenants_fresh(hub_config: HubConfigResource, state_store: StateStoreResource) -> AssetCheckResult:
    with state_store.session() as store:
        rows = tenant_freshness(store, hub_config.load())
    stale = sorted({r["tenant"] for r in rows if not r["fresh"]})
    return AssetCheckResult(
        passed=not stale,
        severity=AssetCheckSeverity.ERROR,
        metadata={"stale_tenants": MetadataValue.json(stale), "by_tenant": MetadataValue.md(_table(rows))},
        description=f"stale: {', '.join(stale)}" if stale else None,
    )


@asset(
    deps=[hub_freshness, AssetKey("canonical_model")],
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


@asset(
    deps=[reporting_mart],
    group_name="mart",
    kinds={"html"},
    description="The HTML report per tenant (`reports/<tenant>.html` beside the mart): the analyst questions' "
    "answers as charts and small tables, self-contained (opens offline). Its metadata shows each tenant's funnel.",
)
def mart_report(hub_config: HubConfigResource, mart: MartResource) -> MaterializeResult:
    mart_dir = Path(mart.path())
    tenants = [tc.id for tc in hub_config.load().tenants]
    written = write_report(mart_dir / MART_FILE, mart_dir / "reports", tenants)
    # the UI renders Markdown images from data: URIs, so the funnel shows on the materialization itself
    pngs = {t: base64.b64encode(funnel_png(mart_dir / MART_FILE, t)).decode() for t in written}
    funnels = "\n\n".join(f"**{t}**\n\n![funnel of {t}](data:image/png;base64,{png})" for t, png in pngs.items())
    return MaterializeResult(
        metadata={
            "reports": len(written),
            "out_dir": MetadataValue.path(str(mart_dir / "reports")),
            **{f"report_{t}": MetadataValue.path(str(p)) for t, p in written.items()},
            "funnel": MetadataValue.md(funnels),
        }
    )
