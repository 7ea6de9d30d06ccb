"""The sandbox stack: Econobis per tenant, one Hoomdossier for all cooperations, and the hub's receiver
between them, wired the way a cooperation wires the real systems to the hub:

- Econobis' `hoom_link` / `hoom_connect_coach_link` → the receiver's Hoomdossier-compatible API v1, with
  the tenant's inbound token as `hoom_key`;
- Hoomdossier's Econobis link → the receiver's Econobis-compatible endpoints, with the tenant's inbound key;
- the Econobis coaches exist as Hoomdossier coach users (contact ids in `extra.contact_id`).

Used by `hub sandbox`, `hub demo` and the end-to-end tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.econobis.routes import hoomdossier_endpoints
from connectors.econobis.sandbox.server import RunningSandbox, start_sandboxes, stop_sandboxes
from connectors.hoomdossier.routes import hoomdossier_api
from connectors.hoomdossier.sandbox.app import CooperationConfig, HoomdossierSandbox
from connectors.hoomdossier.sandbox.server import RunningHoomdossier, start_hoomdossier
from hub.config import HubConfig, sandbox_config, sandbox_hoomdossier_credentials
from hub.receiver import create_receiver
from hub.sandbox.server import ThreadedServer
from hub.store import Store


@dataclass
class SandboxStack:
    config: HubConfig
    econobis: list[RunningSandbox]
    hoomdossier: RunningHoomdossier
    receiver: ThreadedServer | None = None
    receiver_app: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def receiver_url(self) -> str:
        assert self.receiver is not None
        return self.receiver.base_url

    def econobis_of(self, tenant: str) -> RunningSandbox:
        return next(r for r in self.econobis if r.tenant == tenant)

    def start_receiver(self, store: Store, port: int | None = None, wrap: Any = None) -> ThreadedServer:
        """(Re)start the receiver; `wrap` puts an ASGI middleware (e.g. faults) in front of it."""
        port = port if port is not None else (self.receiver.port if self.receiver else 0)
        app: Any = create_receiver(
            self.config, store, [hoomdossier_endpoints(self.config, store), hoomdossier_api(self.config, store)]
        )
        self.receiver_app = app
        self.receiver = ThreadedServer(wrap(app) if wrap else app, "127.0.0.1", port).start()
        self._wire()
        return self.receiver

    def stop_receiver(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()

    def _wire(self) -> None:
        assert self.receiver is not None
        url = self.receiver.base_url
        for r in self.econobis:
            creds = sandbox_hoomdossier_credentials(r.tenant)
            coop = r.sandbox.cooperation
            coop.hoom_link = f"{url}/api/v1/register"
            coop.hoom_connect_coach_link = f"{url}/api/v1/building-coach-status"
            coop.hoom_key = creds["inbound_token"]
            self.hoomdossier.sandbox.set_cooperation(
                r.tenant, econobis_base_url=url, econobis_api_key=creds["inbound_key"]
            )

    def stop(self) -> None:
        self.stop_receiver()
        self.hoomdossier.stop()
        stop_sandboxes(self.econobis)


def coaches_of(r: RunningSandbox) -> list[dict[str, Any]]:
    """The Econobis coaches of a sandbox, as Hoomdossier coach users."""
    db = r.sandbox.db
    out = []
    for c in db.tables["contacts"].values():
        if c.get("inspection_person_type_id") != "coach" or c.get("deleted_at") is not None:
            continue
        email = db.primary("email_addresses", c["id"]) or {}
        out.append(
            {
                "contact_id": c["id"],
                "first_name": c.get("first_name") or "Coach",
                "last_name": c.get("last_name") or str(c["id"]),
                "email": email.get("email") or f"coach{c['id']}@{r.tenant}.example",
            }
        )
    return out


def start_stack(
    residents: int,
    *,
    store: Store | None,
    throttle: int = 60,
    econobis_ports: dict[str, int] | None = None,
    hoomdossier_port: int = 0,
    receiver_port: int = 0,
    extra_settings: dict[str, Any] | None = None,
    **econobis_kwargs: Any,
) -> SandboxStack:
    """Start everything on loopback (port 0 = any free port). Without a store, no receiver is started."""
    econobis = start_sandboxes(residents, ports=econobis_ports, throttle_per_minute=throttle, **econobis_kwargs)
    try:
        tenants = [r.tenant for r in econobis]
        hoom = HoomdossierSandbox(
            cooperations=[CooperationConfig(slug=t, name=f"{t} (sandbox)") for t in tenants],
            tokens={sandbox_hoomdossier_credentials(t)["token"]: [f"access:{t}"] for t in tenants},
            coaches={r.tenant: coaches_of(r) for r in econobis},
            throttle_per_minute=throttle,
        )
        running_hoom = start_hoomdossier(hoom, port=hoomdossier_port)
    except BaseException:
        stop_sandboxes(econobis)
        raise
    ports = {r.tenant: r.server.port for r in econobis}
    hoom_port = int(running_hoom.base_url.rsplit(":", 1)[1])
    config = sandbox_config(ports=ports, hoomdossier_port=hoom_port, extra_settings=extra_settings)
    stack = SandboxStack(config, econobis, running_hoom)
    if store is not None:
        try:
            stack.start_receiver(store, receiver_port)
        except BaseException:
            stack.stop()
            raise
    return stack
