"""Typed calls to BAG API Individuele Bevragingen v2 over the hub's partner client: `X-Api-Key` (redacted from
every log line), HAL with `Accept-Crs: epsg:28992` (BAG refuses a geometry-returning call without it), every page
followed through `_links.next`, the tenant's request budget (default 50 calls a second per key)."""

from __future__ import annotations

from typing import Any

from connectors.bag.settings import API_KEY, CRS, HAL_JSON, PARTNER, PER_SECOND, BagSettings
from hub.config import TenantConfig
from hub.http import PartnerClient, PartnerNotFound, RetryPolicy, StaticKeyAuth
from hub.http.oauth import problem_message
from hub.store import Store

BUDGET_PER_SECOND = PER_SECOND * 0.9


class BagClient:
    def __init__(self, http: PartnerClient, page_size: int = 20) -> None:
        self.http = http
        self.page_size = page_size

    @property
    def stats(self) -> Any:
        return self.http.stats

    @classmethod
    def for_tenant(
        cls, tenant: TenantConfig, store: Store | None = None, *, policy: RetryPolicy | None = None
    ) -> BagClient:
        settings = BagSettings.model_validate(tenant.partner(PARTNER).settings)
        key = tenant.secret(PARTNER, API_KEY)
        http = PartnerClient.for_tenant(
            tenant,
            PARTNER,
            store,
            # under BAG's 50 a second in any one-second window: 45 a second, bursts of 4 (a burst of 20 after a
            # pause plus a second at 45/s would be 65 in one window: a 429 every few seconds)
            budget=(BUDGET_PER_SECOND * 60.0, 4.0),
            policy=policy,
            auth=StaticKeyAuth("X-Api-Key", key),
            secrets=(key,),
            error_message=problem_message,
        )
        return cls(http, settings.page_size)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        resp = self.http.request("GET", path, params=params, headers={"Accept": HAL_JSON, "Accept-Crs": CRS})
        return resp.json()

    def search(
        self, postcode: str, number: int, *, letter: str | None = None, addition: str | None = None, exact: bool = False
    ) -> list[dict[str, Any]]:
        """Every current address at postcode + number (with the letter/addition given; `exact`: only those)."""
        params: dict[str, Any] = {"postcode": postcode, "huisnummer": number, "pageSize": self.page_size}
        if letter:
            params["huisletter"] = letter
        if addition:
            params["huisnummertoevoeging"] = addition
        if exact:
            params["exacteMatch"] = "true"
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self._get("adressenuitgebreid", {**params, "page": page})
            out += (body.get("_embedded") or {}).get("adressen", [])
            if not (body.get("_links") or {}).get("next"):
                return out
            page += 1

    def by_number_id(self, nummeraanduiding_id: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self._get(f"adressenuitgebreid/{nummeraanduiding_id}")
        except PartnerNotFound:
            return None
        return found

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = self._get("info")
        return info
