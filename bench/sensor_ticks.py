"""Benchmark: how long a sensor tick takes as the state store grows. Sensor ticks must stay well under
Dagster's 60 s evaluation timeout (keep them < 10 s, ../shared/peers.md §1.5): they read only the store.

For each size a fresh store (SQLite file, or $HUB_DATABASE_URL's PostgreSQL in a throw-away schema) is filled
with N inbox messages (5 % still due), N outbox items (5 % due) and N dossiers with journey events (1 % newly
stalled), for two tenants; then each sensor is evaluated repeatedly through `build_sensor_context`.

    python bench/sensor_ticks.py                    # 1k, 10k and 100k rows per kind
    python bench/sensor_ticks.py --sizes 1000 --repeat 5

Prints a table and writes bench/results/sensor_ticks.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import ROOT, percentiles

TENANTS = ("coop-noord", "coop-zuid")


def fill(store: Any, n: int) -> None:
    from connectors.econobis.routes import INBOX_SOURCE
    from hub.store import utcnow

    now = utcnow()
    for tenant in TENANTS:
        inbox, outbox, entities, events = [], [], [], []
        for i in range(n):
            due = i % 20 == 0
            inbox.append(
                {
                    "source": INBOX_SOURCE,
                    "tenant": tenant,
                    "message_id": f"{tenant}-{i}",
                    "content_hash": uuid.uuid4().hex,
                    "payload": "{}",
                    "meta": {},
                    "status": "retry" if due else "forwarded",
                    "attempts": 1,
                    "received_at": now,
                    "stream": f"{i % 500}/gebruik",
                    "next_attempt_at": now - timedelta(seconds=5) if due else None,
                    "applied_at": now,
                }
            )
            outbox.append(
                {
                    "tenant": tenant,
                    "partner": "econobis",
                    "operation": "kansactie-create",
                    "idempotency_key": f"bench:{tenant}:{i}",
                    "payload": {},
                    "status": "pending" if due else "sent",
                    "attempts": 0,
                    "next_attempt_at": now - timedelta(seconds=5),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            did = str(uuid.uuid4())
            days = 10 if i % 100 == 0 else (2 if i % 2 else 400)
            entities.append(
                {
                    "canonical_id": did,
                    "tenant": tenant,
                    "entity": "dossier",
                    "parent_id": str(uuid.uuid4()),
                    "natural_key": None,
                    "data": {"phase": "contact"},
                    "data_hash": did,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for j, phase in enumerate(("interest", "contact")):
                events.append(
                    {
                        "tenant": tenant,
                        "dossier_id": did,
                        "phase": phase,
                        "source": "bench",
                        "occurred_at": now - timedelta(days=days + 1 - j),
                        "recorded_at": now,
                    }
                )
        with store.begin() as conn:
            store.inbox_import(conn, inbox)
            store.outbox_import(conn, outbox)
            store.upsert_entities(conn, entities)
            store.add_journey_events(conn, events)


def measure(url: str, n: int, repeat: int) -> list[dict[str, Any]]:
    from dagster import DagsterInstance, build_sensor_context

    from assets import HubConfigResource, StateStoreResource
    from hub.store import Store
    from schedules import hoomdossier_inbox_sensor as inbox_sensor
    from schedules import outbox_sensor, stalled_dossier_sensor

    store = Store.open(url)
    t0 = time.monotonic()
    fill(store, n)
    filled = time.monotonic() - t0
    store.dispose()
    resources = {"hub_config": HubConfigResource(), "state_store": StateStoreResource(database_url=url)}
    rows = []
    with DagsterInstance.ephemeral() as instance:
        for sensor in (inbox_sensor, outbox_sensor, stalled_dossier_sensor):
            times, requested = [], 0
            for _ in range(repeat):
                start = time.perf_counter()
                result = sensor(build_sensor_context(instance=instance, resources=resources))
                times.append(time.perf_counter() - start)
                requested = len(result.run_requests or [])
            rows.append(
                {
                    "rows_per_kind": n * len(TENANTS),
                    "sensor": sensor.name,
                    "run_requests": requested,
                    **{f"{k}_ms": v for k, v in percentiles(times).items()},
                    "max_ms": round(max(times) * 1000, 1),
                    "fill_s": round(filled, 1),
                    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                }
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 10000, 100000], help="rows per kind per tenant / 2"
    )
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    os.environ.pop("HUB_CONFIG", None)  # the embedded sandbox tenants: coop-noord, coop-zuid
    base = os.environ.get("HUB_DATABASE_URL")
    rows: list[dict[str, Any]] = []
    for size in args.sizes:
        per_tenant = size // len(TENANTS)
        with tempfile.TemporaryDirectory() as tmp:
            if base:
                from sqlalchemy import create_engine, text

                schema = f"bench_{uuid.uuid4().hex[:8]}"
                admin = create_engine(base)
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
                try:
                    rows += measure(url, per_tenant, args.repeat)
                finally:
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            else:
                rows += measure(f"sqlite:///{tmp}/hub.sqlite", per_tenant, args.repeat)
    header = f"{'rows/kind':>9} {'sensor':<24} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'RSS MB':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['rows_per_kind']:>9} {r['sensor']:<24} {r['run_requests']:>8} {r['p50_ms']:>8} {r['p95_ms']:>8} "
            f"{r['max_ms']:>8} {r['peak_rss_mb']:>7}"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    store_kind = "postgresql" if base else "sqlite"
    (out / "sensor_ticks.json").write_text(
        json.dumps(
            {"machine": platform.platform(), "cpus": os.cpu_count(), "store": store_kind, "results": rows}, indent=2
        ),
        encoding="utf-8",
    )
    print(f"\nwrote {out / 'sensor_ticks.json'} ({store_kind})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
