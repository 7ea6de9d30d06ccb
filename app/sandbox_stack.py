"""The sandbox stack: every registered connector's sandbox and the hub's receiver between them, wired by the
couplings the way a cooperation wires the real systems to the hub (e.g. Econobis' `hoom_link` → the
receiver's Hoomdossier-compatible API; Hoomdossier's Econobis link → the receiver's Econobis endpoints).

Used by `hub sandbox`, `hub demo`, `hub ui` and the end-to-end tests."""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.errors import UserError
from connectors import registry
from couplings import COUPLINGS
from hub.config import SANDBOX_TENANTS, HubConfig, sandbox_config, sandbox_region
from hub.connector import Connector, Coupling, Registry, SandboxStart
from hub.receiver import create_receiver
from hub.sandbox.server import ThreadedServer
from hub.store import Store

DEFAULT_TENANTS: tuple[str, ...] = tuple(t for t, _ in SANDBOX_TENANTS)


@dataclass
class SandboxStack:
    """The running sandboxes by partner (each connector's own handle), the config pointing at them, and the
    receiver (None without a store)."""

    config: HubConfig
    running: dict[str, Any]
    registry: Registry
    couplings: tuple[Coupling, ...] = ()
    receiver: ThreadedServer | None = None
    receiver_app: Any = None

    @property
    def connectors(self) -> list[Connector]:
        """The connectors with a sandbox, in start order."""
        return self.registry.with_sandbox()

    def __getattr__(self, name: str) -> Any:
        # stack.econobis, stack.hoomdossier, …: a partner's running sandbox by its name
        running = self.__dict__.get("running", {})
        if name in running:
            return running[name]
        raise AttributeError(name)

    def of(self, partner: str, tenant: str) -> Any:
        """A per-tenant sandbox's handle of one tenant."""
        return next(r for r in self.running[partner] if r.tenant == tenant)

    @property
    def receiver_url(self) -> str:
        assert self.receiver is not None
        return self.receiver.base_url

    def describe(self) -> dict[str, Any]:
        """Every partner's base URLs and demo credentials (what `hub sandbox --json` prints)."""
        out: dict[str, Any] = {}
        for c in self.connectors:
            assert c.sandbox is not None
            if c.name in self.running:
                out[c.name] = c.sandbox.describe(self.running[c.name])
        return out

    def start_receiver(self, store: Store, port: int | None = None, wrap: Any = None) -> ThreadedServer:
        """(Re)start the receiver with every connector's routes; `wrap` puts an ASGI middleware (e.g. faults)
        in front of it. The couplings then point the sandboxes at it."""
        port = port if port is not None else (self.receiver.port if self.receiver else 0)
        routers = self.registry.routers(self.config, store)
        app: Any = create_receiver(self.config, store, routers)
        self.receiver_app = app
        self.receiver = ThreadedServer(wrap(app) if wrap else app, "127.0.0.1", port).start()
        self._wire()
        return self.receiver

    def stop_receiver(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()

    def _wire(self) -> None:
        for c in self.connectors:
            if c.sandbox is not None and c.sandbox.wire is not None and c.name in self.running:
                c.sandbox.wire(self.running[c.name], self.receiver_url)
        for cp in self.couplings:
            if cp.sandbox_wire is not None:
                cp.sandbox_wire(self)

    def stop(self) -> None:
        self.stop_receiver()
        for c in reversed(self.connectors):
            if c.name in self.running:
                assert c.sandbox is not None
                c.sandbox.stop(self.running[c.name])


def start_stack(
    residents: int,
    *,
    store: Store | None,
    throttle: int = 60,
    tenants: Iterable[str] = DEFAULT_TENANTS,
    ports: Mapping[str, Mapping[str, int]] | None = None,
    receiver_port: int = 0,
    extra_settings: Mapping[str, Any] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    reg: Registry | None = None,
    couplings: tuple[Coupling, ...] = COUPLINGS,
    **first_options: Any,
) -> SandboxStack:
    """Start every registered connector's sandbox on loopback (port 0 = any free port) for the `tenants` of the
    regions it serves (`SandboxFactory.regions`; one that serves none of them is not started), then (with a
    store) the receiver. `ports[partner]`: tenant → port (`"*"` for a shared sandbox); `options[partner]`:
    keywords for that sandbox; keywords left over (e.g. `id_shift`) go to the first per-tenant sandbox."""
    reg = reg or registry()
    tenant_ids = tuple(tenants)
    connectors = reg.with_sandbox()
    running: dict[str, Any] = {}
    opts = {name: dict(o) for name, o in (options or {}).items()}
    first = next((c.name for c in connectors if c.sandbox and c.sandbox.per_tenant), None)
    if first_options and first:
        opts.setdefault(first, {}).update(first_options)
    all_ports: dict[str, dict[str, int]] = {}
    try:
        for c in connectors:
            assert c.sandbox is not None
            served = tuple(t for t in tenant_ids if c.sandbox.serves(sandbox_region(t).code))
            if not served:
                continue
            seeds: dict[str, Any] = {}
            for cp in couplings:
                if cp.sandbox_seed is not None:
                    seeds.update(cp.sandbox_seed(c.name, running))
            start = SandboxStart(
                tenants=served,
                ports=dict((ports or {}).get(c.name, {})),
                residents=residents,
                throttle=throttle,
                options=opts.get(c.name, {}),
                seeds=seeds,
            )
            running[c.name] = c.sandbox.start(start)
            all_ports[c.name] = c.sandbox.ports(running[c.name])
    except BaseException:
        for c in reversed(connectors):
            if c.name in running and c.sandbox is not None:
                c.sandbox.stop(running[c.name])
        raise
    config_ports: dict[str, Mapping[str, int] | int] = {}
    for name, p in all_ports.items():
        config_ports[name] = p.get("*", p)
    config = sandbox_config(ports=config_ports, extra_settings=extra_settings)
    stack = SandboxStack(config, running, reg, couplings)
    if store is not None:
        try:
            stack.start_receiver(store, receiver_port)
        except BaseException:
            stack.stop()
            raise
    return stack


def ports_in_use(ports: Mapping[str, Mapping[str, int]], receiver_port: int | None = None) -> list[str]:
    """Which of the stack's loopback ports something else holds already, as `port (partner tenant)`: asked
    before anything starts (or is removed), so a second stack is refused before it changes anything."""
    wanted: dict[int, str] = {}
    for partner, per_tenant in ports.items():
        for tenant, port in per_tenant.items():
            if port:
                wanted.setdefault(port, partner if tenant == "*" else f"{partner} {tenant}")
    if receiver_port:
        wanted.setdefault(receiver_port, "receiver")
    taken = []
    for port, what in sorted(wanted.items()):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: TIME_WAIT is free
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"{port} ({what})")
    return taken


def port_hint(base: int) -> str:
    """What to do about a port another stack holds (the base moves every port of a stack)."""
    return (
        "another `hub sandbox`, `hub ui` or `hub demo` may be running: "
        f"stop it or set HUB_SANDBOX_PORT_BASE (now {base})"
    )


def refuse_ports_in_use(
    ports: Mapping[str, Mapping[str, int]], receiver_port: int | None, base: int, then: str = ""
) -> None:
    """UserError naming the stack's ports something else holds (`ports_in_use`), with `port_hint` and `then`."""
    taken = ports_in_use(ports, receiver_port)
    if taken:
        raise UserError(f"ports in use: {', '.join(taken)}; {port_hint(base)}{then}")
