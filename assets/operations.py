"""What a coordinator launches by hand: the quarantine replay of one tenant, by the replay rules every
connector and coupling declares (an entry of a source with no rule fails the run, and stays open)."""

from typing import Any

from dagster import AssetExecutionContext, Config, Failure, MaterializeResult, MetadataValue, asset
from pydantic import Field

from assets.partners import BASE_KEYS
from assets.resources import PartnerResource, per_tenant
from hub.connector import Coupling, Registry, ReplayRule
from hub.work import ReplayReport, replay_tenant


class ReplayConfig(Config):
    """Leave them all empty to replay everything open for the tenant."""

    sources: list[str] = Field(
        default_factory=list,
        description="only these quarantine sources, e.g. outbox:econobis, inbox:hoomdossier, econobis",
    )
    ids: list[int] = Field(default_factory=list, description="only these quarantine entry ids")
    reason: str = Field(default="", description="only entries whose reason contains this text (any case)")


def replay_rules(reg: Registry, couplings: tuple[Coupling, ...]) -> dict[str, ReplayRule]:
    extra: dict[str, ReplayRule] = {}
    for cp in couplings:
        extra.update(cp.replay)
    return reg.replay_rules(extra)


def replay_asset(reg: Registry, couplings: tuple[Coupling, ...]) -> Any:
    rules = replay_rules(reg, couplings)
    readers = [c for c in reg.with_pull() if c.pull is not None and c.pull.reread is not None]
    # a re-read calls the partner: the replay runs in the first re-reading partner's pool
    pool = readers[0].name if readers else None

    @asset(
        name="quarantine_replay",
        **per_tenant("operations", {"python"}, pool),
        required_resource_keys=BASE_KEYS | {c.name for c in readers},
        description=(
            "Replays the tenant's open quarantine by each source's rule: parked pushes and refused inbox messages "
            "are due again (the outbox and inbox sensors send them within a minute; lookups keep a replay from "
            "writing twice), records a pull could not map are re-read from the partner now, stalled dossiers "
            "without a kans are re-examined. An entry that fails again returns with its new reason; a source with "
            "no rule fails the run and stays open. Launch it from the UI (Materialize → pick the tenant; optional "
            "config narrows it to sources or entry ids)."
        ),
    )
    def quarantine_replay(context: AssetExecutionContext, config: ReplayConfig) -> MaterializeResult:
        tenant = context.partition_key
        cfg = context.resources.hub_config.load()
        with context.resources.state_store.session() as store:

            def reread(partner: str, records: dict[str, list[str]]) -> dict[str, Any] | None:
                c = reg.get(partner)
                if c.pull is None or c.pull.reread is None or not cfg.tenant(tenant).has(partner):
                    return None
                resource: PartnerResource = getattr(context.resources, partner)
                return c.pull.reread(resource.run(cfg, tenant, store), records).metadata()

            done = replay_tenant(
                store, tenant, rules, reread, config.sources or None, config.ids or None, config.reason or None
            )
        context.log.info("replayed quarantine of %s: %s", tenant, done.report.requeued)
        metadata: dict[str, Any] = {
            "filters": MetadataValue.json({"sources": config.sources, "ids": config.ids, "reason": config.reason})
        }
        metadata.update(_metadata(done.report, done.before, done.after, done.reread_still_quarantined))
        if done.unknown is not None:
            raise Failure(description=str(done.unknown), metadata=metadata)
        return MaterializeResult(metadata=metadata)

    return quarantine_replay


def _metadata(report: ReplayReport, before: dict[str, int], after: dict[str, int], still: int) -> dict[str, Any]:
    return {
        "open_before": sum(before.values()),
        "requeued": MetadataValue.json(report.requeued),
        "reread_from_partner": report.reread,
        "reread_still_quarantined": still,
        "nothing_left_to_replay": report.gone,
        "not_replayable": MetadataValue.json(
            {s: {"open": n, "why": report.why.get(s, "")} for s, n in report.not_replayable.items()}
        ),
        "no_replay_rule": MetadataValue.json(report.unknown),
        "open_after": sum(after.values()),
        "open_after_by_source": MetadataValue.json(after),
        "preview": MetadataValue.json(report.preview),
    }


class ErasureConfig(Config):
    """Leave resident empty to continue the open erasures only (what the hourly schedule does)."""

    tenant: str = Field(default="", description="the resident's tenant, e.g. coop-noord")
    resident: str = Field(default="", description="the resident's canonical id")
    requested_by: str = Field(default="", description="the coordinator's role or staff id (not a name)")


