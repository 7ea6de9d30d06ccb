"""The receiver app: partner-compatible routes (mounted from connectors/*/routes.py by the composition root),
a health check, and an access log without secrets or personal data.

Everything a route accepts is stored in the state store before it answers; processing happens in runs.
Several receiver processes may run behind one load balancer: idempotency lives in the database.

Bad input never gets a 5xx: the body limit and the strict parsing every route uses live in
`hub.receiver.intake` (docs/receiver.md); a 5xx means the store (503) or the partner behind a proxy route
(502/504) is unavailable. The OpenAPI document is built from the routes' declarations (`openapi_document`,
`hub openapi`, docs/openapi.json); the app does not serve it."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.config import HubConfig
from hub.logs import log_event
from hub.receiver.intake import BodyLimitMiddleware, BodyTooLarge, max_body_bytes
from hub.redact import Redactor
from hub.store import Store

log = logging.getLogger("hub.receiver")

TITLE = "Renovation-journey hub receiver"
DESCRIPTION = (
    "Partner-compatible routes of the hub: each speaks the contract of the system it stands in for "
    "(docs/receiver.md). Bodies are read within a size limit (413), strictly (UTF-8, JSON depth 512), and "
    "refused in the partner's own error shape; a 5xx means only that the store (503) or the partner behind "
    "a proxy route (502/504) is unavailable."
)


class AccessLog:
    """Pure ASGI (a BaseHTTPMiddleware would wrap the body stream): one event per request with method, path
    (secrets in it redacted), status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.redactor = Redactor()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log_event(
                log,
                "request",
                logging.INFO if status < 500 else logging.WARNING,
                method=scope.get("method"),
                path=self.redactor.url(scope.get("path", "")),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )


def create_receiver(
    config: HubConfig, store: Store, routers: Sequence[APIRouter], max_body: int | None = None
) -> FastAPI:
    """`routers` come from the connectors (the composition root picks them: app/cli.py, the sandbox stack, tests).
    `max_body` is the body limit in bytes (default: $HUB_RECEIVER_MAX_BODY_BYTES, else 16 MiB)."""
    app = FastAPI(title=TITLE, description=DESCRIPTION, version="1", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config = config
    app.state.store = store
    app.state.max_body_bytes = max_body if max_body is not None else max_body_bytes()

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> Response:
        """A route that did not answer the limit in its partner's shape still answers 413, not 500."""
        return JSONResponse({"message": "Payload Too Large"}, status_code=413)

    @app.get("/healthz", responses={503: {"description": "the store is unavailable"}})
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
    app.add_middleware(AccessLog)
    app.add_middleware(BodyLimitMiddleware, limit=app.state.max_body_bytes)
    return app


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The receiver's OpenAPI document, generated from its routes (what `hub openapi` prints)."""
    return app.openapi()
