"""A coordinator's backfill through the Dagster webserver, as a new user meets it: `dagster-webserver` and
`dagster-daemon` on the hub's definitions and instance settings (`app.cli.write_dagster_home`), a tenant
backfilled through the GraphQL API the UI uses, and the same backfill again, which changes nothing and writes
nothing to a partner."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.store import Store
from tests.orchestration.conftest import TENANT, Hub, make_hub

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
JOB = "sync_job"
SYNC_NODES = {
    "econobis_pull",
    "hoomdossier_inbox",
    "webform_inbox",
    "canonical_model",
    "hoomdossier_push",
    "stalled_dossiers",
    "econobis_push",
    "woningpas_pull",
    "woningpas_push",
    "fluvius_pull",
    "fluvius_inbox",
    "fluvius_plan",
    "fluvius_push",
    "bag_pull",
    "ep_online_pull",
    "match_candidates",
}
SERVER_TIMEOUT = 90
BACKFILL_TIMEOUT = 240
TERMINAL_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
FINISHED_RUN = {"SUCCESS", "FAILURE", "CANCELED"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return f"({path.name}: no output)"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return f"--- last {lines} lines of {path.name} ---\n" + "\n".join(text[-lines:])


@dataclass
class Dagster:
    """The webserver and the daemon of one test, and where their output goes."""

    url: str
    logs: list[Path]

    def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        resp = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60)
        assert resp.status_code == 200, f"GraphQL HTTP {resp.status_code}: {resp.text[:2000]}"
        body = resp.json()
        assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
        return body["data"]

    def output(self) -> str:
        return "\n".join(_tail(p) for p in self.logs)


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        # a session of its own, so stopping it stops the code servers and run workers it started too
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    # whatever the group leader left behind (code servers, run workers)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store) -> Iterator[Hub]:
    yield from make_hub(tmp_path, monkeypatch, store)


@pytest.fixture
def dagster(stack: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dagster]:
    from app.cli import write_dagster_home

    home = write_dagster_home(tmp_path / "dagster")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "HUB_CONFIG": str(stack.config_file),
        "HUB_DATABASE_URL": stack.database_url,
        "HUB_HOME": str(tmp_path / "home"),
        "HUB_AUTOMATION": "stopped",
        "PYTHONUNBUFFERED": "1",
    }
    # this process reads the same instance (the runs' events) afterwards
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # create the instance's SQLite storage once, here: the webserver and the daemon starting side by side would
    # otherwise both create its tables, and one fails on "table runs already exists"
    from dagster import DagsterInstance

    with DagsterInstance.get():
        pass
    port = _free_port()
    logs = [tmp_path / "webserver.log", tmp_path / "daemon.log"]
    procs: list[subprocess.Popen[bytes]] = []
    d = Dagster(f"http://127.0.0.1:{port}", logs)
    try:
        procs.append(
            _start(
                [str(BIN / "dagster-webserver"), "-f", "definitions.py", "-h", "127.0.0.1", "-p", str(port)],
                env,
                logs[0],
            )
        )
        procs.append(_start([str(BIN / "dagster-daemon"), "run", "-f", "definitions.py"], env, logs[1]))
        deadline = time.monotonic() + SERVER_TIMEOUT
        while True:
            for p, log in zip(procs, logs, strict=True):
                assert p.poll() is None, f"{log.stem} exited with {p.returncode}\n{d.output()}"
            try:
                if requests.get(f"{d.url}/server_info", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"webserver did not answer within {SERVER_TIMEOUT}s\n{d.output()}"
            time.sleep(0.5)
        yield d
    finally:
        for p in procs:
            _stop(p)
        # pytest shows what a fixture prints only when the test fails
        print(d.output())


REPOSITORIES = """
query {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        partitionSets {
          name
          pipelineName
          partitionsOrError { __typename ... on Partitions { results { name } } ... on PythonError { message } }
        }
      }
    }
    ... on PythonError { message stack }
  }
}
"""

LAUNCH_BACKFILL = """
mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId launchedRunIds }
    ... on PartitionSetNotFoundError { message }
    ... on PartitionKeysNotFoundError { message partitionKeys }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""

