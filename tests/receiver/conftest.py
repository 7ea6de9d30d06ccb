"""A receiver with every connector's routes in front of a sandbox Hoomdossier (the proxy's upstream, as strict
as the real one), on a store of either kind; in-process (ASGI) and over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors import registry
from connectors.hoomdossier.sandbox.app import CooperationConfig, HoomdossierSandbox
from connectors.hoomdossier.sandbox.credentials import sandbox_hoomdossier_credentials
from connectors.hoomdossier.sandbox.server import start_hoomdossier
from hub.config import sandbox_config
from hub.receiver import create_receiver
from hub.sandbox.server import ThreadedServer
from hub.store import Store

TENANT = "coop-noord"
CREDS = sandbox_hoomdossier_credentials(TENANT)
OTHER = sandbox_hoomdossier_credentials("coop-zuid")
COACH = {"contact_id": 1001, "first_name": "Carla", "last_name": "Coach", "email": "carla@example.org"}
LIMIT = 256 * 1024  # a small body limit, so oversize tests send little


def start_hoom() -> Any:
    hoom = HoomdossierSandbox(
        [CooperationConfig(slug=TENANT, name="Noord"), CooperationConfig(slug="coop-zuid", name="Zuid")],
        tokens={CREDS["token"]: [f"access:{TENANT}"], OTHER["token"]: ["access:coop-zuid"]},
        coaches={TENANT: [COACH]},
        throttle_per_minute=1_000_000,
    )
    return start_hoomdossier(hoom, worker_interval=None)


def receiver_app(store: Store, hoom: Any, max_body: int | None = LIMIT) -> Any:
    config = sandbox_config(ports={"hoomdossier": int(hoom.base_url.rsplit(":", 1)[1])})
    return create_receiver(config, store, registry().routers(config, store), max_body=max_body)


@pytest.fixture
def hub(any_store: Store) -> Iterator[dict[str, Any]]:
    """The receiver over loopback (uvicorn, as `hub serve` runs it) on SQLite and on PostgreSQL."""
    hoom = start_hoom()
    server = ThreadedServer(receiver_app(any_store, hoom)).start()
    yield {"url": server.base_url, "store": any_store, "hoom": hoom, "port": server.port}
    server.stop()
    hoom.stop()
