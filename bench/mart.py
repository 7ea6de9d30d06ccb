"""Benchmark: building and publishing the mart (hub/mart/build.py) from a state store holding N journey events,
on SQLite and on PostgreSQL.

    python bench/mart.py                                  # 100k and 1M events, SQLite (+ PostgreSQL if set)
    python bench/mart.py --sizes 100000 --repeats 3
    HUB_TEST_POSTGRES_URL=postgresql+psycopg2://postgres@127.0.0.1:5432/test python bench/mart.py

The store is seeded directly (bulk inserts, COPY on PostgreSQL) with a campaign per 1,000 dossiers and per
dossier a resident, a dwelling with its file, an intake, a kans with a visit, the dossier and 3 journey events on
average (1 to 5), a tenth with an energy certificate; the seeding is not timed. Each build runs in a fresh child
process (so its peak RSS is its own): extract (store → Arrow), build (stage + write the star schema), check
(keys, counts against the store, personal data), publish (Parquet, atomic swap). Prints a table and writes
bench/results/mart.json. Goal: 1M events in ≤ 10 s on this machine."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHASES = ("interest", "contact", "advice", "financing", "quotation", "execution")
TENANT = "coop-noord"


def _rows(events: int, seed: int = 7):
    """(entities rows, journey event rows) for about `events` journey events."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC).replace(tzinfo=None)
    ents: list[tuple] = []
    evs: list[tuple] = []

    def ent(entity, data, parent=None):
        cid = str(uuid.UUID(int=rng.getrandbits(128)))
        ts = now.isoformat(sep=" ")
        ents.append((cid, TENANT, entity, parent, None, json.dumps(data), "x", 1, ts, ts, None))
        return cid

    campaign = None
    n = 0
    while len(evs) < events:
        if n % 1000 == 0:
            campaign = ent("campaign", {"name": f"Campagne {n // 1000}", "kind": "Wijkaanpak"})
        resident = ent("resident", {"kind": "person", "first_name": "X", "last_name": f"Y{n}"})
        dwelling = ent(
            "dwelling",
            {
                "dwelling_key": f"nl:adr:{n}",
                "country": "NL",
                "postcode": f"{1000 + n % 8999}AB",
                "number": "1",
                "resident_id": resident,
                "area": {
                    "country": "NL",
                    "level": "buurt",
                    "neighbourhood_code": f"BU0363{n % 97:04d}",
                    "municipality_code": "GM0363",
                    "source": "econobis",
                },
            },
            resident,
        )
        ent("dwelling_file", {"dwelling_id": dwelling, "energy_label": rng.choice("ABCDEFG")}, dwelling)
        opened = start + timedelta(days=rng.randrange(600))
        intake = ent(
            "intake",
            {
                "resident_id": resident,
                "dwelling_id": dwelling,
                "campaign_id": campaign,
                "status": "in_progress",
                "sources": ["Website"],
                "channel": "web_form",
                "created_at": opened.isoformat(),
            },
            resident,
        )
        kans = ent(
            "opportunity",
            {
                "intake_id": intake,
                "status": "in_progress",
                "measure_category": "Dakisolatie",
                "created_at": opened.isoformat(),
            },
            intake,
        )
        ent(
            "action",
            {
                "opportunity_id": kans,
                "kind": "visit",
                "status": "done",
                "coach_or_organisation_id": resident,
                "date_planned": (opened + timedelta(days=9)).isoformat(),
            },
            kans,
        )
        if rng.random() < 0.1:
            ent(
                "energy_certificate",
                {"dwelling_id": dwelling, "label": rng.choice("ABCDEFG"), "issued_on": "2020-05-01"},
                dwelling,
            )
        reached = rng.randint(1, 5)
        dossier = ent(
            "dossier",
            {
                "intake_id": intake,
                "resident_id": resident,
                "dwelling_id": dwelling,
                "campaign_id": campaign,
                "phase": PHASES[reached - 1],
                "opened_at": opened.isoformat(),
            },
            intake,
        )
        when = opened
        for p in PHASES[:reached]:
            when += timedelta(days=rng.randrange(1, 40))
            w = when.replace(tzinfo=None).isoformat(sep=" ")
            evs.append((TENANT, dossier, p, "econobis", w, w))
        n += 1
    return ents, evs


