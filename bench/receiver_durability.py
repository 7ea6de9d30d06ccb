"""Benchmark: what an acknowledged message's durability against a power cut costs on the embedded SQLite store,
`HUB_SQLITE_SYNCHRONOUS=normal` (WAL synced at checkpoints only) against `full` (the default: WAL synced at
every commit), at several message counts and sender concurrencies.

Each run is bench/receiver.py's: the receiver in its own process on a fresh SQLite file, N sender threads
posting a realistic Hoomdossier mix (each message distinct, a tenth exact repeats), then the apply step, which
also commits once per message. The two settings run interleaved (A B, then B A in the next round, so a
machine that drifts during the bench penalises neither), and the table shows each setting's median over the
rounds, plus FULL's throughput as a fraction of NORMAL's. The raw fsync latency of the file system the store is
on is measured too: it is what FULL adds to every commit, and a figure far below a real disk's flush time means
a write cache acknowledges flushes (docs/durability.md).

    python bench/receiver_durability.py                                   # 1k and 4k messages, 1/4/16 threads, 3 rounds
    python bench/receiver_durability.py --sizes 1000 --threads 8 --rounds 5

Prints a table and writes bench/results/receiver_durability.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT
from receiver import load

MODES = ("normal", "full")
RECEIVER = Path(__file__).resolve().parent / "receiver.py"
METRICS = ("per_s", "p50", "p95", "p99", "peak_rss_mb", "apply_per_s")


def fsync_probe(directory: str, n: int = 300) -> dict[str, float]:
    """Milliseconds per fsync of a freshly written 4 kB page in `directory` (median, p95)."""
    lat: list[float] = []
    fd, path = tempfile.mkstemp(dir=directory)
    try:
        for _ in range(n):
            os.write(fd, os.urandom(4096))
            t0 = time.perf_counter()
            os.fsync(fd)
            lat.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    return {"fsync_p50_ms": round(lat[n // 2] * 1000, 3), "fsync_p95_ms": round(lat[int(n * 0.95)] * 1000, 3)}


def run_once(mode: str, n: int, threads: int, tmp_root: str | None) -> dict[str, Any]:
    """One receiver process with HUB_SQLITE_SYNCHRONOUS=`mode` on a fresh SQLite file; bench/receiver.py's load."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HUB_SQLITE_SYNCHRONOUS": mode}
    env.pop("HUB_DATABASE_URL", None)  # this bench is about the embedded store
    with tempfile.TemporaryDirectory(dir=tmp_root) as tmp:
        server = subprocess.Popen(
            [sys.executable, str(RECEIVER), "--serve", f"sqlite:///{tmp}/hub.sqlite"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert server.stdout is not None and server.stdin is not None
        port = json.loads(server.stdout.readline())["port"]
        result = load(port, n, threads)
        server.stdin.write("done\n")
        server.stdin.flush()
        tail = json.loads(server.stdout.readline())
        server.wait(timeout=600)
    return {"mode": mode, "messages": n, "threads": threads, **result, **tail}


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (messages, threads, mode): the median of each metric over the rounds; FULL rows carry the ratio."""
    rows: list[dict[str, Any]] = []
    keys = sorted({(r["messages"], r["threads"]) for r in runs})
    for n, th in keys:
        medians: dict[str, dict[str, Any]] = {}
        for mode in MODES:
            mine = [r for r in runs if (r["messages"], r["threads"], r["mode"]) == (n, th, mode)]
            row: dict[str, Any] = {"messages": n, "threads": th, "mode": mode, "rounds": len(mine)}
            for m in METRICS:
                values = [r[m] for r in mine if r.get(m) is not None]
                row[m] = round(statistics.median(values), 1) if values else None
            row["errors"] = sum(r["errors"] for r in mine)
            medians[mode] = row
        full, normal = medians["full"], medians["normal"]
        for m, name in (("per_s", "throughput_ratio"), ("apply_per_s", "apply_ratio"), ("p99", "p99_ratio")):
            if full[m] and normal[m]:
                full[name] = round(full[m] / normal[m], 3)
        rows += [normal, full]
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tmp", default=None, help="directory for the stores (default: the system's temp dir)")
    args = p.parse_args()
    tmp_root = args.tmp or tempfile.gettempdir()
    probe = fsync_probe(tmp_root)
    runs: list[dict[str, Any]] = []
    for n in args.sizes:
        for th in args.threads:
            for rnd in range(args.rounds):
                order = MODES if rnd % 2 == 0 else MODES[::-1]
                for mode in order:
                    runs.append(run_once(mode, n, th, tmp_root))
                    print(f"  {n} msgs, {th} threads, round {rnd + 1}, {mode}: {runs[-1]['per_s']} req/s", flush=True)
    rows = summarise(runs)
    cols = ("messages", "threads", "sync", "req/s", "p50 ms", "p95 ms", "p99 ms", "RSS MB", "apply/s", "FULL/NORM")
    head = " ".join(f"{c:>9}" for c in cols)
    print(f"\nfsync on {tmp_root}: p50 {probe['fsync_p50_ms']} ms, p95 {probe['fsync_p95_ms']} ms")
    print(f"medians of {args.rounds} rounds per setting (interleaved)\n")
    print(head)
    print("-" * len(head))
    for r in rows:
        ratio = r.get("throughput_ratio", "")
        vals = [r["messages"], r["threads"], r["mode"], r["per_s"], r["p50"], r["p95"], r["p99"]]
        vals += [r["peak_rss_mb"], r["apply_per_s"], ratio]
        print(" ".join(f"{v!s:>9}" for v in vals))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "receiver_durability.json").write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
                "store_dir": tmp_root,
                **probe,
                "rounds": args.rounds,
                "results": rows,
                "runs": runs,
            },
            indent=2,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
