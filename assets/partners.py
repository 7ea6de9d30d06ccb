"""Asset factories: one Dagster asset per capability a connector declares (hub/connector.py), with the couplings'
steps wired in. So a partner's assets are a declaration, not code: `<name>_pull` (+ its reconciliation check),
`<name>_window` (date-range backfill), `<name>_inbox`, `<name>_push`; one partition per tenant, the partner's
pool, Dagster retries, and a tenant without the partner materializes as skipped."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
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

from assets.reading import PullConfig, read_mode
from assets.resources import PartnerResource, per_tenant, tenant_partitions, window_partitions
from hub.config import HubConfig
from hub.connector import (
    METADATA_LABELS,
    Connector,
    Coupling,
    CouplingStep,
    Markdown,
    Outcome,
    PartnerRun,
    table,
)
from hub.work import record_success

# A partner asset that fails (the partner down past the client's own retries) is tried again by Dagster.
PARTNER_RETRY = RetryPolicy(max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
BASE_KEYS = {"hub_config", "state_store"}


def skipped(reason: str) -> MaterializeResult:
    return MaterializeResult(metadata={"skipped": reason})


def to_metadata(values: Mapping[str, Any], labels: Mapping[str, str] = METADATA_LABELS) -> dict[str, Any]:
    """Plain capability figures as Dagster metadata: Markdown tables, JSON for dicts and lists; first a
    `summary` of the figures `labels` names, in a coordinator's words (the keys stay for scripts)."""
    out: dict[str, Any] = {}
    worded = [(labels[k], _words(v)) for k, v in values.items() if k in labels and not isinstance(v, list | Markdown)]
    if worded:
        out["summary"] = MetadataValue.md(table(("what", "figure"), worded).text)
    for k, v in values.items():
        if isinstance(v, Markdown):
            out[k] = MetadataValue.md(v.text)
        elif isinstance(v, dict | list | tuple):
            out[k] = MetadataValue.json(v)
        elif isinstance(v, Path):
            out[k] = MetadataValue.path(str(v))
        else:
            out[k] = v
    return out


def _labels(c: Connector) -> dict[str, str]:
    """The summary's words for a partner's figures: the shared ones and its own."""
    return {**METADATA_LABELS, **c.metadata_labels}


