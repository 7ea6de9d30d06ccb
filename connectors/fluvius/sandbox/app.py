"""The sandbox portal over HTTP: the OAuth2 token endpoint, the routes of notes/premiums-design.md under
`/premies/v1`, and an admin API under `/__sandbox` (not part of the modelled API).

Checks run in the order a gateway runs them: token (401) → the client's rate limit (429 + Retry-After) →
scope (403) → regeling (403) → body shape (400) → the aanvraag exists and is the client's (404) → mandate
(403) → status (409) → business rules (422). Due transitions are applied before every API request, and the
webhooks that fell due are sent after every API request, in the request's own thread. Idempotency keys remember a
2xx answer only (a refusal may be retried with the same key once the cause is fixed)."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.types import ASGIApp

from connectors.fluvius.sandbox.problems import PROBLEM_JSON, Problem, fault_body, invalid, problem_body
from connectors.fluvius.sandbox.state import PortalSandbox, TokenError, fingerprint
from connectors.fluvius.settings import API, SCOPE_APPLY, SCOPE_READ, TOKEN_PATH
from hub.sandbox.admin import add_fault_routes, json_response
from hub.sandbox.runtime import FaultMiddleware

ADMIN = "/__sandbox"
# base64 makes a document 4/3 larger; a body this much larger than that is refused unread
BODY_SLACK = 64 * 1024


def _problem(exc: Problem, request: Request) -> Response:
    body = json.dumps(exc.body(request.url.path), ensure_ascii=False)
    return Response(body, status_code=exc.status, media_type=PROBLEM_JSON, headers=exc.headers)


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid([{"name": "body", "reason": "geen geldige JSON"}]) from None


def create_app(sb: PortalSandbox) -> ASGIApp:
    """The sandbox as an ASGI app, wrapped in fault injection (admin routes exempt)."""
    app = FastAPI(title="Premium portal sandbox [MOD]", docs_url=None, redoc_url=None, openapi_url=None)
    faults = sb.faults

    def api(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        @functools.wraps(handler)  # FastAPI reads the path parameters from the handler's signature
        async def run(request: Request, **path: Any) -> Response:
            sb.requests_served += 1
            try:
                await run_in_threadpool(sb.process_due)
                answer = await handler(request, **path)
            except Problem as exc:
                answer = _problem(exc, request)
            if sb.webhooks.due():
                await run_in_threadpool(sb.webhooks.flush)
            return answer

        return run

    async def idempotent(
        request: Request,
        client_id: str,
        body: Any,
        required: bool,
        work: Callable[[], tuple[int, dict[str, Any]]],
    ) -> Response:
        key = request.headers.get("idempotency-key")
        if required and not key:
            raise Problem(400, "IDEMPOTENCY_KEY_ONTBREEKT", "Dit verzoek vraagt een Idempotency-Key.")
        print_ = fingerprint(request.method, request.url.path, body)
        replayed, status, answer = await run_in_threadpool(sb.idempotent, client_id, key, print_, work)
        return json_response(answer, status, {"Idempotent-Replayed": "true"} if replayed else None)

    # --- OAuth2 --------------------------------------------------------------------------------------------

    @app.post(TOKEN_PATH)
    async def token(request: Request) -> Response:
        sb.requests_served += 1
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            err = TokenError(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
            return json_response(err.body(), err.status, headers)
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        try:
            body = sb.token(request.headers.get("authorization"), form)
        except TokenError as err:
            if err.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="premies"'
            return json_response(err.body(), err.status, headers)
        return json_response(body, 200, headers)

    # --- the API -------------------------------------------------------------------------------------------

    @app.post(f"{API}/aanvragen")
    @api
    async def create(request: Request) -> Response:
        client = sb.authenticate(request.headers.get("authorization"), SCOPE_APPLY)
        body = await _json(request)
        return await idempotent(request, client.client_id, body, True, lambda: (201, sb.create(client, body)))

    @app.get(f"{API}/aanvragen")
    @api
    async def poll(request: Request) -> Response:
        client = sb.authenticate(request.headers.get("authorization"), SCOPE_READ)
        q = request.query_params
        answer = await run_in_threadpool(
            sb.poll,
            client,
            q.get("updated_since"),
            q.get("status"),
            q.get("referentie"),
            q.get("cursor"),
            q.get("limit"),
        )
        return json_response(answer)

    @app.get(API + "/aanvragen/{aid}")
    @api
    async def read(request: Request, aid: str) -> Response:
        client = sb.authenticate(request.headers.get("authorization"), SCOPE_READ)
        return json_response(await run_in_threadpool(sb.read, client, aid))

    @app.patch(API + "/aanvragen/{aid}")
    @api
    async def patch(request: Request, aid: str) -> Response:
        client = sb.authenticate(request.headers.get("authorization"), SCOPE_APPLY)
        body = await _json(request)
        return json_response(await run_in_threadpool(sb.patch, client, aid, body))

    @app.post(API + "/aanvragen/{aid}/documenten")
    @api
    async def upload(request: Request, aid: str) -> Response:
        client = sb.authenticate(request.headers.get("authorization"), SCOPE_APPLY)
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > sb.max_document_bytes * 4 // 3 + BODY_SLACK:
            raise Problem(413, "DOCUMENT_TE_GROOT", f"Een document is hoogstens {sb.max_document_bytes} bytes.")
        body = await _json(request)
        return await idempotent(request, client.client_id, body, False, lambda: sb.upload(client, aid, body))

    @app.post(API + "/aanvragen/{aid}/indienen")
    @api
    async def submit(request: Request, aid: str) -> Response:
        client = sb.authenticate(request.headers.get("authorization"), SCOPE_APPLY)
        body = await _json(request)
        return await idempotent(request, client.client_id, body, False, lambda: (200, sb.submit(client, aid)))

    @app.get(API + "/aanvragen/{aid}/historiek")
    @api
    async def historiek(request: Request, aid: str) -> Response:
        client = sb.authenticate(request.headers.get("authorization"), SCOPE_READ)
        return json_response(await run_in_threadpool(sb.historiek, client, aid))

    async def appeal(request: Request, aid: str, route: str) -> Response:
        client = sb.authenticate(request.headers.get("authorization"), SCOPE_APPLY)
        body = await _json(request)
        return json_response(await run_in_threadpool(sb.appeal, client, aid, route, body))

    @app.post(API + "/aanvragen/{aid}/beroep")
    @api
    async def beroep(request: Request, aid: str) -> Response:
        return await appeal(request, aid, "beroep")

    @app.post(API + "/aanvragen/{aid}/bezwaar")
    @api
    async def bezwaar(request: Request, aid: str) -> Response:
        return await appeal(request, aid, "bezwaar")

    @app.post(API + "/aanvragen/{aid}/intrekken")
    @api
    async def withdraw(request: Request, aid: str) -> Response:
        client = sb.authenticate(request.headers.get("authorization"), SCOPE_APPLY)
        return json_response(await run_in_threadpool(sb.withdraw, client, aid))

    @app.post(f"{API}/simulatie")
    @api
    async def simulate(request: Request) -> Response:
        client = sb.authenticate(request.headers.get("authorization"), SCOPE_READ)
        body = await _json(request)
        return json_response(await run_in_threadpool(sb.simulate, client, body))

    # --- admin API (not part of the modelled API) ----------------------------------------------------------

    def admin_error(status: int, message: str) -> Response:
        return json_response({"message": message}, status)

    async def admin_body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    @app.post(f"{ADMIN}/clients")
    async def add_client(request: Request) -> Response:
        try:
            body = await admin_body(request)
            client = sb.register_client(
                str(body["client_id"]),
                str(body["client_secret"]),
                str(body["regeling"]),
                str(body.get("organisatie") or ""),
                body.get("scopes"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            return admin_error(400, f"bad client: {exc!r}")
        return json_response({"client_id": client.client_id, "regeling": client.regeling}, 201)

    @app.get(f"{ADMIN}/clients")
    async def list_clients() -> Response:
        return json_response(
            [
                {"client_id": c.client_id, "regeling": c.regeling, "organisatie": c.organisatie}
                for c in sb.clients.values()
            ]
        )

    @app.post(f"{ADMIN}/mandaten")
    async def add_mandaat(request: Request) -> Response:
        try:
            body = await admin_body(request)
            person = body.get("insz") or body.get("bsn")
            if not person:
                raise ValueError("give insz (MVP) or bsn (ISDE)")
            mandaat = sb.put_mandaat(
                str(body["client_id"]),
                str(person),
                bool(body.get("energielening_actief", False)),
                bool(body.get("ingetrokken", False)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            return admin_error(400, f"bad mandaat: {exc!r}")
        return json_response(mandaat.as_dict(), 201)

    @app.get(f"{ADMIN}/mandaten")
    async def list_mandaten() -> Response:
        return json_response([m.as_dict() for m in sb.mandaten.values()])

    @app.post(f"{ADMIN}/historie")
    async def add_historie(request: Request) -> Response:
        try:
            entry = sb.add_history(await admin_body(request))
        except (KeyError, ValueError, TypeError) as exc:
            return admin_error(400, f"bad historie: {exc!r}")
        return json_response({**entry.__dict__, "datum": entry.datum.isoformat()}, 201)

    @app.get(f"{ADMIN}/clock")
    async def get_clock() -> Response:
        return json_response({"now": sb.now().isoformat()})

    @app.post(f"{ADMIN}/clock")
    async def move_clock(request: Request) -> Response:
        """`{"set": iso}` and/or `{"advance_days": n, "advance_seconds": s}`; then the due transitions run and
        the due webhooks go out."""
        try:
            body = await admin_body(request)
            when = datetime.fromisoformat(str(body["set"])) if "set" in body else None
            days, seconds = float(body.get("advance_days", 0)), float(body.get("advance_seconds", 0))
        except (ValueError, TypeError) as exc:
            return admin_error(400, f"bad clock: {exc!r}")
        moved = 0
        if when is not None:
            moved = (await run_in_threadpool(sb.set_clock, when))["transitions"]
        answer = await run_in_threadpool(sb.advance, days, seconds)
        answer["transitions"] += moved
        return json_response(answer)

    @app.post(f"{ADMIN}/webhooks")
    async def add_webhook(request: Request) -> Response:
        try:
            body = await admin_body(request)
            if str(body["client_id"]) not in sb.clients:
                raise ValueError(f"unknown client {body['client_id']!r}")
            endpoint = sb.webhooks.register(str(body["client_id"]), str(body["url"]), str(body["secret"]))
        except Exception as exc:
            return admin_error(400, f"bad webhook: {exc!r}")
        return json_response({"client_id": endpoint.client_id, "url": endpoint.url}, 201)

    @app.get(f"{ADMIN}/webhooks")
    async def webhooks() -> Response:
        return json_response(sb.webhooks.describe())

    @app.post(f"{ADMIN}/webhooks/flush")
    async def flush() -> Response:
        return json_response({"webhook_posts": await run_in_threadpool(sb.webhooks.flush)})

    @app.post(f"{ADMIN}/webhook-faults")
    async def webhook_faults(request: Request) -> Response:
        try:
            return json_response(sb.webhooks.set_faults(await admin_body(request)).as_dict())
        except (ValueError, TypeError) as exc:
            return admin_error(400, f"bad webhook faults: {exc!r}")

    @app.get(f"{ADMIN}/aanvragen")
    async def dump() -> Response:
        return json_response(await run_in_threadpool(sb.dump))

    @app.post(ADMIN + "/aanvragen/{aid}/plan")
    async def plan(request: Request, aid: str) -> Response:
        try:
            return json_response(sb.set_plan(aid, await admin_body(request)))
        except KeyError:
            return admin_error(404, "no such aanvraag")
        except (ValueError, TypeError) as exc:
            return admin_error(400, f"bad plan: {exc!r}")

    @app.post(f"{ADMIN}/throttle")
    async def throttle(request: Request) -> Response:
        """`{"per_minute": n}` sets the per-client limit (and resets the counts)."""
        try:
            body = await admin_body(request)
            if "per_minute" in body:
                sb.throttle.limit = int(body["per_minute"])
        except (ValueError, TypeError) as exc:
            return admin_error(400, f"bad throttle: {exc!r}")
        sb.throttle.reset()
        return json_response({"per_minute": sb.throttle.limit})

    @app.post(f"{ADMIN}/reset")
    async def reset() -> Response:
        sb.reset()
        return json_response({"ok": True})

    add_fault_routes(app, faults, ADMIN)

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
    async def not_found(request: Request, path: str) -> Response:
        body = problem_body(404, "ROUTE_ONBEKEND", f"Geen route /{path}.", request.url.path)
        return Response(json.dumps(body), status_code=404, media_type=PROBLEM_JSON)

    return FaultMiddleware(app, faults, ADMIN, error_body=fault_body)
