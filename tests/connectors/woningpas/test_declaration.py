"""The Woningpas declaration as the registry line registers it: its replay rules name the sources it writes
(and every source it writes has one), the registry builds its assets,
jobs and checks, the Dagster definitions resolve, its config is checked, and its journey rules reach the
registry's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster import Definitions

from connectors.woningpas.connector import CONNECTOR
from connectors.woningpas.settings import PARTNER
from couplings import COUPLINGS
from hub.connector import REGISTRY, Registry, Replay
from tests.test_registry import _written_sources


@pytest.fixture
def reg() -> Iterator[Registry]:
    assert CONNECTOR.name in REGISTRY  # the registry line (connectors/__init__.py)
    yield REGISTRY


def test_replay_rules_and_written_sources_agree(reg):
    written = _written_sources(f"connectors.{PARTNER}") | {CONNECTOR.outbox_source}
    rules = CONNECTOR.replay_rules()
    assert set(rules) <= written
    assert {s for s in written if s != CONNECTOR.outbox_source} <= set(rules)
    assert rules[PARTNER].action is Replay.REREAD and CONNECTOR.pull and CONNECTOR.pull.reread
    assert rules[CONNECTOR.outbox_source].action is Replay.REQUEUE_OUTBOX


def test_the_registry_builds_its_assets_and_the_definitions_resolve(reg):
    import assets
    import schedules

    built = assets.build(reg)
    assert {"woningpas_pull", "woningpas_push"} <= set(built.assets)
    assert "woningpas_pull_job" in built.jobs
    assert CONNECTOR.pull is not None and CONNECTOR.pull.mandate is not None and CONNECTOR.pull.reconcile
    sensors = {s.name: s for s in schedules.build_sensors(built)}
    assert "woningpas_push_job" in {j.name for j in sensors["outbox_sensor"].jobs}
    defs = Definitions(
        assets=list(built.assets.values()),
        asset_checks=built.checks,
        jobs=list(built.jobs.values()),
        sensors=list(sensors.values()),
        resources=assets.default_resources(reg),
    )
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"woningpas_pull", "woningpas_push"} <= keys
    assert reg.journey_rules().certificate_execution
    assert not any(cp for cp in COUPLINGS if PARTNER in cp.partners)


def test_its_config_is_checked(reg):
    from connectors.woningpas.sandbox.credentials import sandbox_partner_config
    from hub.config import HubConfig, TenantConfig

    pc = sandbox_partner_config("loket-x", 18040)
    good = HubConfig(tenants=[TenantConfig(id="loket-x", name="x", country="BE", partners={PARTNER: pc})])
    assert reg.check_config(good) == []
    bad_pc = pc.model_copy(update={"settings": {**pc.settings, "obligation_warn_days": -1, "private_key": "x"}})
    bad = HubConfig(tenants=[TenantConfig(id="loket-x", name="x", country="BE", partners={PARTNER: bad_pc})])
    problems = reg.check_config(bad)
    assert any("obligation_warn_days" in p for p in problems) and any("private_key" in p for p in problems)
