"""Idempotency records of proxied synchronous calls (Hoomdossier register): claim, call once, keep the answer.

Each method is its own short transaction: a claim must be committed before the upstream call is made."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from hub.store import tables as t
from hub.store.base import StoreBase, as_utc, dialect_insert, fit_column, utcnow
from hub.store.rows import IdempotencyClaim, IdempotencyRecord, row_as
from hub.store.sealed import sealed
from hub.store.status import IdempotencyStatus

KEY_LENGTH = 200  # idempotency_records.key


class IdempotencyRepo(StoreBase):
    def idempotency_begin(
        self, tenant: str, scope: str, key: str, request_hash: str, stale_after: float = 120.0
    ) -> IdempotencyClaim:
        """Claim (tenant, scope, key) for one upstream call. Returns the record: `claimed` True when this
        caller must make the call; otherwise the record holds the stored answer (`done`) or another caller's
        call in flight (`in_flight`, newer than `stale_after` seconds). A stale in-flight claim is taken
        over (its caller died or timed out) and counts as an attempt whose outcome is unknown. A key longer
        than its column (or one PostgreSQL cannot store) is kept as its digest (`fit_column`)."""
        key = fit_column(key, KEY_LENGTH)
        now = utcnow()
        r = t.idempotency_records
        with self.begin() as conn:
            kept = self._sealed_record(conn, tenant, scope, key)
            if kept is not None and kept["status"] == IdempotencyStatus.DONE:
                return {**kept, "claimed": False}  # erased or purged: the answer kept, without its text
            conn.execute(
                dialect_insert(conn, r)
                .values(
                    tenant=tenant,
                    scope=scope,
                    key=key,
                    request_hash=request_hash,
                    status=IdempotencyStatus.IN_FLIGHT,
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["tenant", "scope", "key"])
            )
            row = row_as(
                IdempotencyRecord,
                conn.execute(select(r).where(r.c.tenant == tenant, r.c.scope == scope, r.c.key == key))
                .mappings()
                .one(),
            )
            fresh = row["attempts"] == 0 and row["status"] == IdempotencyStatus.IN_FLIGHT
            stale = row["status"] in (IdempotencyStatus.IN_FLIGHT, IdempotencyStatus.OPEN) and (
                row["status"] == IdempotencyStatus.OPEN
                or (now - (as_utc(row["updated_at"]) or now)).total_seconds() > stale_after
            )
            if fresh or stale:
                won = conn.execute(
                    update(r)
                    .where(
                        r.c.tenant == tenant,
                        r.c.id == row["id"],
                        r.c.attempts == row["attempts"],
                        r.c.status == row["status"],
                    )
                    .values(
                        status=IdempotencyStatus.IN_FLIGHT,
                        attempts=row["attempts"] + 1,
                        updated_at=now,
                        request_hash=request_hash,
                    )
                ).rowcount
                if won == 1:
                    row.update(
                        {"status": IdempotencyStatus.IN_FLIGHT, "attempts": row["attempts"] + 1, "updated_at": now}
                    )
                    return {**row, "claimed": True, "earlier_attempts": row["attempts"] - 1}
            return {**row, "claimed": False}

    def idempotency_finish(
        self, record: IdempotencyRecord, status: str, response_status: int | None = None, response_body: Any = None
    ) -> None:
        """`done` keeps the answer for repeats; `open` releases the claim (the next caller calls again). Its own
        transaction: the outcome is recorded as soon as the upstream call returns."""
        r = t.idempotency_records
        with self.begin() as conn:
            conn.execute(
                update(r)
                .where(r.c.tenant == record["tenant"], r.c.id == record["id"])
                .values(
                    status=status, response_status=response_status, response_body=response_body, updated_at=utcnow()
                )
            )

    def idempotency_get(self, tenant: str, scope: str, key: str) -> IdempotencyRecord | None:
        """The record of (tenant, scope, key), if any (also one whose key an erasure or the purge sealed); its
        own (read) transaction."""
        key = fit_column(key, KEY_LENGTH)
        r = t.idempotency_records
        with self.begin() as conn:
            row = (
                conn.execute(select(r).where(r.c.tenant == tenant, r.c.scope == scope, r.c.key == key))
                .mappings()
                .first()
            )
            return row_as(IdempotencyRecord, row) if row else self._sealed_record(conn, tenant, scope, key)

    def _sealed_record(self, conn: Connection, tenant: str, scope: str, key: str) -> IdempotencyRecord | None:
        """The record an erasure or the retention purge kept under the key's keyed hash (hub/store/sealed.py)."""
        r = t.idempotency_records
        row = (
            conn.execute(select(r).where(r.c.tenant == tenant, r.c.scope == scope, r.c.key == sealed(key)))
            .mappings()
            .first()
        )
        return row_as(IdempotencyRecord, row) if row else None
