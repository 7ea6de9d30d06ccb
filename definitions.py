"""The Dagster Definitions of the hub: `dagster dev -f definitions.py` (see `make ui`)."""

from dagster import Definitions

from assets import ALL_ASSETS, default_resources, econobis_pull_job, econobis_push_job, hoomdossier_job, mart_job
from schedules import SCHEDULES, SENSORS

defs = Definitions(
    assets=ALL_ASSETS,
    jobs=[econobis_pull_job, econobis_push_job, hoomdossier_job, mart_job],
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=default_resources(),
)
