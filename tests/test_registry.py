"""The connector registry: every connector folder is registered, every replay rule names a quarantine source its
partner (or coupling) really writes, and a throw-away connector registered from tests/ shows up everywhere the
hub lists partners — Dagster definitions, sensors, sandbox stack, `hub sandbox`'s list, replay rules, mart
freshness — and runs through them, with no other file changed."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from dagster import DagsterInstance, Definitions, materialize

import connectors
from couplings import COUPLINGS
from hub.connector import REGISTRY, Replay
from tests import fake_connector

ROOT = Path(__file__).resolve().parents[1]


# Folders under construction whose code is not a connector yet (each with the reason); an entry must be removed
# when its folder gets a connector.py, which the test below makes sure of.
UNDECLARED: dict[str, str] = {}
# Folders with a complete connector.py that is not in the registry line yet (each with the reason); an entry must
# be removed when connectors/__init__.py registers it, which the test below makes sure of
# (none now)
DECLARED_NOT_REGISTERED: dict[str, str] = {}


def test_every_connector_folder_is_registered():
    folders = {p.parent.name for p in (ROOT / "connectors").glob("*/connector.py")}
    assert folders - set(DECLARED_NOT_REGISTERED) == {c.name for c in connectors.CONNECTORS} == set(REGISTRY.names())
    for name in DECLARED_NOT_REGISTERED:
        assert name in folders, f"{name} has no connector.py: drop it from DECLARED_NOT_REGISTERED"
        assert name not in REGISTRY, f"{name} is registered: drop it from DECLARED_NOT_REGISTERED"
        declared = importlib.import_module(f"connectors.{name}.connector").CONNECTOR
        assert declared.name == name
    # a folder with code but no declaration would be a partner the hub silently ignores
    for p in (ROOT / "connectors").iterdir():
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in UNDECLARED:
            assert (p / "connector.py").exists(), f"{p.name} has code but no connector.py"
    for name in UNDECLARED:
        assert not (ROOT / "connectors" / name / "connector.py").exists(), (
            f"{name} is declared: drop it from UNDECLARED"
        )


def _written_sources(package: str) -> set[str]:
    """The quarantine sources the package's code writes: the `source` argument of every `quarantine_put(...)`
    and `InboxForwarder(...)` call, evaluated in its module (constants, f-strings of constants)."""
    found: set[str] = set()
    pkg = importlib.import_module(package)
    modules = [pkg] + [
        importlib.import_module(m.name)
        for m in pkgutil.walk_packages(getattr(pkg, "__path__", []), package + ".")
        if ".sandbox" not in m.name
    ]
    for module in modules:
        path = getattr(module, "__file__", None)
        if not path:
            continue
        for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            index = {"quarantine_put": 2, "InboxForwarder": 2}.get(name)
            if index is None or len(node.args) <= index:
                continue
            expr = ast.Expression(node.args[index])
            try:
                value = eval(compile(expr, path, "eval"), vars(module))
            except Exception:  # a local variable: not a declared source
                continue
            found.add(str(value))
    return found


def test_every_replay_rule_names_a_source_that_partner_writes():
    for c in REGISTRY:
        written = _written_sources(f"connectors.{c.name}")
        if c.push is not None:
            written.add(c.outbox_source)  # hub/store's outbox_park writes it for every push
        for source, rule in c.replay_rules().items():
            assert source in written, f"{c.name} declares a replay rule for {source!r}, which it never writes"
            if rule.action is Replay.REREAD:
                assert c.pull is not None and c.pull.reread is not None
    for cp in COUPLINGS:
        written = _written_sources(f"couplings.{cp.name}")
        for source in cp.replay:
            assert source in written, f"coupling {cp.name} has a replay rule for {source!r} it never writes"


def test_every_source_written_has_a_replay_rule():
    from assets.operations import replay_rules

    rules = replay_rules(REGISTRY, COUPLINGS)
    for c in REGISTRY:
        for source in _written_sources(f"connectors.{c.name}"):
            assert source in rules, f"{c.name} writes quarantine source {source!r} with no replay rule"


@pytest.fixture
def fake():
    with REGISTRY.registered(fake_connector.CONNECTOR) as reg:
        yield reg


def test_a_fake_connector_is_in_the_definitions_sensors_and_replay_rules(fake):
    import assets
    import schedules
    from assets.operations import replay_rules

    built = assets.build(fake)
    names = set(built.assets)
    assert {"fakecrm_pull", "fakecrm_window", "fakecrm_inbox", "fakecrm_push"} <= names
    assert {"fakecrm_pull_job", "fakecrm_push_job", "fakecrm_inbox_job", "fakecrm_window_job", "fakecrm_job"} <= set(
        built.jobs
    )
    model = built.assets["canonical_model"]
    assert {"fakecrm_pull", "fakecrm_inbox"} <= {d.to_user_string() for d in model.asset_deps[model.key]}
    assert built.assets["fakecrm_push"] in built.sync
    sensors = {s.name: s for s in schedules.build_sensors(built)}
    assert "fakecrm_inbox_sensor" in sensors
    assert "fakecrm_push_job" in {j.name for j in sensors["outbox_sensor"].jobs}
    defs = Definitions(
        assets=list(built.assets.values()),
        asset_checks=built.checks,
        jobs=list(built.jobs.values()),
        sensors=list(sensors.values()),
        resources=assets.default_resources(fake),
    )
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert "fakecrm_push" in keys
    rules = replay_rules(fake, COUPLINGS)
    assert rules["outbox:fakecrm"].action is Replay.REQUEUE_OUTBOX
    assert rules[fake_connector.APPLY_QUARANTINE].action is Replay.REAPPLY_INBOX
    # the hub's own definitions do not know it
    assert "fakecrm_pull" not in assets.BUILT.assets


def test_a_fake_connector_runs_in_the_sandbox_stack_the_cli_list_freshness_and_the_replay(fake, tmp_path, monkeypatch):
    import assets
    from app.cli import sandbox_listing
    from app.sandbox_stack import start_stack
    from assets.mart import tenant_freshness
    from assets.operations import replay_rules
    from hub.config import HubPaths
    from hub.store import Store
    from hub.work import UnknownQuarantineSource, replay_quarantine

    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    paths = HubPaths.from_env()
    paths.ensure()
    store = Store.open(paths.database_url())
    stack = start_stack(5, store=store, throttle=100000, tenants=("coop-noord",))
    try:
        assert "fakecrm" in stack.running
        listing = sandbox_listing(stack)
        info = listing["tenants"]["coop-noord"]["fakecrm"]
        assert info["base_url"] == stack.running["fakecrm"].server.base_url and info["inbound_key"]
        assert {"econobis", "hoomdossier", "fakecrm"} <= set(listing["tenants"]["coop-noord"])
        assert listing["tenants"]["coop-noord"]["hoomdossier"]["token"].endswith("coop-noord")
        assert listing["tenants"]["coop-noord"]["hoomdossier"]["slug"] == "coop-noord"
        tenant = stack.config.tenant("coop-noord")
        assert tenant.has("fakecrm")
        cfg_file = tmp_path / "hub.yaml"
        cfg_file.write_text(yaml.safe_dump({"tenants": [tenant.model_dump()]}), encoding="utf-8")

        # the receiver mounts its route; a webhook lands in its inbox
        url = f"{stack.receiver_url}/api/fakecrm/{fake_connector._key('coop-noord')}/events"
        assert requests.post(url, data=b'{"event": "signed-up"}', timeout=10).status_code == 200
        assert requests.post(url.replace("inbound-key", "wrong"), data=b"{}", timeout=10).status_code == 404

        built = assets.build(fake)
        resources: dict[str, Any] = assets.default_resources(fake)
        resources["hub_config"] = assets.HubConfigResource(config_path=str(cfg_file))
        fake_connector.enqueue(store, "coop-noord", "c-1", "Ann")
        selected = [built.assets[n] for n in ("fakecrm_pull", "fakecrm_inbox", "fakecrm_push")]
        with DagsterInstance.ephemeral() as instance:
            for _ in range(2):  # the second run changes nothing: pushed once, applied once
                res = materialize(selected, partition_key="coop-noord", instance=instance, resources=resources)
                assert res.success
        md = {
            n: {k: v.value for k, v in res.asset_materializations_for_node(n)[0].metadata.items()}
            for n in ("fakecrm_pull", "fakecrm_inbox", "fakecrm_push")
        }
        assert md["fakecrm_pull"]["records_seen"] == 1
        assert md["fakecrm_inbox"]["applied"] == 0 and md["fakecrm_push"]["claimed"] == 0
        assert stack.running["fakecrm"].crm.writes == 1

        # mart freshness knows it (its pull recorded a success), for the tenants that have it
        from hub.config import load_config

        rows = tenant_freshness(store, load_config(cfg_file), reg=fake)
        fresh = {r["partner"]: r for r in rows}
        assert fresh["fakecrm"]["fresh"] and fresh["fakecrm"]["tenant"] == "coop-noord"

        # the replay knows its quarantine; a source no one declares raises and stays open
        with store.begin() as conn:
            store.quarantine_put(conn, "coop-noord", fake_connector.APPLY_QUARANTINE, "event", "1", "bad", {})
            store.quarantine_put(conn, "coop-noord", "nobody:knows", "event", "2", "orphan", {})
        with pytest.raises(UnknownQuarantineSource) as err:
            replay_quarantine(store, "coop-noord", replay_rules(fake, COUPLINGS))
        report = err.value.report
        assert report.requeued == {fake_connector.APPLY_QUARANTINE: 1} and report.unknown == {"nobody:knows": 1}
        with store.begin() as conn:
            still = [q["source"] for q in store.open_quarantine(conn, "coop-noord")]
        assert still == ["nobody:knows"]
    finally:
        stack.stop()
        store.dispose()


def test_no_two_sandboxes_share_a_default_port():
    """Each sandbox's default ports above HUB_SANDBOX_PORT_BASE are its own (and not the receiver's, the base)."""
    from hub.config import sandbox_port_base, sandbox_ports

    ports = [p for by_tenant in sandbox_ports().values() for p in by_tenant.values()]
    assert len(ports) == len(set(ports)), sandbox_ports()
    assert sandbox_port_base() not in ports
