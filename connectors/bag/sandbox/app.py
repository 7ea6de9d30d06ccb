"""The sandbox BAG API Individuele Bevragingen v2 over HTTP: a faithful subset of contracts §3.3 / §6.2.

Checks in the gateway's order: the key (`X-Api-Key`, 401 `authentication`) → the key's day quota and its 50 calls
a second (429 `tooManyRequests`, with `Kadaster-RateLimit-DayLimit[-Remaining]` and `X-Rate-Limit-*` on every
answer) → `Accept` (406 `notAcceptable`) → `Accept-Crs` where geometry is returned (412 `acceptCrsMissing`, 406
`crsNotAcceptable` for anything but epsg:28992) → the parameters (400 `paramsRequired`, `paramsValidation`,
`unsupportedCombination` with `invalid-params`) → 404 `notFound`. An empty search answers 200 with no
`_embedded` at all (as BAG does), and paging follows HAL (`_links.next`). Admin routes under `/__sandbox`."""

from __future__ import annotations

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

from connectors.bag.sandbox.register import Address, BagRegister
from connectors.bag.settings import API, CRS, DAY_QUOTA, HAL_JSON, PER_SECOND
from hub.sandbox.admin import add_fault_routes, json_response
from hub.sandbox.problems import PROBLEM_JSON, Problem, problem_body
from hub.sandbox.runtime import FaultMiddleware, Faults, SimClock

ADMIN = "/__sandbox"
TITLES = {
    400: "Een of meerdere parameters zijn niet correct.",
    401: "Niet correct geauthenticeerd.",
    403: "U bent niet geautoriseerd voor deze operatie.",
    404: "Opgevraagde resource bestaat niet.",
    406: "Gevraagde contenttype wordt niet ondersteund.",
    412: "Precondition failed",
    429: "Too many requests",
    500: "Interne server fout.",
    503: "Bronservice BAG is tijdelijk niet beschikbaar.",
}
FAULT_CODES = {429: "tooManyRequests", 500: "serverError", 502: "serverError", 503: "sourceUnavailable"}
POSTCODE = re.compile(r"^[1-9][0-9]{3}[a-zA-Z]{2}$")
LETTER = re.compile(r"^[a-zA-Z]$")
ADDITION = re.compile(r"^[0-9a-zA-Z]{1,4}$")
ID16 = re.compile(r"^[0-9]{16}$")


class BagProblem(Problem):
    titles = TITLES


@dataclass
class KeyUsage:
    day: str = ""
    used_today: int = 0
    recent: deque[float] = field(default_factory=deque)


@dataclass
class BagSandbox:
    """The register, the API keys it accepts (key → tenant), quotas per key, faults and a clock for the day."""

    register: BagRegister
    keys: dict[str, str] = field(default_factory=dict)
    day_quota: int = DAY_QUOTA
    per_second: int = PER_SECOND
    clock: SimClock = field(default_factory=SimClock)
    faults: Faults = field(default_factory=Faults)
    usage: dict[str, KeyUsage] = field(default_factory=dict)
    requests_served: int = 0
    request_log: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spend(self, key: str) -> dict[str, str]:
        """Count one call of `key`; the rate headers, or a 429 BagProblem carrying them."""
        with self.lock:
            u = self.usage.setdefault(key, KeyUsage())
            today = self.clock.now().date().isoformat()
            if u.day != today:
                u.day, u.used_today = today, 0
            now = time.monotonic()
            while u.recent and now - u.recent[0] >= 1.0:
                u.recent.popleft()
            reset = max(0, int(1 - (now - u.recent[0]))) if u.recent else 1
            over_day = u.used_today >= self.day_quota
            over_second = len(u.recent) >= self.per_second
            if not (over_day or over_second):
                u.used_today += 1
                u.recent.append(now)
            headers = {
                "Kadaster-RateLimit-DayLimit": str(self.day_quota),
                "Kadaster-RateLimit-DayLimit-Remaining": str(max(0, self.day_quota - u.used_today)),
                "X-Rate-Limit-Limit": str(self.per_second),
                "X-Rate-Limit-Remaining": str(max(0, self.per_second - len(u.recent))),
                "X-Rate-Limit-Reset": str(reset),
            }
        if over_day or over_second:
            detail = "Daglimiet bereikt." if over_day else f"Meer dan {self.per_second} verzoeken per seconde."
            raise BagProblem(429, "tooManyRequests", detail, headers={**headers, "Retry-After": "1"})
        return headers