BACKFILL = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { id status partitionNames partitionSetName error { message stack } }
    ... on PythonError { message stack }
    ... on BackfillNotFoundError { message }
  }
}
"""

RUNS = """
query ($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId jobName status tags { key value } } }
    ... on PythonError { message stack }
  }
}
"""


def _wait_for_location(d: Dagster) -> tuple[str, str, dict[str, Any]]:
    """(location name, repository name, the sync job's partition set) once the code location has loaded."""
    deadline = time.monotonic() + SERVER_TIMEOUT
    while True:
        res = d.gql(REPOSITORIES)["repositoriesOrError"]
        if res["__typename"] == "RepositoryConnection" and res["nodes"]:
            break
        assert time.monotonic() < deadline, f"the code location did not load: {res}\n{d.output()}"
        time.sleep(1)
    sets = [(repo, ps) for repo in res["nodes"] for ps in repo["partitionSets"] if ps["pipelineName"] == JOB]
    assert len(sets) == 1, f"expected one partition set of {JOB}, got {sets}"
    repo, partition_set = sets[0]
    return repo["location"]["name"], repo["name"], partition_set


def _backfill(d: Dagster, location: str, repository: str, partition_set: str) -> tuple[str, list[dict[str, Any]]]:
    """Launch a backfill of the tenant, wait until it and its runs are done; (backfill id, its runs)."""
    params = {
        "selector": {
            "partitionSetName": partition_set,
            "repositorySelector": {"repositoryName": repository, "repositoryLocationName": location},
        },
        "partitionNames": [TENANT],
    }
    launched = d.gql(LAUNCH_BACKFILL, params=params)["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", f"backfill not launched: {launched}"
    backfill_id = launched["backfillId"]
    assert backfill_id

    deadline = time.monotonic() + BACKFILL_TIMEOUT
    status = None
    runs: list[dict[str, Any]] = []
    while True:
        bf = d.gql(BACKFILL, id=backfill_id)["partitionBackfillOrError"]
        assert bf["__typename"] == "PartitionBackfill", f"backfill {backfill_id}: {bf}"
        status = bf["status"]
        assert status not in {"FAILED", "COMPLETED_FAILED", "CANCELED", "FAILING", "CANCELING"}, (
            f"backfill {backfill_id} ended {status}: {bf.get('error')}\n{d.output()}"
        )
        filt = {"tags": [{"key": "dagster/backfill", "value": backfill_id}]}
        listed = d.gql(RUNS, filter=filt)["runsOrError"]
        assert listed["__typename"] == "Runs", f"runs of backfill {backfill_id}: {listed}"
        runs = listed["results"]
        if status in TERMINAL_BACKFILL and runs and all(r["status"] in FINISHED_RUN for r in runs):
            break
        assert time.monotonic() < deadline, (
            f"backfill {backfill_id} still {status} after {BACKFILL_TIMEOUT}s; runs {runs}\n{d.output()}"
        )
        time.sleep(2)
    assert status in {"COMPLETED", "COMPLETED_SUCCESS"}, f"backfill {backfill_id} ended {status}"
    assert len(runs) == 1, f"one run expected for the one tenant of backfill {backfill_id}, got {runs}"
    run = runs[0]
    assert run["jobName"] == JOB, run
    assert run["status"] == "SUCCESS", f"run {run['runId']} of backfill {backfill_id}: {run['status']}\n{d.output()}"
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags.get("dagster/partition") == TENANT, tags
    return backfill_id, runs


def _materializations(run_id: str) -> dict[str, dict[str, Any]]:
    """The run's asset materializations: asset name → metadata as plain values."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.get() as instance:
        entries = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    out: dict[str, dict[str, Any]] = {}
    for e in entries:
        mat = e.asset_materialization
        assert mat is not None
        assert mat.partition == TENANT, (mat.asset_key, mat.partition)
        out[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    return out


def test_a_backfill_through_the_webserver_twice_changes_nothing_the_second_time(stack: Hub, dagster: Dagster) -> None:
    from assets import SYNC_ASSETS

    # the tenant as its schedule leaves it: one ordinary sync first (in-process, like test_graph)
    assert stack.materialize(SYNC_ASSETS).success

    location, repository, partition_set = _wait_for_location(dagster)
    partitions = partition_set["partitionsOrError"]
    assert partitions["__typename"] == "Partitions", partitions
    assert [p["name"] for p in partitions["results"]] == [TENANT], "the partitions come from $HUB_CONFIG"

    first_id, first_runs = _backfill(dagster, location, repository, partition_set["name"])
    first = _materializations(first_runs[0]["runId"])
    assert set(first) == SYNC_NODES, f"first backfill materialized {sorted(first)}"
    assert first["econobis_pull"]["full_pull"] is True, first["econobis_pull"]

    second_id, second_runs = _backfill(dagster, location, repository, partition_set["name"])
    assert second_id != first_id
    second = _materializations(second_runs[0]["runId"])
    assert set(second) == SYNC_NODES, f"second backfill materialized {sorted(second)}"
    pull = second["econobis_pull"]
    assert pull["full_pull"] is True, pull
    assert pull["created"] == 0 and pull["updated"] == 0 and pull["quarantined"] == 0, pull
    assert pull["unchanged"] == pull["records_seen"] > 0, pull
    writes = {node: md.get("partner_writes", 0) for node, md in second.items()}
    assert sum(writes.values()) == 0, f"the second backfill wrote to a partner: {writes}"
