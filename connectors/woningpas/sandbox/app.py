"""The sandbox Woningpas over HTTP: the ACM/IDM-style token endpoint, the routes of
contracts/woningpas_premiums.md §6.3 and an admin API under `/__sandbox` (not part of the modelled API).

Checks run in the order a gateway runs them: token (401) → the client's rate limit (429, Retry-After) → the
path's ids (400) → scope (403) → the unit exists (404; the registers are public) → a mandate of a holder (403)
→ the sources (a source down is `bron_onbeschikbaar` inside a 200, all down a 503). Every API error is
problem+json (§5); token errors are OAuth2's. Fault rules (`/__sandbox/faults`, hub/sandbox) hit every
route but the admin API, and answer problem+json too."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp

from connectors.woningpas.sandbox import views
from connectors.woningpas.sandbox.auth import TokenError
from connectors.woningpas.sandbox.problems import PROBLEM_JSON, Problem, fault_body, invalid, problem_body
from connectors.woningpas.sandbox.state import Upload, WoningpasSandbox, parse_id
from connectors.woningpas.settings import API, CLIENT_ASSERTION_TYPE, SCOPE_READ, SCOPE_WRITE_DOCUMENTS, SCOPES
from hub.sandbox.admin import add_fault_routes, json_response
from hub.sandbox.runtime import FaultMiddleware

ADMIN = "/__sandbox"
# multipart framing around the file: a body this much larger than the document limit is refused unread
MULTIPART_SLACK = 64 * 1024


def _problem(exc: Problem, request: Request) -> Response:
    body = json.dumps(exc.body(request.url.path), ensure_ascii=False)
    return Response(body, status_code=exc.status, media_type=PROBLEM_JSON, headers=exc.headers)


def create_app(sb: WoningpasSandbox) -> ASGIApp:
    """The sandbox as an ASGI app, wrapped in fault injection (admin routes exempt)."""
    app = FastAPI(title="Woningpas sandbox [MOD]", docs_url=None, redoc_url=None, openapi_url=None)

    def api(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        @functools.wraps(handler)  # FastAPI reads the path parameters from the handler's signature
        async def run(request: Request, **path: Any) -> Response:
            sb.requests_served += 1
            sb.request_log.append((request.method, request.url.path, request.url.query))
            try:
                return await handler(request, **path)
            except Problem as exc:
                return _problem(exc, request)

        return run

    # --- the identity provider ------------------------------------------------------------------------------

    @app.post("/op/v1/token")
    async def token(request: Request) -> Response:
        sb.requests_served += 1
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            err = TokenError(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
            return json_response(err.body(), err.status, headers)
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        try:
            body = await run_in_threadpool(sb.token, form)
        except TokenError as err:
            return json_response(err.body(), err.status, headers)
        return json_response(body, 200, headers)

    @app.get("/op/.well-known/openid-configuration")
    async def discovery() -> Response:
        return json_response(
            {
                "issuer": sb.issuer,
                "token_endpoint": f"{sb.issuer}/v1/token",
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
                "client_assertion_types_supported": [CLIENT_ASSERTION_TYPE],
                "scopes_supported": list(SCOPES),
            }
        )

    # --- the API ------------------------------------------------------------------------------------------

    @app.get(f"{API}/eigendommen")
    @api
    async def eigendommen(request: Request) -> Response:
        tok = sb.authenticate(request.headers.get("authorization"))
        insz = request.query_params.get("insz")
        if insz is None:
            raise invalid("insz", "VERPLICHT", "ontbreekt")
        sb.require_scope(tok, SCOPE_READ)
        return json_response(await run_in_threadpool(sb.properties, tok.client_id, insz))

    @app.get(API + "/gebouweenheden/{unit_id}")
    @api
    async def pass_by_unit(request: Request, unit_id: str) -> Response:
        tok = sb.authenticate(request.headers.get("authorization"))
        uid = parse_id(unit_id, "gebouweenheidId")
        sb.require_scope(tok, SCOPE_READ)
        unit = sb.unit(uid)
        return json_response(await run_in_threadpool(sb.passport, tok.client_id, unit))

    @app.get(API + "/adressen/{adres_id}")
    @api
    async def pass_by_address(request: Request, adres_id: str) -> Response:
        tok = sb.authenticate(request.headers.get("authorization"))
        aid = parse_id(adres_id, "adresObjectId")
        sb.require_scope(tok, SCOPE_READ)
        unit = sb.unit_by_address(aid)
        return json_response(await run_in_threadpool(sb.passport, tok.client_id, unit))

    @app.get(API + "/epc/{attestnummer}")
    @api
    async def epc(request: Request, attestnummer: str) -> Response:
        tok = sb.authenticate(request.headers.get("authorization"))
        sb.require_scope(tok, SCOPE_READ)
        flag = request.query_params.get("attest", "false")
        if flag not in ("true", "false"):
            raise invalid("attest", "ONGELDIGE_WAARDE", "true of false")
        return json_response(await run_in_threadpool(sb.epc, tok.client_id, attestnummer, flag == "true"))

    @app.get(API + "/gebouweenheden/{unit_id}/documenten")
    @api
    async def documenten(request: Request, unit_id: str) -> Response:
        tok = sb.authenticate(request.headers.get("authorization"))
        uid = parse_id(unit_id, "gebouweenheidId")
        sb.require_scope(tok, SCOPE_READ)
        return json_response(sb.documents(tok.client_id, sb.unit(uid)))

    @app.post(API + "/gebouweenheden/{unit_id}/documenten")
    @api
    async def upload(request: Request, unit_id: str) -> Response:
        tok = sb.authenticate(request.headers.get("authorization"))
        uid = parse_id(unit_id, "gebouweenheidId")
        sb.require_scope(tok, SCOPE_WRITE_DOCUMENTS)
        unit = sb.unit(uid)
        sb.require_mandate(tok.client_id, unit)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise Problem(415, "MEDIATYPE_NIET_ONDERSTEUND", "Een document wordt als multipart/form-data opgeladen.")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > sb.max_document_bytes + MULTIPART_SLACK:
            raise Problem(413, "DOCUMENT_TE_GROOT", f"Een document is hoogstens {sb.max_document_bytes} bytes.")
        form = await request.form(max_files=1, max_fields=5)
        try:
            bestand = form.get("bestand")
            if not isinstance(bestand, UploadFile):
                raise invalid("bestand", "VERPLICHT", "een bestand in het veld 'bestand'")
            content = await bestand.read(sb.max_document_bytes + 1)
            item = Upload(
                type=str(form.get("type") or ""),
                titel=str(form.get("titel") or ""),
                bestandsnaam=bestand.filename or "document",
                mediatype=(bestand.content_type or "").split(";")[0].strip().lower(),
                content=content,
            )
        finally:
            await form.close()
        body, replayed = await run_in_threadpool(
            sb.upload, tok.client_id, unit, item, request.headers.get("idempotency-key")
        )
        return json_response(body, 201, {"Idempotent-Replayed": "true"} if replayed else None)

    @app.delete(API + "/gebouweenheden/{unit_id}/documenten/{document_id}")
    @api
    async def delete_document(request: Request, unit_id: str, document_id: str) -> Response:
        tok = sb.authenticate(request.headers.get("authorization"))
        uid = parse_id(unit_id, "gebouweenheidId")
        sb.require_scope(tok, SCOPE_WRITE_DOCUMENTS)
        sb.delete_document(tok.client_id, sb.unit(uid), document_id)
        return Response(status_code=204)

    @app.post(API + "/gebouweenheden/{unit_id}/deellinks")
    @api
    async def deellink(request: Request, unit_id: str) -> Response:
        tok = sb.authenticate(request.headers.get("authorization"))
        uid = parse_id(unit_id, "gebouweenheidId")
        sb.require_scope(tok, SCOPE_READ)
        unit = sb.unit(uid)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise invalid("body", "ONGELDIGE_JSON", "geen geldige JSON") from None
        return json_response(sb.share(tok.client_id, unit, body, str(request.base_url)), 201)

    @app.get(API + "/gedeeld/{token}")
    @api
    async def gedeeld(request: Request, token: str) -> Response:
        return json_response(await run_in_threadpool(sb.shared, token))

    @app.get(f"{API}/wijzigingen")
    @api
    async def wijzigingen(request: Request) -> Response:
        tok = sb.authenticate(request.headers.get("authorization"))
        sb.require_scope(tok, SCOPE_READ)
        q = request.query_params
        body = await run_in_threadpool(sb.feed, tok.client_id, q.get("updated_since"), q.get("cursor"), q.get("limit"))
        return json_response(body)

    # --- admin API (not part of the modelled API) ---------------------------------------------------------

    def admin_error(status: int, message: str) -> Response:
        return json_response({"message": message}, status)

    @app.get(f"{ADMIN}/state")
    async def state() -> Response:
        return json_response(sb.describe())

    @app.get(f"{ADMIN}/examples")
    async def examples() -> Response:
        return json_response(await run_in_threadpool(sb.examples))

    @app.post(f"{ADMIN}/clock")
    async def clock(request: Request) -> Response:
        body = await request.json()
        if "now" in body:
            sb.clock.set(datetime.fromisoformat(str(body["now"])).replace(tzinfo=None))
        if "advance_seconds" in body:
            sb.clock.advance(float(body["advance_seconds"]))
        return json_response({"now": views.iso(sb.now())})

    @app.post(f"{ADMIN}/clients")
    async def register_client(request: Request) -> Response:
        body = await request.json()
        try:
            sb.register_client(body["client_id"], body["public_key_pem"], body.get("scopes"), body.get("kid"))
        except (KeyError, ValueError, TypeError) as exc:
            return admin_error(400, f"bad client: {exc}")
        return json_response({"client_id": body["client_id"]}, 201)

    @app.post(f"{ADMIN}/mandates")
    async def add_mandate(request: Request) -> Response:
        body = await request.json()
        try:
            units = body.get("gebouweenheden")
            mandate = sb.add_mandate(
                str(body["client_id"]),
                str(body["insz"]),
                [int(u) for u in units] if units is not None else None,
                date.fromisoformat(body["geldig_van"]) if body.get("geldig_van") else None,
                date.fromisoformat(body["geldig_tot"]) if body.get("geldig_tot") else None,
            )
        except (KeyError, ValueError, TypeError) as exc:
            return admin_error(400, f"bad mandate: {exc}")
        return json_response(mandate.as_dict(), 201)

    @app.post(f"{ADMIN}/holders")
    async def add_holder(request: Request) -> Response:
        """`{first_name, last_name, street, number, box?, postcode, municipality?, obligation?}` → that person
        holds a real right on the unit at the address (made when none exists): `{insz, gebouweenheid_id,
        adres_object_id, created, epc_labels, renovation_obligation}` (see WoningpasSandbox.add_holder)."""
        try:
            body = await request.json()
            obligation = body.get("obligation")
            if obligation is not None and not isinstance(obligation, bool):
                raise ValueError("obligation must be true, false or absent")
            made = await run_in_threadpool(
                sb.add_holder,
                str(body["first_name"]),
                str(body["last_name"]),
                str(body["street"]),
                str(body["number"]),
                str(body["box"]) if body.get("box") else None,
                str(body["postcode"]),
                str(body["municipality"]) if body.get("municipality") else None,
                obligation,
            )
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            return admin_error(400, f"bad holder: {exc!r}")
        return json_response(made, 201 if made["created"] else 200)

    @app.get(f"{ADMIN}/mandates")
    async def list_mandates() -> Response:
        return json_response([m.as_dict() for m in sb.mandates.values()])

    @app.delete(ADMIN + "/mandates/{mandaat_id}")
    async def revoke_mandate(mandaat_id: str) -> Response:
        try:
            return json_response(sb.revoke_mandate(mandaat_id).as_dict())
        except KeyError:
            return admin_error(404, "no such mandate")

    @app.post(f"{ADMIN}/sources")
    async def sources(request: Request) -> Response:
        """`{"down": ["VEKA", ...]}` sets the sources that are down (`"*"` for all); `{"down": []}` heals."""
        body = await request.json()
        down = body.get("down", [])
        wanted = set(views.SOURCES) if down == "*" or down == ["*"] else set(down)
        unknown = wanted - set(views.SOURCES)
        if unknown:
            return admin_error(400, f"unknown sources {sorted(unknown)}; known: {list(views.SOURCES)}")
        with sb.lock:
            sb.down = wanted
        return json_response({"down": sorted(sb.down), "sources": list(views.SOURCES)})

    @app.post(f"{ADMIN}/changes")
    async def trigger(request: Request) -> Response:
        """`{"gebouweenheidId"?, "sectie"?, "count"?}`: things happen now (see WoningpasSandbox.trigger)."""
        body = await request.json()
        try:
            made = await run_in_threadpool(
                sb.trigger, body.get("gebouweenheidId"), body.get("sectie"), int(body.get("count", 1))
            )
        except (KeyError, ValueError) as exc:
            return admin_error(400, str(exc))
        return json_response({"changes": made})

    @app.post(f"{ADMIN}/throttle/reset")
    async def throttle_reset() -> Response:
        sb.throttle.reset()
        return json_response({"ok": True})

    add_fault_routes(app, sb.faults, ADMIN)

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
    async def not_found(request: Request, path: str) -> Response:
        body = problem_body(404, "ROUTE_ONBEKEND", f"Geen route /{path}.", request.url.path)
        return Response(json.dumps(body), status_code=404, media_type=PROBLEM_JSON)

    return FaultMiddleware(app, sb.faults, ADMIN, error_body=fault_body)
