"""The receiver app: partner-compatible routes (mounted from connectors/*/routes.py by the composition root),
a health check, and an access log without secrets or personal data.

Everything a route accepts is stored in the state store before it answers; processing happens in runs.
Several receiver processes may run behind one load balancer: idempotency lives in the database."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from hub.config import HubConfig
from hub.logs import log_event
from hub.redact import Redactor
from hub.store import Store

log = logging.getLogger("hub.receiver")


def create_receiver(config: HubConfig, store: Store, routers: Sequence[APIRouter]) -> FastAPI:
    """`routers` come from the connectors (the composition root picks them: app/cli.py, the sandbox stack, tests)."""
    app = FastAPI(title="Renovation-journey hub receiver", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config = config
    app.state.store = store
    redactor = Redactor()

    @app.middleware("http")
    async def access_log(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response: Response = await call_next(request)
            status = response.status_code
            return response
        finally:
            log_event(
                log,
                "request",
                logging.INFO if status < 500 else logging.WARNING,
                method=request.method,
                path=redactor.url(request.url.path),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )

    @app.get("/healthz")
    async def healthz() -> Response:
        def ping() -> None:
            with store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except Exception as exc:  # the store is down: a load balancer must take this replica out
            return JSONResponse({"status": "store unavailable", "error": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok", "tenants": [t.id for t in config.tenants]})

    for router in routers:
        app.include_router(router)
    return app
