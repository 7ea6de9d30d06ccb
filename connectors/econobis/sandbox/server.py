"""Runs sandbox Econobis instances on loopback, one HTTP server per tenant, in background threads.

Used by `hub sandbox`, `hub demo`, the flow tests and the benchmarks. Port 0 picks a free port."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.econobis.sandbox.app import create_app
from connectors.econobis.sandbox.credentials import sandbox_credentials
from connectors.econobis.sandbox.instance import EconobisSandbox
from connectors.econobis.settings import SANDBOX_REGIONS
from hub.config import sandbox_tenant_ids
from hub.sandbox.runtime import SimClock
from hub.sandbox.server import ThreadedServer

DEFAULT_TENANTS: tuple[str, ...] = sandbox_tenant_ids(SANDBOX_REGIONS)


@dataclass
class RunningSandbox:
    tenant: str
    sandbox: EconobisSandbox
    server: ThreadedServer

    def describe(self) -> dict[str, Any]:
        creds = sandbox_credentials(self.tenant)
        return {
            "tenant": self.tenant,
            "econobis": {
                "base_url": self.server.base_url,
                "username": self.sandbox.username,
                "password": self.sandbox.password,
                "client_id": self.sandbox.client_id,
                "client_secret": self.sandbox.client_secret,
                "webform_key": self.sandbox.webform_key,
                "hoom_link": self.sandbox.cooperation.hoom_link,
                "hoom_connect_coach_link": self.sandbox.cooperation.hoom_connect_coach_link,
                "env": {
                    f"HUB_{self.tenant.upper().replace('-', '_')}_ECONOBIS_PASSWORD": creds["password"],
                    f"HUB_{self.tenant.upper().replace('-', '_')}_ECONOBIS_CLIENT_SECRET": creds["client_secret"],
                    f"HUB_{self.tenant.upper().replace('-', '_')}_ECONOBIS_WEBFORM_KEY": creds["webform_key"],
                },
                "counts": self.sandbox.counts,
            },
        }


def start_sandboxes(
    residents: int = 150,
    *,
    tenants: tuple[str, ...] = DEFAULT_TENANTS,
    ports: dict[str, int] | None = None,
    host: str = "127.0.0.1",
    seed: int = 42,
    id_shift: int = 0,
    throttle_per_minute: int = 60,
    start: datetime | None = None,
) -> list[RunningSandbox]:
    """Seed and start one sandbox Econobis per tenant. Stop them with `stop_sandboxes`. `start`: the sandbox
    clock's "now" (the seed's records lie in the two years before it); None: the fixed seed date (tests)."""
    running: list[RunningSandbox] = []
    try:
        for tenant in tenants:
            creds = sandbox_credentials(tenant)
            # the demo's clock: seeded in the two years before `start`; else the instance's fixed seed date
            clock: dict[str, Any] = {"clock": SimClock(start)} if start is not None else {}
            sb = EconobisSandbox(
                tenant=tenant,
                residents=residents,
                username=creds["username"],
                password=creds["password"],
                client_id=creds["client_id"],
                client_secret=creds["client_secret"],
                webform_key=creds["webform_key"],
                seed=seed,
                id_shift=id_shift,
                throttle_per_minute=throttle_per_minute,
                **clock,
            )
            server = ThreadedServer(create_app(sb), host, (ports or {}).get(tenant, 0)).start()
            running.append(RunningSandbox(tenant, sb, server))
    except BaseException:
        stop_sandboxes(running)
        raise
    return running


def stop_sandboxes(running: list[RunningSandbox]) -> None:
    for r in running:
        r.server.stop()
