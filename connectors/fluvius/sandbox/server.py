"""Runs the sandbox portal on loopback (a uvicorn server in a background thread), and its `SandboxFactory` for
`hub sandbox` / `hub demo`: one server for every tenant, each tenant a client registered for its region's
regeling, its webhooks pointed at the hub's receiver."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.fluvius.sandbox.app import create_app
from connectors.fluvius.sandbox.credentials import (
    sandbox_client_id,
    sandbox_client_secret,
    sandbox_organisatie,
    sandbox_partner_config,
    sandbox_regeling,
    sandbox_webhook_secret,
)
from connectors.fluvius.sandbox.state import PortalSandbox
from connectors.fluvius.settings import API, INBOX_SOURCE, TOKEN_PATH
from hub.config import receiver_port
from hub.connector import SandboxFactory, SandboxStart
from hub.sandbox.runtime import SimClock
from hub.sandbox.server import ThreadedServer


@dataclass
class RunningPortal:
    sandbox: PortalSandbox
    server: ThreadedServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        self.server.stop()


def start_portal(sb: PortalSandbox, host: str = "127.0.0.1", port: int = 0) -> RunningPortal:
    """Serve `sb` on `host:port` (0: a free port)."""
    return RunningPortal(sb, ThreadedServer(create_app(sb), host, port).start())


def start_demo(
    tenants: Iterable[str],
    *,
    port: int = 0,
    seed: int = 20,
    throttle: int = 120,
    receiver_url: str | None = None,
    mandates: Mapping[str, Iterable[str]] | None = None,
    start: datetime | None = None,
) -> RunningPortal:
    """A sandbox with one demo client per tenant (its region's regeling), its webhooks registered at
    `{receiver_url}/webhooks/{tenant}/fluvius` (default: the hub's receiver port on loopback), and `mandates`:
    tenant → the INSZ/BSN numbers that mandated the tenant's organisation. The clock starts at `start` (default:
    now) and runs on in real time."""
    clock = SimClock(start)  # None: starts at the real time, runs on in real time, movable by the admin API
    sb = PortalSandbox(seed=seed, clock=clock, throttle_per_minute=throttle)
    receiver = (receiver_url or f"http://127.0.0.1:{receiver_port()}").rstrip("/")
    for tenant in tenants:
        client_id = sandbox_client_id(tenant)
        sb.register_client(
            client_id, sandbox_client_secret(tenant), sandbox_regeling(tenant), sandbox_organisatie(tenant)
        )
        sb.webhooks.register(client_id, f"{receiver}/webhooks/{tenant}/{INBOX_SOURCE}", sandbox_webhook_secret(tenant))
        for person in (mandates or {}).get(tenant, ()):
            sb.put_mandaat(client_id, str(person))
    return start_portal(sb, port=port)


def point_webhooks(running: RunningPortal, receiver_url: str) -> None:
    """Register every demo client's webhook at `{receiver_url}/webhooks/{tenant}/fluvius` (with the tenant's demo
    secret): for a stack whose receiver starts after the sandboxes on a port only known then."""
    base = receiver_url.rstrip("/")
    for client_id in list(running.sandbox.clients):
        tenant = client_id.removeprefix("sandbox-").removesuffix("-hub")
        running.sandbox.webhooks.register(
            client_id, f"{base}/webhooks/{tenant}/{INBOX_SOURCE}", sandbox_webhook_secret(tenant)
        )


def _start(s: SandboxStart) -> RunningPortal:
    options = dict(s.options)
    mandates = options.pop("mandates", None) or s.seeds.get("fluvius_mandates")
    return start_demo(
        s.tenants,
        port=s.ports.get("*", 0),
        throttle=int(options.pop("throttle", 120)),
        mandates=mandates,
        **options,
    )


def _ports(running: RunningPortal) -> dict[str, int]:
    return {"*": running.server.port}


def _describe(running: RunningPortal) -> dict[str, Any]:
    """Per tenant: the sandbox's URLs, the demo client and its regeling (the secrets are the config's demo
    values)."""
    out: dict[str, Any] = {}
    for client in running.sandbox.clients.values():
        tenant = client.client_id.removeprefix("sandbox-").removesuffix("-hub")
        out[tenant] = {
            "base_url": running.base_url,
            "api": running.base_url + API,
            "token_url": running.base_url + TOKEN_PATH,
            "client_id": client.client_id,
            "regeling": client.regeling,
            "admin": running.base_url + "/__sandbox",
        }
    return out


SANDBOX = SandboxFactory(
    config=sandbox_partner_config,
    start=_start,
    ports=_ports,
    describe=_describe,
    stop=lambda running: running.stop(),
    port_offset=50,  # 40 is Woningpas'
    order=50,
    regions=None,  # every region: Flemish tenants apply under MVP_VL, Dutch ones under ISDE_NL
    wire=point_webhooks,
)
