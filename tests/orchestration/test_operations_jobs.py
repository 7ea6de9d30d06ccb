"""The coordinator's operational assets through Dagster, as launched from the UI with run config: a consent
statement recorded by hand, and an erasure whose audit record is the run's metadata."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, materialize

from assets import ALL_ASSETS, default_resources
from hub.config import HubPaths
from hub.store import Store, utcnow

TENANT = "coop-noord"
BY_NAME = {a.key.to_user_string(): a for a in ALL_ASSETS}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Store:
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    for var in ("HUB_DATABASE_URL", "HUB_CONFIG", "HUB_MART_PSEUDONYM_KEY"):
        monkeypatch.delenv(var, raising=False)
    paths = HubPaths.from_env()
    paths.ensure()
    store = Store.open(paths.database_url())
    now = utcnow()
    with store.begin() as conn:
        store.upsert_entities(
            conn,
            [
                {
                    "canonical_id": "r-ui",
                    "tenant": TENANT,
                    "entity": "resident",
                    "parent_id": None,
                    "natural_key": None,
                    "data": {"email": "ui.bewoner@example.org", "last_name": "Uitvoerder"},
                    "data_hash": "h",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                }
            ],
        )
    yield store
    store.dispose()


def _run(asset: str, config: dict) -> object:
    with DagsterInstance.ephemeral() as instance:
        res = materialize(
            [BY_NAME[asset]],
            instance=instance,
            resources=default_resources(),
            run_config={"ops": {asset: {"config": config}}},
            raise_on_error=False,
        )
        assert res.success
        [mat] = res.asset_materializations_for_node(asset)
        return mat.metadata


def test_consent_job_records_a_withdrawal_and_shows_it(home):
    meta = _run(
        "consent_statement",
        {
            "tenant": TENANT,
            "resident": "r-ui",
            "partner": "hoomdossier",
            "granted": False,
            "recorded_by": "desk:anna",
        },
    )
    assert meta["new_statement"].value is True
    [standing] = meta["consent"].value["standing"]
    assert (standing["partner"], standing["granted"], standing["source"]) == ("hoomdossier", False, "coordinator")


def test_erasure_job_erases_and_its_metadata_is_the_audit_record(home):
    meta = _run("erasure", {"tenant": TENANT, "resident": "r-ui", "requested_by": "coordinator:noord-1"})
    [audit] = meta["audit"].value
    assert audit["tenant"] == TENANT and audit["store"]["status"] == "done" and audit["mart"]["status"] == "done"
    assert "uitvoerder" not in str(audit).lower() and "ui.bewoner" not in str(audit).lower()
    with home.begin() as conn:
        data = home.load_entities(conn, ["r-ui"], tenant=TENANT)["r-ui"]["data"]
    assert data["erased"] == audit["request"] and set(data) <= {"kind", "erased"}  # a tombstone
