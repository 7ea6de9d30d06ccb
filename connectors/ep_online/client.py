"""Typed calls to EP-Online API v5 over the hub's partner client: the key sent as-is in `Authorization` (no
scheme; redacted from every log line), `Accept: application/json`, the tenant's request budget. Every answer is a
JSON array; a 404 is "no registration", not an error."""

from __future__ import annotations

from typing import Any

from connectors.ep_online.settings import API_KEY, PARTNER, PER_SECOND
from hub.config import TenantConfig
from hub.http import PartnerClient, PartnerNotFound, RetryPolicy, StaticKeyAuth
from hub.store import Store

BUDGET_PER_SECOND = PER_SECOND * 0.85


def error_message(body: Any) -> str | None:
    """EP-Online's errors: `{status, title, detail}`, or ASP.NET's validation problem with `errors` per field."""
    if not isinstance(body, dict) or not isinstance(body.get("title"), str):
        return None
    msg = body["title"] + (f": {body['detail']}" if isinstance(body.get("detail"), str) else "")
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        msg += " (" + "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items()) + ")"
    return msg[:1000]


class EpOnlineClient:
    def __init__(self, http: PartnerClient) -> None:
        self.http = http

    @property
    def stats(self) -> Any:
        return self.http.stats

    @classmethod
    def for_tenant(
        cls, tenant: TenantConfig, store: Store | None = None, *, policy: RetryPolicy | None = None
    ) -> EpOnlineClient:
        key = tenant.secret(PARTNER, API_KEY)
        http = PartnerClient.for_tenant(
            tenant,
            PARTNER,
            store,
            # under the sandbox's 20 in any one-second window: 17 a second, bursts of 2
            budget=(BUDGET_PER_SECOND * 60.0, 2.0),
            policy=policy,
            auth=StaticKeyAuth("Authorization", key),
            secrets=(key,),
            error_message=error_message,
        )
        return cls(http)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        try:
            resp = self.http.request("GET", path, params=params, headers={"Accept": "application/json"})
        except PartnerNotFound:
            return []
        body = resp.json()
        if not isinstance(body, list):
            raise ValueError(f"EP-Online answered {type(body).__name__}, not an array")
        return [r for r in body if isinstance(r, dict)]

    def by_object(self, object_id: str) -> list[dict[str, Any]]:
        """The registrations of one BAG adresseerbaar object (a verblijfsobject id, type 01)."""
        return self._get(f"PandEnergielabel/AdresseerbaarObject/{object_id}")

    def by_address(
        self, postcode: str, number: int, letter: str | None = None, addition: str | None = None
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"postcode": postcode, "huisnummer": number}
        if letter:
            params["huisletter"] = letter
        if addition:
            params["huisnummertoevoeging"] = addition
        return self._get("PandEnergielabel/Adres", params)

    def ping(self) -> Any:
        return self.http.request("GET", "Ping", headers={"Accept": "application/json"}).json()
