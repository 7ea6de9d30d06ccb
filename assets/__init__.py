"""Dagster assets per stage, their checks, resources and jobs, generated from the connector registry and the
couplings (connectors/__init__.py, couplings/__init__.py): a partner's assets come from its declaration.

Stages (groups in the UI): each partner's group (pull, date-range re-read, inbox, push) → canonical (the model
and its checks, stalled-dossier follow-ups) → mart (freshness gate, DuckDB, HTML report); and operations (the replay).
`build()` makes the whole set for any registry (the tests register a throw-away connector and call it)."""

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

from dagster import AssetsDefinition, AssetSelection, EnvVar, PreviewWarning, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

import connectors
from assets.canonical import canonical_assets
from assets.identity import identity_assets, match_decision
from assets.mart import hub_freshness, mart_report, reporting_mart, tenants_fresh
from assets.operations import consent_statement, erasure, replay_asset, retention_purge
from assets.partners import (
    inbox_asset,
    partner_resources,
    plan_asset,
    pull_asset,
    push_asset,
    reconciliation_check,
    window_asset,
)
from assets.resources import (
    HubConfigResource,
    MartResource,
    PartnerResource,
    StateStoreResource,
    tenant_partitions,
    window_partitions,
)
from couplings import COUPLINGS
from hub.connector import Coupling, Registry

# The checks are made by build() below, after these imports: per tenant partition on purpose (the Dagster release
# is pinned below 1.14, pyproject.toml); the "preview" notice, printed once per check on every load (hub demo,
# dagster dev, each run), says nothing to a user.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=PreviewWarning)

# Runs land in a per-tenant queue (see `hub ui`'s dagster.yaml): one run per tenant at a time.
TENANT_TAG = "hub/tenant"


@dataclass
class Built:
    """The assets, checks and jobs of one registry, by name."""

    assets: dict[str, AssetsDefinition] = field(default_factory=dict)
    checks: list[Any] = field(default_factory=list)
    jobs: dict[str, UnresolvedAssetJobDefinition] = field(default_factory=dict)
    sync: list[AssetsDefinition] = field(default_factory=list)
    # partner → the job its outbox sensor requests; inbox source → (partner, its inbox job)
    push_jobs: dict[str, UnresolvedAssetJobDefinition] = field(default_factory=dict)
    inbox_jobs: dict[str, tuple[str, UnresolvedAssetJobDefinition]] = field(default_factory=dict)
    registry: Registry | None = None
    couplings: tuple[Coupling, ...] = ()


def _job(name: str, assets: list[AssetsDefinition], description: str, **kw: Any) -> UnresolvedAssetJobDefinition:
    kw.setdefault("partitions_def", tenant_partitions)
    return define_asset_job(name, selection=AssetSelection.assets(*assets), description=description, **kw)


