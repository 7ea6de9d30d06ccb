"""Runs a sandbox Hoomdossier on loopback: the HTTP server in a background thread plus a worker thread that plays
Laravel's scheduler and queue worker (contracts/hoomdossier.md §2.5-2.6).

Every `worker_interval` seconds of real time the worker runs the scheduled commands that are due on the sim
clock and then every due job; a job POSTs to `{econobis_base_url}/api/{econobis_api_key}/hoomdossier/{endpoint}`
with `Accept: application/json` and a JSON body, no auth header. Timeouts: `pdf` 360 s as in Hoomdossier; the
others the sandbox's `outbound_timeout` — the real Guzzle client has none, a hanging Econobis blocks its worker.
`worker_interval=None` starts no worker: tests then drive time themselves (`POST /__sandbox/jobs/run`,
`POST /__sandbox/clock`, or `sb.run_due_jobs()` / `sb.advance()`)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from connectors.hoomdossier.sandbox.app import HoomdossierSandbox, create_app
from hub.sandbox.server import ThreadedServer

log = logging.getLogger(__name__)


class _Worker:
    def __init__(self, sb: HoomdossierSandbox, interval: float) -> None:
        self.sb = sb
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="hoomdossier-sandbox-worker")

    def start(self) -> _Worker:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.sb.process_lock:
                    self.sb.run_scheduler()
                    self.sb.run_due_jobs()
            except Exception:  # the worker must survive a broken job, as Laravel's does
                log.exception("hoomdossier sandbox worker cycle failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@dataclass
class RunningHoomdossier:
    sandbox: HoomdossierSandbox
    server: ThreadedServer
    worker: _Worker | None = field(default=None)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.server.stop()


def start_hoomdossier(
    sb: HoomdossierSandbox, host: str = "127.0.0.1", port: int = 0, worker_interval: float | None = 0.1
) -> RunningHoomdossier:
    """Start the sandbox's HTTP server (port 0 = a free port) and, unless `worker_interval` is None, its worker."""
    server = ThreadedServer(create_app(sb), host, port).start()
    worker = _Worker(sb, worker_interval).start() if worker_interval else None
    return RunningHoomdossier(sb, server, worker)
