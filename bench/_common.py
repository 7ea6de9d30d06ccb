"""What the benchmarks share: a sandbox Econobis in its own process, a hub client pointed at it, and
latency percentiles. Each benchmark script runs itself as the child processes (`--serve`, then its mode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TENANT = "coop-noord"


def serve(residents: int, throttle: int) -> None:
    """Child process: one sandbox tenant (its webform allowed `throttle` calls a minute too); prints its port
    and seed time as one JSON line, then runs until stdin closes."""
    from connectors.econobis.sandbox.server import start_sandboxes

    t0 = time.monotonic()
    [sb] = start_sandboxes(residents, tenants=(TENANT,), throttle_per_minute=throttle)
    for wf in sb.sandbox.db.tables["webforms"].values():
        wf["max_requests_per_minute"] = max(60, throttle)
    seed_s = round(time.monotonic() - t0, 2)
    print(json.dumps({"port": sb.server.port, "seed_s": seed_s, "counts": sb.sandbox.counts}), flush=True)
    sys.stdin.read()


def with_sandbox(script: str, residents: int, throttle: int, child_args: list[str]) -> dict[str, Any]:
    """Start `script --serve` as the sandbox, run `script <child_args> <port>` against it, and return the
    child's last JSON line merged with the sandbox's seed time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, script, "--serve", str(residents), "--throttle", str(throttle)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        out = subprocess.run(
            [sys.executable, script, *child_args, str(info["port"])],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=60)
    return {"residents": residents, "sandbox_seed_s": info["seed_s"], **result}


def client_for(
    port: int, store: Any, budget: float | None = None, timeout: tuple[float, float] = (3.0, 120.0)
) -> tuple[Any, Any]:
    """(EconobisClient, TenantConfig) for the sandbox on `port`; `budget` calls/minute (None: unlimited)."""
    from connectors.econobis.client import EconobisClient
    from tests.conftest import sandbox_hub_config

    class _Running:
        tenant = TENANT

        class server:
            base_url = f"http://127.0.0.1:{port}"

    kw = {} if budget is None else {"budget_per_minute": budget, "budget_burst": 5.0}
    tenant = sandbox_hub_config([_Running], **kw).tenant(TENANT)
    return EconobisClient.for_tenant(tenant, store, timeout=timeout), tenant


def record_latencies(client: Any) -> list[float]:
    """Every response's elapsed seconds, appended as the client makes calls."""
    latencies: list[float] = []
    client.http.session.hooks["response"].append(lambda r, *a, **k: latencies.append(r.elapsed.total_seconds()))
    return latencies


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1) if ordered else 0.0

    return {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99)}