def build(reg: Registry | None = None, couplings: tuple[Coupling, ...] = COUPLINGS) -> Built:
    reg = reg or connectors.registry()
    b = Built(registry=reg, couplings=couplings)
    pulls, inboxes = [], []
    # the pulls of a higher stage run after every pull and inbox of the lower ones (they read what those wrote)
    staged = sorted(reg.with_pull(), key=lambda c: c.pull.stage if c.pull is not None else 0)
    for c in staged:
        stage = c.pull.stage if c.pull is not None else 0
        lower = [
            f"{o.name}_{kind}"
            for o in reg
            for kind, has in (("pull", o.pull is not None), ("inbox", o.inbox is not None))
            if has and o.name != c.name and (o.pull.stage if o.pull is not None else 0) < stage
        ]
        a = pull_asset(c, lower if stage else ())
        b.assets[a.key.to_user_string()] = a
        pulls.append(a)
        if c.pull is not None and c.pull.reconcile is not None:
            b.checks.append(reconciliation_check(c, a))
        if c.pull is not None and c.pull.window is not None:
            w = window_asset(c)
            b.assets[w.key.to_user_string()] = w
            b.jobs[f"{c.name}_window_job"] = _job(
                f"{c.name}_window_job",
                [w],
                f"Re-read what was created in {c.title} on the chosen days for the chosen tenants (a backfill).",
                partitions_def=window_partitions,
            )
    for c in reg.with_inbox():
        a = inbox_asset(c, couplings)
        b.assets[a.key.to_user_string()] = a
        inboxes.append(a)
    canonical, checks = canonical_assets(reg, couplings)
    b.checks.extend(checks)
    for a in canonical:
        b.assets[a.key.to_user_string()] = a
    model = b.assets["canonical_model"]
    identity, identity_checks = identity_assets(reg)
    b.checks.extend(identity_checks)
    for a in identity:
        b.assets[a.key.to_user_string()] = a
    stalled = b.assets.get("stalled_dossiers")
    # a connector's plan runs after the model, before its push
    plans = []
    for c in reg.with_plan():
        a = plan_asset(c)
        b.assets[a.key.to_user_string()] = a
        plans.append(a)
    # a push runs after the model and after every step that writes into its outbox (its own plan, the
    # couplings' plans, hosted by other partners' pushes, and the follow-ups)
    pushes = []
    for c in reg.with_push():
        deps = ["canonical_model", *([f"{c.name}_plan"] if c.plan is not None else [])]
        for cp in couplings:
            if c.name not in cp.feeds:
                continue
            deps += [f"{p}_push" for p in cp.before_push if p != c.name and p in reg and reg.get(p).push]
            if cp.follow_up is not None and stalled is not None:
                deps.append("stalled_dossiers")
        a = push_asset(c, couplings, sorted(set(deps)))
        b.assets[a.key.to_user_string()] = a
        pushes.append(a)
    b.sync = [*pulls, *inboxes, model, *identity, *plans, *pushes, *([stalled] if stalled is not None else [])]
    b.assets["hub_freshness"] = hub_freshness
    b.assets["reporting_mart"] = reporting_mart
    b.assets["mart_report"] = mart_report
    b.checks.append(tenants_fresh)
    replay = replay_asset(reg, couplings)
    b.assets["quarantine_replay"] = replay
    b.assets["erasure"] = erasure
    b.assets["retention_purge"] = retention_purge
    b.assets["consent_statement"] = consent_statement
    b.assets["match_decision"] = match_decision
    _jobs(b, reg, pulls, inboxes, [*plans, *pushes], stalled, replay)
    return b


