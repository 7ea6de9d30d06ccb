"""The HTTP face of a sandbox Econobis: password-grant login, Laravel's 60/min throttle and auth, the SPA grids,
details and writes, `/api/system-data`, `/client-version`, the webform and Hoomdossier endpoints.

Faithful to contracts/econobis.md §1 and §5.2: same paths, `{data, meta}` grids with limit/offset/filters/
sorts, 401 `{"message":"Unauthenticated."}`, 429 with Retry-After, day-long tokens on the sandbox clock."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.types import ASGIApp

from connectors.econobis.sandbox import serializers, spa
from connectors.econobis.sandbox.admin_api import ADMIN, add_admin_routes
from connectors.econobis.sandbox.areas import area_details, search_areas
from connectors.econobis.sandbox.grid import GRIDS, GridError, run_grid
from connectors.econobis.sandbox.hoom_inbound import ENDPOINTS, run_hoom_endpoint
from connectors.econobis.sandbox.instance import EconobisSandbox
from connectors.econobis.sandbox.webform import run_webform
from hub.sandbox.admin import json_response
from hub.sandbox.runtime import FaultMiddleware

__all__ = ["ECONOBIS_VERSION", "EconobisSandbox", "create_app"]

ECONOBIS_VERSION = "5.4.1.2"
NO_AUTH = re.compile(r"^/api/(webform/external/[^/]+|[^/]+/hoomdossier/[^/]+)$")


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
            return json_response(
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
            return json_response(UNAUTHENTICATED, 401, limit_headers)
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
            return json_response(LOGIN_FAILED, 401)
        username = str(form.get("username", "")).lower()
        ip = request.client.host if request.client else "unknown"
        if sb.login_blocked_until.get(username, datetime.min) > sb.clock.now():
            return json_response(LOGIN_FAILED, 401)
        allowed, _, _ = sb.login_throttle.hit(f"{username}|{ip}")
        if not allowed:
            return json_response(LOGIN_FAILED, 401)
        if str(form.get("client_id")) != sb.client_id or form.get("client_secret") != sb.client_secret:
            return json_response(LOGIN_FAILED, 401)
        grant = form.get("grant_type")
        if grant == "password":
            user = sb.users.get(str(form.get("username", "")))
            if user is None or user.password != form.get("password"):
                sb.register_failed_login(username)
                return json_response(LOGIN_FAILED, 401)
            sb.failed_logins.pop(username, None)
            return json_response(sb.issue_token(user.id))
        if grant == "refresh_token":
            entry = sb.refresh_tokens.pop(str(form.get("refresh_token", "")), None)
            if entry is None or entry[1] <= sb.clock.now():
                return json_response(LOGIN_FAILED, 401)
            return json_response(sb.issue_token(entry[0]))
        return json_response(LOGIN_FAILED, 401)

    @app.get("/client-version")
    async def client_version() -> Response:
        return json_response(serializers.client_version(ECONOBIS_VERSION))

    @app.get("/frontend-config")
    async def frontend_config() -> Response:
        # Econobis publishes the SPA's OAuth client here (a real quirk; the hub does not rely on it).
        return json_response({"client_id": sb.client_id, "client_key": sb.client_secret, "url_api": "/api"})

    @app.get("/api/system-data")
    async def system_data() -> Response:
        return json_response(serializers.system_data(sb.lookups))

    @app.get("/api/shared-area/search")
    async def shared_area_search(request: Request) -> Response:
        # SharedAreaController@searchArea over the econobis_shared database: every word of searchTerm in the
        # buurt's, wijk's or gemeente's name; a JsonResource collection (SharedAreaSearch)
        return json_response({"data": search_areas(request.query_params.get("searchTerm", ""))})

    @app.post("/api/shared-area/shared-area-details")
    async def shared_area_details(request: Request) -> Response:
        body = await _body_fields(request)
        return json_response(area_details(sb.tenant, body.get("postalCode"), body.get("number")))

    @app.post("/api/webform/external/{api_key}")
    async def webform(api_key: str, request: Request) -> Response:
        fields: dict[str, Any] = dict(request.query_params)
        fields.update(await _body_fields(request))
        outcome = await run_in_threadpool(run_webform, sb, api_key, fields)
        return json_response(outcome.body if outcome.body is not None else outcome.logs, outcome.status)

    @app.post("/api/{api_key}/hoomdossier/{endpoint}")
    async def hoomdossier(api_key: str, endpoint: str, request: Request) -> Response:
        if endpoint not in ENDPOINTS:
            return json_response(
                {"message": f"The route api/{api_key}/hoomdossier/{endpoint} could not be found."}, 404
            )
        raw = await request.body()
        status, logs = await run_in_threadpool(run_hoom_endpoint, sb, api_key, endpoint, raw)
        return json_response(logs, status)

    def _answer(answer: spa.Answer) -> Response:
        if isinstance(answer.body, str):
            return Response(answer.body, status_code=answer.status, media_type=answer.content_type)
        return json_response(answer.body, answer.status)

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
        spec = GRIDS.get(entity)
        if spec is None:
            return json_response({"message": f"The route api/{entity}/grid could not be found."}, 404)
        try:
            rng = random.Random(sb.requests_served) if sb.unstable_ties else None
            body = run_grid(sb.db, sb.lookups, spec, dict(request.query_params), rng)
        except GridError:
            return json_response({"message": "Server Error"}, 500)  # uncaught Request*Exception in Econobis
        return json_response(body)

    @app.get("/api/{entity}/{record_id}")
    async def detail(entity: str, record_id: str) -> Response:
        table = serializers.DETAIL_TABLES.get(entity)
        if table is None or not record_id.isdigit():
            return json_response({"message": f"The route api/{entity}/{record_id} could not be found."}, 404)
        row = sb.db.get(table, int(record_id))
        if row is None or row.get("deleted_at") is not None:
            model = {
                "contacts": "Contact\\Contact",
                "intakes": "Intake\\Intake",
                "opportunities": "Opportunity\\Opportunity",
                "quotation_requests": "QuotationRequest\\QuotationRequest",
                "housing_files": "HousingFile\\HousingFile",
            }[table]
            return json_response({"message": f"No query results for model [App\\Eco\\{model}] {record_id}"}, 404)
        return json_response({"data": serializers.detail(entity, row, sb.db, sb.lookups)})

    add_admin_routes(app, sb)
    return FaultMiddleware(app, sb.faults, ADMIN)
