"""BAG's names and settings: the API (Individuele Bevragingen v2), the tenant's key, the re-check age."""

from __future__ import annotations

from pydantic import Field

from hub.connector import PartnerSettings

PARTNER = "bag"
API = "/lvbag/individuelebevragingen/v2"
API_KEY = "api_key"
HAL_JSON = "application/hal+json"
CRS = "epsg:28992"  # RD New, the only one BAG supports
DAY_QUOTA = 50_000  # calls a day per key (contracts §3.3)
PER_SECOND = 50  # calls a second per key


class BagSettings(PartnerSettings):
    """`recheck_days`: a full run (nightly, backfill) asks again about dwellings answered longer ago;
    `page_size`: adressen per page (BAG's default 20, at most 100)."""

    recheck_days: int = Field(default=30, ge=1)
    page_size: int = Field(default=20, ge=1, le=100)
