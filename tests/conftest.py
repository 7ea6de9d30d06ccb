"""Shared fixtures: a state store on SQLite (always) and on PostgreSQL (when HUB_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from hub.store import Store

PG_URL = os.environ.get("HUB_TEST_POSTGRES_URL")


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    yield s
    s.dispose()


@pytest.fixture
def pg_store() -> Iterator[Store]:
    """A fresh schema in the PostgreSQL test database, dropped afterwards."""
    if not PG_URL:
        pytest.skip("set HUB_TEST_POSTGRES_URL to run PostgreSQL tests")
    schema = f"hubtest_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    s = Store.open(_pg_schema_url(PG_URL, schema))
    yield s
    s.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path) -> Iterator[Store]:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'hub.sqlite'}")
        yield s
        s.dispose()
    else:
        yield request.getfixturevalue("pg_store")
