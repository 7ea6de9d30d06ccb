"""The mart's read of the store (hub/mart/extract.py): every live row of the mart's tenants, once, split by kind;
deleted rows and other tenants' rows left out; the same on SQLite (rowid ranges, in a child process) and
PostgreSQL."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.mart import extract as X
from hub.store import Store

# the bench's seeding: a store with every kind the bench makes (loaded by path: bench/ is not a package)
_spec = importlib.util.spec_from_file_location("bench_mart", Path(__file__).resolve().parents[2] / "bench" / "mart.py")
assert _spec is not None and _spec.loader is not None
bench_mart = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_mart)

TENANT = bench_mart.TENANT


def _live_counts(store: Store, tenant: str) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT entity, count(*) FROM entities WHERE deleted_at IS NULL AND tenant = :t GROUP BY entity"),
            {"t": tenant},
        ).all()
    return {e: n for e, n in rows if e in X.ENTITIES}


@pytest.mark.parametrize("any_store", ["sqlite", "postgresql"], indirect=True)
def test_every_live_row_once_split_by_kind(any_store: Store):
    url = any_store.engine.url.render_as_string(hide_password=False)
    events = bench_mart.seed(url, 600)
    with any_store.engine.begin() as conn:
        # a deleted dossier and another tenant's rows must not be read
        conn.execute(
            text(
                "UPDATE entities SET deleted_at = updated_at WHERE canonical_id = "
                "(SELECT min(canonical_id) FROM entities WHERE entity = 'dossier')"
            )
        )
        conn.execute(text("UPDATE entities SET tenant = 'other' WHERE entity = 'campaign'"))
    got = X.extract(any_store, [TENANT])
    kinds = {name.split(":", 1)[1]: t for name, t in got.items() if name.startswith("entities:")}
    expected = _live_counts(any_store, TENANT)
    assert {k: t.num_rows for k, t in kinds.items()} == expected
    assert "campaign" not in kinds
    for kind, table in kinds.items():
        ids = table.column("canonical_id").to_pylist()
        assert len(ids) == len(set(ids)), f"{kind}: a row read twice"
        assert set(table.column("entity").to_pylist()) == {kind}
    assert got["journey_events"].num_rows == events
    # residents leave the store with the projected fields only: no names
    resident = kinds["resident"].column("data").to_pylist()[0]
    assert "last_name" not in resident and "first_name" not in resident


@pytest.mark.parametrize("any_store", ["sqlite", "postgresql"], indirect=True)
def test_an_empty_store_gives_typed_empty_relations(any_store: Store):
    got = X.extract(any_store, [TENANT])
    assert not [n for n in got if n.startswith("entities:")]
    assert got["journey_events"].num_rows == 0
    assert set(got["journey_events"].column_names) == {
        "tenant",
        "dossier_id",
        "phase",
        "source",
        "occurred_at",
        "recorded_at",
    }
    assert str(got["journey_events"].schema.field("occurred_at").type) == "timestamp[us]"


def test_a_failing_reader_names_its_reason(tmp_path):
    relations = X.relations("sqlite")
    with pytest.raises(RuntimeError, match="reading the store for the mart failed"):
        X._fetch_in_child(str(tmp_path / "missing" / "hub.sqlite"), relations, [TENANT], [(0, -1)] * X.CHUNKS)
