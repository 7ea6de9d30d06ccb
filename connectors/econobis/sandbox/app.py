"""A runnable sandbox Econobis (read side): password-grant login, the SPA grid and detail endpoints,
`/api/system-data`, `/client-version`, Laravel's 60/min throttle, and an admin API for tests.

Faithful to contracts/econobis.md §1 and §5.2: same paths, `{data, meta}` grids with limit/offset/filters/
sorts, 401 `{"message":"Unauthenticated."}`, 429 with Retry-After, day-long tokens on the sandbox clock."""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp

from connectors.econobis.sandbox import resources, spa
from connectors.econobis.sandbox.db import REVISIONABLE, SandboxDB
from connectors.econobis.sandbox.grid import GridError, run_grid
from connectors.econobis.sandbox.hoom_inbound import ENDPOINTS, run_hoom_endpoint, seed_hoom_links
from connectors.econobis.sandbox.lookups import Lookups
from connectors.econobis.sandbox.outbound import Cooperation
from connectors.econobis.sandbox.seed import SeedBuilder, SeedSpec, apply_kansactie_write, person_full_name
from connectors.econobis.sandbox.webform import run_webform
from connectors.econobis.sandbox.webforms import webform_row
from hub.sandbox.runtime import FaultMiddleware, Faults, LaravelThrottle, SimClock

ECONOBIS_VERSION = "5.4.1.2"
TOKEN_TTL = timedelta(days=1)
REFRESH_TTL = timedelta(days=90)
ADMIN = "/__sandbox"
NO_AUTH = re.compile(r"^/api/(webform/external/[^/]+|[^/]+/hoomdossier/[^/]+)$")


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

    webform_key: str = ""
    webform_max_per_minute: int = 60

    def __post_init__(self) -> None:
        self.lookups = Lookups(id_shift=self.id_shift)
        self.db = SandboxDB(now=self.clock.now)
        self.counts = SeedBuilder(
            SeedSpec(self.tenant, self.residents, self.seed, self.clock.now()), self.lookups, self.db
        ).build()
        self.rng = random.Random(self.seed)
        self.write_lock = threading.RLock()
        first_campaign = self.db.ids["campaigns"][0]
        self.cooperation = Cooperation(hoom_campaigns=[(first_campaign, None)])
        seed_hoom_links(self)
        self.webform_key = self.webform_key or f"sandbox-webform-{self.tenant}"
        # One webform row serves the webform API and the Hoomdossier endpoints (§1.11).
        self.db.insert(
            "webforms",
            webform_row(
                "Aanmelding hub", self.webform_key, self.clock.now(), max_per_minute=self.webform_max_per_minute
            ),
        )
        self.db.record_revisions = True  # from here on, edits are changes the audit trail shows
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

    def edit(self, table: str, row_id: int, change: dict[str, Any], raw: bool = False) -> dict[str, Any]:
        """Change a record as a coordinator in the UI would (a kansactie goes through the status engine)."""
        values = _from_json(change)
        with self.write_lock:
            self.db.acting_user = 1
            if raw:
                self.db.raw_update(table, row_id, values)
            elif table == "quotation_requests":
                apply_kansactie_write(self.db, self.lookups, row_id, values)
            else:
                if table not in REVISIONABLE:
                    raise KeyError(table)
                self.db.update(table, row_id, values)
            return _plain(self.db.tables[table][row_id])

    def coordinators_edit(self, fraction: float, seed: int) -> dict[str, int]:
        rng = random.Random(seed)
        db, lk = self.db, self.lookups
        residents = [c for c in db.where("contacts", type_id="person") if not c.get("inspection_person_type_id")]
        chosen = rng.sample(residents, max(1, int(len(residents) * fraction)))
        intakes_by_contact: dict[int, list[dict[str, Any]]] = {}
        for i in db.tables["intakes"].values():
            if i.get("deleted_at") is None:
                intakes_by_contact.setdefault(i["contact_id"], []).append(i)
        opportunities_by_intake: dict[int, list[dict[str, Any]]] = {}
        for o in db.tables["opportunities"].values():
            if o.get("deleted_at") is None:
                opportunities_by_intake.setdefault(o["intake_id"], []).append(o)
        statuses = [r["id"] for r in lk.tables["intakeStatuses"]]
        visit = lk.action_id("visit")
        done = {"contacts": 0, "intakes": 0, "quotation_requests": 0}
        with self.write_lock:
            self.db.acting_user = 1
            for c in chosen:
                first = rng.choice(["Anna", "Bas", "Cor", "Dewi", "Eef"])
                self.db.update(
                    "contacts",
                    c["id"],
                    {
                        "first_name": first,
                        "full_name": person_full_name(first, c.get("last_name_prefix"), c.get("last_name")),
                    },
                )
                done["contacts"] += 1
                for intake in intakes_by_contact.get(c["id"], [])[:1]:
                    self.db.update("intakes", intake["id"], {"intake_status_id": rng.choice(statuses)})
                    done["intakes"] += 1
                    for opp in opportunities_by_intake.get(intake["id"], [])[:1]:
                        for q in db.kansacties_of(opp["id"]):
                            if q["opportunity_action_id"] == visit and not q.get("date_planned"):
                                when = self.clock.now() + timedelta(days=rng.randint(1, 20))
                                apply_kansactie_write(db, lk, q["id"], {"date_planned": when})
                                done["quotation_requests"] += 1
                                break
        return done

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