ENT_COLS = (
    "canonical_id, tenant, entity, parent_id, natural_key, data, data_hash, version, created_at, updated_at, deleted_at"
)
EV_COLS = "tenant, dossier_id, phase, source, occurred_at, recorded_at"


def seed(url: str, events: int) -> int:
    from hub.store import Store

    store = Store.open(url)
    ents, evs = _rows(events)
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if store.engine.dialect.name == "postgresql":
            for table, cols, rows in (("entities", ENT_COLS, ents), ("journey_events", EV_COLS, evs)):
                buf = io.StringIO()
                csv.writer(buf).writerows(["" if v is None else v for v in r] for r in rows)
                buf.seek(0)
                cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '')", buf)
        else:
            cur.execute("BEGIN")  # the store's SQLite connections autocommit: one transaction, not one per row
            cur.executemany(f"INSERT INTO entities ({ENT_COLS}) VALUES ({', '.join('?' * 11)})", ents)
            cur.executemany(f"INSERT INTO journey_events ({EV_COLS}) VALUES (?, ?, ?, ?, ?, ?)", evs)
        raw.commit()
    finally:
        raw.close()
        store.dispose()
    return len(evs)


CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import connectors
connectors.registry()
from hub.config import sandbox_config
from hub.mart import build_mart
from hub.store import Store
store = Store.open(sys.argv[1])
config = sandbox_config()
config = config.model_copy(update={"tenants": [t for t in config.tenants if t.id == "coop-noord"]})
t = time.perf_counter()
r = build_mart(store, config, Path(sys.argv[2]))
total = time.perf_counter() - t
# the peak of this process since its exec (VmHWM; ru_maxrss keeps the forking parent's peak across exec), plus the
# store reader's child process (SQLite is read in one) as its own peak
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"total": total, **r.seconds, "rss_mb": hwm / 1024, "reader_rss_mb": kids / 1024, "rows": r.rows}))
"""


def build_once(url: str, mart_dir: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, url, mart_dir, str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def pg_schema(base: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    schema = f"hubbench_{uuid.uuid4().hex[:8]}"
    with create_engine(base).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    with create_engine(base).begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    pg = os.environ.get("HUB_TEST_POSTGRES_URL")
    results = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            stores = {"sqlite": f"sqlite:///{tmp}/hub.sqlite"}
            schema = None
            if pg:
                stores["postgresql"], schema = pg_schema(pg)
            try:
                from hub.store import Store

                for url in stores.values():
                    Store.open(url).dispose()  # migrate
                    seed(url, size)
                runs: dict[str, list[dict]] = {name: [] for name in stores}
                for _ in range(args.repeats):  # interleaved: sqlite, postgresql, sqlite, postgresql …
                    for name, url in stores.items():
                        runs[name].append(build_once(url, f"{tmp}/mart-{name}"))
                for name, rs in runs.items():
                    med = {
                        k: statistics.median(r[k] for r in rs)
                        for k in ("total", "extract", "build", "check", "publish", "rss_mb", "reader_rss_mb")
                    }
                    rows = rs[0]["rows"]
                    results.append(
                        {
                            "events": size,
                            "store": name,
                            "repeats": len(rs),
                            **med,
                            "events_per_s": size / med["total"],
                            "dossiers": rows["dossiers"],
                            "transitions": rows["journey_transitions"],
                            "mart_mb": round(Path(f"{tmp}/mart-{name}/hub.duckdb").stat().st_size / 1e6, 1),
                        }
                    )
            finally:
                if schema and pg:
                    drop_schema(pg, schema)
    head = (
        "events",
        "store",
        "total s",
        "extract",
        "build",
        "check",
        "publish",
        "events/s",
        "peak RSS MB",
        "reader RSS MB",
        "dossiers",
        "mart MB",
    )
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in results:
        print(
            f"| {r['events']:,} | {r['store']} | {r['total']:.2f} | {r['extract']:.2f} | {r['build']:.2f} | "
            f"{r['check']:.2f} | {r['publish']:.2f} | {r['events_per_s']:,.0f} | {r['rss_mb']:.0f} | "
            f"{r['reader_rss_mb']:.0f} | {r['dossiers']:,} | {r['mart_mb']} |"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "mart.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
