"""A runnable sandbox Econobis (read side): password-grant login, the SPA grid and detail endpoints,
`/api/system-data`, `/client-version`, Laravel's 60/min throttle, and an admin API for tests.

Faithful to contracts/econobis.md §1 and §5.2: same paths, `{data, meta}` grids with limit/offset/filters/
sorts, 401 `{"message":"Unauthenticated."}`, 429 with Retry-After, day-long tokens on the sandbox clock."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.econobis.sandbox import resources
from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.grid import GRIDS, GridError, run_grid
from connectors.econobis.sandbox.lookups import Lookups
from connectors.econobis.sandbox.runtime import FaultMiddleware, Faults, LaravelThrottle, SimClock
from connectors.econobis.sandbox.seed import SeedBuilder, SeedSpec

ECONOBIS_VERSION = "5.4.1.2"
TOKEN_TTL = timedelta(days=1)
REFRESH_TTL = timedelta(days=90)
ADMIN = "/__sandbox"


@dataclass
class SandboxUser:
    id: int
    username: str
    password: str
    two_factor: bool = False


@dataclass
class EconobisSandbox:
    """All state of one tenant's sandbox Econobis."""

    tenant: str
    residents: int
    username: str
    password: str
    client_id: str = "2"
    client_secret: str = "sandbox-client-secret"
    seed: int = 42
    id_shift: int = 0
    throttle_per_minute: int = 60
    login_throttle_per_minute: int = 5
    clock: SimClock = field(default_factory=lambda: SimClock(datetime(2026, 11, 1, 12, 0, 0)))
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self.lookups = Lookups(id_shift=self.id_shift)
        self.db = SandboxDB()
        self.counts = SeedBuilder(
            SeedSpec(self.tenant, self.residents, self.seed, self.clock.now()), self.lookups, self.db
        ).build()
        self.users = {self.username: SandboxUser(1, self.username, self.password)}
        self.tokens: dict[str, tuple[int, datetime]] = {}
        self.refresh_tokens: dict[str, tuple[int, datetime]] = {}
        self.throttle = LaravelThrottle(self.throttle_per_minute)
        self.login_throttle = LaravelThrottle(self.login_throttle_per_minute)
        self.requests_served = 0
        self._lock = threading.Lock()

    # --- auth ---------------------------------------------------------------------------------------------

    def issue_token(self, user_id: int) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock.now()
        with self._lock:
            self.tokens[access] = (user_id, now + TOKEN_TTL)
            self.refresh_tokens[refresh] = (user_id, now + REFRESH_TTL)
        return {
            "token_type": "Bearer",
            "expires_in": int(TOKEN_TTL.total_seconds()),
            "access_token": access,
            "refresh_token": refresh,
        }

    def user_for(self, authorization: str | None) -> int | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        entry = self.tokens.get(authorization[7:].strip())
        if entry is None or entry[1] <= self.clock.now():
            return None
        return entry[0]

    def expected(self) -> dict[str, list[int]]:
        """Ids of every live record per table (what a complete pull must end with)."""
        return {
            table: [i for i, row in self.db.tables[table].items() if row.get("deleted_at") is None]
            for table in ("contacts", "intakes", "opportunities", "quotation_requests", "housing_files", "campaigns")
        }


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


UNAUTHENTICATED = {"message": "Unauthenticated."}


