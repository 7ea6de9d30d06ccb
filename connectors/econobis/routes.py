"""Econobis-compatible Hoomdossier endpoints on the hub: `POST /api/{apiKey}/hoomdossier/{endpoint}`
(contracts/econobis.md §3, contracts/hoomdossier.md §2), so a Hoomdossier cooperation points its Econobis
link at the hub instead of at Econobis.

The key in the path is the hub's inbound key of one tenant (constant-time compared; never logged). The body
is stored in the inbox BEFORE the answer; the answer has Econobis' shape, a JSON list of Dutch log lines:
200 when stored (or already stored), 404 with "Fout opgetreden: …" for what Econobis would also refuse and
no retry could heal (unknown key, no payload, no building id) — that input goes to quarantine with its
reason — and 503 only when the store itself is unavailable, meaning "try again, nothing was stored". (Stock
Hoomdossier drops a 5xx too, contracts/hoomdossier.md §2.6; one that retries as intended retries it.)

Forwarding to the tenant's Econobis happens later, in a run (forward.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from connectors.econobis.errors import LOGGED, ROLLED_BACK
from connectors.econobis.settings import HOOMDOSSIER_INBOX
from hub.config import HubConfig
from hub.logs import log_event
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


def _refuse(logs: list[str], reason: str, status: int = 404) -> Response:
    return JSONResponse([*logs, f"Fout opgetreden: {reason}", ROLLED_BACK, LOGGED], status_code=status)


def hoomdossier_endpoints(config: HubConfig, store: Store) -> APIRouter:
    """The router; raises ConfigError when a tenant with Hoomdossier lacks its inbound key."""
    keys: list[tuple[bytes, str]] = []
    for tenant in config.tenants_with(HOOMDOSSIER_INBOX):
        key = tenant.secret(HOOMDOSSIER_INBOX, "inbound_key")
        register_secret(key)
        keys.append((key.encode(), tenant.id))

    def tenant_for(api_key: str) -> str | None:
        given = api_key.encode()
        found = None
        for key, tenant in keys:  # compare with every key: the time taken says nothing about which matched
            if hmac.compare_digest(given, key):
                found = tenant
        return found

    router = APIRouter()

    @router.post("/api/{api_key}/hoomdossier/{endpoint}")
    async def receive(api_key: str, endpoint: str, request: Request) -> Response:
        if endpoint not in ENDPOINTS:
            return JSONResponse({"message": f"The route api/***/hoomdossier/{endpoint} could not be found."}, 404)
        logs = [f"Start {ENDPOINTS[endpoint]}"]
        tenant = tenant_for(api_key)
        if tenant is None:  # leaves no trace in the data
            return _refuse([*logs, "Endpoint configuratie met code *** is niet gevonden."], "Endpoint not found")
        raw = await request.body()
        text = raw.decode("utf-8", errors="replace")
        try:
            payload: Any = json.loads(text) if text.strip() else None
        except ValueError:
            payload = None
        related = payload.get("account_related") if isinstance(payload, dict) else None
        problem = None
        if not isinstance(payload, dict) or not payload or not isinstance(related, dict) or not related:
            problem = "No payload found"
        elif not related.get("building_id"):
            problem = "Building_id missing"
        if problem is not None:
            await run_in_threadpool(_quarantine, store, tenant, endpoint, text, problem)
            return _refuse(logs, problem)
        assert isinstance(related, dict)
        meta = {
            "endpoint": endpoint,
            "building_id": related.get("building_id"),
            "contact_id": related.get("contact_id"),
            "bytes": len(raw),
        }
        try:
            item = await run_in_threadpool(_store, store, tenant, endpoint, str(related["building_id"]), text, meta)
        except Exception as exc:  # the store is down: 5xx, so Hoomdossier retries in 2 minutes
            log_event(
                log, "inbox unavailable", logging.ERROR, tenant=tenant, endpoint=endpoint, error=type(exc).__name__
            )
            return JSONResponse({"message": "Service Unavailable"}, status_code=503)
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


def _quarantine(store: Store, tenant: str, endpoint: str, text: str, reason: str) -> None:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with store.begin() as conn:
        store.quarantine_put(
            conn,
            tenant,
            RECEIVER_QUARANTINE,
            endpoint,
            digest,
            f"refused as Econobis would (404): {reason}",
            {"body": text[:20000], "truncated": len(text) > 20000},
        )
