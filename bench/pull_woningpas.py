"""Benchmark: a full Woningpas pull (sandbox over loopback HTTP → canonical store) at several sizes, then a
re-read of the same (every pass unchanged) and an incremental run after a few changes.

The sandbox runs in this process, every holder gives the bench's client a mandate, and its 300/min throttle is
lifted (it would measure the modelled API's limit, not the hub); the hub's budget is lifted to match. The pull
runs in a child process, so its peak RSS is the hub's own (store, client, mapping).

    python bench/pull_woningpas.py                    # 1k and 10k dwellings
    python bench/pull_woningpas.py --sizes 500 2000   # other sizes

Prints a table and writes bench/results/pull_woningpas.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TENANT = "loket-bench"
CLIENT = "bench-woningpas"


def child(base_url: str, key_file: str, holders_file: str) -> None:
    """Pull everything into a fresh SQLite store (full, full again, incremental); print measurements as JSON."""
    from connectors.woningpas.client import WoningpasClient
    from connectors.woningpas.connector import CONNECTOR
    from connectors.woningpas.mandates import register_mandate
    from connectors.woningpas.pull import WoningpasPull
    from hub.canonical import Dwelling, Intake, Resident
    from hub.canonical.keys import be_address_key
    from hub.config import PartnerConfig, TenantConfig
    from hub.connector import REGISTRY
    from hub.journey import recompute_dossiers
    from hub.merge import Incoming, MergeStats, merge
    from hub.store import Store, utcnow

    REGISTRY.register(CONNECTOR)
    holders = json.loads(Path(holders_file).read_text())
    tenant = TenantConfig(
        id=TENANT, name="bench", country="BE", timezone="Europe/Brussels",
        partners={"woningpas": PartnerConfig(base_url=base_url, settings={
            "client_id": CLIENT, "signing_key_file": key_file, "page_size": 1000,
            "budget_per_minute": 1e9, "budget_burst": 1e9})},
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/hub.sqlite")
        now = utcnow()
        residents = []
        with store.begin() as conn:
            items, intakes = [], []
            for i, (street, number, box, postcode, city) in enumerate(holders.values()):
                rid, iid = str(uuid.uuid4()), str(uuid.uuid4())
                key = be_address_key(postcode, street, number, box) or f"x:{i}"
                did = store.resolve_ids(conn, "hub", TENANT, "dwelling", [key])[key]
                items += [
                    Incoming(Resident(id=rid, tenant=TENANT, last_name=f"B{i}"), "webform", rid, now),
                    Incoming(Dwelling(id=did, tenant=TENANT, dwelling_key=key, country="BE", street=street,
                                      number=number, addition=box, postcode=postcode, city=city, resident_id=rid),
                             "webform", rid, now, natural_key=key),
                    Incoming(Intake(id=iid, tenant=TENANT, resident_id=rid, dwelling_id=did, status="open",
                                    created_at=now), "webform", iid, now),
                ]  # fmt: skip
                intakes.append(iid)
                residents.append(rid)
            merge(store, conn, items, MergeStats())
            recompute_dossiers(store, conn, TENANT, intakes, "webform", now, MergeStats())
            for i, (insz, rid) in enumerate(zip(holders, residents, strict=True)):
                register_mandate(store, conn, TENANT, rid, insz, f"M-{i}")
        out = {}
        for label, full in (("full", True), ("reread", True), ("incremental", False)):
            if label == "incremental":
                import requests

                requests.post(f"{base_url}/__sandbox/changes", json={"count": 50}, timeout=30).raise_for_status()
            client = WoningpasClient.for_tenant(tenant, store)
            t0 = time.monotonic()
            report = WoningpasPull(store, client, TENANT).run(residents, full=full)
            seconds = time.monotonic() - t0
            out[label] = {
                "passes": report.units_read,
                "seconds": round(seconds, 2),
                "passes_per_s": round(report.units_read / seconds, 1) if seconds else None,
                "http_calls": client.http.stats.as_dict()["calls"],
                "created": report.merge.total("created"),
                "updated": report.merge.total("updated"),
                "unchanged": report.merge.total("unchanged"),
                "quarantined": report.quarantined,
                "match_candidates": report.match_candidates,
            }  # fmt: skip
        with store.begin() as conn:
            out["store"] = store.count_live_entities(conn, TENANT)
        store.dispose()
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out), flush=True)


def run_size(dwellings: int) -> dict[str, object]:
    from connectors.woningpas.sandbox.credentials import new_private_key, private_pem, public_pem
    from connectors.woningpas.sandbox.server import start_woningpas
    from connectors.woningpas.sandbox.state import WoningpasSandbox

    key = new_private_key()
    t0 = time.monotonic()
    sb = WoningpasSandbox(dwellings=dwellings, throttle_per_minute=10**9)
    seeded = time.monotonic() - t0
    sb.register_client(CLIENT, public_pem(key))
    holders = {}
    for insz in sorted(sb.world.holdings):
        sb.add_mandate(CLIENT, insz)
        a = sb.world.units[sb.world.holdings[insz][0][0]].address
        holders[insz] = (a.straat, a.huisnummer, a.busnummer, a.postcode, a.gemeente)
    running = start_woningpas(sb)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            kf, hf = Path(tmp) / "key.pem", Path(tmp) / "holders.json"
            kf.write_bytes(private_pem(key))
            kf.chmod(0o600)
            hf.write_text(json.dumps(holders))
            proc = subprocess.run(
                [sys.executable, __file__, "--child", running.base_url, str(kf), str(hf)],
                check=True, capture_output=True, text=True, cwd=ROOT,
            )  # fmt: skip
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        running.stop()
    summary = sb.world.summary()
    return {
        "dwellings": summary["units"],
        "holders": summary["holders"],
        "epcs": sum(len(u.epcs) for u in sb.world.units.values()),
        "seed_seconds": round(seeded, 2),
        **result,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000])
    ap.add_argument("--child", nargs=3)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    results = [run_size(n) for n in args.sizes]
    head = (
        f"{'dwellings':>9} {'holders':>7} {'EPCs':>6} {'run':>11} {'passes':>7} {'seconds':>8} {'passes/s':>9} "
        f"{'calls':>6} {'created':>8} {'updated':>8} {'peak RSS MB':>11}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        for label in ("full", "reread", "incremental"):
            x = r[label]  # type: ignore[index]
            print(
                f"{r['dwellings']:>9} {r['holders']:>7} {r['epcs']:>6} {label:>11} {x['passes']:>7} {x['seconds']:>8} "
                f"{x['passes_per_s']:>9} {x['http_calls']:>6} {x['created']:>8} {x['updated']:>8} "
                f"{r['peak_rss_mb']:>11}"
            )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}
    (out / "pull_woningpas.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")
    print(f"\nwrote {out / 'pull_woningpas.json'}")


if __name__ == "__main__":
    main()
