"""Dagster: the definitions load and the asset graph materializes against the sandboxes."""

from __future__ import annotations

from dagster import DagsterInstance, materialize

from tests.conftest import sandbox_hub_config


def test_definitions_load_with_tenant_partitions():
    import definitions

    graph = definitions.defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"econobis_push", "econobis_pull", "reporting_mart"}
    job = definitions.defs.resolve_job_def("econobis_pull_job")
    assert set(job.partitions_def.get_partition_keys()) == {"coop-noord", "coop-zuid"}


def test_materialize_pull_and_mart_against_the_sandboxes(start_sandbox, tmp_path, monkeypatch):
    import yaml

    from assets import ALL_ASSETS, HubConfigResource, default_resources, econobis_pull, econobis_push, reporting_mart
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
        res = materialize(ALL_ASSETS, selection=[reporting_mart], instance=instance, resources=resources)
        assert res.success
    assert (tmp_path / "home" / "mart" / "hub.duckdb").exists()
