"""Dagster resources and the partitions every asset shares.

- `HubConfigResource`: the tenants file, loaded and validated by `hub.config.load_config` (the check
  `hub check-config` and `hub serve` run). `StateStoreResource`: the state store (its URL, which may carry a
  password, comes through `EnvVar("HUB_DATABASE_URL")` when set, so the UI never shows it).
- `PartnerResource`: one per registered connector (resource key = partner name), carrying only run options
  (page size, login sharing). Secrets are per tenant: the tenants file names the environment variable of
  each, and the connector reads it only when a run builds the tenant's client; loading only checks that each
  is set and that inbound credentials differ between tenants, so no secret is kept or shown in the UI.
- `MartResource`: where the DuckDB mart is published.

Partitions: one static partition per tenant of the tenants file (read when the definitions load), and for the
date-range backfill a tenant × day (Europe/Amsterdam) grid. A concurrency pool per partner (its name) bounds
how many steps talk to one partner at once, whatever mix of runs overlaps."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import (
    ConfigurableResource,
    DailyPartitionsDefinition,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)

from connectors import registry
from couplings import COUPLINGS
from hub.config import HubConfig, HubPaths, load_config
from hub.connector import PartnerRun
from hub.store import Store

# validated like every other entry point: definitions that would refuse a run do not load
TENANT_IDS = [t.id for t in load_config(registry=registry(), couplings=COUPLINGS).tenants]
tenant_partitions = StaticPartitionsDefinition(TENANT_IDS)
# The first day a coordinator can backfill: Econobis instances of the cooperations go back to about then.
WINDOW_START = "2024-01-01"
window_partitions = MultiPartitionsDefinition(
    {
        "tenant": tenant_partitions,
        "day": DailyPartitionsDefinition(start_date=WINDOW_START, timezone="Europe/Amsterdam", end_offset=1),
    }
)


class HubConfigResource(ConfigurableResource):  # type: ignore[type-arg]
    """Where the tenants file is (empty: $HUB_CONFIG, ./hub.yaml, else the embedded sandbox default)."""

    config_path: str = ""

    def load(self) -> HubConfig:
        return load_config(self.config_path or None, registry=registry(), couplings=COUPLINGS)


class StateStoreResource(ConfigurableResource):  # type: ignore[type-arg]
    """The hub's state store; empty URL means $HUB_DATABASE_URL or the SQLite file under $HUB_HOME."""

    database_url: str = ""

    def open(self) -> Store:
        paths = HubPaths.from_env()
        paths.ensure()
        return Store.open(self.database_url or paths.database_url())

    @contextmanager
    def session(self) -> Iterator[Store]:
        """The store for one materialization, disposed afterwards."""
        store = self.open()
        try:
            yield store
        finally:
            store.dispose()


class MartResource(ConfigurableResource):  # type: ignore[type-arg]
    """Where the DuckDB mart and its Parquet copies are published (empty: $HUB_HOME/mart)."""

    directory: str = ""

    def path(self) -> str:
        return self.directory or str(HubPaths.from_env().mart_dir)


class PartnerResource(ConfigurableResource):  # type: ignore[type-arg]
    """A partner's run options (the connector builds its client per tenant on the hub's partner client, with
    the request budget shared through the store)."""

    partner: str
    page_size: int = 500
    # one login per process and tenant (Econobis blocks the sixth login attempt within a minute)
    share_login: bool = True

    def run(self, config: HubConfig, tenant: str, store: Store, tags: dict[str, str] | None = None) -> PartnerRun:
        options = {"page_size": self.page_size, "share_login": self.share_login}
        return PartnerRun(store, config, config.tenant(tenant), options, tags or {})


def per_tenant(group: str, kinds: set[str], pool: str | None = None) -> dict[str, Any]:
    """What every per-tenant asset of a stage shares: the tenant partitions, its group in the UI, the kinds
    shown on it, and the partner's concurrency pool when it calls one."""
    out: dict[str, Any] = {"partitions_def": tenant_partitions, "group_name": group, "kinds": kinds}
    if pool:
        out["pool"] = pool
    return out
