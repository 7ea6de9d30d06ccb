"""The sandbox EP-Online API v5 over HTTP: a faithful subset of contracts §3.2 / §6.1.

Checks in the service's order: the key (`Authorization`, the key itself with no scheme: missing, wrong or
`Bearer …` → 401 `{"status":401,"title":"Unauthorized","detail":"Valid API key required…"}`) → the key's rate
(429 with `Retry-After`) [MOD: RVO publishes no rate] → the parameters (400 in ASP.NET's validation-problem shape,
`errors` per field) → 404 when nothing is registered (an unknown id of a valid format, an address without a
label). An answer is always a JSON array, even for one registration. `0000000000000000` answers several unrelated
registrations. Redirects are never used. Admin routes under `/__sandbox`."""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.types import ASGIApp

from connectors.ep_online.sandbox.registrations import EpRegister
from connectors.ep_online.settings import API, PER_SECOND
from hub.sandbox.admin import add_fault_routes, json_response
from hub.sandbox.runtime import FaultMiddleware, Faults, SimClock

ADMIN = "/__sandbox"
PROBLEM = "application/problem+json; charset=utf-8"
POSTCODE = re.compile(r"^[1-9][0-9]{3} ?[a-zA-Z]{2}$")
ID16 = re.compile(r"^[0-9]{16}$")
RFC = "https://tools.ietf.org/html/rfc9110#section-15.5."
UNAUTHORIZED = {"status": 401, "title": "Unauthorized", "detail": "Valid API key required in Authorization header."}


class EpError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("title"))
        self.status, self.body, self.headers = status, body, headers or {}


def validation(errors: dict[str, list[str]]) -> EpError:
    return EpError(
        400,
        {"type": RFC + "1", "title": "One or more validation errors occurred.", "status": 400, "errors": errors},
    )


def not_found() -> EpError:
    return EpError(404, {"type": RFC + "5", "title": "Not Found", "status": 404})


@dataclass
class EpSandbox:
    register: EpRegister
    keys: dict[str, str] = field(default_factory=dict)  # key → tenant
    per_second: int = PER_SECOND
    clock: SimClock = field(default_factory=SimClock)
    faults: Faults = field(default_factory=Faults)
    recent: dict[str, deque[float]] = field(default_factory=dict)
    requests_served: int = 0
    request_log: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spend(self, key: str) -> None:
        with self.lock:
            q = self.recent.setdefault(key, deque())
            now = time.monotonic()
            while q and now - q[0] >= 1.0:
                q.popleft()
            if len(q) >= self.per_second:
                raise EpError(
                    429,
                    {"type": RFC + "29", "title": "Too Many Requests", "status": 429},
                    {"Retry-After": "1"},
                )
            q.append(now)


def _address_params(q: dict[str, str]) -> tuple[str, int, str | None, str | None]:
    errors: dict[str, list[str]] = {}
    pc, nr = q.get("postcode"), q.get("huisnummer")
    if not pc:
        errors["postcode"] = ["The postcode field is required."]
    elif not POSTCODE.match(pc):
        errors["postcode"] = ["Postcode moet bestaan uit 4 cijfers en 2 letters."]
    if not nr:
        errors["huisnummer"] = ["The huisnummer field is required."]
    elif not nr.isdigit() or not 1 <= int(nr) <= 99999:
        errors["huisnummer"] = [f"The value '{nr}' is not valid for Huisnummer."]
    letter, toev = q.get("huisletter") or None, q.get("huisnummertoevoeging") or None
    if letter is not None and not re.fullmatch(r"[a-zA-Z]", letter):
        errors["huisletter"] = ["Huisletter moet één letter zijn."]
    if toev is not None and not re.fullmatch(r"[0-9a-zA-Z]{1,4}", toev):
        errors["huisnummertoevoeging"] = ["Huisnummertoevoeging mag maximaal 4 letters of cijfers zijn."]
    if errors:
        raise validation(errors)
    assert pc is not None and nr is not None
    return pc.replace(" ", ""), int(nr), letter, toev


def create_app(sb: EpSandbox) -> ASGIApp:
    app = FastAPI(title="EP-Online API v5 (sandbox)", docs_url=None, redoc_url=None, openapi_url=None)

    def api(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        async def run(request: Request, **path: Any) -> Response:
            sb.requests_served += 1
            sb.request_log.append((request.method, request.url.path, request.url.query))
            try:
                key = request.headers.get("authorization")
                if not key or key not in sb.keys:  # the key as-is: "Bearer <key>" is no key
                    raise EpError(401, dict(UNAUTHORIZED))
                sb.spend(key)
                return await handler(request, **path)
            except EpError as exc:
                return Response(
                    json.dumps(exc.body, ensure_ascii=False), status_code=exc.status, media_type=PROBLEM,
                    headers=exc.headers,
                )  # fmt: skip

        return functools.wraps(handler)(run)

    def array(records: list[dict[str, Any]]) -> Response:
        if not records:
            raise not_found()
        return Response(json.dumps(records, ensure_ascii=False), media_type="application/json; charset=utf-8")

    @app.get(f"{API}/Ping")
    @api
    async def ping(request: Request) -> Response:
        return Response(json.dumps("pong"), media_type="application/json")

    @app.get(f"{API}/PandEnergielabel/Adres")
    @api
    async def by_address(request: Request) -> Response:
        pc, nr, letter, toev = _address_params(dict(request.query_params))
        return array(sb.register.by_address(pc, nr, letter, toev))

    @app.get(f"{API}/PandEnergielabel/AdresseerbaarObject/{{object_id}}")
    @api
    async def by_object(request: Request, object_id: str) -> Response:
        if not ID16.match(object_id):
            raise validation({"adresseerbaarObjectId": [f"The value '{object_id}' is not valid: 16 digits."]})
        return array(sb.register.by_id(object_id))

    @app.get(f"{ADMIN}/cases")
    async def cases() -> Response:
        return json_response(sb.register.cases())

    @app.post(f"{ADMIN}/limits")
    async def limits(request: Request) -> Response:
        body = await request.json()
        sb.per_second = int(body.get("per_second", sb.per_second))
        return json_response({"per_second": sb.per_second})

    @app.post(f"{ADMIN}/registrations")
    async def add(request: Request) -> Response:
        """Register a new label for an object (a re-label after works, as an adviser would)."""
        body = await request.json()
        rec = sb.register.add(str(body["vbo_id"]), str(body["opnamedatum"]), float(body["ep2"]))
        return json_response(rec, status=201)

    @app.get(f"{ADMIN}/stats")
    async def stats() -> Response:
        return json_response({"requests": sb.requests_served})

    add_fault_routes(app, sb.faults, ADMIN)

    def fault(status: int, path: str) -> tuple[dict[str, Any], str]:
        return {"type": RFC + "1", "title": "Server error", "status": status}, PROBLEM

    return FaultMiddleware(app, sb.faults, ADMIN, error_body=fault)