def _jobs(
    b: Built, reg: Registry, pulls: list[Any], inboxes: list[Any], pushes: list[Any], stalled: Any, replay: Any
) -> None:
    # the launchpad opens with each pull's `read` choice written out (assets/reading.py)
    reads = {"ops": {p.key.to_user_string(): {"config": {"read": "auto"}} for p in pulls}}
    b.jobs["sync_job"] = _job(
        "sync_job",
        b.sync,
        "Sync of one tenant: pulls, inboxes, canonical model, plans, follow-ups and pushes. The 15-minute "
        "schedule's runs read incrementally; a run or backfill launched by hand re-reads fully, unless its "
        "config says read: incremental (a catch-up).",
        config=reads,
    )
    b.jobs["nightly_reconcile_job"] = _job(
        "nightly_reconcile_job",
        b.sync,
        "Full re-read and deletion reconcile of one tenant, then the rest of the sync (nightly).",
        tags={"full": "true"},
    )
    by_name = {a.key.to_user_string(): a for a in (*pulls, *inboxes, *pushes)}
    for c in reg:
        mine = [
            by_name[n]
            for n in (f"{c.name}_pull", f"{c.name}_inbox", f"{c.name}_plan", f"{c.name}_push")
            if n in by_name
        ]
        if f"{c.name}_pull" in by_name:
            b.jobs[f"{c.name}_pull_job"] = _job(
                f"{c.name}_pull_job", [by_name[f"{c.name}_pull"]], f"Incremental {c.title} pull for one tenant."
            )
        if f"{c.name}_push" in by_name:
            job = _job(
                f"{c.name}_push_job",
                [by_name[f"{c.name}_push"]],
                f"Push due outbox items into one tenant's {c.title} (requested by the outbox sensor).",
            )
            b.jobs[job.name] = b.push_jobs[c.name] = job
        if c.inbox is not None:
            job = _job(
                f"{c.name}_inbox_job",
                [by_name[f"{c.name}_inbox"]],
                f"Apply received {c.title} messages of one tenant (requested by the inbox sensor).",
            )
            b.jobs[job.name] = job
            b.inbox_jobs[c.inbox.source] = (c.name, job)
        if len(mine) > 1:
            b.jobs[f"{c.name}_job"] = _job(f"{c.name}_job", mine, f"Everything {c.title} of one tenant.")
    if stalled is not None:
        follow = [
            stalled,
            *[
                p
                for p in pushes
                if any(cp.follow_up and cp.follow_up.partner + "_push" == p.key.to_user_string() for cp in b.couplings)
            ],
        ]
        b.jobs["follow_up_job"] = _job(
            "follow_up_job",
            follow,
            "Queue and push one follow-up per stalled dossier (requested by the stalled sensor).",
        )
    b.jobs["mart_job"] = define_asset_job(
        "mart_job",
        selection=AssetSelection.assets(hub_freshness, reporting_mart, mart_report),
        description="Rebuild the DuckDB mart, unless a tenant is stale (blocking freshness check), and its HTML "
        "report per tenant.",
    )
    b.jobs["erasure_job"] = define_asset_job(
        "erasure_job",
        selection=AssetSelection.assets(erasure),
        description="Erase one resident (config: tenant, resident, requested_by), or with no config continue the "
        "open erasures (hourly by schedule). See docs/erasure.md.",
    )
    b.jobs["consent_job"] = define_asset_job(
        "consent_job",
        selection=AssetSelection.assets(consent_statement),
        description="Record a resident's grant or withdrawal told to the cooperation directly (config: tenant, "
        "resident, purpose, partner, granted, recorded_by). See docs/consent.md.",
    )
    b.jobs["retention_job"] = define_asset_job(
        "retention_job",
        selection=AssetSelection.assets(retention_purge),
        description="Blank personal data in processed payloads older than each tenant's retention_days (nightly).",
    )
    b.jobs["decide_match_job"] = _job(
        "decide_match_job",
        [b.assets["match_decision"]],
        "Decide one match candidate of one tenant (config: candidate, decision merge | keep-apart | undo, choice, "
        "decided_by, note). The open ones are listed in the match_candidates asset and by `hub matches list`.",
    )
    b.jobs["quarantine_replay_job"] = _job(
        "quarantine_replay_job",
        [replay],
        "Replay one tenant's open quarantine (a coordinator launches it; pick the tenant). The config's "
        "filters narrow it: sources (e.g. outbox:econobis) and entry ids; empty replays everything open.",
        # the filters written out, so the launchpad shows them rather than only the schema pane
        config={"ops": {"quarantine_replay": {"config": {"sources": [], "ids": [], "reason": ""}}}},
    )


def default_resources(reg: Registry | None = None) -> dict[str, object]:
    """The resources of the definitions. The state store URL (it may carry a password) is an EnvVar when
    HUB_DATABASE_URL is set: resolved at launch, never shown in the UI."""
    db = EnvVar("HUB_DATABASE_URL") if os.environ.get("HUB_DATABASE_URL") else ""
    return {
        "hub_config": HubConfigResource(),
        "state_store": StateStoreResource(database_url=db),
        "mart": MartResource(),
        **partner_resources(reg or connectors.registry()),
    }


BUILT = build()
ALL_ASSETS = list(BUILT.assets.values())
ALL_CHECKS = list(BUILT.checks)
ALL_JOBS = list(BUILT.jobs.values())
SYNC_ASSETS = list(BUILT.sync)


def __getattr__(name: str) -> Any:
    """`from assets import econobis_pull` / `sync_job`: the built assets and jobs by name."""
    if name in BUILT.assets:
        return BUILT.assets[name]
    if name in BUILT.jobs:
        return BUILT.jobs[name]
    raise AttributeError(name)


__all__ = [
    "ALL_ASSETS",
    "ALL_CHECKS",
    "ALL_JOBS",
    "BUILT",
    "SYNC_ASSETS",
    "TENANT_TAG",
    "HubConfigResource",
    "MartResource",
    "PartnerResource",
    "StateStoreResource",
    "build",
    "default_resources",
    "tenant_partitions",
]
