"""The `hub` command's tests: a fresh home for each."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest


@pytest.fixture
def hub_home(tmp_path, monkeypatch) -> Path:
    """A fresh $HUB_HOME (`tmp_path/home`) on the embedded sandbox tenants: no HUB_DATABASE_URL or HUB_CONFIG from
    the caller's environment. main() installs the hub's log handler once per process, on the stderr of its time:
    the one installed before is set aside, so main() installs one on this test's captured stderr."""
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    for var in ("HUB_DATABASE_URL", "HUB_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [h for h in root.handlers if not getattr(h, "_hub_handler", False)])
    return tmp_path / "home"
