"""The browser tests' stack: two cooperations (so one tenant is a selection, not all of them), the Dagster
webserver and daemon of tests/orchestration/test_webserver_backfill.py on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store import Store
from tests.orchestration.conftest import TENANT, Hub, make_hub
from tests.orchestration.test_webserver_backfill import dagster  # noqa: F401  (the fixture, on this stack)

OTHER = "coop-zuid"


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store) -> Iterator[Hub]:
    yield from make_hub(tmp_path, monkeypatch, store, residents=30, tenants=(TENANT, OTHER))
