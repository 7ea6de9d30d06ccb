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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve(residents: int) -> None:
    """Child process: run one sandbox tenant and print its port; exit when stdin closes."""
    from connectors.econobis.sandbox.server import start_sandboxes

    t0 = time.monotonic()
    [sb] = start_sandboxes(residents, tenants=("coop-noord",), throttle_per_minute=10**9)
    print(
        json.dumps({"port": sb.server.port, "seed_s": round(time.monotonic() - t0, 2), "counts": sb.sandbox.counts}),
        flush=True,
    )
    sys.stdin.read()


def pull(port: int, page_size: int) -> None:
    """Child process: pull everything into a fresh SQLite store; print measurements as JSON."""
    from connectors.econobis.client import EconobisClient
    from connectors.econobis.sync import EconobisPull
    from hub.store import Store
    from tests.conftest import sandbox_hub_config

    class _Running:
        tenant = "coop-noord"

        class server:
            base_url = f"http://127.0.0.1:{port}"

    config = sandbox_hub_config([_Running])
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/hub.sqlite")
        client = EconobisClient.for_tenant(config.tenant("coop-noord"), store, timeout=(3.0, 120.0))
        latencies: list[float] = []
        client.http.session.hooks["response"].append(lambda r, *a, **k: latencies.append(r.elapsed.total_seconds()))
        t0 = time.monotonic()
        report = EconobisPull(store, client, "coop-noord", page_size=page_size).run()
        seconds = time.monotonic() - t0
        store.dispose()
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else 0.0

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
                "page_latency_ms": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99)},
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "quarantined": report.quarantined,
            }
        ),
        flush=True,
    )


def run_size(residents: int, page_size: int) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(residents)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        out = subprocess.run(
            [sys.executable, __file__, "--pull", str(info["port"]), "--page-size", str(page_size)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)
    return {"residents": residents, "page_size": page_size, "sandbox_seed_s": info["seed_s"], **result}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--page-size", type=int, default=500)
    ap.add_argument("--serve", type=int)
    ap.add_argument("--pull", type=int)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
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
