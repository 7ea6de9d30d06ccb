"""The demo's steps between the syncs and its clocks: the sandboxes seed their history before the hub's now, the
registered residents use Hoomdossier (some do, some do not), the coordinator handles part of the follow-ups, and
the summary names where `hub report` writes each tenant's report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from app.demo import coordinator_handles_follow_ups, demo_clocks, report_path, residents_use_hoomdossier
from connectors.econobis.sandbox.instance import EconobisSandbox
from connectors.hoomdossier.sandbox.app import CooperationConfig, HoomdossierSandbox
from hub.config import HubPaths
from hub.sandbox.runtime import SimClock

TENANT = "coop-noord"


def test_the_sandboxes_clocks_are_the_hubs_now_in_amsterdam_wall_clock_time():
    now = datetime(2026, 12, 3, 14, 0, 5, 123, tzinfo=UTC)
    clocks = demo_clocks(now)
    assert clocks["econobis"]["start"] == datetime(2026, 12, 3, 15, 0, 5)  # naive Europe/Amsterdam
    assert clocks["hoomdossier"]["start"] == clocks["econobis"]["start"]
    assert clocks["ep_online"]["today"].isoformat() == "2026-12-03"


def test_an_econobis_seeded_at_the_hubs_now_has_recent_activity_and_none_in_the_future():
    start = datetime(2026, 12, 3, 15, 0, 0)
    sb = EconobisSandbox(tenant=TENANT, residents=120, username="u", password="p", clock=SimClock(start, frozen=True))
    created = [i["created_at"] for i in sb.db.tables["intakes"].values()]
    assert max(created) <= start
    assert any(start - c < timedelta(days=28) for c in created)  # within the follow-up window of the hub


def _econobis_stack(sb: EconobisSandbox) -> SimpleNamespace:
    return SimpleNamespace(running={"econobis": [SimpleNamespace(tenant=TENANT, sandbox=sb)]})


def test_the_coordinator_handles_every_other_follow_up_and_leaves_other_kansacties_alone():
    sb = EconobisSandbox(tenant=TENANT, residents=200, username="u", password="p")
    redirections = [
        qid
        for qid, q in sb.db.tables["quotation_requests"].items()
        if sb.lookups.by_id("opportunityActions", q["opportunity_action_id"])["codeRef"] == "redirection"
    ][:3]
    for qid in redirections:
        sb.edit("quotation_requests", qid, {"status": "still_refer"})
        sb.db.raw_update("quotation_requests", qid, {"quotation_text": "Opvolgen: geen voortgang. [hub:stalled:x]"})
    done = coordinator_handles_follow_ups(_econobis_stack(sb), TENANT)
    assert (done.follow_ups, done.handled) == (3, 2)
    status = {
        qid: sb.lookups.by_id("quotationRequestStatus", sb.db.tables["quotation_requests"][qid]["status_id"])["codeRef"]
        for qid in redirections
    }
    assert [status[q] for q in redirections] == ["handled", "still_refer", "handled"]


def test_registered_residents_fill_in_scans_or_not_and_coaches_are_left_out():
    sb = HoomdossierSandbox(cooperations=[CooperationConfig(slug=TENANT, name="noord")], frozen_clock=True)
    sb.create_user(TENANT, "coach@example.nl", roles=["coach"], contact_id=1)
    for i in range(5):
        sb.create_user(TENANT, f"r{i}@example.nl", contact_id=100 + i)
    sb.create_user(TENANT, "zonder@example.nl")  # not related with Econobis: not the demo's resident
    activity = residents_use_hoomdossier(SimpleNamespace(running={"hoomdossier": SimpleNamespace(sandbox=sb)}), TENANT)
    assert (activity.registered, activity.scans_started, activity.answered, activity.idle) == (5, 4, 2, 1)
    scans = {c.building_id for c in sb.state.completed_sub_steps}
    assert len(scans) == 4


def test_the_report_path_is_under_the_mart_directory(tmp_path: Path):
    paths = HubPaths(root=tmp_path)
    assert report_path(paths, "coop-zuid") == tmp_path / "mart" / "reports" / "coop-zuid.html"
