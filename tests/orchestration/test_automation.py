"""Sensors and schedules, evaluated as the daemon would (build_sensor_context / build_schedule_context) against
a state store only: these sensors never call a partner (the change sensor's one feed look is tested with the
Woningpas sandbox, tests/connectors/woningpas/test_pull.py), their run keys come from the work itself, so a duplicate
tick or a cursor reset asks for the same run and new or changed work for a new one."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dagster import DagsterInstance, SkipReason, build_schedule_context, build_sensor_context
from sqlalchemy import insert, update

from assets import HubConfigResource, StateStoreResource
from connectors.econobis.push import SignUp, enqueue_signup
from connectors.econobis.routes import INBOX_SOURCE
from hub.store import tables as t
from hub.store import utcnow
from schedules import (
    hoomdossier_inbox_sensor as inbox_sensor,
)
from schedules import (
    nightly_mart,
    nightly_reconcile,
    outbox_sensor,
    stalled_dossier_sensor,
    sync_every_15_minutes,
)

TENANT = "coop-noord"


@pytest.fixture
def resources(store, monkeypatch):
    monkeypatch.delenv("HUB_CONFIG", raising=False)  # the embedded sandbox tenants (hub/config.py)
    url = store.engine.url.render_as_string(hide_password=False)
    return {"hub_config": HubConfigResource(), "state_store": StateStoreResource(database_url=url)}


def tick(sensor, resources, cursor=None):
    with DagsterInstance.ephemeral() as instance:
        ctx = build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        result = sensor(ctx)
    return result


def keys(result) -> list[str]:
    return [r.run_key for r in result.run_requests or []]


def receive(store, n: int, building: int = 7) -> None:
    with store.begin() as conn:
        for i in range(n):
            store.inbox_receive(
                conn, INBOX_SOURCE, TENANT, f"{building}/gebruik", json.dumps({"n": i, "id": uuid.uuid4().hex}), {}
            )


def test_inbox_sensor_empty_duplicate_tick_cursor_reset_and_new_work(store, resources):
    empty = tick(inbox_sensor, resources)
    assert keys(empty) == [] and isinstance(empty.skip_reason, SkipReason)
    receive(store, 3)
    first = tick(inbox_sensor, resources)
    assert len(first.run_requests) == 1
    request = first.run_requests[0]
    assert request.partition_key == TENANT and request.tags["hub/tenant"] == TENANT
    # a duplicate tick (same cursor) and a tick after the cursor was reset ask for the very same run
    assert keys(tick(inbox_sensor, resources, cursor=first.cursor)) == keys(first)
    assert keys(tick(inbox_sensor, resources, cursor=None)) == keys(first)
    assert keys(tick(inbox_sensor, resources, cursor='{"coop-noord": 999999}')) == keys(first)  # a wrong hint
    # new work: a new key (the run for the old key may already be done: nothing is dropped)
    receive(store, 1, building=8)
    second = tick(inbox_sensor, resources, cursor=first.cursor)
    assert len(second.run_requests) == 1 and keys(second) != keys(first)
    # processed work is not asked for again
    with store.begin() as conn:
        conn.execute(update(t.inbox).values(applied_at=utcnow(), forwarded_at=utcnow(), status="forwarded"))
    assert keys(tick(inbox_sensor, resources, cursor=second.cursor)) == []


def test_inbox_sensor_asks_again_when_a_retry_falls_due(store, resources):
    receive(store, 1)
    first = tick(inbox_sensor, resources)
    # the run applied it, Econobis said "later": a retry in five minutes → nothing due now
    later = utcnow() + timedelta(minutes=5)
    with store.begin() as conn:
        conn.execute(update(t.inbox).values(applied_at=utcnow(), status="retry", attempts=1, next_attempt_at=later))
    assert keys(tick(inbox_sensor, resources)) == []
    with store.begin() as conn:
        conn.execute(update(t.inbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    again = tick(inbox_sensor, resources)
    assert len(again.run_requests) == 1 and keys(again) != keys(first)


def _signup(key: str) -> SignUp:
    return SignUp(key=key, last_name="Sensor", number="1", postcode="1621AA", campaign_id=1)


def test_outbox_sensor_requests_the_partners_push_and_follows_leases(store, resources):
    assert keys(tick(outbox_sensor, resources)) == []
    enqueue_signup(store, TENANT, _signup("sensor-1"))
    first = tick(outbox_sensor, resources)
    assert [r.job_name for r in first.run_requests] == ["econobis_push_job"]
    assert keys(tick(outbox_sensor, resources, cursor=first.cursor)) == keys(first)
    # a push run leases the item: not due while the lease runs
    claimed = store.outbox_claim(TENANT, "econobis")
    assert len(claimed) == 1
    assert keys(tick(outbox_sensor, resources)) == []
    # the run crashed; when the lease ends the item is due again, under a new key
    with store.begin() as conn:
        conn.execute(update(t.outbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    after = tick(outbox_sensor, resources)
    assert len(after.run_requests) == 1 and keys(after) != keys(first)


def _stalled_dossier(store, days: int, phase: str = "contact") -> str:
    did = str(uuid.uuid4())
    now = utcnow()
    data = {"id": did, "tenant": TENANT, "intake_id": str(uuid.uuid4()), "phase": phase}
    with store.begin() as conn:
        store.upsert_entities(
            conn,
            [
                {
                    "canonical_id": did,
                    "tenant": TENANT,
                    "entity": "dossier",
                    "parent_id": data["intake_id"],
                    "natural_key": None,
                    "data": data,
                    "data_hash": uuid.uuid4().hex,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                }
            ],
        )
        conn.execute(
            insert(t.journey_events),
            [
                {
                    "tenant": TENANT,
                    "dossier_id": did,
                    "phase": p,
                    "source": "test",
                    "occurred_at": now - timedelta(days=days + 3 - i),
                    "recorded_at": now,
                }
                for i, p in enumerate(("interest", phase))
            ],
        )
    return did


def test_stalled_sensor_detects_once_and_never_plans(store, resources):
    from couplings.follow_up import plan_follow_ups
    from hub.config import sandbox_config

    _stalled_dossier(store, days=3)  # not stalled yet (7 days)
    _stalled_dossier(store, days=60)  # stalled too long ago: not followed up (look_back_days 28)
    assert keys(tick(stalled_dossier_sensor, resources)) == []
    _stalled_dossier(store, days=10)
    first = tick(stalled_dossier_sensor, resources)
    assert len(first.run_requests) == 1 and first.run_requests[0].partition_key == TENANT
    # the tick wrote nothing
    assert store.count(t.outbox) == 0 and store.count(t.quarantine) == 0
    assert keys(tick(stalled_dossier_sensor, resources, cursor=None)) == keys(first)
    # the run plans it (this dossier has no kans: it is parked for the coordinator) → nothing left to ask for
    report = plan_follow_ups(store, TENANT, sandbox_config().tenant(TENANT).follow_up)
    assert report.stalled == 1 and report.without_kans == 1
    assert keys(tick(stalled_dossier_sensor, resources, cursor=first.cursor)) == []


AMS = ZoneInfo("Europe/Amsterdam")


def test_schedules_run_every_tenant_with_a_key_per_slot(resources):
    assert sync_every_15_minutes.cron_schedule == "*/15 * * * *"
    for s in (sync_every_15_minutes, nightly_reconcile, nightly_mart):
        assert s.execution_timezone == "Europe/Amsterdam"
    when = datetime(2026, 11, 23, 10, 15, tzinfo=AMS)
    ctx = build_schedule_context(scheduled_execution_time=when, resources=resources)
    requests = list(sync_every_15_minutes(ctx))
    from hub.config import sandbox_config

    tenants = sorted(t.id for t in sandbox_config().tenants)  # every tenant, whichever partners it has
    assert sorted(r.partition_key for r in requests) == tenants
    assert {r.run_key for r in requests} == {f"sync:{t}:2026-11-23T10:15+01:00" for t in tenants}
    # the same slot evaluated twice gives the same keys: Dagster launches each once
    again = list(sync_every_15_minutes(build_schedule_context(scheduled_execution_time=when, resources=resources)))
    assert {r.run_key for r in again} == {r.run_key for r in requests}
    night = datetime(2026, 11, 24, 2, 30, tzinfo=AMS)
    reconcile = list(nightly_reconcile(build_schedule_context(scheduled_execution_time=night, resources=resources)))
    assert len(reconcile) == len(tenants)
    assert nightly_reconcile.job.tags.get("full") == "true"  # type: ignore[union-attr]
    mart = nightly_mart(build_schedule_context(scheduled_execution_time=night.replace(hour=5)))
    assert mart.run_key == "mart:2026-11-24T05:30+01:00"


def test_the_hourly_erasure_schedule_launches_nothing_while_no_erasure_is_open(resources, monkeypatch):
    import hub.erasure
    from schedules import erasure_resume

    when = datetime(2026, 11, 23, 10, 10, tzinfo=AMS)
    quiet = erasure_resume(build_schedule_context(scheduled_execution_time=when, resources=resources))
    assert isinstance(quiet, SkipReason) and "no open erasures" in (quiet.skip_message or "")
    monkeypatch.setattr(hub.erasure, "open_requests", lambda store, tenant: [{"id": "r1"}] if tenant == TENANT else [])
    request = erasure_resume(build_schedule_context(scheduled_execution_time=when, resources=resources))
    assert request.run_key == "erasure:2026-11-23T10:10+01:00"
