"""Benchmark: what the tenant-scope guard (hub/store/scope.py) costs per statement.

A handful of the store's own statements, each built afresh for every execution as the store does, run three ways:

- `hook`: the guard's `before_execute` listener called alone on the statement (what it adds per call; since the
  statement is new each time this includes building its cache key, which SQLAlchemy then reuses to execute it);
- `analysis`: `unpinned(stmt, scoped)`, the uncached walk of the statement (what a statement costs the first time
  its shape is seen);
- `execute`: `conn.execute(stmt).all()` on an empty in-memory SQLite store, with and without the guard installed;
  `execute_delta` is the difference (the guard's cost as the caller sees it).

Medians of per-round means, rounds interleaved (guarded, unguarded, guarded, ...) on one process. Imports the hub
from $PYTHONPATH when it is set, else from this checkout: so the same script measures an older tree that does not
have it (`git archive <commit> | tar -x -C /tmp/base`, then alternate runs with PYTHONPATH=/tmp/base and
PYTHONPATH=. for an A/B on a noisy machine).

    python bench/guard_cost.py                       # 15 rounds of 400 executions per statement
    python bench/guard_cost.py --rounds 5 --n 200
    PYTHONPATH=/tmp/base python bench/guard_cost.py  # another tree's guard

Prints a table and writes bench/results/guard_cost.json (under the tree it imported)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, update

import hub
from hub.store import Store
from hub.store import tables as t
from hub.store.scope import install_guard, tenant_tables, unpinned

TREE = Path(hub.__file__).resolve().parent.parent
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _shared_ids() -> Any:
    x = t.xref
    shared = (
        select(x.c.canonical_id)
        .where(x.c.tenant == "coop-noord", x.c.system == "econobis", x.c.entity == "contact")
        .group_by(x.c.canonical_id)
        .having(func.count() > 1)
        .subquery()
    )
    return select(func.count()).select_from(shared)


STATEMENTS: dict[str, Callable[[], Any]] = {
    # the outbox claim's read (Store.outbox_claim)
    "outbox_claim_select": lambda: (
        select(t.outbox).where(Store.outbox_due("coop-noord", "econobis", NOW)).order_by(t.outbox.c.id).limit(100)
    ),
    # xref ⋈ entities on the tenant (Store.live_external_ids)
    "xref_join_entities": lambda: Store._live_xref(
        "econobis", "coop-noord", "contact", "resident", t.xref.c.external_id, t.xref.c.canonical_id
    ),
    # the claim's lease (an UPDATE by id)
    "outbox_lease_update": lambda: (
        update(t.outbox)
        .where(t.outbox.c.tenant == "coop-noord", t.outbox.c.id == 1, t.outbox.c.next_attempt_at == NOW)
        .values(next_attempt_at=NOW, updated_at=NOW)
    ),
    # a count over a grouped subquery (Store.xref_shared_canonical_ids)
    "xref_shared_subquery": _shared_ids,
}


def _run(conn: Any, stmt: Any) -> None:
    result = conn.execute(stmt)
    if result.returns_rows:
        result.all()


def _per_call_us(fn: Callable[[Any], Any], build: Callable[[], Any], n: int) -> float:
    stmts = [build() for _ in range(n)]  # fresh objects: nothing memoized from an earlier call
    t0 = time.perf_counter()
    for s in stmts:
        fn(s)
    return (time.perf_counter() - t0) / n * 1e6


def measure(rounds: int, n: int) -> list[dict[str, Any]]:
    scoped = tenant_tables(t.metadata.tables.values())
    plain, guarded = create_engine("sqlite://"), create_engine("sqlite://")
    for engine in (plain, guarded):
        t.metadata.create_all(engine)
    install_guard(guarded, t.metadata.tables.values())
    [hook] = list(guarded.dispatch.before_execute)
    rows = []
    with plain.connect() as pconn, guarded.connect() as gconn:
        for name, build in STATEMENTS.items():
            samples: dict[str, list[float]] = {"hook": [], "analysis": [], "plain": [], "guarded": []}
            for conn in (pconn, gconn):  # warm SQLAlchemy's compiled cache (and the guard's) for this shape
                _run(conn, build())
            for _ in range(rounds):
                for side, conn in (("guarded", gconn), ("plain", pconn)):
                    samples[side].append(_per_call_us(lambda s, c=conn: _run(c, s), build, n))
                samples["hook"].append(_per_call_us(lambda s: hook(gconn, s, (), {}, {}), build, n))
                samples["analysis"].append(_per_call_us(lambda s: unpinned(s, scoped), build, n))
            med = {k: statistics.median(v) for k, v in samples.items()}
            rows.append(
                {
                    "statement": name,
                    "hook_us": round(med["hook"], 1),
                    "analysis_us": round(med["analysis"], 1),
                    "execute_plain_us": round(med["plain"], 1),
                    "execute_guarded_us": round(med["guarded"], 1),
                    "execute_delta_us": round(med["guarded"] - med["plain"], 1),
                    "rounds": rounds,
                    "n": n,
                }
            )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--n", type=int, default=400, help="executions per statement and round")
    a = ap.parse_args()
    rows = measure(a.rounds, a.n)
    header = f"{'statement':<22} {'hook µs':>8} {'analysis µs':>12} {'exec µs':>8} {'exec+guard µs':>14} {'Δ µs':>6}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['statement']:<22} {r['hook_us']:>8} {r['analysis_us']:>12} {r['execute_plain_us']:>8} "
            f"{r['execute_guarded_us']:>14} {r['execute_delta_us']:>6}"
        )
    out = TREE / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "guard_cost.json").write_text(
        json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), "results": rows}, indent=2),
        encoding="utf-8",
    )
    print(f"\nwrote {out / 'guard_cost.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
