"""The hub's state store: SQLAlchemy tables, Alembic migrations and repositories.

Use `Store.open(url)`; `HubPaths.database_url()` picks SQLite under `.hub/` or $HUB_DATABASE_URL."""

from hub.store.repo import QueuedItem, Store, as_utc, stable_hash, utcnow

__all__ = ["QueuedItem", "Store", "as_utc", "stable_hash", "utcnow"]
