"""Full re-read or incremental pull: one rule for every partner pull, decided from who asked for the run.

A person's launch (the UI's Launch run, a partition's "Launch 1 run", a backfill, Materialize) re-reads fully;
a schedule's or sensor's run reads incrementally; the run config's `read` (or the tag `hub/read`) chooses."""

from collections.abc import Mapping
from typing import Literal

from dagster import Config
from dagster._core.storage.tags import (
    AUTO_MATERIALIZE_TAG,
    AUTOMATION_CONDITION_TAG,
    BACKFILL_ID_TAG,
    SCHEDULE_NAME_TAG,
    SENSOR_NAME_TAG,
)
from pydantic import Field

Read = Literal["auto", "full", "incremental"]
READ_TAG = "hub/read"
# the nightly reconcile job's tag (kept: runs and scripts of earlier versions carry it)
FULL_TAG = "full"
# what the webserver adds to every run a person launches in the UI (launchpad, Launch 1 run, Materialize)
FROM_UI_TAG = "dagster/from_ui"


class PullConfig(Config):
    """How a partner pull reads (the launchpad shows it under ops → <partner>_pull → config)."""

    read: Read = Field(
        default="auto",
        description="auto: a run a person launches (Launch run, a partition's Launch 1 run, a backfill, "
        "Materialize) re-reads everything; a schedule's or sensor's run reads only what changed. "
        "full: re-read everything. incremental: only what changed since the last pull (a catch-up).",
    )


def read_mode(read: Read, tags: Mapping[str, str], queued: bool) -> tuple[bool, str]:
    """(full, why) for a pull. `read`: the run config's choice; `tags`: the run's; `queued`: launched through
    the instance (webserver, daemon), not in-process from Python (`hub demo`, tests), which asks by tag or
    config and otherwise reads incrementally as a schedule would."""
    if read != "auto":
        return read == "full", f"chosen in the run config (read: {read})"
    tag = tags.get(READ_TAG, "").strip().lower()
    if tag in ("full", "incremental"):
        return tag == "full", f"chosen by the tag {READ_TAG}={tag}"
    if tags.get(FULL_TAG) == "true":
        return True, "the nightly reconcile (tag full=true)"
    if BACKFILL_ID_TAG in tags:
        return True, f"part of backfill {tags[BACKFILL_ID_TAG]}"
    if SCHEDULE_NAME_TAG in tags:
        return False, f"requested by the schedule {tags[SCHEDULE_NAME_TAG]}"
    if SENSOR_NAME_TAG in tags:
        return False, f"requested by the sensor {tags[SENSOR_NAME_TAG]}"
    if AUTOMATION_CONDITION_TAG in tags or AUTO_MATERIALIZE_TAG in tags:
        return False, "requested by an automation condition"
    if tags.get(FROM_UI_TAG) == "true":
        return True, "launched from the UI"
    if queued:
        return True, "launched by hand"
    return False, "run in-process without a choice"
