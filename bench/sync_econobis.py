"""Benchmark: what an incremental Econobis sync costs after coordinators edit 1 % of the residents, compared
with a full pull; and how many sign-ups per minute the hub pushes against Econobis' 60/min throttle.

Part 1 (per size): full pull → coordinators edit 1 % of residents (a name, the intake status, a visit planned
through the status engine) → incremental run (new-record scans + audit trail + detail re-reads). The
sandbox's throttle is lifted so the figures measure the hub; calls are what a real 60/min Econobis would
charge, so `calls` is the number that matters there (calls / 55 per minute = minutes of budget).

Part 2: N sign-ups through the outbox against a sandbox WITH its 60/min throttle and the hub's 55/min budget:
pushes per minute achieved, versus the budget.

    python bench/sync_econobis.py                        # 10k and 100k residents, 120 pushes
    python bench/sync_econobis.py --sizes 2000 --pushes 30

Prints tables and writes bench/results/sync_econobis.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, TENANT, client_for, percentiles, record_latencies, serve, with_sandbox


def incremental(port: int, page_size: int) -> None:
    """Child process: full pull, edits, incremental run; prints one JSON line."""
    import requests

    from connectors.econobis.sync import EconobisPull
    from hub.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/hub.sqlite")
        client, _ = client_for(port, store)
        t0 = time.monotonic()
        full = EconobisPull(store, client, TENANT, page_size=page_size).run()
        full_s = time.monotonic() - t0
        edited = requests.post(
            f"http://127.0.0.1:{port}/__sandbox/scenario/coordinators-edit", json={"fraction": 0.01}, timeout=600
        ).json()
        client, _ = client_for(port, store)
        t0 = time.monotonic()
        inc = EconobisPull(store, client, TENANT, page_size=page_size).run()
        inc_s = time.monotonic() - t0
        store.dispose()
    print(
        json.dumps(
            {
                "full": {
                    "seconds": round(full_s, 2),
                    "calls": full.calls["calls"],
                    "rows": sum(full.rows_read.values()),
                },
                "edited": edited,
                "incremental": {
                    "seconds": round(inc_s, 2),
                    "calls": inc.calls["calls"],
                    "detail_calls": inc.detail_calls,
                    "rows": sum(inc.rows_read.values()),
                    "revisions": inc.changes.get("revisions"),
                    "records_reread": inc.changes.get("records_reread"),
                    "updated": inc.merge.total("updated"),
                },
                "ratio_seconds": round(inc_s / full_s, 4) if full_s else None,
                "ratio_calls": round(inc.calls["calls"] / full.calls["calls"], 4),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        ),
        flush=True,
    )


def pushes(port: int, n: int) -> None:
    """Child process: N sign-ups through the outbox under the real 60/min throttle; prints one JSON line."""
    from connectors.econobis.push import EconobisPush, SignUp, enqueue_signup
    from hub.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/hub.sqlite")
        client, tenant = client_for(port, store, 55.0, timeout=(3.0, 30.0))
        campaign = client.grid_page("intake", limit=1).rows[0]["campaign"]["id"]
        for i in range(n):
            enqueue_signup(
                store,
                TENANT,
                SignUp(
                    key=f"bench-{i:05d}",
                    first_name="Bench",
                    last_name=f"Bewoner{i:05d}",
                    email=f"bench{i}@example.org",
                    street="Molenweg",
                    number=str(1 + i),
                    postcode="1681AB",
                    city="Wognum",
                    campaign_id=campaign,
                    measures=["Vloerisolatie"],
                    consent=True,
                ),
            )
        latencies = record_latencies(client)
        t0 = time.monotonic()
        sent = 0
        while sent < n and time.monotonic() - t0 < 20 * 60:
            report = EconobisPush(store, client, TENANT, tenant.secret("econobis", "webform_key"), backoff=1).run()
            sent += report.sent
            if report.claimed == 0:
                time.sleep(0.5)
        seconds = time.monotonic() - t0
        stats = client.http.stats.as_dict()
        store.dispose()
    print(
        json.dumps(
            {
                "pushes": n,
                "sent": sent,
                "seconds": round(seconds, 2),
                "pushes_per_minute": round(sent / seconds * 60, 1),
                "pushes_per_second": round(sent / seconds, 3),
                "calls": stats["calls"],
                "calls_per_minute": round(stats["calls"] / seconds * 60, 1),
                "throttled_429": stats.get("throttled", 0),
                "budget_wait_s": round(stats.get("budget_wait_s", 0.0), 1),
                "latency_ms": percentiles(latencies),
            }
        ),
        flush=True,
    )


def _run(mode: str, residents: int, throttle: int, arg: int) -> dict[str, Any]:
    return with_sandbox(__file__, residents, throttle, ["--arg", str(arg), f"--{mode}"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--pushes", type=int, default=120)
    ap.add_argument("--page-size", type=int, default=500)
    ap.add_argument("--serve", type=int)
    ap.add_argument("--throttle", type=int, default=60)
    ap.add_argument("--incremental", type=int)
    ap.add_argument("--push", type=int)
    ap.add_argument("--arg", type=int, default=0)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.throttle)
        return
    if args.incremental:
        incremental(args.incremental, args.arg or args.page_size)
        return
    if args.push:
        pushes(args.push, args.arg)
        return
    sync = [_run("incremental", n, 10**9, args.page_size) for n in args.sizes]
    head = (
        f"{'residents':>9} {'full s':>8} {'full calls':>10} {'incr s':>7} {'incr calls':>10} {'re-read':>8} "
        f"{'ratio s':>8} {'ratio calls':>11} {'RSS MB':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in sync:
        print(
            f"{r['residents']:>9} {r['full']['seconds']:>8} {r['full']['calls']:>10} {r['incremental']['seconds']:>7} "
            f"{r['incremental']['calls']:>10} {sum(r['incremental']['records_reread'].values()):>8} "
            f"{r['ratio_seconds']:>8} {r['ratio_calls']:>11} {r['peak_rss_mb']:>7}"
        )
    push = _run("push", 200, 60, args.pushes) if args.pushes else None
    if push:
        print()
        head = (
            f"{'pushes':>6} {'seconds':>8} {'per min':>8} {'per s':>6} {'calls/min':>9} {'429s':>5} "
            f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
        )
        print(head)
        print("-" * len(head))
        lat = push["latency_ms"]
        print(
            f"{push['sent']:>6} {push['seconds']:>8} {push['pushes_per_minute']:>8} {push['pushes_per_second']:>6} "
            f"{push['calls_per_minute']:>9} {push['throttled_429']:>5} {lat['p50']:>7} {lat['p95']:>7} {lat['p99']:>7}"
        )
        print("(budget: 55 calls/minute; Econobis' throttle: 60/minute per client)")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}
    previous: dict[str, Any] = {}
    target = out / "sync_econobis.json"
    if target.exists():  # a run of one part keeps the other part's last figures
        previous = json.loads(target.read_text(encoding="utf-8"))
    doc = {"meta": meta, "sync": sync or previous.get("sync", []), "push": push or previous.get("push")}
    target.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    print(f"\nwrote {out / 'sync_econobis.json'}")


if __name__ == "__main__":
    main()
