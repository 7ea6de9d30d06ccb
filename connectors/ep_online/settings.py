"""EP-Online's names and settings: the API (v5), the tenant's key (sent raw in `Authorization`), the re-check age."""

from __future__ import annotations

from pydantic import Field

from hub.connector import PartnerSettings

PARTNER = "ep_online"
API = "/api/v5"
API_KEY = "api_key"
# [MOD] RVO publishes no rate for the public API; the sandbox throttles at this and the client stays under it
PER_SECOND = 20
# the placeholder object id EP-Online answers with many unrelated historical registrations (contracts §3.2)
PLACEHOLDER_ID = "0000000000000000"


class EpOnlineSettings(PartnerSettings):
    """`recheck_days`: a full run (nightly, backfill) asks again about dwellings answered longer ago (a new
    registration after works shows up then); `valid_years`: a label's validity when `Geldig_tot` is empty."""

    recheck_days: int = Field(default=30, ge=1)
    valid_years: int = Field(default=10, ge=1, le=20)
