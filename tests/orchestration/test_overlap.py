"""Overlapping runs on PostgreSQL: a scheduled sync, a backfill (full re-read), the stalled-dossier sensor's
run and the outbox sensor's push, all at once and twice over, leave the store consistent with Econobis —
nothing twice, nothing lost. Once with each run on an ephemeral Dagster instance, once with all of them on
the hub's Dagster instance with its run, event-log and schedule storage on PostgreSQL too (HUB_DAGSTER_PG_URL,
app/instance.py), its pools' slots shared through that database as a deployment's run workers share them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.store import tables as t
from tests.conftest import PG_URL
from tests.orchestration.conftest import TENANT, make_hub

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not PG_URL, reason="set HUB_TEST_POSTGRES_URL to run PostgreSQL tests")


@pytest.fixture
def pg_hub(tmp_path, monkeypatch, pg_store):
    yield from make_hub(tmp_path, monkeypatch, pg_store, residents=40)


@pytest.mark.parametrize("instance", ["ephemeral", "postgresql"])
def test_overlapping_scheduled_sensor_and_backfill_runs_leave_the_store_consistent(
    pg_hub, instance, request, tmp_path, monkeypatch
):
    from assets import SYNC_ASSETS
    from assets.canonical import xref_duplicates
    from connectors.econobis.client import EconobisClient
    from connectors.econobis.push import SignUp, enqueue_signup
    from connectors.econobis.sync import reconcile_counts

    hub, store = pg_hub, pg_hub.store
    campaign = hub.econobis.db.ids["campaigns"][0]
    for i in range(6):
        enqueue_signup(
            store,
            TENANT,
            SignUp(
                key=f"overlap-{i}",
                last_name=f"Overlap{i}",
                email=f"overlap{i}@example.org",
                number=str(i + 1),
                postcode="1621AA",
                street="Havenkade",
                city="Hoorn",
                campaign_id=campaign,
                measures=["Vloerisolatie"],
            ),
        )
    day = max(i["created_at"] for i in hub.econobis.db.tables["intakes"].values()).date()
    sync = [a.key.to_user_string() for a in SYNC_ASSETS]
    runs = {
        "scheduled sync": {"assets": sync, "partition": TENANT},
        "backfill": {"assets": sync, "partition": TENANT, "tags": {"dagster/backfill": "overlap"}},
        "stalled sensor run": {"assets": ["stalled_dossiers", "econobis_push"], "partition": TENANT},
        "outbox sensor run": {"assets": ["econobis_push"], "partition": TENANT},
        "date-range backfill": {"assets": ["econobis_window"], "partition": {"tenant": TENANT, "day": day.isoformat()}},
    }
    dagster_home = None
    if instance == "postgresql":
        monkeypatch.setenv("HUB_DAGSTER_PG_URL", request.getfixturevalue("pg_dagster_url"))
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
        dagster_home = pg_dagster_home(tmp_path / "dagster")
        runs = {name: {**spec, "instance": "home"} for name, spec in runs.items()}
    # each run in a process of its own, as Dagster's run launcher starts them
    env = {
        **os.environ,
        "HUB_CONFIG": str(hub.config_file),
        "HUB_DATABASE_URL": hub.database_url,
        "HUB_AUTOMATION": "stopped",
    }
    for round_ in range(2):
        procs = {
            name: subprocess.Popen(
                [sys.executable, "-m", "tests.orchestration.run_in_process", json.dumps(spec)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for name, spec in runs.items()
        }
        failed = {}
        for name, proc in procs.items():
            out, _ = proc.communicate(timeout=600)
            if proc.returncode != 0:
                failed[name] = out[-3000:]
        assert not failed, f"round {round_}: {failed}"
    # one more ordinary sync: whatever a run left half-way is finished now
    assert hub.materialize(SYNC_ASSETS).success

    db = hub.econobis.db
    # sign-ups: each exactly once in Econobis
    externals = Counter(i.get("external_code") for i in db.tables["intakes"].values())
    assert all(externals[f"overlap-{i}"] == 1 for i in range(6)), externals
    # follow-ups: one per stalled dossier and phase, however many runs planned and pushed them
    markers = Counter(
        q["quotation_text"].split("[hub:")[1]
        for q in db.tables["quotation_requests"].values()
        if "[hub:stalled:" in (q.get("quotation_text") or "")
    )
    assert markers and max(markers.values()) == 1, markers
    with store.begin() as conn:
        sent = conn.execute(
            select(func.count()).where(t.outbox.c.operation == "kansactie-create", t.outbox.c.status == "sent")
        ).scalar_one()
        dossiers = conn.execute(
            select(func.count()).where(t.entities.c.entity == "dossier", t.entities.c.deleted_at.is_(None))
        ).scalar_one()
        intakes = conn.execute(
            select(func.count()).where(t.entities.c.entity == "intake", t.entities.c.deleted_at.is_(None))
        ).scalar_one()
        open_items = [
            (r.partner, r.operation, r.status, r.attempts, r.last_error)
            for r in conn.execute(
                select(t.outbox).where(t.outbox.c.status.in_(("pending", "retry", "uncertain", "failed")))
            )
        ]
    assert sent == len(markers)
    assert dossiers == intakes == len(db.tables["intakes"])
    # only registrations of residents who have not consented yet may wait (by design, without attempts)
    assert all(op == "make-hoomdossier" and "consent" in (err or "") for _, op, _, _, err in open_items), open_items
    # the canonical store agrees with Econobis, record for record, and no cross-reference is doubled
    assert xref_duplicates(store, TENANT) == {}
    client = EconobisClient.for_tenant(hub.config.tenant(TENANT), store)
    off = [r for r in reconcile_counts(store, client, TENANT) if r["difference"] != 0]
    assert off == [], off
    with store.begin() as conn:
        parked = [(q["source"], q["reason"][:80]) for q in store.open_quarantine(conn, TENANT)]
    # only stalled dossiers that have no kans to hang a follow-up on wait for the coordinator (by design)
    assert all(source == "hub:follow-up" for source, _ in parked), parked
    if dagster_home is not None:
        assert_recorded_on_postgres(dagster_home, expected_runs=2 * len(runs))


def pg_dagster_home(home: Path) -> Path:
    """The hub's DAGSTER_HOME as `hub ui` writes it with HUB_DAGSTER_PG_URL set; its tables and pools made once
    here, before the runs start, as a deployment's `python -m app.instance init` does (without the pools, two
    runs that both meet a new pool race on PostgreSQL: dagster-io/dagster#33552)."""
    from dagster import DagsterInstance

    from app.cli import write_dagster_home
    from app.instance import declared_pools, init_pools

    write_dagster_home(home)
    assert "postgres_url:\n      env: HUB_DAGSTER_PG_URL" in (home / "dagster.yaml").read_text(encoding="utf-8")
    with DagsterInstance.from_config(str(home)) as inst:
        assert type(inst.run_storage).__name__ == "PostgresRunStorage"
        pools = declared_pools()
        assert {"econobis", "hoomdossier"} <= pools
        assert init_pools(inst, pools) == sorted(pools)
        assert init_pools(inst, pools) == []  # once is enough
    return home


def assert_recorded_on_postgres(home: Path, expected_runs: int) -> None:
    """Every run is in the PostgreSQL instance, succeeded, with its materializations; no pool slot is left held."""
    from dagster import AssetKey, DagsterInstance, DagsterRunStatus

    with DagsterInstance.from_config(str(home)) as inst:
        records = inst.get_runs()
        assert len(records) == expected_runs, [r.status for r in records]
        assert {r.status for r in records} == {DagsterRunStatus.SUCCESS}
        mats = inst.fetch_materializations(AssetKey("econobis_pull"), limit=100).records
        assert len(mats) == 4  # the scheduled sync and the backfill, twice over
        pools = inst.event_log_storage.get_concurrency_keys()
        assert pools, "no step claimed a pool slot"
        for pool in pools:
            info = inst.event_log_storage.get_concurrency_info(pool)
            assert info.slot_count == 2, (pool, info.slot_count)
            assert info.active_slot_count == 0 and info.pending_step_count == 0, pool
