"""Runs the sandbox BAG on loopback (one server for every tenant, a demo key per tenant) and its `SandboxFactory`:
the register is built from the true addresses of the Econobis sandboxes started before it (the coupling
couplings/bag_econobis.py gives them as the `addresses` seed)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.bag.sandbox.app import BagSandbox, create_app
from connectors.bag.sandbox.register import BagRegister
from connectors.bag.settings import API, API_KEY, PARTNER
from hub.config import PartnerConfig, env_prefix
from hub.connector import SandboxFactory, SandboxStart
from hub.sandbox.server import ThreadedServer


def sandbox_api_key(tenant_id: str) -> str:
    """The tenant's demo key (not a secret: deterministic, printed by `hub sandbox`)."""
    return "l7" + hashlib.sha256(f"sandbox-bag-{tenant_id}".encode()).hexdigest()[:30]


def sandbox_partner_config(
    tenant_id: str, port: int, host: str = "127.0.0.1", extra_settings: Mapping[str, Any] | None = None
) -> PartnerConfig:
    return PartnerConfig(
        base_url=f"http://{host}:{port}{API}",
        settings=dict(extra_settings or {}),
        secrets={API_KEY: env_prefix(tenant_id, PARTNER) + API_KEY.upper()},
        sandbox=True,
        sandbox_secret_values={API_KEY: sandbox_api_key(tenant_id)},
    )


@dataclass
class RunningBag:
    sandbox: BagSandbox
    server: ThreadedServer

    @property
    def base_url(self) -> str:
        return self.server.base_url + API

    def stop(self) -> None:
        self.server.stop()


def start_bag(
    tenants: Iterable[str], addresses: Iterable[Mapping[str, Any]], *, port: int = 0, seed: int = 14, **kw: Any
) -> RunningBag:
    sb = BagSandbox(BagRegister(addresses, seed=seed), keys={sandbox_api_key(t): t for t in tenants}, **kw)
    return RunningBag(sb, ThreadedServer(create_app(sb), "127.0.0.1", port).start())


def _start(s: SandboxStart) -> RunningBag:
    options = {**dict(s.seeds), **dict(s.options)}
    addresses = options.pop("addresses", [])
    return start_bag(s.tenants, addresses, port=s.ports.get("*", 0), **options)


SANDBOX = SandboxFactory(
    config=sandbox_partner_config,
    start=_start,
    ports=lambda running: {"*": running.server.port},
    describe=lambda running: {
        t: {"base_url": running.base_url, "api_key": k} for k, t in sorted(running.sandbox.keys.items())
    },
    stop=lambda running: running.stop(),
    port_offset=60,
    order=60,
    regions=frozenset({"nl"}),
)