@asset(
    name="erasure",
    group_name="operations",
    kinds={"python"},
    required_resource_keys={"hub_config", "state_store", "mart"},
    description=(
        "Erases one resident of one tenant (config: tenant, resident, requested_by) and continues every open "
        "erasure: the store purged (tombstones keep the journey counts), the mart republished without them, each "
        "partner told through its outbox (the outbox sensor pushes it; a partner down keeps the request open) "
        "and confirmed by its own sign. The audit record of each request is the run's metadata "
        "(docs/erasure.md). Idempotent: launching it again changes nothing more."
    ),
)
def erasure(context: AssetExecutionContext, config: ErasureConfig) -> MaterializeResult:
    from hub.erasure import ErasureError, erase, resume

    cfg = context.resources.hub_config.load()
    with context.resources.state_store.session() as store:
        started = None
        if config.resident:
            if not (config.tenant and config.requested_by):
                raise Failure(description="tenant and requested_by are required with resident")
            try:
                started = erase(store, cfg, config.tenant, config.resident, config.requested_by)
            except ErasureError as exc:
                raise Failure(description=str(exc)) from None
        records = resume(store, cfg, context.resources.mart.path())
    if started is not None and started.already_done:
        records.append(started.audit)
    return MaterializeResult(
        metadata={
            "requests": len(records),
            "open": sum(1 for r in records if r["status"] != "done"),
            "audit": MetadataValue.json(records),
        }
    )


@asset(
    name="retention_purge",
    group_name="operations",
    kinds={"python"},
    required_resource_keys={"hub_config", "state_store"},
    description=(
        "Blanks personal data from processed payloads (inbox messages applied and sent on, sent outbox items, "
        "resolved quarantine, finished idempotency records) older than each tenant's `retention_days` (default "
        "30); rows, counts, statuses and times stay. Nightly by schedule."
    ),
)
def retention_purge(context: AssetExecutionContext) -> MaterializeResult:
    from hub.erasure import purge_retention

    with context.resources.state_store.session() as store:
        purged = purge_retention(store, context.resources.hub_config.load())
    return MaterializeResult(
        metadata={
            "rows_blanked": sum(sum(v.values()) for v in purged.values()),
            "by_tenant": MetadataValue.json(purged),
        }
    )


class ConsentConfig(Config):
    """A statement the resident made to the cooperation directly (a call, a letter, the desk)."""

    tenant: str = Field(description="the resident's tenant, e.g. coop-noord")
    resident: str = Field(description="the resident's canonical id")
    purpose: str = Field(default="share-with-partner", description="share-with-partner, fetch-under-mandate, ...")
    partner: str = Field(description="the partner the statement is about, e.g. hoomdossier")
    granted: bool = Field(description="true: consent given; false: withdrawn")
    recorded_by: str = Field(description="the coordinator's role or staff id (not a name)")


@asset(
    name="consent_statement",
    group_name="operations",
    kinds={"python"},
    required_resource_keys={"hub_config", "state_store"},
    description=(
        "Records what a resident told the cooperation directly (config: tenant, resident, purpose, partner, "
        "granted, recorded_by) as the coordinator's statement. It stands over what a partner said before, and a "
        "partner repeating its unchanged flag later does not undo it (only a change of that flag does); a "
        "withdrawal stops sharing from the next run on, a grant makes the items withheld for it due again. The "
        "resident's consent (what each source said last, which statement is in force) and its history are the "
        "run's metadata (docs/consent.md)."
    ),
)
def consent_statement(context: AssetExecutionContext, config: ConsentConfig) -> MaterializeResult:
    from hub.consent import ConsentError, consent_report, record_by_coordinator

    cfg = context.resources.hub_config.load()
    try:
        tenant = cfg.tenant(config.tenant)
    except Exception as exc:
        raise Failure(description=str(exc)) from None
    with context.resources.state_store.session() as store:
        try:
            done = record_by_coordinator(
                store,
                tenant.id,
                config.resident,
                config.purpose,
                config.partner,
                config.granted,
                config.recorded_by,
                tenant.partners,
            )
        except ConsentError as exc:
            raise Failure(description=str(exc)) from None
        report = consent_report(store, tenant.id, config.resident)
    return MaterializeResult(
        metadata={
            "new_statement": done.logged,
            "withheld_items_due_again": done.resumed,
            "consent": MetadataValue.json(report),
        }
    )
