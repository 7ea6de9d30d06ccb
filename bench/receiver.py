"""Benchmark: the receiver's answer latency for Hoomdossier messages (store-before-ack), at several message
counts and concurrencies, and the apply step that turns them into canonical records.

The receiver (`hub serve`'s app, one uvicorn worker) runs in its own process on a fresh SQLite store (or
$HUB_DATABASE_URL), so its peak RSS is its own; a load generator posts a realistic mix (afspraak, scan-status,
gebruik, woonplan, woning-status; 1 in 50 a 200 kB PDF) from N threads. Each message is distinct, as real
traffic is; a tenth are exact repeats, which the receiver recognises without storing.

    python bench/receiver.py                         # 1k, 5k and 20k messages, 8 threads
    python bench/receiver.py --sizes 1000 --threads 1 16

Prints a table and writes bench/results/receiver.json."""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, TENANT, percentiles

PDF = base64.b64encode(random.Random(1).randbytes(200_000)).decode()


def serve(db_url: str) -> None:
    """Child process: the receiver on a free port; prints the port, then runs until stdin closes; on exit
    prints its peak RSS and the apply step's timing as JSON."""
    from connectors import registry
    from couplings.econobis_hoomdossier import apply_hoomdossier_inbox
    from hub.config import sandbox_config
    from hub.receiver import create_receiver
    from hub.sandbox.server import ThreadedServer
    from hub.store import Store

    config = sandbox_config()
    store = Store.open(db_url)
    app = create_receiver(config, store, registry().routers(config, store))
    server = ThreadedServer(app).start()
    print(json.dumps({"port": server.port}), flush=True)
    sys.stdin.readline()
    rss_receiving = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    server.stop()
    t0 = time.monotonic()
    applied = apply_hoomdossier_inbox(store, TENANT)
    apply_s = time.monotonic() - t0
    print(
        json.dumps(
            {
                "peak_rss_mb": round(rss_receiving, 1),
                "apply_s": round(apply_s, 2),
                "applied": applied.applied,
                "apply_per_s": round(applied.applied / apply_s, 1) if apply_s else None,
                "peak_rss_after_apply_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        ),
        flush=True,
    )


def messages(n: int) -> list[tuple[str, dict[str, Any]]]:
    r = random.Random(n)
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(n):
        building = 1000 + r.randrange(max(1, n // 5))
        related = {
            "building_id": building,
            "user_id": building + 5,
            "account_id": building + 7,
            "contact_id": building + 9,
        }
        kind = r.choices(
            ["afspraak", "scan-status", "gebruik", "woonplan", "woning-status", "pdf"], [30, 15, 25, 20, 8, 2]
        )[0]
        body: dict[str, Any] = {"account_related": related}
        if kind == "afspraak":
            body |= {
                "appointment_date": f"2026-12-{1 + i % 28:02d} {8 + i % 10:02d}:00:00",
                "coaches": [{"contact_id": 1001}],
            }
        elif kind == "scan-status":
            body["scans"] = {
                "quick-scan": {
                    "id": 2,
                    "name": "Uitgebreide variant",
                    "short": "quick-scan",
                    "has_made_progress": i % 2 == 0,
                }
            }
        elif kind == "gebruik":
            body |= {
                "current": {
                    "build-year": {
                        "id": 9,
                        "short": "build-year",
                        "name": "Bouwjaar",
                        "answers": {"value": 1900 + i % 120, "short": None, "name": None},
                    },
                    "surface": {
                        "id": 14,
                        "short": "surface",
                        "name": "Oppervlakte",
                        "answers": {"value": 60 + i % 150, "short": None, "name": None},
                    },
                },
                "new": [],
            }
        elif kind == "woonplan":
            body["user_action_plan_advices"] = {
                str(i * 10 + k): {
                    "name": "Vloerisolatie",
                    "savings_gas": f"{100 + k}.00",
                    "savings_electricity": "0.00",
                    "co2_savings": 188.0 + k,
                    "measure_id": 1 + k,
                    "measure_type": "App\\Models\\MeasureApplication",
                }
                for k in range(3)
            }
            body["user_action_plan_advice_comments"] = []
        elif kind == "woning-status":
            body["status"] = {"id": 5, "short": "executed", "name": "Uitgevoerd"}
        else:
            body["pdf"] = {"contents": PDF}
        out.append((kind, body))
    repeats = [out[r.randrange(len(out))] for _ in range(n // 10)]
    return out + repeats


def load(port: int, n: int, threads: int) -> dict[str, Any]:
    import requests

    from connectors.hoomdossier.sandbox.credentials import sandbox_hoomdossier_credentials

    key = sandbox_hoomdossier_credentials(TENANT)["inbound_key"]
    work = messages(n)
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    it = iter(work)

    def worker() -> None:
        s = requests.Session()
        while True:
            with lock:
                item = next(it, None)
            if item is None:
                return
            kind, body = item
            t0 = time.perf_counter()
            resp = s.post(f"http://127.0.0.1:{port}/api/{key}/hoomdossier/{kind}", json=body, timeout=60)
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                if resp.status_code != 200:
                    errors[0] += 1

    t0 = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    seconds = time.monotonic() - t0
    return {
        "requests": len(work),
        "seconds": round(seconds, 2),
        "per_s": round(len(work) / seconds, 1),
        "errors": errors[0],
        **percentiles(lat),
    }


def run(n: int, threads: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        db_url = os.environ.get("HUB_DATABASE_URL") or f"sqlite:///{tmp}/hub.sqlite"
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", db_url],
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
    return {
        "messages": n,
        "threads": threads,
        "store": "postgresql" if "postgres" in db_url else "sqlite",
        **result,
        **tail,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
        return
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    p.add_argument("--threads", type=int, nargs="+", default=[8])
    args = p.parse_args()
    rows = [run(n, th) for n in args.sizes for th in args.threads]
    cols = ("messages", "threads", "req/s", "p50 ms", "p95 ms", "p99 ms", "err", "RSS MB", "apply/s")
    head = " ".join(f"{c:>8}" for c in cols)
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            " ".join(
                f"{r[k]!s:>8}"
                for k in ("messages", "threads", "per_s", "p50", "p95", "p99", "errors", "peak_rss_mb", "apply_per_s")
            )
        )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "receiver.json").write_text(
        json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), "results": rows}, indent=2),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
