"""Runs a sandbox Woningpas on loopback (a uvicorn server in a background thread), and its `SandboxFactory`
for `hub sandbox` / `hub demo`: ready to plug into the connector's declaration as `sandbox=SANDBOX`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from connectors.woningpas.sandbox.app import create_app
from connectors.woningpas.sandbox.credentials import (
    demo_key_path,
    ensure_key_file,
    public_pem,
    sandbox_client_id,
    sandbox_partner_config,
)
from connectors.woningpas.sandbox.state import WoningpasSandbox
from connectors.woningpas.settings import ISSUER_PATH
from hub.connector import SandboxFactory, SandboxStart
from hub.sandbox.runtime import SimClock
from hub.sandbox.server import ThreadedServer


@dataclass
class RunningWoningpas:
    sandbox: WoningpasSandbox
    server: ThreadedServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def issuer(self) -> str:
        return self.sandbox.issuer

    def stop(self) -> None:
        self.server.stop()


def start_woningpas(sb: WoningpasSandbox, host: str = "127.0.0.1", port: int = 0) -> RunningWoningpas:
    """Serve `sb` (port 0 = a free port); its issuer becomes `{base_url}/op`, the `aud` assertions must name."""
    server = ThreadedServer(create_app(sb), host, port).start()
    sb.set_issuer(server.base_url + ISSUER_PATH)
    return RunningWoningpas(sb, server)


def start_demo(
    tenants: Iterable[str],
    *,
    dwellings: int = 200,
    seed: int = 12,
    port: int = 0,
    throttle: int = 300,
    mandate_share: float = 0.0,
    as_of: date = date(2026, 11, 1),
) -> RunningWoningpas:
    """A sandbox with one demo client per tenant (its key file made if needed, see credentials.py) and, when
    `mandate_share` > 0, mandates to each client from that share of the holders."""
    sb = WoningpasSandbox(dwellings=dwellings, seed=seed, as_of=as_of, clock=SimClock(), throttle_per_minute=throttle)
    for i, tenant in enumerate(tenants):
        client_id = sandbox_client_id(tenant)
        sb.register_client(client_id, public_pem(ensure_key_file(demo_key_path(tenant))))
        if mandate_share > 0:
            sb.seed_mandates(client_id, mandate_share, seed=seed + i)
    return start_woningpas(sb, port=port)


def _start(s: SandboxStart) -> RunningWoningpas:
    options = dict(s.options)
    return start_demo(
        s.tenants,
        dwellings=int(options.pop("dwellings", max(s.residents, 50))),
        port=s.ports.get("*", 0),
        throttle=max(s.throttle, int(options.pop("throttle", 300))),
        **options,
    )


def _ports(running: RunningWoningpas) -> dict[str, int]:
    return {"*": running.server.port}


def _describe(running: RunningWoningpas) -> dict[str, Any]:
    """Per tenant: the sandbox's URL, issuer, the demo client id and where its SANDBOX-ONLY key file is."""
    clients = sorted(running.sandbox.auth.clients)
    return {
        c.removeprefix("sandbox-").removesuffix("-hub"): {
            "base_url": running.base_url,
            "issuer": running.issuer,
            "client_id": c,
            "signing_key_file": str(demo_key_path(c.removeprefix("sandbox-").removesuffix("-hub"))),
        }
        for c in clients
    }


SANDBOX = SandboxFactory(
    config=sandbox_partner_config,
    start=_start,
    ports=_ports,
    describe=_describe,
    stop=lambda running: running.stop(),
    port_offset=40,
    order=40,
    regions=frozenset({"vl"}),  # the Flemish sandbox tenants (loket-leuven)
)
