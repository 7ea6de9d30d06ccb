"""Full re-read or incremental, as a coordinator expects it: what a person launches re-reads fully, what a
schedule or sensor requests reads incrementally, and an explicit choice (run config or tag) wins."""

from __future__ import annotations

import pytest

from assets.reading import read_mode

PARTITION = {"dagster/partition": "coop-noord"}


@pytest.mark.parametrize(
    ("tags", "full"),
    [
        # the UI's Launch 1 run on one tenant, Materialize, the launchpad: only the partition tag
        (PARTITION, True),
        ({**PARTITION, "dagster/from_ui": "true", "dagster/partition_set": "sync_job_partition_set"}, True),
        ({**PARTITION, "dagster/backfill": "abc"}, True),
        ({**PARTITION, "dagster/schedule_name": "sync_every_15_minutes"}, False),
        ({**PARTITION, "dagster/sensor_name": "econobis_change_sensor"}, False),
        ({**PARTITION, "dagster/schedule_name": "nightly_reconcile", "full": "true"}, True),
        ({**PARTITION, "hub/read": "incremental"}, False),
        ({**PARTITION, "dagster/backfill": "abc", "hub/read": "incremental"}, False),
        ({**PARTITION, "dagster/sensor_name": "s", "hub/read": "full"}, True),
    ],
)
def test_a_run_launched_through_dagster_reads_by_who_asked_for_it(tags: dict[str, str], full: bool) -> None:
    assert read_mode("auto", tags, queued=True)[0] is full


def test_the_run_configs_choice_wins_over_every_tag() -> None:
    assert read_mode("incremental", {**PARTITION, "dagster/backfill": "abc"}, queued=True) == (
        False,
        "chosen in the run config (read: incremental)",
    )
    assert read_mode("full", {**PARTITION, "dagster/schedule_name": "s"}, queued=True)[0] is True


def test_an_in_process_run_without_a_choice_stays_incremental_and_says_why() -> None:
    # `hub demo` and the tests execute in-process; they ask by tag (a backfill tag, full=true) or config
    assert read_mode("auto", PARTITION, queued=False) == (False, "run in-process without a choice")
    assert read_mode("auto", {**PARTITION, "dagster/backfill": "bf1"}, queued=False)[0] is True
    assert read_mode("auto", PARTITION, queued=True) == (True, "launched by hand")


def test_the_sync_jobs_launchpad_and_the_replays_show_their_choices() -> None:
    import definitions

    sync = definitions.defs.resolve_job_def("sync_job")
    assert sync.partitioned_config is not None
    config = sync.partitioned_config.get_run_config_for_partition_key("coop-noord")
    assert config["ops"]["econobis_pull"] == {"config": {"read": "auto"}}
    replay = definitions.defs.resolve_job_def("quarantine_replay_job")
    assert replay.partitioned_config is not None
    config = replay.partitioned_config.get_run_config_for_partition_key("coop-noord")
    assert config == {"ops": {"quarantine_replay": {"config": {"sources": [], "ids": [], "reason": ""}}}}
