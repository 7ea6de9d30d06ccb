"""Runs sandbox Econobis instances on loopback, one HTTP server per tenant, in background threads.

Used by `hub sandbox`, `hub demo`, the flow tests and the benchmarks. Port 0 picks a free port."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from connectors.econobis.sandbox.app import EconobisSandbox, create_app
from hub.config import SANDBOX_TENANTS, sandbox_credentials

DEFAULT_TENANTS: tuple[str, ...] = tuple(tenant for tenant, _ in SANDBOX_TENANTS)


class ThreadedServer:
    """A uvicorn server in a daemon thread; `start()` returns once it accepts connections."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
        )
        self.server = uvicorn.Server(config)
        self.host = host
        self.port = port
        self._thread = threading.Thread(target=self.server.run, daemon=True, name=f"sandbox-{port}")

    def start(self, timeout: float = 20.0) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"sandbox server on {self.host}:{self.port} failed to start (port in use?)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"sandbox server on {self.host}:{self.port} did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)


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
) -> list[RunningSandbox]:
    """Seed and start one sandbox Econobis per tenant. Stop them with `stop_sandboxes`."""
    running: list[RunningSandbox] = []
    try:
        for tenant in tenants:
            creds = sandbox_credentials(tenant)
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
