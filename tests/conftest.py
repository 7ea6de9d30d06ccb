"""Shared fixtures: a state store on SQLite (always) and on PostgreSQL (when HUB_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

import connectors  # noqa: F401  (registers the partners' connectors: config validation, redaction, journey)
from hub.store import Store

PG_URL = os.environ.get("HUB_TEST_POSTGRES_URL")
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright drives it and never downloads a browser


def require_chromium(what: str) -> Path:
    """Debian's Chromium, or the test skips saying `what` goes untried; with HUB_REQUIRE_CHROMIUM=1 (CI) it
    fails instead."""
    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"{CHROMIUM} is missing (apt-get install -y chromium); {what}"
    if os.environ.get("HUB_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"HUB_REQUIRE_CHROMIUM=1 but {reason}")
    pytest.skip(reason)


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


@pytest.fixture
def pg_dagster_url() -> Iterator[str]:
    """A fresh PostgreSQL database for a Dagster instance's tables (dagster-postgres takes no schema), dropped
    afterwards with whatever connections are left."""
    if not PG_URL:
        pytest.skip("set HUB_TEST_POSTGRES_URL to run PostgreSQL tests")
    name = f"dagster_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
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


# --- sandboxes over loopback ---------------------------------------------------------------------------------

from connectors.econobis.sandbox.credentials import sandbox_credentials  # noqa: E402
from hub.config import HubConfig, PartnerConfig, TenantConfig  # noqa: E402


def sandbox_hub_config(running, budget_per_minute: float = 1e6, budget_burst: float = 1e6) -> HubConfig:
    """A HubConfig pointing at running sandboxes (ports chosen by the OS)."""
    tenants = []
    for r in running:
        creds = sandbox_credentials(r.tenant)
        tenants.append(
            TenantConfig(
                id=r.tenant,
                name=r.tenant,
                partners={
                    "econobis": PartnerConfig(
                        base_url=r.server.base_url,
                        settings={
                            "username": creds["username"],
                            "client_id": creds["client_id"],
                            "budget_per_minute": budget_per_minute,
                            "budget_burst": budget_burst,
                        },
                        secrets={
                            "password": "HUB_TEST_ECONOBIS_PW",
                            "client_secret": "HUB_TEST_ECONOBIS_CS",
                            "webform_key": "HUB_TEST_ECONOBIS_WEBFORM_KEY",
                        },
                        sandbox=True,
                        sandbox_secret_values={
                            "password": creds["password"],
                            "client_secret": creds["client_secret"],
                            "webform_key": creds["webform_key"],
                        },
                    )
                },
            )
        )
    return HubConfig(tenants=tenants, source="test")


@pytest.fixture
def start_sandbox():
    """Factory: start sandboxes (stopped after the test)."""
    from connectors.econobis.sandbox.server import start_sandboxes, stop_sandboxes

    started = []

    def _start(residents: int = 60, **kw):
        running = start_sandboxes(residents, **kw)
        started.extend(running)
        return running

    yield _start
    stop_sandboxes(started)
