"""The README's coordinator tasks, clicked through in a real browser (Debian's Chromium driven by Playwright) against
`dagster-webserver` and `dagster-daemon` on the sandboxes: the freshness page read for a tenant, a one-tenant
backfill launched from sync_job's Partitions tab that re-reads the tenant fully, and the quarantine replay
launched from its launchpad with a filter. Screenshots of each step go to $HUB_UI_ARTEFACTS (else a temporary
directory the test prints)."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_chromium
from tests.orchestration.conftest import TENANT, Hub
from tests.orchestration.test_webserver_backfill import RUNS, Dagster
from tests.ui.conftest import OTHER

LOCATION = "/locations/__repository__@definitions.py"
RUN_TIMEOUT = 180
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}

pytestmark = pytest.mark.slow


@pytest.fixture
def artefacts(tmp_path: Path) -> Path:
    out = Path(os.environ.get("HUB_UI_ARTEFACTS") or tmp_path / "ui-artefacts")
    out.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the coordinator tasks: {out}")
    return out


def _runs(d: Dagster, job: str) -> list[dict[str, Any]]:
    filt = {"pipelineName": job, "tags": [{"key": "dagster/partition", "value": TENANT}]}
    listed = d.gql(RUNS, filter=filt)["runsOrError"]
    assert listed["__typename"] == "Runs", listed
    return [{**r, "tags": {t["key"]: t["value"] for t in r["tags"]}} for r in listed["results"]]


def _wait_for_run(d: Dagster, job: str, known: set[str]) -> dict[str, Any]:
    """The one new run of `job` for the tenant (not in `known`), once it has finished successfully."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        new = [r for r in _runs(d, job) if r["runId"] not in known]
        assert len(new) <= 1, f"more than one run of {job} launched: {new}"
        if new and new[0]["status"] in FINISHED:
            run = new[0]
            assert run["status"] == "SUCCESS", f"{job} run {run['runId']}: {run['status']}\n{d.output()}"
            return run
        assert time.monotonic() < deadline, f"no finished {job} run after {RUN_TIMEOUT}s: {new}\n{d.output()}"
        time.sleep(1)


def _materialization(run_id: str, asset: str) -> dict[str, Any]:
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.get() as instance:
        entries = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    for e in entries:
        mat = e.asset_materialization
        if mat is not None and mat.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in mat.metadata.items()}
    raise AssertionError(f"run {run_id} did not materialize {asset}")


