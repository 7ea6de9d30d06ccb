"""A running stack (sandbox Econobis for coop-noord, sandbox Hoomdossier, the receiver) with a tenants file
and Dagster resources pointing at it and at a state store of the test's choosing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import DagsterInstance, materialize

from hub.config import HubConfig
from hub.store import Store

TENANT = "coop-noord"
# generous follow-up window: the seeded history spans two years before the sandbox's "now"
FOLLOW_UP = {"after_days": 7, "look_back_days": 120, "max_per_run": 1000}


@dataclass
class Hub:
    stack: Any
    store: Store
    config: HubConfig
    config_file: Path
    resources: dict[str, Any]
    database_url: str

    def materialize(self, assets: list[Any], partition: str = TENANT, tags: dict[str, str] | None = None, **kw: Any):
        from assets import ALL_ASSETS, ALL_CHECKS

        with DagsterInstance.ephemeral() as instance:
            res = materialize(
                [*ALL_ASSETS, *ALL_CHECKS],
                selection=assets,
                partition_key=partition,
                instance=instance,
                resources=self.resources,
                tags=tags,
                **kw,
            )
        return res

    @property
    def econobis(self) -> Any:
        return self.stack.econobis[0].sandbox


def metadata(res: Any, node: str) -> dict[str, Any]:
    mats = res.asset_materializations_for_node(node)
    assert mats, f"{node} was not materialized"
    return {k: v.value for k, v in mats[0].metadata.items()}


def checks(res: Any) -> dict[str, Any]:
    return {e.check_name: e for e in res.get_asset_check_evaluations()}


def make_hub(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    store: Store,
    residents: int = 30,
    tenants: tuple[str, ...] = (TENANT,),
) -> Iterator[Hub]:
    from app.sandbox_stack import start_stack
    from assets import HubConfigResource, StateStoreResource, default_resources

    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    stack = start_stack(residents, store=store, throttle=100000, tenants=tenants)
    try:
        configured = [t.model_dump() for t in stack.config.tenants if t.id in tenants]
        for t in configured:
            t["follow_up"] = dict(FOLLOW_UP)
        cfg_file = tmp_path / "hub.yaml"
        cfg_file.write_text(yaml.safe_dump({"tenants": configured}), encoding="utf-8")
        from hub.config import load_config

        resources = default_resources()
        resources["hub_config"] = HubConfigResource(config_path=str(cfg_file))
        url = store.engine.url.render_as_string(hide_password=False)
        resources["state_store"] = StateStoreResource(database_url=url)
        yield Hub(stack, store, load_config(cfg_file), cfg_file, resources, url)
    finally:
        stack.stop()


@pytest.fixture
def hub(tmp_path, monkeypatch, store) -> Iterator[Hub]:
    yield from make_hub(tmp_path, monkeypatch, store)