def create_app(sb: EconobisSandbox) -> FastAPI:
    app = FastAPI(title=f"Econobis sandbox ({sb.tenant})", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def throttle_and_auth(request: Request, call_next: Any) -> Response:
        path = request.url.path
        sb.requests_served += 1
        if not path.startswith("/api/"):
            return await call_next(request)
        # Laravel's api group: throttle:60,1 keyed by client IP (the user is not resolved yet at that point).
        key = request.client.host if request.client else "unknown"
        allowed, remaining, retry_after = sb.throttle.hit(key)
        limit_headers = {"X-RateLimit-Limit": str(sb.throttle.limit), "X-RateLimit-Remaining": str(remaining)}
        if not allowed:
            return _json(
                {"message": "Too Many Attempts."},
                429,
                {**limit_headers, "Retry-After": str(retry_after)},
            )
        if sb.user_for(request.headers.get("authorization")) is None:
            return _json(UNAUTHENTICATED, 401, limit_headers)
        response: Response = await call_next(request)
        for k, v in limit_headers.items():
            response.headers[k] = v
        return response

    @app.post("/oauth/token")
    async def oauth_token(request: Request) -> Response:
        ctype = request.headers.get("content-type", "")
        form: dict[str, Any] = (
            await request.json() if "json" in ctype else dict((await request.form()).items())
        )
        grant = form.get("grant_type")
        if str(form.get("client_id")) != sb.client_id or form.get("client_secret") != sb.client_secret:
            return _json(
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed",
                    "message": "Client authentication failed",
                },
                401,
            )
        if grant == "password":
            username = str(form.get("username", ""))
            ip = request.client.host if request.client else "unknown"
            allowed, _, retry_after = sb.login_throttle.hit(f"{username.lower()}|{ip}")
            if not allowed:
                return _json({"message": "Too Many Attempts."}, 429, {"Retry-After": str(retry_after)})
            user = sb.users.get(username)
            if user is None or user.password != form.get("password"):
                return _json(
                    {
                        "error": "invalid_grant",
                        "error_description": "The user credentials were incorrect.",
                        "message": "The user credentials were incorrect.",
                    },
                    400,
                )
            return _json(sb.issue_token(user.id))
        if grant == "refresh_token":
            entry = sb.refresh_tokens.pop(str(form.get("refresh_token", "")), None)
            if entry is None or entry[1] <= sb.clock.now():
                return _json(
                    {
                        "error": "invalid_grant",
                        "error_description": "The refresh token is invalid.",
                        "hint": "Token has been revoked",
                        "message": "The refresh token is invalid.",
                    },
                    400,
                )
            return _json(sb.issue_token(entry[0]))
        return _json(
            {
                "error": "unsupported_grant_type",
                "error_description": "The authorization grant type is not supported by the authorization server.",
                "message": "The authorization grant type is not supported by the authorization server.",
            },
            400,
        )

    @app.get("/client-version")
    async def client_version() -> Response:
        return _json(resources.client_version(ECONOBIS_VERSION))

    @app.get("/api/system-data")
    async def system_data() -> Response:
        return _json(resources.system_data(sb.lookups, sb.db))

    @app.get("/api/{entity}/grid")
    async def grid(entity: str, request: Request) -> Response:
        if entity not in GRIDS:
            return _json({"message": f"The route api/{entity}/grid could not be found."}, 404)
        try:
            body = run_grid(sb.db, sb.lookups, entity, dict(request.query_params))
        except GridError as exc:
            return _json({"message": str(exc)}, 422)
        return _json(body)

    @app.get("/api/{entity}/{record_id}")
    async def detail(entity: str, record_id: str) -> Response:
        table = resources.DETAIL_TABLES.get(entity)
        if table is None or not record_id.isdigit():
            return _json({"message": f"The route api/{entity}/{record_id} could not be found."}, 404)
        row = sb.db.get(table, int(record_id))
        if row is None or row.get("deleted_at") is not None:
            return _json({"message": "No query results for model."}, 404)
        return _json({"data": resources.detail(entity, row, sb.db, sb.lookups)})

    # --- admin API for tests and demos (not part of Econobis) --------------------------------------------

    @app.get(f"{ADMIN}/state")
    async def state() -> Response:
        return _json(
            {
                "tenant": sb.tenant,
                "now": sb.clock.now().isoformat(sep=" "),
                "counts": {t: len(rows) for t, rows in sb.db.tables.items()},
                "requests_served": sb.requests_served,
                "faults": sb.faults.describe(),
            }
        )

    @app.get(f"{ADMIN}/expected")
    async def expected() -> Response:
        return _json(sb.expected())

    @app.post(f"{ADMIN}/faults")
    async def set_faults(request: Request) -> Response:
        body = await request.json()
        sb.faults.set(body.get("rules", []), seed=body.get("seed"))
        return _json(sb.faults.describe())

    @app.post(f"{ADMIN}/clock")
    async def clock(request: Request) -> Response:
        body = await request.json()
        if "now" in body:
            sb.clock.set(datetime.fromisoformat(body["now"]))
        if "advance_seconds" in body:
            sb.clock.advance(float(body["advance_seconds"]))
        return _json({"now": sb.clock.now().isoformat(sep=" ")})

    @app.post(f"{ADMIN}/throttle/reset")
    async def throttle_reset() -> Response:
        sb.throttle.reset()
        sb.login_throttle.reset()
        return JSONResponse({"ok": True})

    return FaultMiddleware(app, sb.faults, ADMIN)  # type: ignore[return-value]
