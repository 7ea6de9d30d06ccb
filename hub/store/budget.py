"""The request budget: one token bucket per (partner, tenant), shared by every process using the store.

Its own short transaction per take: no lock is held across the HTTP call the token pays for."""

from __future__ import annotations

import time

from sqlalchemy import and_, case, literal, select, update

from hub.store import tables as t
from hub.store.base import StoreBase, dialect_insert


class BudgetRepo(StoreBase):
    def budget_try_acquire(
        self, partner: str, tenant: str, capacity: float, refill_per_second: float, now: float | None = None
    ) -> float:
        """Take one token from the (partner, tenant) bucket. Returns 0.0 when taken, else seconds to wait.

        One conditional UPDATE does the refill and the take atomically, so processes sharing the store
        share the budget without locks held across the HTTP call."""
        now = time.time() if now is None else now
        b = t.request_budgets
        with self.engine.begin() as conn:
            conn.execute(
                dialect_insert(conn, b)
                .values(
                    partner=partner,
                    tenant=tenant,
                    capacity=capacity,
                    refill_per_second=refill_per_second,
                    tokens=capacity,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["partner", "tenant"])
            )
            elapsed = case((literal(now) > b.c.updated_at, literal(now) - b.c.updated_at), else_=literal(0.0))
            refilled = b.c.tokens + elapsed * literal(refill_per_second)
            available = case((refilled > literal(capacity), literal(capacity)), else_=refilled)
            taken = conn.execute(
                update(b)
                .where(and_(b.c.partner == partner, b.c.tenant == tenant, available >= 1.0))
                .values(
                    tokens=available - 1.0,
                    updated_at=case((literal(now) > b.c.updated_at, literal(now)), else_=b.c.updated_at),
                    capacity=capacity,
                    refill_per_second=refill_per_second,
                )
            ).rowcount
            if taken == 1:
                return 0.0
            row = conn.execute(
                select(b.c.tokens, b.c.updated_at).where(b.c.partner == partner, b.c.tenant == tenant)
            ).one()
        have = min(capacity, row.tokens + max(0.0, now - row.updated_at) * refill_per_second)
        return max(0.001, (1.0 - have) / refill_per_second)
