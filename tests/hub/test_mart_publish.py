"""Publishing the mart: a reader in another process (as PowerBI is) holds the file open and keeps opening it
during 100 rebuilds, and sees no lock error and never a half-built file; a file that fails a check is not
published; every table and column carries its description; the Parquet copies match."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from connectors.econobis.client import EconobisClient
from connectors.econobis.sync import EconobisPull
from hub.mart import build_mart
from hub.mart.build import MartCheckFailed
from hub.mart.schema import TABLES, VIEWS
from tests.conftest import sandbox_hub_config

# One process holds a connection open through every rebuild; another opens a new connection for each read (a
# refresh). Two processes: DuckDB shares one database instance per path within a process, so a held connection
# would serve the refreshing reads from the old file too.
READER = textwrap.dedent(
    """
    import json, sys, pathlib, time, duckdb
    path, stop, out, mode = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[5]
    tables_expected = int(sys.argv[4])
    held = duckdb.connect(path, read_only=True) if mode == "hold" else None
    held_count = held.execute("SELECT count(*) FROM dossiers").fetchall()[0][0] if held else None
    opens, errors, inconsistent, held_changed, built = 0, [], 0, 0, set()
    while not stop.exists():
        time.sleep(0.01)  # as often as a dashboard could, without taking the builder's cores
        try:
            if held is not None:
                if held.execute("SELECT count(*) FROM dossiers").fetchall()[0][0] != held_count:
                    held_changed += 1
                opens += 1
                continue
            con = duckdb.connect(path, read_only=True)
            n = con.execute("SELECT count(*) FROM dossiers").fetchall()[0][0]
            meta = con.execute("SELECT sum(dossiers), min(built_at)::VARCHAR FROM mart_meta").fetchall()[0]
            tables = con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()[0][0]
            con.close()
            opens += 1
            built.add(meta[1])
            if n != meta[0] or tables != tables_expected:
                inconsistent += 1
        except Exception as exc:  # a lock error or a half-built file would land here
            errors.append(f"{type(exc).__name__}: {exc}")
    if held is not None:
        held.close()
    json.dump({"opens": opens, "errors": errors[:5], "error_count": len(errors), "inconsistent": inconsistent,
               "held_changed": held_changed, "builds_seen": len(built)}, open(out, "w"))
    """
)


@pytest.fixture
def pulled(store, start_sandbox):
    running = start_sandbox(40, throttle_per_minute=100000)
    config = sandbox_hub_config(running)
    for r in running:
        EconobisPull(store, EconobisClient.for_tenant(config.tenant(r.tenant), store), r.tenant).run()
    return store, config


@pytest.mark.slow
def test_a_reader_through_100_rebuilds_sees_no_lock_error_and_never_a_half_built_file(pulled, tmp_path):
    store, config = pulled
    mart_dir = tmp_path / "mart"
    first = build_mart(store, config, mart_dir)
    stop = tmp_path / "stop"
    outs = {mode: tmp_path / f"{mode}.json" for mode in ("hold", "refresh")}
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(first.path), str(stop), str(out), str(len(TABLES)), mode])
        for mode, out in outs.items()
    ]
    try:
        time.sleep(0.5)
        for _ in range(100):
            build_mart(store, config, mart_dir)
    finally:
        stop.touch()
        for r in readers:
            r.wait(timeout=60)
    held, fresh = (json.loads(outs[m].read_text()) for m in ("hold", "refresh"))
    for seen in (held, fresh):
        assert seen["error_count"] == 0, seen["errors"]
    assert held["held_changed"] == 0 and held["opens"] > 50  # the connection held open kept reading its old file
    assert fresh["inconsistent"] == 0  # every new connection saw a whole file: counts agree, every table there
    assert fresh["opens"] > 50 and fresh["builds_seen"] > 10  # it really read while the file was being replaced
    assert not list(mart_dir.glob(".*building*")), "no half-built file left behind"


def test_every_table_and_column_is_described_and_parquet_matches(pulled, tmp_path):
    store, config = pulled
    result = build_mart(store, config, tmp_path / "mart")
    con = duckdb.connect(str(result.path), read_only=True)
    try:
        tables = dict(con.execute("SELECT table_name, comment FROM duckdb_tables()").fetchall())
        views = dict(con.execute("SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
        columns = con.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE NOT internal"
        ).fetchall()
        assert set(tables) == {t.name for t in TABLES} and set(views) == {v.name for v in VIEWS}
        assert all(tables.values()) and all(views.values())
        undescribed = [(t, c) for t, c, comment in columns if not comment]
        assert not undescribed
        for t in TABLES:
            n = con.execute(f'SELECT count(*) FROM "{t.name}"').fetchall()[0][0]
            assert n == result.rows[t.name]
            parquet = con.execute(f"SELECT count(*) FROM '{result.parquet_dir / t.name}.parquet'").fetchall()[0][0]
            assert parquet == n, t.name
        meta = con.execute("SELECT tenant, dossiers, store_dialect, built_at FROM mart_meta ORDER BY 1").fetchall()
        assert [m[0] for m in meta] == sorted(tc.id for tc in config.tenants)
        assert sum(m[1] for m in meta) == result.rows["dossiers"] and {m[2] for m in meta} == {"sqlite"}
    finally:
        con.close()


def test_a_file_that_fails_a_check_is_not_published(pulled, tmp_path, monkeypatch):
    store, config = pulled
    mart_dir = tmp_path / "mart"
    good = build_mart(store, config, mart_dir)
    from hub.mart import schema

    # a broken build: every dossier twice (a key that is no longer unique)
    broken = schema.Table(
        schema.DOSSIERS.name,
        schema.DOSSIERS.kind,
        schema.DOSSIERS.description,
        schema.DOSSIERS.columns,
        schema.DOSSIERS.key,
        f"SELECT * FROM ({schema.DOSSIERS.sql}) UNION ALL SELECT * FROM ({schema.DOSSIERS.sql})",
    )
    tables = tuple(broken if t.name == "dossiers" else t for t in schema.TABLES)
    monkeypatch.setattr("hub.mart.build.TABLES", tables)
    with pytest.raises(MartCheckFailed, match=r"dossiers: .* duplicated keys"):
        build_mart(store, config, mart_dir)
    con = duckdb.connect(str(good.path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM dossiers").fetchall()[0][0] == good.rows["dossiers"]
    finally:
        con.close()
    assert not list(mart_dir.glob(".*building*"))


def test_personal_data_in_a_text_column_stops_the_publish(pulled, tmp_path, monkeypatch):
    store, config = pulled
    from hub.mart import schema

    leaky = schema.Table(
        schema.CAMPAIGNS.name,
        schema.CAMPAIGNS.kind,
        schema.CAMPAIGNS.description,
        schema.CAMPAIGNS.columns,
        schema.CAMPAIGNS.key,
        "SELECT id, tenant, 'mail jan.jansen@example.nl', number, kind, status, start_date, end_date FROM s_campaign",
    )
    monkeypatch.setattr("hub.mart.build.TABLES", tuple(leaky if t.name == "campaigns" else t for t in schema.TABLES))
    with pytest.raises(MartCheckFailed, match="e-mail address"):
        build_mart(store, config, tmp_path / "mart")
    assert not (tmp_path / "mart" / "hub.duckdb").exists()