async def _body_fields(request: Request) -> dict[str, Any]:
    """Laravel's input(): a JSON object body, or a form body; anything else reads as no input."""
    raw = await request.body()
    if not raw:
        return {}
    ctype = request.headers.get("content-type", "")
    try:
        if "json" in ctype:
            value = json.loads(raw)
            return value if isinstance(value, dict) else {}
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (ValueError, UnicodeDecodeError):
        return {}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat() if isinstance(v, date) else v)
        for k, v in row.items()
    }


DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$")


def _from_json(change: dict[str, Any]) -> dict[str, Any]:
    """Admin-API values: "YYYY-MM-DD[ HH:MM[:SS]]" strings in date columns become dates/datetimes."""
    out: dict[str, Any] = {}
    for key, value in change.items():
        if isinstance(value, str) and DATE_RE.match(value) and (key.startswith("date") or key.endswith("_at")):
            out[key] = datetime.fromisoformat(value) if " " in value else date.fromisoformat(value)
        else:
            out[key] = value
    return out


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
        public = NO_AUTH.match(path) is not None  # webform + Hoomdossier routes: throttle only, no auth:api
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
        if user_id is None and not public:
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

    @app.post("/api/webform/external/{api_key}")
    async def webform(api_key: str, request: Request) -> Response:
        fields: dict[str, Any] = dict(request.query_params)
        fields.update(await _body_fields(request))
        outcome = await run_in_threadpool(run_webform, sb, api_key, fields)
        return _json(outcome.body if outcome.body is not None else outcome.logs, outcome.status)

    @app.post("/api/{api_key}/hoomdossier/{endpoint}")
    async def hoomdossier(api_key: str, endpoint: str, request: Request) -> Response:
        if endpoint not in ENDPOINTS:
            return _json({"message": f"The route api/{api_key}/hoomdossier/{endpoint} could not be found."}, 404)
        raw = await request.body()
        status, logs = await run_in_threadpool(run_hoom_endpoint, sb, api_key, endpoint, raw)
        return _json(logs, status)

    def _answer(answer: spa.Answer) -> Response:
        if isinstance(answer.body, str):
            return Response(answer.body, status_code=answer.status, media_type=answer.content_type)
        return _json(answer.body, answer.status)

    @app.post("/api/quotation-request")
    async def create_quotation_request(request: Request) -> Response:
        user = sb.user_for(request.headers.get("authorization")) or 0
        body = await _body_fields(request)
        return _answer(await run_in_threadpool(spa.create_quotation_request, sb, body, user))

    @app.post("/api/quotation-request/{qid}")
    async def update_quotation_request(qid: int, request: Request) -> Response:
        user = sb.user_for(request.headers.get("authorization")) or 0
        body = await _body_fields(request)
        return _answer(await run_in_threadpool(spa.update_quotation_request, sb, qid, body, user))

    @app.post("/api/housing-file/{housing_file_id}/campaign/{campaign_id}/create-opportunities")
    async def create_opportunities(housing_file_id: int, campaign_id: int, request: Request) -> Response:
        user = sb.user_for(request.headers.get("authorization")) or 0
        body = await _body_fields(request)
        ids = [int(i) for i in body.get("ids", [])]
        return _answer(
            await run_in_threadpool(spa.create_opportunities_from_specs, sb, housing_file_id, campaign_id, ids, user)
        )

    @app.get("/api/contact/{contact_id}/make-hoomdossier")
    async def make_hoomdossier(contact_id: int, request: Request) -> Response:
        user = sb.user_for(request.headers.get("authorization")) or 0
        return _answer(await run_in_threadpool(spa.make_hoomdossier, sb, contact_id, user))

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

    @app.post(f"{ADMIN}/edit")
    async def edit(request: Request) -> Response:
        """A coordinator edits a record in the UI (Eloquent: observers + revisions), or — with "raw": true —
        someone changes it outside Eloquent (no revision: only a reconcile can see it)."""
        body = await request.json()
        return _json(sb.edit(body["table"], int(body["id"]), body.get("change", {}), raw=bool(body.get("raw"))))

    @app.post(f"{ADMIN}/scenario/coordinators-edit")
    async def coordinators_edit(request: Request) -> Response:
        """Coordinators edit a random `fraction` of residents in the UI: per resident a name change (Person →
        Contact.full_name), its intake's status, and its first visit planned (status engine → kans)."""
        body = await request.json()
        return _json(
            await run_in_threadpool(sb.coordinators_edit, float(body.get("fraction", 0.01)), int(body.get("seed", 1)))
        )

    @app.post(f"{ADMIN}/delete")
    async def delete(request: Request) -> Response:
        body = await request.json()
        with sb.write_lock:
            sb.db.acting_user = int(body.get("user_id", 1))
            sb.db.soft_delete(body["table"], int(body["id"]))
        return _json({"ok": True})

    @app.get(f"{ADMIN}/records/{{table}}")
    async def records(table: str, request: Request) -> Response:
        if table not in sb.db.tables:
            return _json({"message": f"unknown table {table}"}, 404)
        where = dict(request.query_params)
        rows = [
            r
            for r in sb.db.tables[table].values()
            if all(str(r.get(k)) == v for k, v in where.items() if k != "with_deleted")
            and (where.get("with_deleted") or r.get("deleted_at") is None)
        ]
        return _json([_plain(r) for r in rows])

    @app.post(f"{ADMIN}/cooperation")
    async def cooperation(request: Request) -> Response:
        body = await request.json()
        coop = sb.cooperation
        for key in ("hoom_link", "hoom_connect_coach_link", "hoom_key"):
            if key in body:
                setattr(coop, key, body[key])
        if "hoom_campaigns" in body:
            coop.hoom_campaigns = [(int(c["campaign_id"]), c.get("measure_id")) for c in body["hoom_campaigns"]]
        return _json(coop.describe())

    @app.post(f"{ADMIN}/webforms")
    async def add_webform(request: Request) -> Response:
        body = await request.json()
        with sb.write_lock:
            row = webform_row(
                body.get("name", "Extra webformulier"),
                body["api_key"],
                sb.clock.now(),
                max_per_minute=int(body.get("max_requests_per_minute", 60)),
                date_start=date.fromisoformat(body["date_start"]) if body.get("date_start") else None,
                date_end=date.fromisoformat(body["date_end"]) if body.get("date_end") else None,
                responsible_user_id=body.get("responsible_user_id", 1),
            )
            wid = sb.db.insert("webforms", row)
        return _json({"id": wid})

    @app.post(f"{ADMIN}/throttle/reset")
    async def throttle_reset() -> Response:
        sb.throttle.reset()
        sb.login_throttle.reset()
        return JSONResponse({"ok": True})

    return FaultMiddleware(app, sb.faults, ADMIN)
