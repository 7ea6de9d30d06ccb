"""Runs the sandbox EP-Online on loopback (one server for every tenant, a demo key per tenant) and its
`SandboxFactory`: the registrations are built over the BAG sandbox's objects and the Econobis sandboxes' executed
works (the coupling couplings/bag_econobis.py gives them as the `objects` and `renovations` seeds)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from connectors.ep_online.sandbox.app import EpSandbox, create_app
from connectors.ep_online.sandbox.registrations import EpRegister
from connectors.ep_online.settings import API, API_KEY, PARTNER
from hub.config import PartnerConfig, env_prefix
from hub.connector import SandboxFactory, SandboxStart
from hub.sandbox.server import ThreadedServer


def sandbox_api_key(tenant_id: str) -> str:
    """The tenant's demo key (not a secret: deterministic, printed by `hub sandbox`)."""
    return hashlib.sha256(f"sandbox-ep-online-{tenant_id}".encode()).hexdigest()[:40]


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
class RunningEpOnline:
    sandbox: EpSandbox
    server: ThreadedServer

    @property
    def base_url(self) -> str:
        return self.server.base_url + API

    def stop(self) -> None:
        self.server.stop()


def start_ep_online(
    tenants: Iterable[str],
    objects: Iterable[Mapping[str, Any]],
    renovations: Iterable[Mapping[str, Any]] = (),
    *,
    port: int = 0,
    seed: int = 14,
    today: date = date(2026, 11, 1),
    **kw: Any,
) -> RunningEpOnline:
    register = EpRegister(objects, renovations, today=today, seed=seed)
    sb = EpSandbox(register, keys={sandbox_api_key(t): t for t in tenants}, **kw)
    return RunningEpOnline(sb, ThreadedServer(create_app(sb), "127.0.0.1", port).start())


def _start(s: SandboxStart) -> RunningEpOnline:
    options = {**dict(s.seeds), **dict(s.options)}
    objects = options.pop("objects", [])
    renovations = options.pop("renovations", [])
    return start_ep_online(s.tenants, objects, renovations, port=s.ports.get("*", 0), **options)


SANDBOX = SandboxFactory(
    config=sandbox_partner_config,
    start=_start,
    ports=lambda running: {"*": running.server.port},
    describe=lambda running: {
        t: {"base_url": running.base_url, "api_key": k} for k, t in sorted(running.sandbox.keys.items())
    },
    stop=lambda running: running.stop(),
    port_offset=70,
    order=70,
    regions=frozenset({"nl"}),
)
