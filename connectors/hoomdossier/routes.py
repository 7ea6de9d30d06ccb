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
  answers 200 `[]`. Other errors pass through in Hoomdossier's shape (flat 422 map, 401/403/404/429)."""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from connectors.hoomdossier.client import HoomdossierClient
from connectors.hoomdossier.settings import ECONOBIS_CONTACTS, PARTNER
from hub.config import HubConfig, TenantConfig
from hub.http import OutcomeUnknown, PartnerError
from hub.logs import log_event
from hub.redact import register_secret
from hub.store import IdempotencyRecord, Store, stable_hash

log = logging.getLogger("connectors.hoomdossier.routes")

REGISTER = "hoomdossier:register"
COACH_LINK = "hoomdossier:coach-link"
ALREADY_LINKED = "already-linked"
PROXY_QUARANTINE = f"proxy:{PARTNER}"
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
                if stored.get("email") in (None, email):
                    log_event(log, "register answered from the hub's record", tenant=tenant.id)
                    return 201, {"account_id": stored["account_id"], "user_id": stored["user_id"]}, {}
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
            status = exc.status or 502
            return status, {"message": "Server Error" if status >= 500 else exc.message}, {}
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
            status = exc.status or 502
            return (504 if isinstance(exc, OutcomeUnknown) else status), {"message": "Server Error"}, {}
        try:
            answer: Any = resp.json()
        except ValueError:
            answer = {"message": resp.text[:500]}
        linked = resp.status_code == 200 or (resp.status_code == 422 and only_already_linked(answer))
        if linked and coach and resident:
            record_coach_link(self.store, tenant.id, coach, resident)
            return 200, [], {}
        return resp.status_code, answer, {k: v for k, v in resp.headers.items() if k.lower() == "retry-after"}


def record_coach_link(store: Store, tenant: str, coach_contact_id: Any, resident_contact_id: Any) -> None:
    """Remember that Hoomdossier has this coach linked (the hub's own coach-link flow then skips it)."""
    key = f"{coach_contact_id}:{resident_contact_id}"
    rec = store.idempotency_begin(tenant, COACH_LINK, key, key)
    if rec["claimed"] or rec["status"] != "done":
        store.idempotency_finish(rec, "done", 200, [])


def coach_link_known(store: Store, tenant: str, coach_contact_id: Any, resident_contact_id: Any) -> bool:
    rec = store.idempotency_get(tenant, COACH_LINK, f"{coach_contact_id}:{resident_contact_id}")
    return bool(rec and rec["status"] == "done")


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    ctype = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in ctype or "multipart/form-data" in ctype:
        form = await request.form()
        return {k: v for k, v in form.items()}
    try:
        return json.loads(raw)
    except ValueError:
        return None


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

    @router.get("/api/v1")
    @router.get("/api/v1/")
    async def ping(request: Request) -> Response:
        tenant = authorise(request)
        return tenant if isinstance(tenant, Response) else JSONResponse([])

    async def forward(request: Request, call: Any, event: str, not_an_object: Response | None) -> Response:
        tenant = authorise(request)
        if isinstance(tenant, Response):
            return tenant
        body = await _json_body(request)
        if not isinstance(body, dict):
            if not_an_object is not None:
                return not_an_object
            body = {}
        status, answer, headers = await run_in_threadpool(call, tenant, body)
        log_event(log, event, tenant=tenant.id, status=status)
        return JSONResponse(answer, status_code=status, headers=headers)

    @router.post("/api/v1/register")
    async def register(request: Request) -> Response:
        required = JSONResponse({"email": ["Het E-mailadres veld is verplicht."]}, status_code=422)
        return await forward(request, proxy.register, "register proxied", required)

    @router.post("/api/v1/building-coach-status")
    async def coach_status(request: Request) -> Response:
        return await forward(request, proxy.link_coach, "coach link proxied", None)

    return router
