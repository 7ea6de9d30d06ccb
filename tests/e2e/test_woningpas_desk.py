"""The Flemish desk's part of `hub demo` (issue: "a Flemish tenant whose dossiers carry EPC labels and building
facts from Woningpas, with the renovation obligation where one applies; no mandate means no call"): residents
sign up through the sandbox web form, the hub opens their dossiers, the desk records mandates for all but one
(`app.demo.desk_records_mandates`), and the Woningpas pull reads exactly the mandated residents' passes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.demo import desk_records_mandates, epc_summary
from app.sandbox_stack import SandboxStack, start_stack
from connectors.webform import connector as webform
from connectors.woningpas import connector as woningpas
from hub.config import sandbox_tenant_ids
from hub.connector import PartnerRun
from hub.mart import build_mart
from hub.store import Store

[TENANT] = sandbox_tenant_ids(["vl"])


@pytest.fixture
def stack(store: Store, tmp_path, monkeypatch) -> Iterator[SandboxStack]:
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))  # the sandbox's demo key file
    s = start_stack(20, store=store, throttle=1_000_000, tenants=(TENANT,))
    try:
        yield s
    finally:
        s.stop()


def test_mandated_residents_get_epc_labels_and_an_obligation_and_the_one_without_causes_no_call(stack, store, tmp_path):
    form = stack.webform.sandbox
    sender = form.sender(TENANT)
    for data in form.demo_signups(TENANT, 4):
        assert sender.post(data)[2].status_code == 200
    run = PartnerRun(store, stack.config, stack.config.tenant(TENANT))
    inbox = webform.CONNECTOR.inbox
    assert inbox is not None and inbox.unclaimed is not None
    inbox.apply(run)
    assert inbox.unclaimed(run).metadata()["dossiers_opened"] == 4

    wp = stack.running["woningpas"]
    desk = desk_records_mandates(store, wp, TENANT)
    assert (len(desk.mandated), len(desk.without)) == (3, 1) and desk.under_obligation >= 1
    [without] = desk.without
    pull = woningpas.CONNECTOR.pull
    assert pull is not None
    report = pull.run(run, False).metadata()
    assert (report["fetched_for"], report["units_read"], report["match_candidates"]) == (3, 3, 0)

    calls = list(wp.sandbox.request_log)
    asked = [q for _, path, q in calls if path.endswith("/eigendommen")]
    assert len(asked) == 3 and not any(desk.insz[without] in q for q in asked)  # no mandate, no call
    unit_of_without = wp.sandbox.world.holdings[desk.insz[without]][0][0]
    assert not any(str(unit_of_without) in path for _, path, _ in calls)

    mart = build_mart(store, stack.config, tmp_path / "mart")
    summary = epc_summary(mart.path, TENANT)
    assert summary["dossiers"] == 4
    assert sum(n for label, n in summary["labels"].items() if label != "-") == 3  # the mandated ones
    assert summary["labels"].get("-") == 1  # the resident without a mandate: nothing from Woningpas
    assert any(not met for _, met in summary["obligations"])
