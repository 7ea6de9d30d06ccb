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

`--flush-ms 2 8` repeats the grid as if the disk took that long to flush: bench/slow_fsync.c, built with `cc`
and LD_PRELOADed into the receiver, sleeps before every fsync/fdatasync (NORMAL's checkpoint syncs included).
0 is the disk as it is.

    python bench/receiver_durability.py                     # 1k and 4k messages, 1/4/16 threads, 3 rounds
    python bench/receiver_durability.py --sizes 1000 --threads 8 --rounds 5 --flush-ms 0 2 8
    python bench/receiver_durability.py --tmp /var/lib/hub  # on the disk the store will live on

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
HERE = Path(__file__).resolve().parent
RECEIVER = HERE / "receiver.py"
METRICS = ("per_s", "p50", "p95", "p99", "peak_rss_mb", "apply_per_s")


def flush_env(flush_ms: float, build_dir: str) -> dict[str, str]:
    """The environment that makes every fsync of a child take `flush_ms` longer (empty for 0)."""
    if not flush_ms:
        return {}
    lib = Path(build_dir) / "slow_fsync.so"
    if not lib.exists():
        subprocess.run(
            ["cc", "-O2", "-shared", "-fPIC", "-o", str(lib), str(HERE / "slow_fsync.c"), "-ldl"], check=True
        )
    return {"LD_PRELOAD": str(lib), "HUB_BENCH_FLUSH_US": str(int(flush_ms * 1000))}


def fsync_probe_in_child(directory: str, extra_env: dict[str, str]) -> dict[str, float]:
    """fsync_probe run in a child with `extra_env` (so it sees the same disk as the receivers do)."""
    out = subprocess.run(
        [sys.executable, __file__, "--probe", directory],
        env={**os.environ, **extra_env},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


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


def run_once(mode: str, n: int, threads: int, tmp_root: str, extra_env: dict[str, str]) -> dict[str, Any]:
    """One receiver process with HUB_SQLITE_SYNCHRONOUS=`mode` on a fresh SQLite file; bench/receiver.py's load."""
    env = {**os.environ, **extra_env, "PYTHONPATH": str(ROOT), "HUB_SQLITE_SYNCHRONOUS": mode}
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
    """Per (flush, messages, threads, mode): the median of each metric over the rounds; FULL rows carry the ratio."""
    rows: list[dict[str, Any]] = []
    keys = sorted({(r["flush_ms"], r["messages"], r["threads"]) for r in runs})
    for fl, n, th in keys:
        medians: dict[str, dict[str, Any]] = {}
        for mode in MODES:
            mine = [r for r in runs if (r["flush_ms"], r["messages"], r["threads"], r["mode"]) == (fl, n, th, mode)]
            row: dict[str, Any] = {"flush_ms": fl, "messages": n, "threads": th, "mode": mode, "rounds": len(mine)}
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
    if len(sys.argv) > 2 and sys.argv[1] == "--probe":
        print(json.dumps(fsync_probe(sys.argv[2])))
        return
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--flush-ms", type=float, nargs="+", default=[0.0], help="added to every fsync (0: the disk as is)")
    p.add_argument("--tmp", default=None, help="directory for the stores (default: the system's temp dir)")
    args = p.parse_args()
    tmp_root = args.tmp or tempfile.gettempdir()
    runs: list[dict[str, Any]] = []
    probes: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as build_dir:
        for fl in args.flush_ms:
            extra = flush_env(fl, build_dir)
            probes[str(fl)] = fsync_probe_in_child(tmp_root, extra)
            for n in args.sizes:
                for th in args.threads:
                    for rnd in range(args.rounds):
                        for mode in MODES if rnd % 2 == 0 else MODES[::-1]:
                            runs.append({"flush_ms": fl, **run_once(mode, n, th, tmp_root, extra)})
                            print(
                                f"  +{fl} ms flush, {n} msgs, {th} threads, round {rnd + 1}, {mode}: "
                                f"{runs[-1]['per_s']} req/s",
                                flush=True,
                            )
    rows = summarise(runs)
    cols = ("+flush ms", "messages", "threads", "sync", "req/s", "p50 ms", "p95 ms", "p99 ms", "RSS MB", "apply/s")
    cols += ("FULL/NORM",)
    head = " ".join(f"{c:>9}" for c in cols)
    for fl, probe in probes.items():
        print(f"\nfsync on {tmp_root} +{fl} ms: p50 {probe['fsync_p50_ms']} ms, p95 {probe['fsync_p95_ms']} ms")
    print(f"medians of {args.rounds} rounds per setting (interleaved)\n")
    print(head)
    print("-" * len(head))
    for r in rows:
        vals = [r["flush_ms"], r["messages"], r["threads"], r["mode"], r["per_s"], r["p50"], r["p95"], r["p99"]]
        vals += [r["peak_rss_mb"], r["apply_per_s"], r.get("throughput_ratio", "")]
        print(" ".join(f"{v!s:>9}" for v in vals))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "receiver_durability.json").write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
                "store_dir": tmp_root,
                "fsync_probe": probes,
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
