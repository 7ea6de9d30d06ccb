"""Dagster: the definitions load and the asset graph materializes against the sandboxes."""

from __future__ import annotations

from dagster import DagsterInstance, materialize

from hub.config import SANDBOX_TENANTS
from tests.conftest import sandbox_hub_config


def test_definitions_load_with_tenant_partitions():
    import definitions

    graph = definitions.defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "econobis_pull",
        "econobis_window",
        "hoomdossier_inbox",
        "webform_inbox",
        "canonical_model",
        "hoomdossier_push",
        "stalled_dossiers",
        "econobis_push",
        "woningpas_pull",
        "woningpas_push",
        "fluvius_pull",
        "fluvius_inbox",
        "fluvius_plan",
        "fluvius_push",
        "hub_freshness",
        "reporting_mart",
        "mart_report",
        "quarantine_replay",
        "erasure",
        "retention_purge",
        "consent_statement",
        "bag_pull",
        "ep_online_pull",
        "match_candidates",
        "match_decision",
    }
    assert {"erasure_job", "retention_job", "consent_job", "decide_match_job"} <= {
        j.name for j in definitions.defs.resolve_all_job_defs()
    }
    # one partition per tenant of the config (a tenant without the partner materializes its assets as skipped)
    tenants = {t for t, _ in SANDBOX_TENANTS}
    hoom = definitions.defs.resolve_job_def("hoomdossier_job")
    assert set(hoom.partitions_def.get_partition_keys()) == tenants
    job = definitions.defs.resolve_job_def("econobis_pull_job")
    assert set(job.partitions_def.get_partition_keys()) == tenants
    # the premium portal's plan runs between the model and its push, inside the sync
    assert {"fluvius_job", "fluvius_push_job", "fluvius_inbox_job", "fluvius_pull_job"} <= {
        j.name for j in definitions.defs.resolve_all_job_defs()
    }
    plan_deps = {
        k.to_user_string() for k in graph.get(definitions.defs.resolve_assets_def("fluvius_plan").key).parent_keys
    }
    push_deps = {
        k.to_user_string() for k in graph.get(definitions.defs.resolve_assets_def("fluvius_push").key).parent_keys
    }
    assert plan_deps == {"canonical_model"} and "fluvius_plan" in push_deps


def test_materialize_pull_and_mart_against_the_sandboxes(start_sandbox, tmp_path, monkeypatch):
    import yaml

    from assets import (
        ALL_ASSETS,
        HubConfigResource,
        default_resources,
        econobis_pull,
        econobis_push,
        hub_freshness,
        reporting_mart,
    )
    from connectors.econobis.push import SignUp, enqueue_signup
    from hub.config import HubPaths
    from hub.store import Store

    running = start_sandbox(40, throttle_per_minute=100000)
    cfg = sandbox_hub_config(running)
    cfg_file = tmp_path / "hub.yaml"
    cfg_file.write_text(yaml.safe_dump({"tenants": [t.model_dump() for t in cfg.tenants]}), encoding="utf-8")
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    resources = default_resources()
    resources["hub_config"] = HubConfigResource(config_path=str(cfg_file))
    paths = HubPaths.from_env()
    paths.ensure()
    store = Store.open(paths.database_url())
    for r in running:
        signup = SignUp(
            key=f"dagster-{r.tenant}",
            last_name="Dagstertest",
            email="d@example.org",
            number="5",
            postcode="1681AA",
            street="Dorpsstraat",
            city="Wognum",
            campaign_id=r.sandbox.db.ids["campaigns"][0],
            measures=["Vloerisolatie"],
        )
        enqueue_signup(store, r.tenant, signup)
    store.dispose()
    with DagsterInstance.ephemeral() as instance:
        for r in running:
            res = materialize([econobis_push], partition_key=r.tenant, instance=instance, resources=resources)
            assert res.success
            md = res.asset_materializations_for_node("econobis_push")[0].metadata
            assert md["sent"].value == 1 and md["quarantined"].value == 0
            res = materialize([econobis_pull], partition_key=r.tenant, instance=instance, resources=resources)
            assert res.success
            md = res.asset_materializations_for_node("econobis_pull")[0].metadata
            assert md["created"].value > 0 and md["quarantined"].value == 0 and md["partner_calls"].value > 0
        res = materialize(ALL_ASSETS, selection=[hub_freshness, reporting_mart], instance=instance, resources=resources)
        assert res.success
    assert (tmp_path / "home" / "mart" / "hub.duckdb").exists()


