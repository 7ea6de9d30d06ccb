"""A runnable sandbox Hoomdossier: the inbound API v1 on per-cooperation hosts, the outbound job queue to
Econobis and an admin API for scenarios (contracts/hoomdossier.md §1, §2, §5).

Inbound, as Laravel 12 + Sanctum do it (§1.3, §1.8):
- routes `GET /api/v1` (and `/api/v1/`), `POST /api/v1/register`, `POST /api/v1/building-coach-status`; an
  unknown path is a 404 and a wrong method a 405 BEFORE any middleware (not throttled);
- the cooperation comes from the header `X-Cooperation-Slug` when present (even empty), else from the Host
  `{slug}.{domain}`. On loopback there are no subdomains, so clients send the header; the sandbox then accepts
  any Host (real Hoomdossier still needs a `*.{domain}` Host for the route to match at all). A Host that is not
  `*.{domain}` without the header → 404 "The route … could not be found.";
- middleware order: throttle (60/min per caller IP → 429 `{"message":"Too Many Attempts."}` with Retry-After
  and X-RateLimit-*) → cooperation lookup (404 `No query results for model [App\\Models\\Cooperation].`, also
  without a token) → `auth:sanctum` (401 `{"error":"Unauthenticated."}` for JSON clients, else a 302 to the
  site) → `access:{slug}`/`*` ability (403 `Unauthorized for current cooperation.`) → validation (422 flat map,
  always JSON);
- input = query + body (JSON, or form with PHP brackets), trimmed, empty strings → null, recursively;
- JSON bodies are encoded like PHP's json_encode (`\\/`, `\\uXXXX`).

Fault injection (`/__sandbox/faults`) applies to the partner API, never to the admin routes."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.types import ASGIApp

from connectors.hoomdossier.sandbox.api import COOPERATION_NOT_FOUND
from connectors.hoomdossier.sandbox.dossier import ScenarioError
from connectors.hoomdossier.sandbox.installation import CooperationConfig, HoomdossierSandbox
from connectors.hoomdossier.sandbox.jobs import Attempt
from hub.sandbox.admin import Responder, add_fault_routes, json_response
from hub.sandbox.runtime import FaultMiddleware

__all__ = ["ADMIN", "CooperationConfig", "HoomdossierSandbox", "create_app"]

ADMIN = "/__sandbox"
ROUTES = {
    "api/v1": ("GET", "index"),
    "api/v1/register": ("POST", "register"),
    "api/v1/building-coach-status": ("POST", "coach"),
}
# every answer, the admin API's included, is encoded as Hoomdossier's json_encode() does
_json: Responder = partial(json_response, php_encoding=True)


def _wants_json(request: Request) -> bool:
    """Laravel's expectsJson(): an Accept with /json or +json, or an XHR."""
    accept = request.headers.get("accept", "")
    return "/json" in accept or "+json" in accept or request.headers.get("x-requested-with") == "XMLHttpRequest"


def _html(status: int, title: str, headers: dict[str, str] | None = None) -> Response:
    page = f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{status} | {title}</h1></body></html>"
    return Response(page, status_code=status, media_type="text/html", headers=headers)


def _php_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP's parse_str: `extra[contact_id]=5&roles[]=coach` → {"extra": {"contact_id": "5"}, "roles": ["coach"]}."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        match = re.match(r"^([^\[\]]+)((?:\[[^\]]*\])*)$", key)
        parts = [match.group(1), *re.findall(r"\[([^\]]*)\]", match.group(2))] if match else [key]
        node = out
        for i, part in enumerate(parts):
            if part == "":
                part = str(max((int(k) for k in node if k.isdigit()), default=-1) + 1)
            if i == len(parts) - 1:
                node[part] = value
            else:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
    return _lists(out)


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        value = {k: _lists(v) for k, v in value.items()}
        if value and list(value) == [str(i) for i in range(len(value))]:
            return list(value.values())
    return value


