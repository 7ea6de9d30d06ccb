"""Dagster resources: the tenants config, the state store and the Econobis partner (one client per tenant).

Secrets never sit in run config: the tenants file names environment variables, resolved when a client is
built (see hub.config)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import ConfigurableResource, StaticPartitionsDefinition

from connectors.econobis.client import EconobisClient
from connectors.econobis.push import EconobisPush
from hub.config import HubConfig, HubPaths, load_config
from hub.store import Store


class HubConfigResource(ConfigurableResource):  # type: ignore[type-arg]
    """Where the tenants file is (empty: $HUB_CONFIG, ./hub.yaml, else the embedded sandbox default)."""

    config_path: str = ""

    def load(self) -> HubConfig:
        return load_config(self.config_path or None)


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


class EconobisResource(ConfigurableResource):  # type: ignore[type-arg]
    """Econobis access per tenant, built on the hub's partner client (budget shared through the store)."""

    page_size: int = 500

    def client(self, config: HubConfig, tenant: str, store: Store) -> EconobisClient:
        return EconobisClient.for_tenant(config.tenant(tenant), store)

    def pusher(self, config: HubConfig, tenant: str, store: Store) -> EconobisPush:
        """Outbox pushes for one tenant; the webform key is a secret named in the tenants file."""
        t = config.tenant(tenant)
        return EconobisPush(store, self.client(config, tenant, store), tenant, t.secret("econobis", "webform_key"))


def per_tenant(partner: str, kinds: set[str]) -> dict[str, Any]:
    """What every asset of one partner shares: a partition per tenant that has the partner in the tenants
    config (read when the definitions load), and the partner's group in the UI."""
    tenants = [t.id for t in load_config().tenants_with(partner)]
    return {"partitions_def": StaticPartitionsDefinition(tenants), "group_name": partner, "kinds": kinds}