def test_materialize_the_hoomdossier_coupling_against_both_sandboxes(tmp_path, monkeypatch):
    """econobis_push → econobis_pull → hoomdossier_push (plans the registration) → econobis_push (registers
    through the receiver) → hoomdossier_push (links the coach) → an appointment in Hoomdossier →
    hoomdossier_inbox (applies and forwards it)."""
    import time

    import requests
    import yaml

    from app.sandbox_stack import start_stack
    from assets import (
        HubConfigResource,
        default_resources,
        econobis_pull,
        econobis_push,
        hoomdossier_inbox,
        hoomdossier_push,
    )
    from connectors.econobis.push import SignUp, enqueue_signup
    from hub.config import HubPaths
    from hub.store import Store

    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    paths = HubPaths.from_env()
    paths.ensure()
    store = Store.open(paths.database_url())
    stack = start_stack(10, store=store, throttle=100000, tenants=("coop-noord",))
    try:
        cfg_file = tmp_path / "hub.yaml"
        tenants = [t.model_dump() for t in stack.config.tenants if t.id == "coop-noord"]
        cfg_file.write_text(yaml.safe_dump({"tenants": tenants}), encoding="utf-8")
        resources = default_resources()
        resources["hub_config"] = HubConfigResource(config_path=str(cfg_file))
        enqueue_signup(
            store,
            "coop-noord",
            SignUp(
                key="dagster-hoom-1",
                first_name="Iris",
                last_name="Dagster",
                email="iris@example.org",
                street="Havenkade",
                number="3",
                postcode="1621AA",
                city="Hoorn",
                campaign_id=11,
                measures=["Vloerisolatie"],
                consent=True,
                visit_coach_id=1001,
            ),
        )

        def run(asset):
            with DagsterInstance.ephemeral() as instance:
                res = materialize([asset], partition_key="coop-noord", instance=instance, resources=resources)
                assert res.success
                return {
                    k: v.value for k, v in res.asset_materializations_for_node(asset.key.path[-1])[0].metadata.items()
                }

        assert run(econobis_push)["sent"] == 1
        run(econobis_pull)
        planned = run(hoomdossier_push)
        assert planned["registrations_queued"] == 1 and planned["coach_links_queued"] == 1
        assert planned["waiting_for_registration"] == 1
        assert run(econobis_push)["sent"] == 1  # make-hoomdossier, through the hub's register proxy
        # the coach link waited for the registration (5 minutes): time passes
        with store.begin() as conn:
            from sqlalchemy import update

            from hub.store import tables as t
            from hub.store import utcnow

            conn.execute(update(t.outbox).values(next_attempt_at=utcnow()))
        linked = run(hoomdossier_push)
        assert linked["sent"] == 1, linked
        contact = next(
            i["contact_id"]
            for i in stack.econobis[0].sandbox.db.tables["intakes"].values()
            if i.get("external_code") == "dagster-hoom-1"
        )
        hoom = stack.hoomdossier.base_url
        body = {"slug": "coop-noord", "contact_id": contact, "appointment_date": "2026-11-20 10:00:00"}
        assert requests.post(f"{hoom}/__sandbox/scenario/appointment", json=body, timeout=10).status_code == 200
        deadline = time.monotonic() + 20
        while store.count(t.inbox) < 1:
            assert time.monotonic() < deadline
            requests.post(f"{hoom}/__sandbox/jobs/run", timeout=10)
            time.sleep(0.1)
        md = run(hoomdossier_inbox)
        assert md["applied"] == 1 and md["forwarded"] == 1 and md["quarantined_on_forward"] == 0, md
    finally:
        stack.stop()
        store.dispose()
