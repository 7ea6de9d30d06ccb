"""Schedules and sensors.

Sensors only DETECT work in the state store and request runs; they never call a partner and never write.
The store is authoritative: the inbox, the outbox and the stalled dossiers are what there is to do, and each
run key is a fingerprint of that work and its version (hub/work.py). So
- a duplicate tick, or a tick after the sensor's cursor was reset, asks for the same keys: Dagster launches
  no second run for a key it has seen;
- new or changed work (a new message, a retry falling due, a lease ending after a crash) gets a new key and
  a run, so nothing is dropped because a key was used before;
- the Dagster cursor is only a hint for people (newest id seen per tenant), never what decides the work.
Schedules: incremental sync of every tenant every 15 minutes, the full reconcile at night and the mart after
it, in Europe/Amsterdam time. Set HUB_AUTOMATION=stopped to load them all stopped (tests, maintenance)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    schedule,
    sensor,
)

from assets import BUILT, TENANT_TAG, Built, HubConfigResource, StateStoreResource
from couplings.follow_up import stalled_dossiers
from hub.connector import PartnerRun
from hub.work import due_inbox, due_outbox, fingerprint

TZ = "Europe/Amsterdam"
RUNNING = os.environ.get("HUB_AUTOMATION", "running").lower() != "stopped"
SENSOR_STATUS = DefaultSensorStatus.RUNNING if RUNNING else DefaultSensorStatus.STOPPED
SCHEDULE_STATUS = DefaultScheduleStatus.RUNNING if RUNNING else DefaultScheduleStatus.STOPPED
# Each run logs in to Econobis once; a minute between ticks keeps a tenant well under Econobis' 5 logins/min.
SENSOR_INTERVAL = 60


def _hint(context: SensorEvaluationContext) -> dict[str, Any]:
    try:
        value = json.loads(context.cursor or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _result(
    context: SensorEvaluationContext, requests: list[RunRequest], hint: dict[str, Any], idle: str
) -> SensorResult:
    # one request per key, even if a tenant were listed twice (Dagster once launched duplicate keys of a tick)
    unique = list({r.run_key: r for r in requests}.values())
    return SensorResult(
        run_requests=unique,
        cursor=json.dumps(hint, sort_keys=True),
        skip_reason=None if unique else SkipReason(idle),
    )


def _request(run_key: str, tenant: str, reason: str, job_name: str | None = None) -> RunRequest:
    return RunRequest(
        run_key=run_key, job_name=job_name, partition_key=tenant, tags={TENANT_TAG: tenant, "hub/reason": reason}
    )


def inbox_sensor_for(source: str, partner: str, job: Any) -> SensorDefinition:
    """A sensor for one inbox source: received messages waiting to be applied or sent on → the partner's
    inbox job for that tenant."""

    @sensor(
        name=f"{partner}_inbox_sensor",
        job=job,
        minimum_interval_seconds=SENSOR_INTERVAL,
        default_status=SENSOR_STATUS,
        description=f"Received {partner} messages waiting to be applied or sent on → {job.name} for that tenant. "
        "Reads the state store only.",
    )
    def _inbox(
        context: SensorEvaluationContext, hub_config: HubConfigResource, state_store: StateStoreResource
    ) -> SensorResult:
        hint = _hint(context)
        requests = []
        with state_store.session() as store:
            for tenant in hub_config.load().tenants_with(partner):
                work = due_inbox(store, tenant.id, source)
                if work is None:
                    continue
                hint[tenant.id] = work.newest_id
                requests.append(_request(work.run_key, tenant.id, f"{work.count} inbox messages due"))
        return _result(context, requests, hint, "no inbox messages due")

    return _inbox


def outbox_sensor_for(jobs: dict[str, Any]) -> SensorDefinition:
    @sensor(
        name="outbox_sensor",
        jobs=list(jobs.values()),
        minimum_interval_seconds=SENSOR_INTERVAL,
        default_status=SENSOR_STATUS,
        description="Outbox items due (new, to retry, or replayed from quarantine) → the partner's push job for "
        "that tenant. Reads the state store only.",
    )
    def outbox_sensor(
        context: SensorEvaluationContext, hub_config: HubConfigResource, state_store: StateStoreResource
    ) -> SensorResult:
        hint = _hint(context)
        requests = []
        with state_store.session() as store:
            for tenant in hub_config.load().tenants:
                for partner, job in jobs.items():
                    if not tenant.has(partner):
                        continue
                    work = due_outbox(store, tenant.id, partner)
                    if work is None:
                        continue
                    hint[f"{tenant.id}/{partner}"] = work.newest_id
                    reason = f"{work.count} {partner} outbox items due"
                    requests.append(_request(work.run_key, tenant.id, reason, job.name))
        return _result(context, requests, hint, "no outbox items due")

    return outbox_sensor


def stalled_sensor_for(job: Any, partners: tuple[str, ...]) -> SensorDefinition:
    @sensor(
        name="stalled_dossier_sensor",
        job=job,
        minimum_interval_seconds=15 * 60,
        default_status=SENSOR_STATUS,
        description="Dossiers without progress for `follow_up.after_days` (default 7) whose follow-up is not "
        "planned yet → follow_up_job for that tenant (one follow-up per dossier and phase, ever).",
    )
    def stalled_dossier_sensor(
        context: SensorEvaluationContext, hub_config: HubConfigResource, state_store: StateStoreResource
    ) -> SensorResult:
        hint = _hint(context)
        requests = []
        with state_store.session() as store:
            for tenant in hub_config.load().tenants:
                if not any(tenant.has(p) for p in partners):
                    continue
                with store.begin() as conn:
                    found = stalled_dossiers(store, conn, tenant.id, tenant.follow_up)
                if not found:
                    continue
                hint[tenant.id] = len(found)
                key = f"stalled:{tenant.id}:{fingerprint([(s.key,) for s in found])[:16]}"
                requests.append(_request(key, tenant.id, f"{len(found)} stalled dossiers"))
        return _result(context, requests, hint, "no newly stalled dossiers")

    return stalled_dossier_sensor


def change_sensor_for(partner: str, detect: Any, job: Any) -> SensorDefinition:
    """A sensor for a partner with a change feed: one look per tenant whether the feed holds changes the pull
    has not read (the connector's `Pull.detect`) → the partner's pull job for that tenant, once per newest
    change. It only detects; a partner that does not answer is looked at again on the next tick."""

    @sensor(
        name=f"{partner}_change_sensor",
        job=job,
        minimum_interval_seconds=5 * 60,
        default_status=SENSOR_STATUS,
        description=f"{partner}'s change feed has changes the pull has not read → {job.name} for that tenant. "
        "One small feed call per tenant and tick; the pull does the reading.",
    )
    def _changes(
        context: SensorEvaluationContext, hub_config: HubConfigResource, state_store: StateStoreResource
    ) -> SensorResult:
        hint = _hint(context)
        requests = []
        config = hub_config.load()
        with state_store.session() as store:
            for tenant in config.tenants_with(partner):
                try:
                    marker = detect(PartnerRun(store, config, tenant))
                except Exception as exc:  # a partner down must not stop the other tenants' look
                    context.log.warning(f"{partner} change feed of {tenant.id} not reachable ({type(exc).__name__})")
                    continue
                if marker is None:
                    continue
                hint[tenant.id] = marker
                key = f"{partner}:changes:{tenant.id}:{marker}"
                requests.append(_request(key, tenant.id, f"{partner} change feed: new changes"))
        return _result(context, requests, hint, f"no new {partner} changes")

    return _changes


def build_sensors(built: Built) -> list[SensorDefinition]:
    """One inbox sensor per inbox source, one change sensor per partner with a change feed, one outbox sensor
    over every push, the stalled-dossier sensor."""
    out: list[SensorDefinition] = []
    for source, (partner, job) in built.inbox_jobs.items():
        out.append(inbox_sensor_for(source, partner, job))
    for c in built.registry.with_pull() if built.registry else ():
        assert c.pull is not None
        if c.pull.detect is not None and f"{c.name}_pull_job" in built.jobs:
            out.append(change_sensor_for(c.name, c.pull.detect, built.jobs[f"{c.name}_pull_job"]))
    if built.push_jobs:
        out.append(outbox_sensor_for(built.push_jobs))
    channels = tuple(cp.follow_up.partner for cp in built.couplings if cp.follow_up is not None)
    if channels and "follow_up_job" in built.jobs:
        out.append(stalled_sensor_for(built.jobs["follow_up_job"], channels))
    return out


def _per_tenant(context: ScheduleEvaluationContext, hub_config: HubConfigResource, kind: str) -> Iterator[RunRequest]:
    when = context.scheduled_execution_time.isoformat(timespec="minutes")
    for tenant in hub_config.load().tenants:
        yield RunRequest(run_key=f"{kind}:{tenant.id}:{when}", partition_key=tenant.id, tags={TENANT_TAG: tenant.id})


@schedule(
    job=BUILT.jobs["sync_job"],
    cron_schedule="*/15 * * * *",
    execution_timezone=TZ,
    default_status=SCHEDULE_STATUS,
    description="Incremental sync of every tenant, every 15 minutes.",
)
def sync_every_15_minutes(context: ScheduleEvaluationContext, hub_config: HubConfigResource) -> Iterator[RunRequest]:
    yield from _per_tenant(context, hub_config, "sync")


@schedule(
    job=BUILT.jobs["nightly_reconcile_job"],
    cron_schedule="30 2 * * *",
    execution_timezone=TZ,
    default_status=SCHEDULE_STATUS,
    description="Full re-read and deletion reconcile of every tenant, at 02:30 Amsterdam time.",
)
def nightly_reconcile(context: ScheduleEvaluationContext, hub_config: HubConfigResource) -> Iterator[RunRequest]:
    yield from _per_tenant(context, hub_config, "reconcile")


@schedule(
    job=BUILT.jobs["mart_job"],
    cron_schedule="30 5 * * *",
    execution_timezone=TZ,
    default_status=SCHEDULE_STATUS,
    description="Mart rebuild at 05:30 Amsterdam time, after the reconcile; held back if a tenant is stale.",
)
def nightly_mart(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(run_key=f"mart:{context.scheduled_execution_time.isoformat(timespec='minutes')}")


@schedule(
    job=BUILT.jobs["erasure_job"],
    cron_schedule="10 * * * *",
    execution_timezone=TZ,
    default_status=SCHEDULE_STATUS,
    description="Continue the open erasures every hour (partner steps, the mart), so one a partner held up "
    "closes without anyone relaunching it; skipped while none is open.",
)
def erasure_resume(
    context: ScheduleEvaluationContext, hub_config: HubConfigResource, state_store: StateStoreResource
) -> RunRequest | SkipReason:
    # a run only when an erasure is open: an hourly run that finds nothing is noise on the Runs page
    from hub.erasure import open_requests

    with state_store.session() as store:
        open_now = sum(len(open_requests(store, t.id)) for t in hub_config.load().tenants)
    if not open_now:
        return SkipReason("no open erasures")
    return RunRequest(run_key=f"erasure:{context.scheduled_execution_time.isoformat(timespec='minutes')}")


@schedule(
    job=BUILT.jobs["retention_job"],
    cron_schedule="15 4 * * *",
    execution_timezone=TZ,
    default_status=SCHEDULE_STATUS,
    description="Retention purge of processed payloads at 04:15 Amsterdam time.",
)
def nightly_retention(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(run_key=f"retention:{context.scheduled_execution_time.isoformat(timespec='minutes')}")


SCHEDULES: list[ScheduleDefinition] = [
    sync_every_15_minutes,
    nightly_reconcile,
    nightly_mart,
    erasure_resume,
    nightly_retention,
]
SENSORS: list[SensorDefinition] = build_sensors(BUILT)
SENSORS_BY_NAME = {s.name: s for s in SENSORS}


def __getattr__(name: str) -> Any:
    """`from schedules import inbox_sensor`: the built sensors by name."""
    if name in SENSORS_BY_NAME:
        return SENSORS_BY_NAME[name]
    raise AttributeError(name)
