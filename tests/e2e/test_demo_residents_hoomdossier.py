"""Flow: the demo's residents in Hoomdossier reach the hub — of three residents registered through the hub's
proxy, two fill in part of a scan (Hoomdossier posts their scan status to the receiver), one does nothing; the
hub applies the messages to their dwelling files and forwards them to Econobis."""

from __future__ import annotations

from app.demo import residents_use_hoomdossier
from app.sandbox_stack import start_stack
from connectors.econobis.push import SignUp, enqueue_signup
from hub.store import Store
from tests.e2e.test_hoomdossier_coupling import CAMPAIGN, COACH, TENANT, Hub, contact_ids


def test_residents_who_fill_in_a_scan_reach_their_dwelling_file_and_the_idle_one_does_not(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    stack = start_stack(
        12,
        store=store,
        throttle=1_000_000,
        tenants=(TENANT,),
        extra_settings={"budget_per_minute": 1e6, "budget_burst": 1e6},
    )
    try:
        econobis = stack.of("econobis", TENANT)
        wf = next(iter(econobis.sandbox.db.tables["webforms"].values()))
        wf["max_requests_per_minute"] = 1_000_000
        for i in range(3):
            enqueue_signup(
                store,
                TENANT,
                SignUp(
                    key=f"e2e-{i:03d}",
                    first_name="Iris",
                    last_name=f"Scanner{i}",
                    email=f"scanner{i}@example.org",
                    street="Havenkade",
                    number=str(30 + i),
                    postcode="1621AA",
                    city="Hoorn",
                    campaign_id=CAMPAIGN,
                    measures=["Vloerisolatie"],
                    sources=["Website"],
                    consent=True,
                    visit_coach_id=COACH,
                ),
            )
        hub = Hub(stack, store)
        hub.push_econobis()
        hub.pull()
        hub.plan_and_push_hoomdossier()
        assert len(contact_ids(econobis)) == 3
        activity = residents_use_hoomdossier(stack, TENANT)
        assert (activity.registered, activity.scans_started, activity.woonplans, activity.idle) == (3, 2, 1, 1)
        # two scan-status messages, and for the resident with a woonplan its gebruik and woonplan
        hub.process_inbox(expect_total=4)
        with store.engine.connect() as conn:
            files = [r["data"] for r in store.live_entities(conn, "dwelling_file", TENANT)]
            advices = [r["data"] for r in store.live_entities(conn, "advice", TENANT)]
        assert sum(1 for f in files if any((f.get("scans") or {}).values())) == 2
        # the coach's woonplan reached the hub as advised measures with their savings (the mart's question 7)
        assert len(advices) == 2 and {a["savings_gas_m3"] for a in advices} == {310.0, 180.0}
        assert all(a["savings_co2_kg"] and a["savings_co2_kg"] > 0 for a in advices)
    finally:
        stack.stop()
        store.dispose()