def test_a_coordinator_reads_freshness_backfills_one_tenant_and_replays_the_quarantine_in_chromium(
    stack: Hub, dagster: Dagster, artefacts: Path
) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Page, expect, sync_playwright

    from assets import SYNC_ASSETS
    from tests.orchestration.test_webserver_backfill import _wait_for_location

    chromium = require_chromium("the UI is not tried in a browser")
    # the tenant as its schedule leaves it: one ordinary sync first (in-process), so a full read sees more
    seeded = stack.materialize(SYNC_ASSETS)
    assert seeded.success
    everything = {k: v.value for k, v in seeded.asset_materializations_for_node("econobis_pull")[0].metadata.items()}
    _wait_for_location(dagster)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True)
        page: Page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)

        def shot(name: str) -> None:
            page.screenshot(path=str(artefacts / f"{name}.png"))

        try:
            page.goto(dagster.url + "/runs")
            # the webserver's first-visit newsletter dialog
            skip = page.get_by_role("button", name="Skip")
            with contextlib.suppress(PlaywrightError):  # not shown (an instance that dismissed it already)
                skip.click(timeout=8_000)

            # 1. freshness: Catalog → hub_freshness → Materialize; its metadata lists the tenant's row
            page.goto(dagster.url + "/assets/hub_freshness")
            known = {r["runId"] for r in _runs(dagster, "__ASSET_JOB")}
            page.locator("button", has_text="Materialize").first.click()
            freshness = _wait_for_freshness(dagster, known)
            assert freshness["stale"] == 1, freshness  # the other cooperation, never synced
            page.reload()
            row = page.locator("tr:not(:has(tr))", has_text=TENANT).filter(has_text="econobis").first
            expect(row).to_be_visible(timeout=30_000)
            cells = row.inner_text().split()
            assert cells[:2] == [TENANT, "econobis"] and cells[-1] == "True", cells
            other = page.locator("tr:not(:has(tr))", has_text=OTHER).filter(has_text="econobis").first
            assert other.inner_text().split()[-1] == "False", other.inner_text()
            shot("1-freshness")

            # 2. one tenant's backfill: Jobs → sync_job → Partitions → Materialize… → the tenant → Launch 1 run
            page.goto(f"{dagster.url}{LOCATION}/jobs/sync_job")
            page.get_by_text("Partitions", exact=True).first.click()
            page.locator("button", has_text="Materialize").first.click()
            dialog = page.locator("[role=dialog]")
            dialog.get_by_text("Select a partition or create one").click()
            page.get_by_role("checkbox", name=TENANT).locator("xpath=..").click()
            page.keyboard.press("Escape")
            launch = dialog.get_by_role("button", name="Launch 1 run")
            expect(launch).to_be_enabled()
            shot("2-backfill-one-tenant")
            known = {r["runId"] for r in _runs(dagster, "sync_job")}
            launch.click()
            run = _wait_for_run(dagster, "sync_job", known)
            pull = _materialization(run["runId"], "econobis_pull")
            assert run["tags"].get("dagster/backfill") is None, "one tenant launches one run, not a backfill"
            assert pull["full_pull"] is True and pull["read"] == "full re-read", pull
            assert pull["read_because"] == "launched from the UI", pull
            # a full read sees (nearly) every record the first sync saw, unchanged; an incremental one right after
            # a sync sees only what changed since
            assert pull["records_seen"] >= 0.8 * everything["records_seen"] > 0, (pull, everything)
            assert pull["unchanged"] > pull["records_seen"] / 2, pull
            page.goto(f"{dagster.url}/runs/{run['runId']}")
            page.locator("input[placeholder^='Filter']").first.fill("full re-read")
            expect(page.get_by_text("full re-read (launched from the UI)").first).to_be_visible(timeout=30_000)
            shot("3-backfill-run-log")
            page.goto(f"{dagster.url}/assets/econobis_pull?partition={TENANT}")
            expect(page.get_by_text("read_because").first).to_be_visible(timeout=30_000)
            # the figures in words first, the technical keys below
            expect(page.get_by_text("Records read from the partner").first).to_be_visible()
            shot("4-econobis-pull-metadata")

            # 3. the replay: Jobs → quarantine_replay_job → ▾ beside Materialize… → Open launchpad → the tenant, a
            # filter → Materialize
            page.goto(f"{dagster.url}{LOCATION}/jobs/quarantine_replay_job")
            materialize = page.locator("button", has_text="Materialize").first
            materialize.locator("xpath=../following-sibling::*//button | following-sibling::button").first.click()
            page.get_by_role("menuitem", name="Open launchpad").click()
            page.get_by_placeholder("Partition").click()
            page.get_by_text(TENANT, exact=True).click()
            editor = page.locator(".CodeMirror", has_text="resources:").last
            expect(editor).to_contain_text("sources: []")
            shot("5-replay-launchpad-default")
            text = editor.evaluate("e => e.CodeMirror.getValue()")
            assert "sources: []" in text and "ids: []" in text, text
            editor.evaluate(
                "(e, v) => e.CodeMirror.setValue(v)", text.replace("sources: []", "sources: ['outbox:econobis']")
            )
            expect(editor).to_contain_text("outbox:econobis")
            expect(page.get_by_text("No errors")).to_be_visible()
            shot("6-replay-launchpad-filtered")
            known = {r["runId"] for r in _runs(dagster, "quarantine_replay_job")}
            launchpad = page.get_by_role("dialog")
            expect(launchpad.get_by_role("button", name="Materialize")).to_be_enabled()
            launchpad.get_by_role("button", name="Materialize").click()
            run = _wait_for_run(dagster, "quarantine_replay_job", known)
            replay = _materialization(run["runId"], "quarantine_replay")
            assert replay["filters"] == {"sources": ["outbox:econobis"], "ids": [], "reason": ""}, replay
            page.goto(f"{dagster.url}/runs/{run['runId']}")
            expect(page.get_by_text("RUN_SUCCESS").first).to_be_visible(timeout=30_000)
            shot("7-replay-run")
        except Exception:
            shot("failure")
            raise
        finally:
            browser.close()


def _wait_for_freshness(d: Dagster, known: set[str]) -> dict[str, Any]:
    """The metadata of hub_freshness from the asset run Materialize launched, once finished. The run itself
    fails: its blocking check finds the other cooperation stale, never synced."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        listed = d.gql(RUNS, filter={"pipelineName": "__ASSET_JOB"})["runsOrError"]["results"]
        new = [r for r in listed if r["runId"] not in known]
        if new and all(r["status"] in FINISHED for r in new):
            assert len(new) == 1, new
            return _materialization(new[0]["runId"], "hub_freshness")
        assert time.monotonic() < deadline, f"hub_freshness not materialized after {RUN_TIMEOUT}s\n{d.output()}"
        time.sleep(1)
