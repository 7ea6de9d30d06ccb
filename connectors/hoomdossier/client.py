"""Typed calls to Hoomdossier's API v1 (contracts/hoomdossier.md §1): ping, register, building-coach-status.

One cooperation per tenant, chosen by the `X-Cooperation-Slug` header (the production host is
`{slug}.hoomdossier.nl`; the header overrides it, so one base URL serves every tenant). Auth is a Sanctum
personal access token with ability `access:{slug}`. The API throttles at 60 requests/minute per caller IP,
so every tenant's calls share one budget when the hub runs from one address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from connectors.hoomdossier.settings import DEFAULT_BUDGET_BURST, DEFAULT_BUDGET_PER_MINUTE, PARTNER
from hub.config import TenantConfig
from hub.http import PartnerClient, RetryPolicy
from hub.store import Store

# Answers a proxied caller gets as Hoomdossier gave them (429 and 5xx go through the retry policy first).
PASS_THROUGH = frozenset({400, 401, 403, 404, 405, 409, 410, 412, 413, 415, 422})


class TokenAuth:
    """A Sanctum token never expires on its own; a 401 means it was revoked (no re-login possible)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        return None


@dataclass(frozen=True)
class Answer:
    """Hoomdossier's status and JSON body, passed through to a proxied caller as they are."""

    status: int
    body: Any
    headers: dict[str, str]

    @classmethod
    def of(cls, resp: requests.Response) -> Answer:
        try:
            body = resp.json()
        except ValueError:
            body = {"message": resp.text[:500]}
        keep = {
            k: v
            for k, v in resp.headers.items()
            if k.lower() in ("retry-after",) or k.lower().startswith("x-ratelimit")
        }
        return cls(resp.status_code, body, keep)


class HoomdossierClient:
    """Calls to one tenant's cooperation in Hoomdossier."""

    def __init__(self, http: PartnerClient, slug: str) -> None:
        self.http = http
        self.slug = slug

    @classmethod
    def for_tenant(
        cls,
        tenant: TenantConfig,
        store: Store | None = None,
        *,
        policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = (3.05, 60.0),
    ) -> HoomdossierClient:
        pc = tenant.partner(PARTNER)
        token = tenant.secret(PARTNER, "token")
        http = PartnerClient.for_tenant(
            tenant,
            PARTNER,
            store,
            budget=(DEFAULT_BUDGET_PER_MINUTE, DEFAULT_BUDGET_BURST),
            # keyed by base URL, not tenant: Hoomdossier's throttle key is the caller's IP
            budget_key=pc.base_url[-64:],
            timeout=timeout,
            policy=policy,
            auth=TokenAuth(token),
        )
        http.add_secret(token)
        return cls(http, str(pc.settings.get("slug", tenant.id)))

    def _headers(self) -> dict[str, str]:
        return {"X-Cooperation-Slug": self.slug, "Accept": "application/json"}

    def ping(self) -> bool:
        return self.http.request("GET", "/api/v1", headers=self._headers()).status_code == 200

    def register(self, body: dict[str, Any]) -> requests.Response:
        """POST /api/v1/register — NOT idempotent (a repeat gives 422 and no ids): never retried blindly, only
        after answers that prove nothing was processed (429, 503). 4xx responses are returned, not raised,
        so a proxy can pass them through."""
        return self._post("/api/v1/register", body)

    def link_coach(self, coach_contact_id: int, resident_contact_id: int) -> requests.Response:
        """POST /api/v1/building-coach-status with the plural wrapper the code validates (§1.7)."""
        body = {
            "building_coach_statuses": {
                "coach_contact_id": coach_contact_id,
                "resident_contact_id": resident_contact_id,
            }
        }
        return self._post("/api/v1/building-coach-status", body)

    def _post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.http.request(
            "POST", path, json=body, headers=self._headers(), idempotent=False, return_statuses=PASS_THROUGH
        )
