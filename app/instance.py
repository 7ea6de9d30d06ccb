"""The Dagster instance file (dagster.yaml) the hub's own commands write: the hub's run queue and pools, with
run, event-log and schedule storage on local files or, when HUB_DAGSTER_PG_URL is set, on PostgreSQL.

The file names the variable, never the URL, so a password stays in the environment (docs/deployment.md)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster import DagsterInstance

DAGSTER_PG_URL_ENV = "HUB_DAGSTER_PG_URL"

# dagster-postgres' one `storage` block: runs, event log (with the pools' concurrency slots) and schedules
POSTGRES_STORAGE = f"""\
storage:
  postgres:
    postgres_url:
      env: {DAGSTER_PG_URL_ENV}
"""

# what Dagster itself writes into a fresh DAGSTER_HOME before the hub got to it
_DAGSTER_DEFAULT = "telemetry:\n  enabled: false\n"


def instance_yaml(settings: str, env: Mapping[str, str] | None = None) -> str:
    """`settings` (the hub's queue and pools) plus PostgreSQL storage when HUB_DAGSTER_PG_URL is set in `env`
    (default: the process environment)."""
    env = os.environ if env is None else env
    return settings + POSTGRES_STORAGE if env.get(DAGSTER_PG_URL_ENV) else settings


def write_instance_yaml(home: Path, settings: str, env: Mapping[str, str] | None = None) -> Path:
    """Write `home`/dagster.yaml from `settings` and `env`; returns `home`. A file the hub did not write (or
    Dagster's telemetry-only default) is left as the user made it; one the hub wrote follows the variable, so
    setting or unsetting HUB_DAGSTER_PG_URL moves the instance on the next start."""
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    ours = {_DAGSTER_DEFAULT, settings, settings + POSTGRES_STORAGE}
    if not cfg.exists() or cfg.read_text(encoding="utf-8") in ours:
        cfg.write_text(instance_yaml(settings, env), encoding="utf-8")
    return home


def declared_pools() -> set[str]:
    """Every concurrency pool the hub's assets and checks run in (one per partner, `assets/partners.py`)."""
    from assets import ALL_ASSETS, ALL_CHECKS

    pools: set[str] = set()
    for d in (*ALL_ASSETS, *ALL_CHECKS):
        for node in d.node_def.iterate_op_defs() if hasattr(d, "node_def") else ():
            if node.pool:
                pools.add(node.pool)
    return pools


def init_pools(instance: DagsterInstance, pools: Iterable[str]) -> list[str]:
    """Give each pool the instance has no limit for yet its default limit, one after the other; returns those
    it created. Dagster creates a pool on its first step, and on PostgreSQL two runs that both find it missing
    race: the loser's step fails with a duplicate key (dagster-io/dagster#33552, open in 1.13.27). Run once
    before the first runs of a deployment (and after adding a partner)."""
    storage = instance.event_log_storage
    known = set(storage.get_concurrency_keys())
    made = []
    for pool in sorted(set(pools) - known):
        if storage.initialize_concurrency_limit_to_default(pool):
            made.append(pool)
    return made


def main(argv: list[str] | None = None) -> int:
    """`python -m app.instance init`: make the instance's tables ($DAGSTER_HOME, on PostgreSQL with
    HUB_DAGSTER_PG_URL) and its pools; a deployment's one-off step before Dagster's daemon and runs start."""
    import argparse

    from dagster import DagsterInstance

    p = argparse.ArgumentParser(prog="python -m app.instance")
    p.add_argument("command", choices=["init"])
    p.parse_args(argv)
    with DagsterInstance.get() as instance:
        instance.upgrade()
        made = init_pools(instance, declared_pools())
        print(json.dumps({"storage": type(instance.run_storage).__name__, "pools_created": made}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
