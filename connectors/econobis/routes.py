"""Econobis-compatible Hoomdossier endpoints on the hub: `POST /api/{apiKey}/hoomdossier/{endpoint}`
(contracts/econobis.md §3, contracts/hoomdossier.md §2), so a Hoomdossier cooperation points its Econobis
link at the hub instead of at Econobis.

The key in the path is the hub's inbound key of one tenant (constant-time compared; never logged). The body
is stored in the inbox BEFORE the answer; the answer has Econobis' shape, a JSON list of Dutch log lines:
200 when stored (or already stored), 404 with "Fout opgetreden: …" for what Econobis would also refuse and
no retry could heal (unknown key, no payload, no building id) — that input goes to quarantine with its
reason — and 503 only when the store itself is unavailable, meaning "try again, nothing was stored". (Stock
Hoomdossier drops a 5xx too, contracts/hoomdossier.md §2.6; one that retries as intended retries it.)

Bad input never gets a 5xx (hub.receiver.intake, docs/receiver.md): a body over the receiver's limit is 413
with Econobis' log lines; a body that is not UTF-8, not JSON, nested deeper than PHP's json_decode reads
(512) or holds a lone surrogate is Econobis' own 404 "No payload found" with the reason in a log line; a
building id that is not a plain id is 404 "Building_id invalid". Each goes to quarantine with the raw bytes,
and only where the key was valid. What is stored is the body byte-exact (UTF-8 only, so the text is the
bytes).

Forwarding to the tenant's Econobis happens later, in a run (forward.py)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from connectors.econobis.errors import LOGGED, ROLLED_BACK
from connectors.econobis.settings import HOOMDOSSIER_INBOX
from hub.config import HubConfig
from hub.logs import log_event
from hub.receiver.intake import BadInput, BodyTooLarge, decode_utf8, parse_json, read_body
from hub.redact import register_secret
from hub.store import Store

log = logging.getLogger("connectors.econobis.routes")

INBOX_SOURCE = HOOMDOSSIER_INBOX
RECEIVER_QUARANTINE = f"receiver:{HOOMDOSSIER_INBOX}"
ENDPOINTS = {
    "gebruik": "EndPointGebruik",
    "woonplan": "EndPointWoonplan",
    "afspraak": "EndPointAfspraak",
    "woning-status": "EndPointWoningStatus",
    "scan-status": "EndPointScanStatus",
    "pdf": "EndPointPdf",
    "delete": "EndPointDeleteHoomDossier",
}
ID_FIELDS = ("building_id", "user_id", "account_id", "contact_id")
MAX_ID_LENGTH = 64  # a Hoomdossier or Econobis id is a database integer; 64 characters is generous

_LOG_LINES = {"type": "array", "items": {"type": "string"}, "description": "Econobis' Dutch log lines"}
_ID = {"type": ["integer", "string", "null"]}
OPENAPI: dict[str, Any] = {
    "summary": "A Hoomdossier message, as Econobis receives it (contracts/econobis.md §3)",
    "description": (
        "Stored in the hub's inbox before the answer. The key in the path is the tenant's inbound key. "
        "The body is read as raw JSON whatever the Content-Type, as Econobis does."
    ),
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["account_related"],
                        "properties": {
                            "account_related": {
                                "type": "object",
                                "required": ["building_id"],
                                "properties": {f: _ID for f in ID_FIELDS},
                            }
                        },
                        "additionalProperties": True,
                    }
                }
            },
        }
    },
    "responses": {
        200: {"description": "stored (or already stored)", "content": {"application/json": {"schema": _LOG_LINES}}},
        404: {
            "description": "unknown key or endpoint, or a body Econobis would refuse (quarantined when the key "
            "was valid)",
            "content": {"application/json": {"schema": {"oneOf": [_LOG_LINES, {"type": "object"}]}}},
        },
        413: {"description": "body over the receiver's limit", "content": {"application/json": {"schema": _LOG_LINES}}},
        503: {"description": "the store is unavailable: nothing was stored, send again"},
    },
}


def _refuse(logs: list[str], reason: str, status: int = 404) -> Response:
    return JSONResponse([*logs, f"Fout opgetreden: {reason}", ROLLED_BACK, LOGGED], status_code=status)


def _unavailable(tenant: str, endpoint: str, exc: Exception) -> Response:
    """The store is down: 5xx, so Hoomdossier retries in 2 minutes (the one 5xx this route gives)."""
    log_event(log, "inbox unavailable", logging.ERROR, tenant=tenant, endpoint=endpoint, error=type(exc).__name__)
    return JSONResponse({"message": "Service Unavailable"}, status_code=503)


def bad_id(value: Any) -> bool:
    """An id in `account_related` that is not a plain id (a number or a short printable string)."""
    if value is None:
        return False
    if isinstance(value, bool) or not isinstance(value, int | str):
        return True
    text = str(value)
    return len(text) > MAX_ID_LENGTH or not text.isprintable()


def _classify(raw: bytes) -> tuple[str | None, str, str, dict[str, Any]]:
    """(problem as Econobis words it or None, the hub's detail, the text, account_related) of a body."""
    try:
        text = decode_utf8(raw)
        payload = parse_json(text) if text.strip() else None
    except BadInput as exc:
        return "No payload found", exc.reason, "", {}
    related = payload.get("account_related") if isinstance(payload, dict) else None
    if not isinstance(payload, dict) or not payload or not isinstance(related, dict) or not related:
        return "No payload found", "", text, {}
    if not related.get("building_id"):
        return "Building_id missing", "", text, related
    wrong = [f for f in ID_FIELDS if bad_id(related.get(f))]
    if wrong:
        problem = "Building_id invalid" if "building_id" in wrong else "Invalid account_related"
        return (
            problem,
            f"account_related.{wrong[0]} is not a plain id (a number or up to {MAX_ID_LENGTH} characters)",
            text,
            related,
        )
    return None, "", text, related


def hoomdossier_endpoints(config: HubConfig, store: Store) -> APIRouter:
    """The router; raises ConfigError when a tenant with Hoomdossier lacks its inbound key."""
    keys: list[tuple[bytes, str]] = []
    for tenant in config.tenants_with(HOOMDOSSIER_INBOX):
        key = tenant.secret(HOOMDOSSIER_INBOX, "inbound_key")
        register_secret(key)
        keys.append((key.encode(), tenant.id))

    def tenant_for(api_key: str) -> str | None:
        given = api_key.encode("utf-8", "surrogatepass")
        found = None
        for key, tenant in keys:  # compare with every key: the time taken says nothing about which matched
            if hmac.compare_digest(given, key):
                found = tenant
        return found

    router = APIRouter()

    @router.post("/api/{api_key}/hoomdossier/{endpoint}", **OPENAPI)
    async def receive(
        api_key: Annotated[str, Path(description="the tenant's inbound key (a secret)")],
        endpoint: Annotated[str, Path(json_schema_extra={"enum": list(ENDPOINTS)})],
        request: Request,
    ) -> Response:
        if endpoint not in ENDPOINTS:
            return JSONResponse({"message": f"The route api/***/hoomdossier/{endpoint} could not be found."}, 404)
        logs = [f"Start {ENDPOINTS[endpoint]}"]
        tenant = tenant_for(api_key)
        if tenant is None:  # leaves no trace in the data; the body is not even read
            return _refuse([*logs, "Endpoint configuratie met code *** is niet gevonden."], "Endpoint not found")
        ctype = request.headers.get("content-type", "")
        try:
            raw = await read_body(request)
        except BodyTooLarge as exc:
            info = {"limit": exc.limit, "declared_bytes": exc.declared, "bytes_read": exc.read, "content_type": ctype}
            reason = f"Payload too large: {exc}"
            try:
                await run_in_threadpool(_quarantine, store, tenant, endpoint, None, reason, info)
            except Exception as err:
                return _unavailable(tenant, endpoint, err)
            line = f"Bericht is groter dan {exc.limit} bytes en is niet opgeslagen."
            return _refuse([*logs, line], "Payload too large", 413)
        problem, detail, text, related = _classify(raw)
        if problem is not None:
            info = {"bytes": len(raw), "content_type": ctype, "detail": detail}
            reason = f"{problem}: {detail}" if detail else problem
            try:
                await run_in_threadpool(_quarantine, store, tenant, endpoint, raw, reason, info)
            except Exception as err:
                return _unavailable(tenant, endpoint, err)
            return _refuse([*logs, f"Reden: {detail}."] if detail else logs, problem)
        meta = {
            "endpoint": endpoint,
            "building_id": related.get("building_id"),
            "contact_id": related.get("contact_id"),
            "bytes": len(raw),
        }
        try:
            item = await run_in_threadpool(_store, store, tenant, endpoint, str(related["building_id"]), text, meta)
        except Exception as exc:
            return _unavailable(tenant, endpoint, exc)
        log_event(
            log, "hoomdossier message stored", tenant=tenant, endpoint=endpoint, inbox_id=item.id, new=item.created
        )
        line = (
            f"Bericht ontvangen door de hub en opgeslagen (inbox {item.id})."
            if item.created
            else f"Bericht was al ontvangen (inbox {item.id}); niet opnieuw opgeslagen."
        )
        return JSONResponse([*logs, line, "Aanroep succesvol afgerond.", LOGGED])

    return router


def _store(store: Store, tenant: str, endpoint: str, building: str, text: str, meta: dict[str, Any]) -> Any:
    with store.begin() as conn:
        return store.inbox_receive(conn, INBOX_SOURCE, tenant, f"{building}/{endpoint}", text, meta)


def _quarantine(store: Store, tenant: str, endpoint: str, raw: bytes | None, reason: str, info: dict[str, Any]) -> None:
    """Park a refused body with its reason, byte-exact (`payload_bytes`); a body over the limit was never read,
    so only its size is kept."""
    digest = f"too-large:{info.get('declared_bytes') or 'chunked'}" if raw is None else hashlib.sha256(raw).hexdigest()
    log_event(log, "hoomdossier message refused", tenant=tenant, endpoint=endpoint, reason=reason.split(":")[0])
    with store.begin() as conn:
        store.quarantine_put(
            conn,
            tenant,
            RECEIVER_QUARANTINE,
            endpoint,
            digest,
            f"refused as Econobis would: {reason}",
            info,
            payload_bytes=raw,
        )
