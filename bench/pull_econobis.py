"""Benchmark: a full Econobis pull (sandbox over loopback HTTP → canonical store) at several sizes.

Each size runs the sandbox and the pull in separate processes, so the pull's peak RSS is the hub's own.
The sandbox's 60/min throttle is lifted (it would measure Econobis, not the hub: at 60 requests/minute a
page of 500 rows costs one second of budget at best); the hub's budget is lifted to match.

    python bench/pull_econobis.py                    # 10k and 100k residents
    python bench/pull_econobis.py --sizes 1000 10000 # other sizes

Prints a table and writes bench/results/pull_econobis.json."""

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, TENANT, client_for, percentiles, record_latencies, serve, with_sandbox


def pull(port: int, page_size: int) -> None:
    """Child process: pull everything into a fresh SQLite store; print measurements as JSON."""
    from connectors.econobis.sync import EconobisPull
    from hub.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/hub.sqlite")
        client, _ = client_for(port, store)
        latencies = record_latencies(client)
        t0 = time.monotonic()
        report = EconobisPull(store, client, TENANT, page_size=page_size).run()
        seconds = time.monotonic() - t0
        store.dispose()
    rows = sum(report.rows_read.values())
    print(
        json.dumps(
            {
                "rows_read": rows,
                "entities_written": report.merge.total("created"),
                "seconds": round(seconds, 2),
                "records_per_s": round(rows / seconds, 1),
                "http_calls": report.calls["calls"],
                "detail_calls": report.detail_calls,
                "page_latency_ms": percentiles(latencies),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "quarantined": report.quarantined,
            }
        ),
        flush=True,
    )


def run_size(residents: int, page_size: int) -> dict[str, object]:
    # the sandbox's throttle is lifted: this measures the hub, not Econobis' 60/min
    result = with_sandbox(__file__, residents, 10**9, ["--page-size", str(page_size), "--pull"])
    return {"page_size": page_size, **result}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--page-size", type=int, default=500)
    ap.add_argument("--serve", type=int)
    ap.add_argument("--throttle", type=int, default=10**9)
    ap.add_argument("--pull", type=int)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.throttle)
        return
    if args.pull:
        pull(args.pull, args.page_size)
        return
    results = [run_size(n, args.page_size) for n in args.sizes]
    head = (
        f"{'residents':>9} {'rows':>8} {'seconds':>8} {'rows/s':>8} {'calls':>6} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'peak RSS MB':>11}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        lat = r["page_latency_ms"]
        print(
            f"{r['residents']:>9} {r['rows_read']:>8} {r['seconds']:>8} {r['records_per_s']:>8} {r['http_calls']:>6} "
            f"{lat['p50']:>7} {lat['p95']:>7} {lat['p99']:>7} {r['peak_rss_mb']:>11}"  # type: ignore[index]
        )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}
    (out / "pull_econobis.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")
    print(f"\nwrote {out / 'pull_econobis.json'}")


if __name__ == "__main__":
    main()