def _problem_response(exc: Problem, path: str) -> Response:
    return Response(
        json.dumps(exc.body(path), ensure_ascii=False), status_code=exc.status, media_type=PROBLEM_JSON,
        headers=exc.headers,
    )  # fmt: skip


def _invalid(name: str, code: str, reason: str) -> dict[str, str]:
    return {
        "type": "https://www.vng.nl/realisatie/api/validaties/" + code,
        "name": name,
        "code": code,
        "reason": reason,
    }


def _check_accept(request: Request, geometry: bool) -> None:
    accept = request.headers.get("accept", "*/*")
    if not any(t in accept for t in (HAL_JSON, "application/json", "*/*", "application/*")):
        raise BagProblem(406, "notAcceptable", "Gevraagde contenttype wordt niet ondersteund.")
    if geometry:
        crs = request.headers.get("accept-crs")
        if not crs:
            raise BagProblem(
                412, "acceptCrsMissing", "Gewenste coördinatenstelsel voor geometrie moet worden opgegeven."
            )
        if crs.strip().lower() != CRS:
            raise BagProblem(406, "crsNotAcceptable", "CRS niet ondersteund.")


def _point(a: Address) -> dict[str, Any]:
    seq = int(a.obj.vbo_id[-6:])
    return {"punt": {"type": "Point", "coordinates": [80000.0 + seq % 900 * 10.5, 450000.0 + seq // 900 * 12.25, 0.0]}}


def adres(a: Address, base: str) -> dict[str, Any]:
    o = a.obj
    return {
        "openbareRuimteNaam": o.street,
        "korteNaam": o.street[:24],
        "huisnummer": a.huisnummer,
        **({"huisletter": a.huisletter} if a.huisletter else {}),
        **({"huisnummertoevoeging": a.huisnummertoevoeging} if a.huisnummertoevoeging else {}),
        "postcode": a.postcode,
        "woonplaatsNaam": o.city,
        "nummeraanduidingIdentificatie": a.nummeraanduiding_id,
        "openbareRuimteIdentificatie": o.openbare_ruimte_id,
        "woonplaatsIdentificatie": o.woonplaats_id,
        "adresseerbaarObjectIdentificatie": o.vbo_id,
        "pandIdentificaties": list(o.pand_ids),
        **({"indicatieNevenadres": True} if a.side else {}),
        "typeAdresseerbaarObject": "Verblijfsobject",
        "adresseerbaarObjectGeometrie": _point(a),
        "adresseerbaarObjectStatus": "Verblijfsobject in gebruik",
        "gebruiksdoelen": list(o.gebruiksdoelen),
        "oppervlakte": o.oppervlakte,
        "oorspronkelijkBouwjaar": [str(o.bouwjaar)] if o.bouwjaar else [],
        "_links": {
            "self": {"href": f"{base}/adressenuitgebreid/{a.nummeraanduiding_id}"},
            "adresseerbaarObject": {"href": f"{base}/verblijfsobjecten/{o.vbo_id}"},
            "panden": [{"href": f"{base}/panden/{p}"} for p in o.pand_ids],
        },
    }


def _search_params(q: dict[str, str]) -> tuple[str, int, str | None, str | None, bool]:
    bad: list[dict[str, str]] = []
    known = {
        "postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "exacteMatch", "page", "pageSize",
        "adresseerbaarObjectIdentificatie", "woonplaatsNaam", "openbareRuimteNaam",
    }  # fmt: skip
    for name in q:
        if name not in known:
            bad.append(_invalid(name, "unknownParam", "Parameter is niet verwacht."))
    if bad:
        raise BagProblem(400, "paramsValidation", "Een of meerdere parameters zijn niet correct.", invalid_params=bad)
    if "postcode" not in q and "huisnummer" not in q:
        raise BagProblem(
            400,
            "paramsRequired",
            "Minimale combinatie van parameters moet worden opgegeven.",
            invalid_params=[_invalid("postcode", "required", "Parameter is verplicht.")],
        )
    if ("postcode" in q) != ("huisnummer" in q):
        missing = "huisnummer" if "postcode" in q else "postcode"
        raise BagProblem(
            400,
            "unsupportedCombination",
            "De gevraagde combinatie van parameters wordt niet ondersteund.",
            invalid_params=[_invalid(missing, "required", "Parameter is verplicht.")],
        )
    if not POSTCODE.match(q["postcode"]):
        bad.append(_invalid("postcode", "pattern", "Waarde voldoet niet aan patroon ^[1-9][0-9]{3}[a-zA-Z]{2}$."))
    nr = q["huisnummer"]
    if not nr.isdigit() or not 1 <= int(nr) <= 99999:
        bad.append(_invalid("huisnummer", "minimum" if nr.isdigit() else "integer", "Waarde is geen geldig getal."))
    if "huisletter" in q and not LETTER.match(q["huisletter"]):
        bad.append(_invalid("huisletter", "pattern", "Waarde voldoet niet aan patroon ^[a-zA-Z]$."))
    if "huisnummertoevoeging" in q and not ADDITION.match(q["huisnummertoevoeging"]):
        bad.append(_invalid("huisnummertoevoeging", "pattern", "Waarde voldoet niet aan patroon ^[0-9a-zA-Z]{1,4}$."))
    exact = q.get("exacteMatch", "false").lower()
    if exact not in ("true", "false"):
        bad.append(_invalid("exacteMatch", "boolean", "Waarde is geen geldige boolean."))
    for name, low, high in (("page", 1, 10**6), ("pageSize", 10, 100)):
        v = q.get(name)
        if v is not None and (not v.isdigit() or not low <= int(v) <= high):
            bad.append(_invalid(name, "minimum", f"Waarde is niet tussen {low} en {high}."))
    if bad:
        raise BagProblem(400, "paramsValidation", "Een of meerdere parameters zijn niet correct.", invalid_params=bad)
    return q["postcode"], int(nr), q.get("huisletter"), q.get("huisnummertoevoeging"), exact == "true"


def create_app(sb: BagSandbox) -> ASGIApp:
    app = FastAPI(title="BAG API Individuele Bevragingen v2 (sandbox)", docs_url=None, redoc_url=None, openapi_url=None)

    def api(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        async def run(request: Request, **path: Any) -> Response:
            sb.requests_served += 1
            sb.request_log.append((request.method, request.url.path, request.url.query))
            headers: dict[str, str] = {}
            try:
                key = request.headers.get("x-api-key")
                if not key or key not in sb.keys:
                    raise BagProblem(401, "authentication", "Niet correct geauthenticeerd.")
                headers = sb.spend(key)
                resp = await handler(request, **path)
            except Problem as exc:
                resp = _problem_response(exc, request.url.path)
            for k, v in headers.items():
                resp.headers.setdefault(k, v)
            return resp

        run.__name__ = handler.__name__
        import functools

        return functools.wraps(handler)(run)

    def hal(body: Any) -> Response:
        return Response(json.dumps(body, ensure_ascii=False), media_type=HAL_JSON)

    @app.get(f"{API}/adressenuitgebreid")
    @api
    async def search(request: Request) -> Response:
        q = dict(request.query_params)
        _check_accept(request, geometry=True)
        if "adresseerbaarObjectIdentificatie" in q:
            vbo = q["adresseerbaarObjectIdentificatie"]
            if not ID16.match(vbo):
                bad = [_invalid("adresseerbaarObjectIdentificatie", "pattern", "Waarde is geen 16 cijfers.")]
                raise BagProblem(
                    400, "paramsValidation", "Een of meerdere parameters zijn niet correct.", invalid_params=bad
                )
            found = [a for a in sb.register.index if a.obj.vbo_id == vbo]
        else:
            postcode, nr, letter, toev, exact = _search_params(q)
            found = sb.register.search(postcode, nr, letter, toev, exact)
        page, size = int(q.get("page", "1")), int(q.get("pageSize", "20"))
        base = str(request.base_url).rstrip("/") + API
        chunk = found[(page - 1) * size : page * size]
        query = "&".join(f"{k}={v}" for k, v in q.items() if k != "page")
        links: dict[str, Any] = {"self": {"href": f"{base}/adressenuitgebreid?{query}&page={page}"}}
        if page * size < len(found):
            links["next"] = {"href": f"{base}/adressenuitgebreid?{query}&page={page + 1}"}
        body: dict[str, Any] = {"_links": links}
        if chunk:
            body["_embedded"] = {"adressen": [adres(a, base) for a in chunk]}
        return hal(body)

    @app.get(f"{API}/adressenuitgebreid/{{nummeraanduiding}}")
    @api
    async def one(request: Request, nummeraanduiding: str) -> Response:
        _check_accept(request, geometry=True)
        if not ID16.match(nummeraanduiding):
            raise BagProblem(
                400, "paramsValidation", "Een of meerdere parameters zijn niet correct.",
                invalid_params=[_invalid("nummeraanduidingIdentificatie", "pattern", "Waarde is geen 16 cijfers.")],
            )  # fmt: skip
        a = sb.register.by_number_id.get(nummeraanduiding)
        if a is None:
            raise BagProblem(
                404, "notFound", f"Geen adres gevonden met nummeraanduidingIdentificatie {nummeraanduiding}."
            )
        return hal(adres(a, str(request.base_url).rstrip("/") + API))

    @app.get(f"{API}/woonplaatsen/{{woonplaats}}")
    @api
    async def woonplaats(request: Request, woonplaats: str) -> Response:
        _check_accept(request, geometry="geometrie" in request.query_params.get("expand", ""))
        hit = next((o for o in sb.register.objects.values() if o.woonplaats_id == woonplaats), None)
        if hit is None:
            raise BagProblem(404, "notFound", f"Geen woonplaats gevonden met identificatie {woonplaats}.")
        body: dict[str, Any] = {
            "woonplaats": {"identificatie": woonplaats, "naam": hit.city, "status": "Woonplaats aangewezen"},
            "_links": {"self": {"href": f"{API}/woonplaatsen/{woonplaats}"}},
        }
        if request.query_params.get("expand") in ("bronhouders", "true"):
            gem = hit.vbo_id[:4]
            body["_embedded"] = {"bronhouders": [{"code": gem, "naam": f"Gemeente {hit.city}"}]}
        return hal(body)

    @app.get(f"{API}/info")
    @api
    async def info(request: Request) -> Response:
        return hal({"apiVersion": "2.9.2", "bagVersie": "2.0", "_links": {"self": {"href": f"{API}/info"}}})

    @app.get(f"{ADMIN}/cases")
    async def cases() -> Response:
        return json_response(sb.register.cases())

    @app.get(f"{ADMIN}/objects")
    async def objects() -> Response:
        return json_response(sb.register.all_objects())

    @app.post(f"{ADMIN}/addresses")
    async def addresses(request: Request) -> Response:
        body = await request.json()
        return json_response({"added": sb.register.add_homes(body.get("addresses", []))}, status=201)

    @app.post(f"{ADMIN}/limits")
    async def limits(request: Request) -> Response:
        body = await request.json()
        sb.day_quota = int(body.get("day_quota", sb.day_quota))
        sb.per_second = int(body.get("per_second", sb.per_second))
        if body.get("reset"):
            sb.usage.clear()
        return json_response({"day_quota": sb.day_quota, "per_second": sb.per_second})

    @app.post(f"{ADMIN}/clock")
    async def clock(request: Request) -> Response:
        body = await request.json()
        now = sb.clock.advance(float(body.get("advance_days", 0)) * 86400)
        return json_response({"now": now.isoformat()})

    @app.get(f"{ADMIN}/stats")
    async def stats() -> Response:
        return json_response({"requests": sb.requests_served, "usage": {k: v.used_today for k, v in sb.usage.items()}})

    add_fault_routes(app, sb.faults, ADMIN)

    def fault(status: int, path: str) -> tuple[dict[str, Any], str]:
        return problem_body(
            status, FAULT_CODES.get(status, "serverError"), "Tijdelijke storing.", path, titles=TITLES
        ), PROBLEM_JSON

    return FaultMiddleware(app, sb.faults, ADMIN, error_body=fault)
