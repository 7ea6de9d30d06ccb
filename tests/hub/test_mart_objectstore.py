"""The mart's Parquet copies published to object storage (hub/mart/objectstore.py), with a local directory
standing in for the mounted bucket: each build whole under its own prefix before LATEST moves to it, old builds
pruned, nothing published from an empty folder."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub.config import sandbox_config
from hub.mart import build_mart
from hub.mart.objectstore import LATEST, builds, latest, main, publish_parquet


def test_a_built_mart_is_published_whole_and_latest_reads_every_table(store, tmp_path):
    mart = build_mart(store, sandbox_config(), tmp_path / "mart")
    bucket = tmp_path / "bucket"
    out = publish_parquet(mart.parquet_dir, bucket, build="20261208T053000Z")
    assert latest(bucket) == out.path == bucket / "20261208T053000Z"
    assert set(out.tables) == {p.stem for p in mart.parquet_dir.glob("*.parquet")} and "dossiers" in out.tables
    con = duckdb.connect()
    for table in out.tables:  # every copy is a readable Parquet file with the mart's rows
        n = con.execute(f"SELECT count(*) FROM read_parquet('{latest(bucket)}/{table}.parquet')").fetchone()
        assert n is not None and n[0] == mart.rows.get(table, n[0])


def test_latest_moves_only_after_the_new_build_is_complete_and_old_builds_are_pruned(tmp_path):
    src = tmp_path / "parquet"
    src.mkdir()
    bucket = tmp_path / "bucket"
    for i in range(4):
        for table in ("dossiers", "campaigns"):
            pq.write_table(pa.table({"build": [i] * (i + 1)}), src / f"{table}.parquet")
        publish_parquet(src, bucket, build=f"2026120{i + 1}T053000Z", keep=2)
        con = duckdb.connect()
        for table in ("dossiers", "campaigns"):  # a reader following LATEST sees one build's tables, all of them
            rows = con.execute(
                f"SELECT DISTINCT build FROM read_parquet('{latest(bucket)}/{table}.parquet')"
            ).fetchall()
            assert rows == [(i,)]
    assert builds(bucket) == ["20261203T053000Z", "20261204T053000Z"]
    assert (bucket / LATEST).read_text().strip() == "20261204T053000Z"
    assert not [p for p in bucket.iterdir() if p.name.startswith(".")]  # no partial copy or pointer left
    with pytest.raises(FileExistsError):
        publish_parquet(src, bucket, build="20261204T053000Z")


def test_an_empty_folder_publishes_nothing_and_leaves_latest_alone(tmp_path, capsys):
    src, bucket = tmp_path / "parquet", tmp_path / "bucket"
    src.mkdir()
    pq.write_table(pa.table({"x": [1]}), src / "dossiers.parquet")
    publish_parquet(src, bucket, build="first")
    (src / "dossiers.parquet").unlink()
    assert main([str(src), str(bucket)]) == 2
    assert '"published": false' in capsys.readouterr().out
    assert latest(bucket) == bucket / "first" and builds(bucket) == ["first"]