def _words(value: Any) -> Any:
    """A figure for the summary: counts per kind as "contact 2, intake 1" (or "none")."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    return value


def _config(context: AssetExecutionContext | AssetCheckExecutionContext, c: Connector, tenant: str) -> HubConfig | None:
    """The tenants file, once per materialization; None when the tenant lacks the partner (then its asset
    materializes as skipped)."""
    config: HubConfig = context.resources.hub_config.load()
    return config if config.tenant(tenant).has(c.name) else None


def _run(
    context: AssetExecutionContext | AssetCheckExecutionContext,
    partner: str,
    config: HubConfig,
    tenant: str,
    store: Any,
) -> PartnerRun:
    resource: PartnerResource = getattr(context.resources, partner)
    return resource.run(config, tenant, store, dict(context.run.tags))


def _steps(steps: Iterable[CouplingStep], run: PartnerRun) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for step in steps:
        if run.tenant.has(*step.partners):
            out.update(step.run(run).metadata())
    return out


def pull_asset(c: Connector, deps: Sequence[str] = ()) -> AssetsDefinition:
    """`<name>_pull`; `deps`: the assets it runs after (the pulls and inboxes of lower stages)."""
    assert c.pull is not None
    pull = c.pull
    freshness = c.freshness
    extra: dict[str, Any] = {}
    if freshness is not None:
        extra["freshness_policy"] = FreshnessPolicy.time_window(
            fail_window=timedelta(hours=freshness.fail_hours), warn_window=timedelta(hours=freshness.warn_hours)
        )

    @asset(
        name=f"{c.name}_pull",
        **per_tenant(c.name, {"python"}, c.name),
        retry_policy=PARTNER_RETRY,
        required_resource_keys=BASE_KEYS | {c.name},
        description=pull.description,
        deps=[AssetKey(d) for d in deps],
        **extra,
    )
    def _pull(context: AssetExecutionContext, config: PullConfig) -> MaterializeResult:
        tenant = context.partition_key
        hub_config = _config(context, c, tenant)
        if hub_config is None:
            return skipped(f"tenant {tenant} has no {c.title}")
        full, why = read_mode(config.read, context.run.tags, context.run.remote_job_origin is not None)
        context.log.info(f"{c.name} pull of {tenant}: {'full re-read' if full else 'incremental'} ({why})")
        with context.resources.state_store.session() as store:
            outcome = pull.run(_run(context, c.name, hub_config, tenant, store), full)
            if freshness is not None:
                record_success(store, tenant, freshness.what)
        read = {"read": "full re-read" if full else "incremental", "read_because": why, "full_pull": full}
        return MaterializeResult(metadata=to_metadata({**read, **outcome.metadata()}, _labels(c)))

    return _pull


def reconciliation_check(c: Connector, pull: AssetsDefinition) -> AssetChecksDefinition:
    assert c.pull is not None and c.pull.reconcile is not None
    reconcile = c.pull.reconcile

    @asset_check(
        name=f"{c.name}_reconciliation",
        asset=pull,
        partitions_def=tenant_partitions,
        pool=c.name,
        required_resource_keys=BASE_KEYS | {c.name},
        description=c.pull.reconcile_description,
    )
    def _check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        tenant = context.partition_key
        config = _config(context, c, tenant)
        if config is None:
            return AssetCheckResult(passed=True, metadata={"skipped": f"tenant {tenant} has no {c.title}"})
        with context.resources.state_store.session() as store:
            rows = reconcile(_run(context, c.name, config, tenant, store))
        off = [r for r in rows if r["difference"] != 0]
        counts = table(
            ("entity", c.name, "hub", "quarantined", "difference"),
            ((r["entity"], r["partner"], r["hub"], r["quarantined"], r["difference"]) for r in rows),
        )
        return AssetCheckResult(
            passed=not off,
            severity=AssetCheckSeverity.WARN,
            metadata={"counts": MetadataValue.md(counts.text), "entities_off": len(off)},
            description=None if not off else f"{len(off)} entities differ: " + ", ".join(r["entity"] for r in off),
        )

    return _check


def window_asset(c: Connector) -> AssetsDefinition:
    assert c.pull is not None and c.pull.window is not None
    window = c.pull.window

    @asset(
        name=f"{c.name}_window",
        partitions_def=window_partitions,
        group_name=c.name,
        kinds={"python"},
        pool=c.name,
        retry_policy=PARTNER_RETRY,
        required_resource_keys=BASE_KEYS | {c.name},
        description=c.pull.window_description,
    )
    def _window(context: AssetExecutionContext) -> MaterializeResult:
        key = context.partition_key
        assert isinstance(key, MultiPartitionKey)
        tenant, day = key.keys_by_dimension["tenant"], date.fromisoformat(key.keys_by_dimension["day"])
        config = _config(context, c, tenant)
        if config is None:
            return skipped(f"tenant {tenant} has no {c.title}")
        with context.resources.state_store.session() as store:
            outcome = window(_run(context, c.name, config, tenant, store), day, day)
        return MaterializeResult(metadata=to_metadata(outcome.metadata(), _labels(c)))

    return _window


def _step_asset(
    c: Connector,
    name: str,
    main: Callable[[PartnerRun], Outcome],
    before: Sequence[CouplingStep],
    after: Sequence[CouplingStep],
    description: str,
    deps: Sequence[str],
    unclaimed: Callable[[PartnerRun], Outcome] | None = None,
) -> AssetsDefinition:
    """A partner asset that runs coupling steps around the connector's own step, in the pool of the partner
    the steps call (a step that sends on to another partner runs in that partner's pool). `unclaimed`: the
    connector's own step after its main one for a tenant none of the `after` steps applies to."""
    pool = next((s.pool for s in (*before, *after) if s.pool), None) or c.name
    keys = BASE_KEYS | {c.name} | {s.pool for s in (*before, *after) if s.pool}

    @asset(
        name=name,
        **per_tenant(c.name, {"python"}, pool),
        retry_policy=PARTNER_RETRY,
        required_resource_keys=keys,
        deps=[AssetKey(d) for d in deps],
        description=description,
    )
    def _asset(context: AssetExecutionContext) -> MaterializeResult:
        tenant = context.partition_key
        config = _config(context, c, tenant)
        if config is None:
            return skipped(f"tenant {tenant} has no {c.title}")
        with context.resources.state_store.session() as store:
            run = _run(context, c.name, config, tenant, store)
            metadata = _steps(before, run)
            metadata.update(main(run).metadata())
            metadata.update(_steps(after, run))
            if unclaimed is not None and not any(run.tenant.has(*step.partners) for step in after):
                metadata.update(unclaimed(run).metadata())
        return MaterializeResult(metadata=to_metadata(metadata, _labels(c)))

    return _asset


def inbox_asset(c: Connector, couplings: Sequence[Coupling], deps: Sequence[str] = ()) -> AssetsDefinition:
    assert c.inbox is not None
    after = [cp.after_inbox[c.inbox.source] for cp in couplings if c.inbox.source in cp.after_inbox]
    description = c.inbox.description + "".join(
        f" Then: {cp.summary}." for cp in couplings if c.inbox.source in cp.after_inbox
    )
    if c.inbox.unclaimed is not None and c.inbox.unclaimed_description:
        description += f" {'Otherwise' if after else 'Then'}: {c.inbox.unclaimed_description}."
    return _step_asset(c, f"{c.name}_inbox", c.inbox.apply, (), after, description, deps, c.inbox.unclaimed)


def plan_asset(c: Connector) -> AssetsDefinition:
    """`<name>_plan`: the connector's plan of what its partner is to get, after the model, before its push."""
    assert c.plan is not None
    return _step_asset(c, f"{c.name}_plan", c.plan.run, (), (), c.plan.description, ["canonical_model"])


def push_asset(c: Connector, couplings: Sequence[Coupling], deps: Sequence[str]) -> AssetsDefinition:
    assert c.push is not None
    before = [cp.before_push[c.name] for cp in couplings if c.name in cp.before_push]
    description = c.push.description + "".join(f" First: {cp.summary}." for cp in couplings if c.name in cp.before_push)
    return _step_asset(c, f"{c.name}_push", c.push.run, before, (), description, deps)


def partner_resources(connectors: Iterable[Connector]) -> dict[str, PartnerResource]:
    return {c.name: PartnerResource(partner=c.name) for c in connectors}
