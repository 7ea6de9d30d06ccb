"""The Dagster Definitions of the hub: `dagster dev -f definitions.py` (see `make ui`). Built from the connector
registry and the couplings (assets.build), so this file never names a partner."""

from dagster import Definitions, in_process_executor

from assets import ALL_ASSETS, ALL_CHECKS, ALL_JOBS, default_resources
from schedules import SCHEDULES, SENSORS

defs = Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=ALL_JOBS,
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=default_resources(),
    # One process per run: steps share the run's partner logins (Econobis blocks the sixth login a minute)
    # and skip a Python start each; runs themselves still run side by side.
    executor=in_process_executor,
)