async def _input(request: Request) -> dict[str, Any]:
    """`$request->all()`: body input plus query parameters (the body wins)."""
    body: dict[str, Any] = {}
    raw = await request.body()
    ctype = request.headers.get("content-type", "")
    if raw and ("/json" in ctype or "+json" in ctype):
        try:
            parsed = json.loads(raw)
            body = parsed if isinstance(parsed, dict) else {}
        except ValueError:
            body = {}
    elif raw and "application/x-www-form-urlencoded" in ctype:
        body = _php_form(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    query = _php_form(parse_qsl(request.url.query, keep_blank_values=True))
    return {**query, **body}


def _slug(sb: HoomdossierSandbox, request: Request) -> str | None:
    if "x-cooperation-slug" in request.headers:
        return request.headers["x-cooperation-slug"]
    host = request.headers.get("host", "").split(":")[0].lower()
    suffix = "." + sb.domain
    if host.endswith(suffix) and "." not in host[: -len(suffix)] and host[: -len(suffix)]:
        return host[: -len(suffix)]
    return None


def create_app(sb: HoomdossierSandbox) -> ASGIApp:
    """The sandbox as an ASGI app, wrapped in fault injection (admin routes are exempt)."""
    app = FastAPI(title="Hoomdossier sandbox", docs_url=None, redoc_url=None, openapi_url=None)

    @app.api_route("/api/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    async def api(path: str, request: Request) -> Response:
        sb.requests_served += 1
        route_path = ("api/" + path).rstrip("/")
        slug = _slug(sb, request)
        route = ROUTES.get(route_path)
        if route is None or slug is None:
            return _json({"message": f"The route {route_path} could not be found."}, 404)
        method = "GET" if request.method == "HEAD" else request.method
        if method != route[0]:
            allowed = "GET, HEAD" if route[0] == "GET" else "POST"
            return _json(
                {
                    "message": f"The {request.method} method is not supported for route {route_path}. "
                    f"Supported methods: {allowed}."
                },
                405,
            )
        wants_json = _wants_json(request)
        ip = request.client.host if request.client else "unknown"
        allowed_hit, remaining, retry_after = sb.throttle.hit(f"ip:{ip}")
        limit = {"X-RateLimit-Limit": str(sb.throttle.limit), "X-RateLimit-Remaining": str(remaining)}
        if not allowed_hit:
            headers = {
                **limit,
                "Retry-After": str(retry_after),
                "X-RateLimit-Reset": str(int(time.time()) + retry_after),
            }
            if wants_json:
                return _json({"message": "Too Many Attempts."}, 429, headers)
            return _html(429, "Too Many Requests", headers)
        if sb.state.cooperation_by_slug(slug) is None:
            return _json(COOPERATION_NOT_FOUND, 404, limit) if wants_json else _html(404, "Not Found", limit)
        abilities = sb.abilities_for(request.headers.get("authorization"))
        if abilities is None:
            if wants_json:
                return _json({"error": "Unauthenticated."}, 401, limit)
            return Response(
                status_code=302,
                headers={**limit, "Location": f"{request.url.scheme}://{request.headers.get('host', '')}/"},
            )
        if "*" not in abilities and f"access:{slug}" not in abilities:
            body = {"message": "Unauthorized for current cooperation."}
            return _json(body, 403, limit) if wants_json else _html(403, "Unauthorized for current cooperation.", limit)
        if route[1] == "index":
            return _json([], 200, limit)
        data = await _input(request)
        handler = sb.register if route[1] == "register" else sb.link_coach
        status, body = await run_in_threadpool(handler, slug, data)
        return _json(body, status, limit)

    # --- admin API for tests and demos (not part of Hoomdossier) ----------------------------------------------

    async def _scenario(request: Request, action: Any, *keys: str, **optional: Any) -> Response:
        body = await request.json()
        try:
            args = [body[k] for k in keys]
        except KeyError as exc:
            return _json({"message": f"missing field {exc.args[0]}"}, 400)
        kwargs = {k: body.get(k, default) for k, default in optional.items() if k in body or default is not None}
        try:
            queued = await run_in_threadpool(action, *args, **kwargs)
        except ScenarioError as exc:
            return _json({"message": str(exc)}, exc.status)
        return _json({"queued": queued})

    @app.post(f"{ADMIN}/scenario/appointment")
    async def scenario_appointment(request: Request) -> Response:
        return await _scenario(request, sb.set_appointment, "slug", "contact_id", "appointment_date")

    @app.post(f"{ADMIN}/scenario/status")
    async def scenario_status(request: Request) -> Response:
        return await _scenario(request, sb.set_status, "slug", "contact_id", "status")

    @app.post(f"{ADMIN}/scenario/scan-progress")
    async def scenario_scan(request: Request) -> Response:
        return await _scenario(request, sb.complete_sub_step, "slug", "contact_id", "scan", sub_step=None)

    @app.post(f"{ADMIN}/scenario/answers")
    async def scenario_answers(request: Request) -> Response:
        return await _scenario(request, sb.set_answers, "slug", "contact_id", "answers")

    @app.post(f"{ADMIN}/scenario/woonplan")
    async def scenario_woonplan(request: Request) -> Response:
        return await _scenario(request, sb.set_woonplan, "slug", "contact_id", "advices", comments=None)

    @app.post(f"{ADMIN}/scenario/pdf")
    async def scenario_pdf(request: Request) -> Response:
        body = await request.json()
        contents = body.get("contents")
        try:
            queued = await run_in_threadpool(
                sb.upload_pdf,
                body["slug"],
                body["contact_id"],
                contents.encode() if isinstance(contents, str) else None,
                bool(body.get("missing_on_disk", False)),
            )
        except ScenarioError as exc:
            return _json({"message": str(exc)}, exc.status)
        except KeyError as exc:
            return _json({"message": f"missing field {exc.args[0]}"}, 400)
        return _json({"queued": queued})

    @app.post(f"{ADMIN}/scenario/delete-user")
    async def scenario_delete(request: Request) -> Response:
        return await _scenario(request, sb.delete_user, "slug", contact_id=None, user_id=None)

    @app.post(f"{ADMIN}/scenario/revoke-access")
    async def scenario_revoke(request: Request) -> Response:
        return await _scenario(request, sb.revoke_access, "slug", "contact_id")

    @app.post(f"{ADMIN}/scenario/allow-access")
    async def scenario_allow(request: Request) -> Response:
        return await _scenario(request, sb.allow_access, "slug", "contact_id")

    @app.post(f"{ADMIN}/scenario/remove-coach")
    async def scenario_remove_coach(request: Request) -> Response:
        return await _scenario(request, sb.remove_coach, "slug", "coach_contact_id", "resident_contact_id")

    @app.post(f"{ADMIN}/scenario/reset")
    async def scenario_reset(request: Request) -> Response:
        return await _scenario(request, sb.reset_building, "slug", "contact_id")

    @app.post(f"{ADMIN}/users")
    async def create_user(request: Request) -> Response:
        body = dict(await request.json())
        try:
            slug, email = body.pop("slug"), body.pop("email")
            return _json(await run_in_threadpool(lambda: sb.create_user(slug, email, **body)), 201)
        except ScenarioError as exc:
            return _json({"message": str(exc)}, exc.status)
        except (KeyError, TypeError) as exc:
            return _json({"message": f"bad request: {exc}"}, 400)

    @app.get(f"{ADMIN}/users")
    async def get_user(request: Request) -> Response:
        q = request.query_params
        try:
            return _json(sb.describe_user(q.get("slug", ""), q.get("contact_id"), q.get("user_id"), q.get("email")))
        except ScenarioError as exc:
            return _json({"message": str(exc)}, exc.status)

    @app.post(f"{ADMIN}/clock")
    async def clock(request: Request) -> Response:
        body = await request.json()
        if "set" in body:
            attempts = await run_in_threadpool(sb.set_time, datetime.fromisoformat(str(body["set"])))
        else:
            attempts = await run_in_threadpool(sb.advance, float(body.get("advance_seconds", 0)))
        return _json({"now": sb.clock.now().isoformat(sep=" "), "attempts": [a.as_dict() for a in attempts]})

    @app.post(f"{ADMIN}/jobs/run")
    async def run_jobs() -> Response:
        def work() -> tuple[list[dict[str, Any]], list[Attempt]]:
            return sb.run_scheduler(), sb.run_due_jobs()

        dispatched, attempts = await run_in_threadpool(work)
        now = sb.clock.now().isoformat(sep=" ")
        return _json({"now": now, "dispatched": dispatched, "attempts": [a.as_dict() for a in attempts]})

    @app.get(f"{ADMIN}/jobs")
    async def jobs() -> Response:
        return _json(sb.queued_jobs())

    @app.get(f"{ADMIN}/outbound")
    async def outbound_log(request: Request) -> Response:
        outcome = request.query_params.get("outcome")
        endpoint = request.query_params.get("endpoint")
        rows = [
            r.as_dict()
            for r in list(sb.outbound_log)
            if (outcome is None or r.outcome == outcome) and (endpoint is None or r.endpoint == endpoint)
        ]
        return _json(rows)

    @app.get(f"{ADMIN}/state")
    async def state() -> Response:
        with sb.state.lock:
            cooperations = [sb.describe_cooperation(c) for c in sb.state.cooperations.values()]
        return _json(
            {
                "now": sb.clock.now().isoformat(sep=" "),
                "domain": sb.domain,
                "counts": sb.state.counts(),
                "queued_jobs": len(sb.jobs),
                "outbound_attempts": len(sb.outbound_log),
                "requests_served": sb.requests_served,
                "cooperations": cooperations,
                "faults": sb.faults.describe(),
            }
        )

    add_fault_routes(app, sb.faults, ADMIN, _json)

    @app.post(f"{ADMIN}/cooperation")
    async def cooperation(request: Request) -> Response:
        body = dict(await request.json())
        try:
            return _json(sb.set_cooperation(body.pop("slug", ""), **body))
        except ScenarioError as exc:
            return _json({"message": str(exc)}, exc.status)

    @app.post(f"{ADMIN}/throttle/reset")
    async def throttle_reset() -> Response:
        sb.throttle.reset()
        return _json({"ok": True})

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
    async def not_found(path: str) -> Response:
        return _json({"message": f"The route {path} could not be found."}, 404)

    return FaultMiddleware(app, sb.faults, ADMIN)
