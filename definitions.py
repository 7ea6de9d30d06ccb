"""The Dagster Definitions of the hub: `dagster dev -f definitions.py` (see `make ui`). Built from the connector
registry and the couplings (assets.build), so this file never names a partner."""

import os
from collections.abc import Mapping

from dagster import Definitions, ExecutorDefinition, in_process_executor

from assets import ALL_ASSETS, ALL_CHECKS, ALL_JOBS, default_resources
from schedules import SCHEDULES, SENSORS

EXECUTOR_ENV = "HUB_DAGSTER_EXECUTOR"
# the executors a deployment may pick (docs/deployment.md), with the extra of pyproject.toml that brings each
EXECUTORS = {"in_process": None, "k8s_job": "k8s", "celery": "celery", "celery_k8s": "celery-k8s"}


def executor_from_env(env: Mapping[str, str] | None = None) -> ExecutorDefinition:
    """The executor HUB_DAGSTER_EXECUTOR names (default `in_process`). One process per run is the default: steps
    share the run's partner logins (Econobis blocks the sixth login a minute) and skip a Python start each; runs
    themselves still run side by side. The others start a process or pod per step. Raises ValueError for an
    unknown name or a library the image lacks."""
    name = (os.environ if env is None else env).get(EXECUTOR_ENV) or "in_process"
    if name not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_ENV}={name!r}: expected one of {', '.join(EXECUTORS)}")
    try:
        if name == "k8s_job":
            from dagster_k8s import k8s_job_executor

            return k8s_job_executor
        if name == "celery":
            from dagster_celery import celery_executor

            # the broker and backend as the workers read them (deploy/celery/celery.yaml)
            return celery_executor.configured(
                {
                    "broker": {"env": "DAGSTER_CELERY_BROKER_URL"},
                    "backend": {"env": "DAGSTER_CELERY_BACKEND_URL"},
                    "include": ["definitions"],
                }
            )
        if name == "celery_k8s":
            from dagster_celery_k8s import celery_k8s_job_executor

            return celery_k8s_job_executor
    except ImportError as exc:
        raise ValueError(f"{EXECUTOR_ENV}={name}: install the hub with .[{EXECUTORS[name]}] ({exc.name})") from exc
    return in_process_executor


defs = Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=ALL_JOBS,
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=default_resources(),
    executor=executor_from_env(),
)
