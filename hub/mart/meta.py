"""How fresh each tenant's data is: per tenant and partner with a freshness contract (every connector that
pulls), when it last synced successfully. The mart's `mart_meta` and the Dagster freshness gate read it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.config import HubConfig
from hub.connector import REGISTRY, Registry
from hub.store import Store, utcnow
from hub.work import last_success


def tenant_freshness(
    store: Store, config: HubConfig, now: datetime | None = None, reg: Registry = REGISTRY
) -> list[dict[str, Any]]:
    """Per tenant and partner with a freshness contract: when it last synced successfully, how long ago, and
    whether that is within the tenant's `fresh_within_hours`."""
    now = now or utcnow()
    out = []
    for c in reg:
        if c.freshness is None:
            continue
        for tenant in config.tenants_with(c.name):
            last = last_success(store, tenant.id, c.freshness.what)
            age = (now - last).total_seconds() / 3600 if last else None
            out.append(
                {
                    "tenant": tenant.id,
                    "partner": c.name,
                    "last_sync": last.isoformat(timespec="seconds") if last else None,
                    "age_hours": round(age, 2) if age is not None else None,
                    "limit_hours": tenant.fresh_within_hours,
                    "fresh": age is not None and age <= tenant.fresh_within_hours,
                }
            )
    return out
