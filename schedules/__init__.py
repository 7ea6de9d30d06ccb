"""Schedules and sensors. The foundation ships none: the 15-minute sync, nightly reconcile and the inbox,
outbox and stalled-dossier sensors belong to the orchestration issue."""

from dagster import ScheduleDefinition, SensorDefinition

SCHEDULES: list[ScheduleDefinition] = []
SENSORS: list[SensorDefinition] = []
