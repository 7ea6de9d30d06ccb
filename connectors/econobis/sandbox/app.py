"""A runnable sandbox Econobis (read side): password-grant login, the SPA grid and detail endpoints,
`/api/system-data`, `/client-version`, Laravel's 60/min throttle, and an admin API for tests.

Faithful to contracts/econobis.md §1 and §5.2: same paths, `{data, meta}` grids with limit/offset/filters/
sorts, 401 `{"message":"Unauthenticated."}`, 429 with Retry-After, day-long tokens on the sandbox clock."""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp

from connectors.econobis.sandbox import resources
from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.grid import GridError, run_grid
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
    # MySQL orders rows with equal sort keys arbitrarily per query; False gives a kinder, stable order.
    unstable_ties: bool = True
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
        self.failed_logins: dict[str, int] = {}
        self.login_blocked_until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def register_failed_login(self, username: str) -> None:
        """5 failures block the user for 15 minutes, 10 for an hour (Econobis' LoginAttemptThrottle)."""
        n = self.failed_logins.get(username, 0) + 1
        self.failed_logins[username] = n
        if n in (5, 10):
            self.login_blocked_until[username] = self.clock.now() + timedelta(minutes=15 if n == 5 else 60)

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
            for table in (
                "contacts",
                "intakes",
                "opportunities",
                "quotation_requests",
                "housing_files",
                "campaigns",
            )
        }


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


UNAUTHENTICATED = {"error": "Unauthenticated."}
LOGIN_FAILED = {
    "error": "Inloggen is niet gelukt. Probeer het (later) opnieuw of reset je wachtwoord als je die vergeten bent. "
    "Check je mailbox om te kijken of je account wellicht geblokkeerd is."
}


def create_app(sb: EconobisSandbox) -> ASGIApp:
    """The sandbox as an ASGI app, wrapped in fault injection (admin routes are exempt)."""
    app = FastAPI(title=f"Econobis sandbox ({sb.tenant})", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def throttle_and_auth(request: Request, call_next: Any) -> Response:
        path = request.url.path
        sb.requests_served += 1
        if not path.startswith("/api/"):
            return await call_next(request)
        # api group: throttle:60,1 runs before auth:api; keyed by the user when the bearer token resolves,
        # else by client IP.
        user_id = sb.user_for(request.headers.get("authorization"))
        key = f"user:{user_id}" if user_id is not None else f"ip:{request.client.host if request.client else '?'}"
        allowed, remaining, retry_after = sb.throttle.hit(key)
        limit_headers = {"X-RateLimit-Limit": str(sb.throttle.limit), "X-RateLimit-Remaining": str(remaining)}
        if not allowed:
            return _json(
                {"message": "Too Many Attempts."},
                429,
                {
                    **limit_headers,
                    "Retry-After": str(retry_after),
                    "X-RateLimit-Reset": str(int(time.time()) + retry_after),
                },
            )
        if user_id is None:
            if "json" not in request.headers.get("accept", ""):
                return Response(status_code=302, headers={"Location": "/login"})
            return _json(UNAUTHENTICATED, 401, limit_headers)
        response: Response = await call_next(request)
        for k, v in limit_headers.items():
            response.headers[k] = v
        return response

    @app.post("/oauth/token")
    async def oauth_token(request: Request) -> Response:
        # LoginAttemptThrottle rewrites EVERY non-200 outcome (bad client, bad password, 429, blocked user)
        # into one 401 with a Dutch message under `error`.
        ctype = request.headers.get("content-type", "")
        raw = await request.body()
        try:
            form: dict[str, Any] = json.loads(raw) if "json" in ctype else dict(parse_qsl(raw.decode("utf-8")))
        except (ValueError, UnicodeDecodeError):
            return _json(LOGIN_FAILED, 401)
        username = str(form.get("username", "")).lower()
        ip = request.client.host if request.client else "unknown"
        if sb.login_blocked_until.get(username, datetime.min) > sb.clock.now():
            return _json(LOGIN_FAILED, 401)
        allowed, _, _ = sb.login_throttle.hit(f"{username}|{ip}")
        if not allowed:
            return _json(LOGIN_FAILED, 401)
        if str(form.get("client_id")) != sb.client_id or form.get("client_secret") != sb.client_secret:
            return _json(LOGIN_FAILED, 401)
        grant = form.get("grant_type")
        if grant == "password":
            user = sb.users.get(str(form.get("username", "")))
            if user is None or user.password != form.get("password"):
                sb.register_failed_login(username)
                return _json(LOGIN_FAILED, 401)
            sb.failed_logins.pop(username, None)
            return _json(sb.issue_token(user.id))
        if grant == "refresh_token":
            entry = sb.refresh_tokens.pop(str(form.get("refresh_token", "")), None)
            if entry is None or entry[1] <= sb.clock.now():
                return _json(LOGIN_FAILED, 401)
            return _json(sb.issue_token(entry[0]))
        return _json(LOGIN_FAILED, 401)

    @app.get("/client-version")
    async def client_version() -> Response:
        return _json(resources.client_version(ECONOBIS_VERSION))

    @app.get("/frontend-config")
    async def frontend_config() -> Response:
        # Econobis publishes the SPA's OAuth client here (a real quirk; the hub does not rely on it).
        return _json({"client_id": sb.client_id, "client_key": sb.client_secret, "url_api": "/api"})

    @app.get("/api/system-data")
    async def system_data() -> Response:
        return _json(resources.system_data(sb.lookups))

    @app.get("/api/{entity}/grid")
    async def grid(entity: str, request: Request) -> Response:
        spec = resources.GRIDS.get(entity)
        if spec is None:
            return _json({"message": f"The route api/{entity}/grid could not be found."}, 404)
        try:
            rng = random.Random(sb.requests_served) if sb.unstable_ties else None
            body = run_grid(sb.db, sb.lookups, spec, dict(request.query_params), rng)
        except GridError:
            return _json({"message": "Server Error"}, 500)  # uncaught Request*Exception in Econobis
        return _json(body)

    @app.get("/api/{entity}/{record_id}")
    async def detail(entity: str, record_id: str) -> Response:
        table = resources.DETAIL_TABLES.get(entity)
        if table is None or not record_id.isdigit():
            return _json({"message": f"The route api/{entity}/{record_id} could not be found."}, 404)
        row = sb.db.get(table, int(record_id))
        if row is None or row.get("deleted_at") is not None:
            model = {
                "contacts": "Contact\\Contact",
                "intakes": "Intake\\Intake",
                "opportunities": "Opportunity\\Opportunity",
                "quotation_requests": "QuotationRequest\\QuotationRequest",
                "housing_files": "HousingFile\\HousingFile",
            }[table]
            return _json({"message": f"No query results for model [App\\Eco\\{model}] {record_id}"}, 404)
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

    return FaultMiddleware(app, sb.faults, ADMIN)
