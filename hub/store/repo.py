"""The `Store` facade: one object over the repository of each concern, each in its own module.

Who owns the transaction is one rule for all of them: see the `hub.store` docstring."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func, select

from hub.store.base import QueuedItem, as_utc, chunks, stable_hash, utcnow
from hub.store.budget import BudgetRepo
from hub.store.consent import ConsentRepo
from hub.store.cursors import CursorRepo
from hub.store.entities import EntityRepo
from hub.store.erasure import ErasureRepo
from hub.store.idempotency import IdempotencyRepo
from hub.store.identity import IdentityRepo
from hub.store.inbox import InboxRepo
from hub.store.outbox import OutboxRepo


class Store(
    EntityRepo, CursorRepo, InboxRepo, OutboxRepo, IdempotencyRepo, BudgetRepo, ErasureRepo, ConsentRepo, IdentityRepo
):
    """The hub's state store. Open it with `Store.open()`; it migrates on start."""

    def count(self, table: Table, **where: Any) -> int:
        """Rows of `table` matching column == value (for checks, the CLI and tests); its own connection."""
        q = select(func.count()).select_from(table)
        for col, val in where.items():
            q = q.where(table.c[col] == val)
        with self.engine.connect() as conn:  # across tenants unless `tenant=` is given: for checks and tests
            return int(conn.execution_options(all_tenants=True).execute(q).scalar_one())


__all__ = ["QueuedItem", "Store", "as_utc", "chunks", "stable_hash", "utcnow"]
