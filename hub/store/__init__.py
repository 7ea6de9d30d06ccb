"""The hub's state store: SQLAlchemy tables, Alembic migrations and repositories.

Use `Store.open(url)`; `HubPaths.database_url()` picks SQLite under `.hub/` or $HUB_DATABASE_URL.

`Store` is one facade over a repository per concern: `xref`, `entities` (with provenance and journey events),
`cursors`, `inbox`, `outbox`, `quarantine`, `idempotency`, `budget` and `consent`. Rows come back as the TypedDicts in
`rows`; queue statuses are the StrEnums in `status`. All writes are upserts that stay correct with
concurrent writers.

Who owns the transaction — one rule:
- A method that is part of a caller's unit of work takes `conn` (from `store.begin()`) as its first argument
  and never commits: what it writes lands or rolls back with the rest of the caller's work.
- The few that must be their own short transaction open one and say so in their docstring: the claim and
  lease of queued work (`outbox_claim`, `inbox_lease`, and the work lists `inbox_open` / `inbox_unapplied`
  read before it), which must be committed before a partner is called; idempotency records
  (`idempotency_begin` / `_finish` / `_get`), committed around the upstream call; the request budget
  (`budget_try_acquire`); and `count`. `inbox_counts` / `outbox_counts` do either: with `conn` first in the
  caller's transaction, without it in their own (asset metadata)."""

from hub.store.base import QueuedItem, as_utc, chunks, stable_hash, utcnow
from hub.store.repo import Store
from hub.store.rows import (
    ConsentRow,
    EntityRow,
    IdempotencyClaim,
    IdempotencyRecord,
    InboxRow,
    JourneyEventRow,
    OutboxRow,
    Provenance,
    QuarantineRow,
)
from hub.store.status import INBOX_OPEN, OUTBOX_DUE, IdempotencyStatus, InboxStatus, OutboxStatus

__all__ = [
    "INBOX_OPEN",
    "OUTBOX_DUE",
    "ConsentRow",
    "EntityRow",
    "IdempotencyClaim",
    "IdempotencyRecord",
    "IdempotencyStatus",
    "InboxRow",
    "InboxStatus",
    "JourneyEventRow",
    "OutboxRow",
    "OutboxStatus",
    "Provenance",
    "QuarantineRow",
    "QueuedItem",
    "Store",
    "as_utc",
    "chunks",
    "stable_hash",
    "utcnow",
]
