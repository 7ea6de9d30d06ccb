"""Typed calls to one Econobis instance's SPA API (read side): password-grant login, grids, details,
system data and version — over the hub's partner client, so retries, budget and redaction are shared.

Econobis has no general M2M read API (contracts/econobis.md §5): a service user without 2FA polls the grids."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.econobis.errors import log_lines, partner_message
from hub.config import TenantConfig
from hub.http import PartnerAuthError, PartnerClient, RetryPolicy
from hub.store import Store

PARTNER = "econobis"
DEFAULT_PAGE_SIZE = 500
# Laravel's throttle:60,1 is a fixed window from the first hit; a bucket of 55/min with a burst of 5 never
# exceeds 60 in any window.
DEFAULT_BUDGET_PER_MINUTE = 55.0
DEFAULT_BUDGET_BURST = 5.0


class PasswordGrantAuth:
    """Passport password grant: logs in on first use and again after a 401 (tokens last one day)."""

    def __init__(
        self,
        client: PartnerClient,
        username: str,
        password: str,
        client_id: str,
        client_secret: str,
        share: bool = False,
    ):
        self._client = client
        # `share`: reuse a token another client of this process got for the same login (Dagster runs open
        # several clients per tenant; Econobis blocks a login after 5 attempts a minute).
        self._share_key = (
            (client.base_url, username, client_id, hashlib.sha256(f"{password}\0{client_secret}".encode()).hexdigest())
            if share
            else None
        )
        self._form = {
            "grant_type": "password",
            "username": username,
            "password": password,
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": "use-app",
        }
        self._token: str | None = None
        self._lock = threading.RLock()
        client.add_secret(password)
        client.add_secret(client_secret)

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None and self._share_key is not None:
                self._token = _shared_token(self._share_key)
                if self._token is not None:
                    self._client.add_secret(self._token)
            if self._token is None:
                # The token request is safe to repeat: a second token does no harm.
                resp = self._client.request(
                    "POST", "/oauth/token", data=self._form, idempotent=True, authenticated=False, write=False
                )
                token = resp.json().get("access_token")
                if not token:
                    raise PartnerAuthError(
                        partner=PARTNER,
                        tenant=self._client.tenant,
                        method="POST",
                        endpoint="/oauth/token",
                        status=resp.status_code,
                        message="token response without access_token",
                    )
                self._token = token
                self._client.add_secret(token)
                if self._share_key is not None:
                    with _SHARED_LOCK:
                        _SHARED_TOKENS[self._share_key] = (token, time.monotonic() + SHARED_TOKEN_SECONDS)
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        with self._lock:
            if self._share_key is not None:
                with _SHARED_LOCK:
                    if _SHARED_TOKENS.get(self._share_key, (None,))[0] == self._token:
                        _SHARED_TOKENS.pop(self._share_key, None)
            self._token = None


# Tokens shared within one process (see PasswordGrantAuth `share`), kept well under Passport's lifetime.
SHARED_TOKEN_SECONDS = 1800.0
_SHARED_TOKENS: dict[tuple[str, ...], tuple[str, float]] = {}
_SHARED_LOCK = threading.Lock()


def _shared_token(key: tuple[str, ...]) -> str | None:
    with _SHARED_LOCK:
        found = _SHARED_TOKENS.get(key)
        if found is None or found[1] < time.monotonic():
            _SHARED_TOKENS.pop(key, None)
            return None
        return found[0]


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    offset: int
    meta: dict[str, Any] = field(default_factory=dict)


class EconobisClient:
    """Read access to one tenant's Econobis."""

    def __init__(self, http: PartnerClient) -> None:
        self.http = http

    @classmethod
    def for_tenant(
        cls,
        tenant: TenantConfig,
        store: Store | None = None,
        *,
        policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = (3.05, 30.0),
        share_login: bool = False,
    ) -> EconobisClient:
        settings = tenant.partner(PARTNER).settings
        http = PartnerClient.for_tenant(
            tenant,
            PARTNER,
            store,
            budget=(DEFAULT_BUDGET_PER_MINUTE, DEFAULT_BUDGET_BURST),
            timeout=timeout,
            policy=policy,
            error_message=partner_message,
        )
        http.auth = PasswordGrantAuth(
            http,
            username=str(settings["username"]),
            password=tenant.secret(PARTNER, "password"),
            client_id=str(settings.get("client_id", "2")),
            client_secret=tenant.secret(PARTNER, "client_secret"),
            share=share_login,
        )
        return cls(http)

    # --- calls --------------------------------------------------------------------------------------------

    def client_version(self) -> dict[str, Any]:
        result: dict[str, Any] = self.http.request("GET", "/client-version", authenticated=False).json()
        return result

    def system_data(self) -> dict[str, Any]:
        body = self.http.get_json("/api/system-data")
        data: dict[str, Any] = body.get("data", body) if isinstance(body, dict) else {}
        return data

    def grid_page(
        self,
        entity: str,
        *,
        limit: int,
        offset: int = 0,
        filters: Sequence[dict[str, Any]] = (),
        sorts: Sequence[dict[str, Any]] = (),
    ) -> Page:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if filters:
            params["filters"] = json.dumps(list(filters), separators=(",", ":"))
        if sorts:
            params["sorts"] = json.dumps(list(sorts), separators=(",", ":"))
        body = self.http.get_json(f"/api/{entity}/grid", params=params)
        meta = body.get("meta") or {}
        return Page(rows=list(body.get("data") or []), total=int(meta.get("total", 0)), offset=offset, meta=meta)

    def grid(
        self,
        entity: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        filters: Sequence[dict[str, Any]] = (),
        sorts: Sequence[dict[str, Any]] = (),
        start_offset: int = 0,
    ) -> Iterator[Page]:
        """Pages of a grid, lazily: only one page is in memory at a time."""
        offset = start_offset
        while True:
            page = self.grid_page(entity, limit=page_size, offset=offset, filters=filters, sorts=sorts)
            if page.rows:
                yield page
            offset += len(page.rows)
            if not page.rows or len(page.rows) < page_size or offset >= page.total:
                return

    def search_shared_areas(self, term: str) -> list[dict[str, Any]]:
        """GET /api/shared-area/search: the shared areas (buurten) whose names contain every word of `term`."""
        body = self.http.get_json("/api/shared-area/search", params={"searchTerm": term})
        rows = body.get("data", body) if isinstance(body, dict) else body
        return list(rows or [])

    def detail(self, entity: str, record_id: int | str) -> dict[str, Any]:
        body = self.http.get_json(f"/api/{entity}/{record_id}")
        data: dict[str, Any] = body.get("data", body)
        return data

    # --- writes -------------------------------------------------------------------------------------------

    def webform(self, api_key: str, fields: dict[str, Any]) -> list[str]:
        """POST /api/webform/external/{apiKey}: NOT idempotent (kansen, kansacties and tasks are created on
        every call), so the client never resends it blindly; answers the Dutch log lines."""
        self.http.add_secret(api_key)  # the key is in the URL path AND echoed in the log lines
        resp = self.http.request(
            "POST", f"/api/webform/external/{api_key}", json=fields, idempotent=False, authenticated=False
        )
        body = resp.json()
        return [str(line) for line in body] if isinstance(body, list) else []

    def create_quotation_request(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /api/quotation-request (not idempotent: look up before a retry)."""
        resp = self.http.request("POST", "/api/quotation-request", json=body, idempotent=False)
        data: dict[str, Any] = resp.json().get("data", {})
        return data

    def update_quotation_request(self, record_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """POST /api/quotation-request/{id}: sets every field it is sent, so the same body twice gives the
        same state — safe to repeat."""
        resp = self.http.request("POST", f"/api/quotation-request/{record_id}", json=body, idempotent=True)
        data: dict[str, Any] = resp.json().get("data", {})
        return data

    def hoomdossier_endpoint(self, endpoint_key: str, endpoint: str, body: bytes, *, idempotent: bool) -> list[str]:
        """POST /api/{key}/hoomdossier/{endpoint} (contracts/econobis.md §3): one of Econobis' own endpoints
        for Hoomdossier messages, with the endpoint key in the path (redacted) and no login. Returns the log
        lines Econobis answered; `idempotent` for the endpoints that set state (a repeat changes nothing)."""
        resp = self.http.request(
            "POST",
            f"/api/{endpoint_key}/hoomdossier/{endpoint}",
            data=body,
            headers={"Content-Type": "application/json"},
            idempotent=idempotent,
            authenticated=False,
        )
        return log_lines(resp.text)

    def make_hoomdossier(self, contact_id: int) -> Any:
        """GET /api/contact/{id}/make-hoomdossier: Econobis registers the contact at its `hoom_link` and stores
        the account id. Not safe to repeat blindly (a register behind it); answers the account id. A write,
        though a GET: it creates the account (counted in the run's partner writes)."""
        resp = self.http.request("GET", f"/api/contact/{contact_id}/make-hoomdossier", idempotent=False, write=True)
        return resp.json()
