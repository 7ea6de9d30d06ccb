"""The mart: built from what was pulled, checked, swapped in atomically, pseudonymised."""

from __future__ import annotations

import duckdb

from connectors.econobis.client import EconobisClient
from connectors.econobis.sync import EconobisPull
from hub.mart import build_mart, read_funnel
from tests.conftest import sandbox_hub_config


def test_mart_funnel_counts_every_dossier_and_holds_no_personal_data(store, start_sandbox, tmp_path):
    running = start_sandbox(60, throttle_per_minute=100000)
    config = sandbox_hub_config(running)
    for r in running:
        EconobisPull(store, EconobisClient.for_tenant(config.tenant(r.tenant), store), r.tenant).run()
    result = build_mart(store, config, tmp_path / "mart")
    expected_dossiers = sum(len(r.sandbox.db.tables["intakes"]) for r in running)
    assert result.rows["dossiers"] == expected_dossiers
    funnel = read_funnel(result.path)
    assert sum(now for *_, now, _ in funnel) == expected_dossiers
    assert {t for t, *_ in funnel} == {"coop-noord", "coop-zuid"}
    con = duckdb.connect(str(result.path), read_only=True)
    cols = {c[0] for c in con.execute("DESCRIBE dossiers").fetchall()}
    con.close()
    assert not cols & {"first_name", "last_name", "email", "phone", "street"}
    assert not list((tmp_path / "mart").glob(".*building")), "no half-built file left behind"
    assert (tmp_path / "mart" / "parquet" / "dossiers.parquet").exists()


def test_rebuild_replaces_the_file_while_a_reader_holds_the_old_one(store, tmp_path):
    from hub.config import sandbox_config

    first = build_mart(store, sandbox_config(), tmp_path)
    reader = duckdb.connect(str(first.path), read_only=True)
    try:
        second = build_mart(store, sandbox_config(), tmp_path)
        assert reader.execute("SELECT count(*) FROM dossiers").fetchone() == (0,)
    finally:
        reader.close()
    assert second.path == first.path
