"""Materialize assets in a process of its own, as Dagster's run launcher does: `python -m
tests.orchestration.run_in_process '<json>'` with {"assets": [...], "partition": str | {dim: key}, "tags": {},
"instance": "ephemeral" | "home"}. The tenants file and the state store come from HUB_CONFIG and HUB_DATABASE_URL;
"home" records the run in the Dagster instance of $DAGSTER_HOME (its dagster.yaml: pools, storage), as a
deployment's run worker does. Prints {"success": bool}."""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    from dagster import DagsterInstance, MultiPartitionKey, materialize

    from assets import ALL_ASSETS, ALL_CHECKS, default_resources

    spec = json.loads(argv[0])
    by_name = {a.key.to_user_string(): a for a in ALL_ASSETS}
    partition = spec.get("partition")
    if isinstance(partition, dict):
        partition = MultiPartitionKey(partition)
    home = spec.get("instance") == "home"
    with DagsterInstance.get() if home else DagsterInstance.ephemeral() as instance:
        res = materialize(
            [*ALL_ASSETS, *ALL_CHECKS],
            selection=[by_name[n] for n in spec["assets"]],
            partition_key=partition,
            instance=instance,
            resources=default_resources(),
            tags=spec.get("tags") or None,
            raise_on_error=False,
        )
    print(json.dumps({"success": res.success}))
    return 0 if res.success else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
