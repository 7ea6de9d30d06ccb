"""Hoomdossier-compatible API v1 on the hub (contracts/hoomdossier.md §1): `GET /api/v1`, `POST
/api/v1/register`, `POST /api/v1/building-coach-status`, so an Econobis points `hoom_link` and
`hoom_connect_coach_link` at the hub. Calls are forwarded synchronously to the tenant's Hoomdossier.

- **Auth**: the caller's Bearer token is the tenant's inbound token (Econobis' `hoom_key`); it names the
  tenant. Missing/unknown → 401 `{"error": "Unauthenticated."}`; an `X-Cooperation-Slug` naming another
  cooperation → 403, as Hoomdossier answers.
- **Register is made idempotent**: the call is claimed in `idempotency_records` (key: the Econobis contact
  id, else the e-mail) before it is forwarded; a 201's ids are stored (and linked to the resident in xref)
  BEFORE answering; a repeat of a register the hub has seen gets the stored ids with 201 instead of
  Hoomdossier's 422. When an earlier call's answer was lost and Hoomdossier now says "already registered",
  the hub answers with the ids it learned since (every Hoomdossier message carries them); if it has none
  yet the 422 passes through and a reconciliation case waits in quarantine until a message brings them.
- **Coach link**: forwarded; a 422 that only says "already linked" is the state the caller wants, so it
  answers 200 `[]`. Other errors pass through in Hoomdossier's shape (flat 422 map, 401/403/404/429).
- **Bodies as Laravel reads them** (hub.receiver.intake, docs/receiver.md): JSON when the Content-Type says
  JSON (or says nothing), form-encoded and multipart bodies with PHP's bracket nesting (`extra[contact_id]`);
  what Laravel could not read — not UTF-8, not JSON, nested deeper than json_decode's 512, a lone surrogate,
  XML or another type, a file part — is refused with 422 in Hoomdossier's flat map (`{"body": [...]}`), a
  body over the receiver's limit with 413 `{"message": ...}`; with a valid token each is quarantined with
  its reason and raw bytes. The only 5xx: 503 when the store is down, 502/504 when Hoomdossier is."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError

from connectors.hoomdossier.client import HoomdossierClient
from connectors.hoomdossier.settings import ECONOBIS_CONTACTS, PARTNER
from hub.config import HubConfig, TenantConfig
from hub.http import OutcomeUnknown, PartnerError
from hub.logs import log_event
from hub.receiver.intake import (
    BadInput,
    BodyTooLarge,
    decode_utf8,
    form_pairs,
    is_form_type,
    is_json_type,
    pairs_as_php,
    parse_json,
    parse_php_form,
    read_body,
)
from hub.redact import register_secret
from hub.store import IdempotencyRecord, Store, stable_hash

log = logging.getLogger("connectors.hoomdossier.routes")
# Hoomdossier's 422 shape (a flat map of Dutch messages): a register for a resident the hub erased on request
ERASED_CONTACT = (
    "Deze bewoner is op verzoek gewist (AVG) en wordt niet opnieuw geregistreerd. Verwijder het contact in Econobis."
)

REGISTER = "hoomdossier:register"
COACH_LINK = "hoomdossier:coach-link"
ALREADY_LINKED = "already-linked"
PROXY_QUARANTINE = f"proxy:{PARTNER}"
# calls refused at the door (a body Laravel could not read, or one over the limit), kept with their reason
REFUSED_QUARANTINE = f"proxy-refused:{PARTNER}"
# Hoomdossier's nl text for custom.building-coach-statuses.already-linked (contains "al gekoppeld")
ALREADY_LINKED_TEXTS = ("al gekoppeld", "already linked", "already-linked")
WAIT_FOR_IN_FLIGHT_SECONDS = 30.0


def _unauthenticated() -> Response:
    return JSONResponse({"error": "Unauthenticated."}, status_code=401)


def contact_of(body: dict[str, Any]) -> str:
    """The Econobis contact id a register body carries in `extra.contact_id` ("" when none)."""
    extra = body.get("extra")
    contact = extra.get("contact_id") if isinstance(extra, dict) else None
    return "" if contact in (None, "") else str(contact)


def register_key(body: dict[str, Any]) -> str | None:
    """What makes two register calls the same registration: the Econobis contact id, else the e-mail."""
    if contact := contact_of(body):
        return f"contact:{contact}"
    email = str(body.get("email") or "").strip().lower()
    return f"email:{email}" if email else None


def _is_already_registered(body: Any) -> bool:
    return isinstance(body, dict) and bool({"email", "extra.contact_id"} & set(body))


def only_already_linked(body: Any) -> bool:
    if not isinstance(body, dict) or set(body) != {"building_coach_statuses.coach_contact_id"}:
        return False
    messages = body["building_coach_statuses.coach_contact_id"]
    return bool(messages) and all(any(t in str(m).lower() for t in ALREADY_LINKED_TEXTS) for m in messages)


class Proxy:
    """The forwarding logic, synchronous (it runs in FastAPI's thread pool)."""

    def __init__(self, config: HubConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.tokens: list[tuple[bytes, TenantConfig]] = []
        for tenant in config.tenants_with(PARTNER):
            token = tenant.secret(PARTNER, "inbound_token")
            register_secret(token)
            self.tokens.append((token.encode(), tenant))
        self._clients: dict[str, HoomdossierClient] = {}

    def tenant_for(self, authorization: str | None) -> TenantConfig | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        given = authorization[7:].strip().encode()
        found = None
        for token, tenant in self.tokens:
            if hmac.compare_digest(given, token):
                found = tenant
        return found

    def client(self, tenant: TenantConfig) -> HoomdossierClient:
        if tenant.id not in self._clients:
            self._clients[tenant.id] = HoomdossierClient.for_tenant(tenant, self.store)
        return self._clients[tenant.id]

    # --- register -----------------------------------------------------------------------------------------

    def register(self, tenant: TenantConfig, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        key = register_key(body)
        if key is None:  # Hoomdossier will refuse it (no e-mail): nothing to remember
            return self._forward_register(tenant, body, None)
        email = str(body.get("email") or "").strip().lower()
        deadline = time.monotonic() + WAIT_FOR_IN_FLIGHT_SECONDS
        while True:
            rec = self.store.idempotency_begin(tenant.id, REGISTER, key, stable_hash(body))
            if rec["claimed"]:
                break
            if rec["status"] == "done" and rec["response_status"] == 201:
                stored = rec["response_body"] or {}
                if "erased" in stored:  # the resident was erased in the hub: never registered again
                    log_event(log, "register refused: the resident was erased", tenant=tenant.id)
                    return 422, {"extra.contact_id": [ERASED_CONTACT]}, {}
                if stored.get("email") in (None, email):
                    log_event(log, "register answered from the hub's record", tenant=tenant.id)
                    return 201, {"account_id": stored.get("account_id"), "user_id": stored.get("user_id")}, {}
                return self._forward_register(tenant, body, None)  # same contact, other e-mail: Hoom decides
            if time.monotonic() > deadline:  # another caller's identical register is still in flight
                return 503, {"message": "Service Unavailable"}, {"Retry-After": "30"}
            time.sleep(0.2)
        return self._forward_register(tenant, body, rec)

    def _forward_register(
        self, tenant: TenantConfig, body: dict[str, Any], rec: IdempotencyRecord | None
    ) -> tuple[int, Any, dict[str, str]]:
        contact = register_key(body)
        try:
            resp = self.client(tenant).register(body)
        except OutcomeUnknown:
            # the call went out and no answer came: it may have landed. The claim is released as "open";
            # the next attempt forwards again and a 422 "already registered" is then resolved from xref.
            if rec:
                self.store.idempotency_finish(rec, "open")
            return 504, {"message": "Gateway Timeout"}, {}
        except PartnerError as exc:
            if rec:
                self.store.idempotency_finish(rec, "open")
            status = gateway_status(exc)
            return status, {"message": "Bad Gateway" if status >= 500 else exc.message}, {}
        try:
            answer: Any = resp.json()
        except ValueError:
            answer = {"message": resp.text[:500]}
        headers = {k: v for k, v in resp.headers.items() if k.lower() == "retry-after"}
        if resp.status_code == 201 and isinstance(answer, dict) and "account_id" in answer:
            self._remember(tenant, body, answer, rec)
            return 201, {"account_id": answer["account_id"], "user_id": answer.get("user_id")}, {}
        if rec is not None and resp.status_code == 422 and _is_already_registered(answer):
            recovered = self._recover(tenant, body)
            if recovered is not None:
                self._remember(tenant, body, recovered, rec)
                log_event(log, "register repeat answered with ids learned from Hoomdossier", tenant=tenant.id)
                return 201, recovered, {}
            self._reconcile_case(tenant, contact or "", answer)
        if rec:
            self.store.idempotency_finish(rec, "open", resp.status_code, None)
        return resp.status_code, answer, headers

    def _remember(
        self, tenant: TenantConfig, body: dict[str, Any], ids: dict[str, Any], rec: IdempotencyRecord | None
    ) -> None:
        """Store the ids in xref and the record before the caller hears of them."""
        contact = contact_of(body)
        with self.store.begin() as conn:
            if contact:
                rid = self.store.resolve_ids(conn, ECONOBIS_CONTACTS, tenant.id, "contact", [contact])[contact]
                self.store.link_ids(conn, PARTNER, tenant.id, "account", {str(ids["account_id"]): rid})
                if ids.get("user_id"):
                    self.store.link_ids(conn, PARTNER, tenant.id, "user", {str(ids["user_id"]): rid})
                self.store.quarantine_resolve(conn, tenant.id, PROXY_QUARANTINE, "register", [f"contact:{contact}"])
        if rec is not None:
            stored = {
                "account_id": ids["account_id"],
                "user_id": ids.get("user_id"),
                "email": str(body.get("email") or "").strip().lower(),
            }
            self.store.idempotency_finish(rec, "done", 201, stored)

    def _recover(self, tenant: TenantConfig, body: dict[str, Any]) -> dict[str, Any] | None:
        """The ids of a registration whose answer was lost, if a Hoomdossier message has shown them since."""
        contact = contact_of(body)
        if not contact:
            return None
        with self.store.begin() as conn:
            rid = self.store.lookup_ids(conn, ECONOBIS_CONTACTS, tenant.id, "contact", [contact]).get(contact)
            if rid is None:
                return None
            accounts = self.store.external_ids_of(conn, PARTNER, tenant.id, "account", rid)
            users = self.store.external_ids_of(conn, PARTNER, tenant.id, "user", rid)
        if not accounts:
            return None
        return {"account_id": int(accounts[0]), "user_id": int(users[0]) if users else None}

    def _reconcile_case(self, tenant: TenantConfig, key: str, answer: Any) -> None:
        with self.store.begin() as conn:
            self.store.quarantine_put(
                conn,
                tenant.id,
                PROXY_QUARANTINE,
                "register",
                key,
                "Hoomdossier says this resident is already registered, but the answer of the earlier register "
                "call was lost, so the account id is unknown. It is filled in automatically when Hoomdossier "
                "next sends a message for this resident; otherwise look the account up in Hoomdossier.",
                {"hoomdossier_answer": answer},
            )

    # --- coach link ---------------------------------------------------------------------------------------

    def link_coach(self, tenant: TenantConfig, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        wrapper = body.get("building_coach_statuses") if isinstance(body, dict) else None
        coach = wrapper.get("coach_contact_id") if isinstance(wrapper, dict) else None
        resident = wrapper.get("resident_contact_id") if isinstance(wrapper, dict) else None
        try:
            resp = self.client(tenant).link_coach(coach, resident)  # type: ignore[arg-type]
        except PartnerError as exc:
            status = 504 if isinstance(exc, OutcomeUnknown) else gateway_status(exc)
            text = "Gateway Timeout" if status == 504 else "Bad Gateway" if status >= 500 else exc.message
            return status, {"message": text}, {}
        try:
            answer: Any = resp.json()
        except ValueError:
            answer = {"message": resp.text[:500]}
        linked = resp.status_code == 200 or (resp.status_code == 422 and only_already_linked(answer))
        if linked and coach and resident:
            record_coach_link(self.store, tenant.id, coach, resident)
            return 200, [], {}
        return resp.status_code, answer, {k: v for k, v in resp.headers.items() if k.lower() == "retry-after"}


def gateway_status(exc: PartnerError) -> int:
    """The status the proxy answers for a failed upstream call: Hoomdossier's own 4xx (429) passes through; a
    5xx of Hoomdossier's (or none) is the gateway's 502 — the receiver itself never answers 500."""
    status = exc.status or 502
    return 502 if status >= 500 else status


def record_coach_link(store: Store, tenant: str, coach_contact_id: Any, resident_contact_id: Any) -> None:
    """Remember that Hoomdossier has this coach linked (the hub's own coach-link flow then skips it)."""
    key = f"{coach_contact_id}:{resident_contact_id}"
    rec = store.idempotency_begin(tenant, COACH_LINK, key, key)
    if rec["claimed"] or rec["status"] != "done":
        store.idempotency_finish(rec, "done", 200, [])


def coach_link_known(store: Store, tenant: str, coach_contact_id: Any, resident_contact_id: Any) -> bool:
    rec = store.idempotency_get(tenant, COACH_LINK, f"{coach_contact_id}:{resident_contact_id}")
    return bool(rec and rec["status"] == "done")


# Hoomdossier's flat 422 map for a body Laravel could not read (Dutch, as its validation texts are)
REFUSAL_TEXT = {
    "not-utf-8": "De body is geen geldige UTF-8.",
    "not-json": "De body is geen geldige JSON.",
    "too-deep": "De JSON-body is dieper genest dan 512 niveaus.",
    "bad-unicode": "De body bevat een ongeldig Unicode-teken (een losse surrogaat).",
    "content-type": "Dit Content-Type wordt niet ondersteund; stuur JSON of een formulier.",
    "bad-form": "Het formulier kan niet worden gelezen (alleen tekstvelden, elk ten hoogste 1 MB).",
}
TOO_LARGE = "The POST data is too large."  # Laravel's PostTooLargeException (413)
ENTITY = {"/api/v1/register": "register", "/api/v1/building-coach-status": "coach-link"}


async def read_input(request: Request) -> dict[str, Any] | list[Any] | BadInput | None:
    """`$request->all()` as Laravel builds it from the body: JSON for a JSON Content-Type (and, leniently, for
    none), PHP-nested fields for form and multipart bodies, an empty input for an empty body. A body it could
    not read is a BadInput; BodyTooLarge passes up. A JSON value that is not an object comes back as is."""
    raw = await read_body(request)
    if not raw.strip():
        return {}
    ctype = request.headers.get("content-type", "")
    try:
        if is_form_type(ctype):
            if ctype.lower().startswith("multipart/form-data"):
                return pairs_as_php(await form_pairs(request))
            return parse_php_form(decode_utf8(raw))
        if ctype and not is_json_type(ctype):
            raise BadInput("content-type", f"Content-Type {ctype[:80]!r} is neither JSON nor a form")
        parsed: Any = parse_json(decode_utf8(raw))
        return parsed if isinstance(parsed, dict | list) or parsed is None else [parsed]
    except BadInput as exc:
        return exc


def _bearer_doc() -> HTTPBearer:
    """Declares the Bearer token in the OpenAPI document; the route checks the token itself (Hoomdossier's
    401/403 shapes), so the dependency never refuses."""
    return HTTPBearer(auto_error=False, description="the tenant's inbound token (Econobis' hoom_key)")


Token = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_doc())]
Slug = Annotated[str | None, Header(alias="X-Cooperation-Slug", description="optional; must be the tenant's")]

_ERR = {"type": "object", "additionalProperties": True}
_FLAT_422 = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown token", "content": {"application/json": {"schema": _ERR}}},
    403: {
        "description": "X-Cooperation-Slug names another cooperation",
        "content": {"application/json": {"schema": _ERR}},
    },
    413: {"description": "body over the receiver's limit", "content": {"application/json": {"schema": _ERR}}},
    422: {
        "description": "validation failed (Hoomdossier's flat map)",
        "content": {"application/json": {"schema": _FLAT_422}},
    },
    429: {"description": "Hoomdossier's throttle"},
    502: {"description": "Hoomdossier answered an error of its own"},
    503: {"description": "the store is unavailable, or an identical register is still in flight"},
    504: {"description": "Hoomdossier did not answer in time"},
}
_ID = {"type": "integer", "minimum": 1}
REGISTER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["email", "first_name", "last_name", "postal_code", "number", "street", "city"],
    "properties": {
        "email": {"type": "string", "format": "email"},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "postal_code": {"type": "string"},
        "number": {"type": "integer"},
        "house_number_extension": {"type": ["string", "null"]},
        "street": {"type": "string"},
        "city": {"type": "string"},
        "phone_number": {"type": ["string", "null"]},
        "extra": {"type": "object", "properties": {"contact_id": _ID}},
        "tool_questions": {"type": "object", "additionalProperties": {"type": ["integer", "string"]}},
        "roles": {"type": "array", "items": {"type": "string", "enum": ["resident", "coach"]}},
    },
}
COACH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["building_coach_statuses"],
    "properties": {
        "building_coach_statuses": {
            "type": "object",
            "required": ["coach_contact_id", "resident_contact_id"],
            "properties": {"coach_contact_id": _ID, "resident_contact_id": _ID},
        }
    },
}


def _flat_form(schema: dict[str, Any]) -> dict[str, Any]:
    """The form-encoded form of a body schema: nested fields as PHP bracket names (`extra[contact_id]`)."""
    props: dict[str, Any] = {}
    for name, sub in schema["properties"].items():
        if sub.get("type") == "object" and "properties" in sub:
            for inner, inner_schema in sub["properties"].items():
                props[f"{name}[{inner}]"] = inner_schema
        elif sub.get("type") == "array":
            props[f"{name}[]"] = sub["items"]
        elif sub.get("type") != "object":
            props[name] = sub
    return {"type": "object", "properties": props}


def _body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    form = _flat_form(schema)
    return {
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": form},
                "multipart/form-data": {"schema": form},
            },
        }
    }


def hoomdossier_api(config: HubConfig, store: Store) -> APIRouter:
    proxy = Proxy(config, store)
    router = APIRouter()

    def authorise(request: Request) -> TenantConfig | Response:
        tenant = proxy.tenant_for(request.headers.get("authorization"))
        if tenant is None:
            return _unauthenticated()
        slug = request.headers.get("x-cooperation-slug")
        own = str(tenant.partner(PARTNER).settings.get("slug", tenant.id))
        if slug and slug != own:
            return JSONResponse({"message": "Unauthorized for current cooperation."}, status_code=403)
        return tenant

    @router.get("/api/v1", responses={200: {"description": "the token works"}, **COMMON_RESPONSES})
    @router.get("/api/v1/", include_in_schema=False)
    async def ping(request: Request, token: Token = None, slug: Slug = None) -> Response:
        tenant = authorise(request)
        return tenant if isinstance(tenant, Response) else JSONResponse([])

    async def forward(request: Request, call: Any, event: str, not_an_object: Response | None) -> Response:
        tenant = authorise(request)
        if isinstance(tenant, Response):
            return tenant
        entity = ENTITY[request.url.path]
        try:
            body = await read_input(request)
        except BodyTooLarge as exc:
            info: dict[str, Any] = {"limit": exc.limit, "declared_bytes": exc.declared, "bytes_read": exc.read}
            return await _refused(tenant, entity, None, f"Payload too large: {exc}", info, 413, {"message": TOO_LARGE})
        if isinstance(body, BadInput):
            raw = await read_body(request)  # cached: read once above
            info = {"bytes": len(raw), "content_type": request.headers.get("content-type", "")[:200]}
            answer = {"body": [REFUSAL_TEXT[body.kind]]}
            return await _refused(tenant, entity, raw, body.reason, info, 422, answer)
        if not isinstance(body, dict):
            if not_an_object is not None:
                return not_an_object
            body = {}
        try:
            status, answer, headers = await run_in_threadpool(call, tenant, body)
        except SQLAlchemyError as exc:  # the store is down: nothing was forwarded unrecorded; send again
            log_event(log, "proxy store unavailable", logging.ERROR, tenant=tenant.id, error=type(exc).__name__)
            return JSONResponse({"message": "Service Unavailable"}, status_code=503, headers={"Retry-After": "30"})
        log_event(log, event, tenant=tenant.id, status=status)
        return JSONResponse(answer, status_code=status, headers=headers)

    async def _refused(
        tenant: TenantConfig,
        entity: str,
        raw: bytes | None,
        reason: str,
        info: dict[str, Any],
        status: int,
        answer: dict[str, Any],
    ) -> Response:
        """Quarantine a call refused at the door (the token was valid), then answer in Hoomdossier's shape."""
        external = hashlib.sha256(raw).hexdigest() if raw is not None else f"too-large:{info['declared_bytes']}"

        def park() -> None:
            with store.begin() as conn:
                store.quarantine_put(
                    conn, tenant.id, REFUSED_QUARANTINE, entity, external, f"refused: {reason}", info, raw
                )

        try:
            await run_in_threadpool(park)
        except SQLAlchemyError as exc:
            log_event(log, "proxy store unavailable", logging.ERROR, tenant=tenant.id, error=type(exc).__name__)
            return JSONResponse({"message": "Service Unavailable"}, status_code=503, headers={"Retry-After": "30"})
        log_event(log, "proxy call refused", tenant=tenant.id, entity=entity, status=status, reason=reason[:60])
        return JSONResponse(answer, status_code=status)

    @router.post(
        "/api/v1/register",
        status_code=201,
        responses={201: {"description": "registered (or the stored ids of an earlier register)"}, **COMMON_RESPONSES},
        openapi_extra=_body_doc(REGISTER_SCHEMA),
    )
    async def register(request: Request, token: Token = None, slug: Slug = None) -> Response:
        required = JSONResponse({"email": ["Het E-mailadres veld is verplicht."]}, status_code=422)
        return await forward(request, proxy.register, "register proxied", required)

    @router.post(
        "/api/v1/building-coach-status",
        responses={200: {"description": "linked (or already linked)"}, **COMMON_RESPONSES},
        openapi_extra=_body_doc(COACH_SCHEMA),
    )
    async def coach_status(request: Request, token: Token = None, slug: Slug = None) -> Response:
        return await forward(request, proxy.link_coach, "coach link proxied", None)

    return router
