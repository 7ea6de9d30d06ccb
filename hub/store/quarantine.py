"""Quarantine: records a stage could not process, with why, until resolved (what a coordinator replays).

Every method works in the caller's transaction: a record is parked together with the state it explains."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select, update

from hub.store import tables as t
from hub.store.base import StoreBase, chunks, dialect_insert, fit_column, utcnow
from hub.store.rows import QuarantineRow, rows_as


class QuarantineRepo(StoreBase):
    def quarantine_put(
        self,
        conn: Connection,
        tenant: str,
        source: str,
        entity: str,
        external_id: str,
        reason: str,
        payload: Any = None,
        payload_bytes: bytes | None = None,
    ) -> None:
        """Park a record that cannot be processed, with its reason; a repeat bumps the count and reopens it.
        `payload_bytes` keeps a refused body byte-exact (what `payload`, JSON, cannot hold: invalid UTF-8)."""
        now = utcnow()
        stmt = dialect_insert(conn, t.quarantine).values(
            tenant=tenant,
            source=source,
            entity=entity,
            external_id=fit_column(str(external_id), 128),
            reason=reason,
            payload=payload,
            payload_bytes=payload_bytes,
            occurrences=1,
            first_seen_at=now,
            last_seen_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant", "source", "entity", "external_id"],
            set_={
                "reason": stmt.excluded.reason,
                "payload": stmt.excluded.payload,
                "payload_bytes": stmt.excluded.payload_bytes,
                "occurrences": t.quarantine.c.occurrences + 1,
                "last_seen_at": stmt.excluded.last_seen_at,
                "resolved_at": None,
            },
        )
        conn.execute(stmt)

    def quarantine_resolve(
        self, conn: Connection, tenant: str, source: str, entity: str, external_ids: Iterable[str]
    ) -> int:
        """Close the open entries of these records; returns how many were open."""
        ids = [fit_column(str(e), 128) for e in external_ids]
        total = 0
        for chunk in chunks(ids):
            total += conn.execute(
                update(t.quarantine)
                .where(
                    t.quarantine.c.tenant == tenant,
                    t.quarantine.c.source == source,
                    t.quarantine.c.entity == entity,
                    t.quarantine.c.external_id.in_(chunk),
                    t.quarantine.c.resolved_at.is_(None),
                )
                .values(resolved_at=utcnow())
            ).rowcount
        return total

    def open_quarantine(self, conn: Connection, tenant: str) -> list[QuarantineRow]:
        """The tenant's open entries, oldest first."""
        return self.quarantine_entries(conn, tenant)

    def quarantine_entries(
        self,
        conn: Connection,
        tenant: str,
        *,
        sources: Iterable[str] = (),
        ids: Iterable[int] = (),
        reason: str | None = None,
        include_resolved: bool = False,
    ) -> list[QuarantineRow]:
        """The tenant's entries, oldest first: open ones (all with `include_resolved`), only of these `sources`
        and `ids` when given, and only those whose reason contains `reason` (any case)."""
        q = select(t.quarantine).where(t.quarantine.c.tenant == tenant)
        if not include_resolved:
            q = q.where(t.quarantine.c.resolved_at.is_(None))
        if sources := list(sources):
            q = q.where(t.quarantine.c.source.in_(sources))
        if ids := list(ids):
            q = q.where(t.quarantine.c.id.in_(ids))
        if reason:
            q = q.where(func.lower(t.quarantine.c.reason).contains(reason.lower(), autoescape=True))
        return rows_as(QuarantineRow, conn.execute(q.order_by(t.quarantine.c.id)).mappings())

    def quarantine_entry(self, conn: Connection, tenant: str, entry_id: int) -> QuarantineRow | None:
        """One entry of the tenant by its id (open or resolved); None for another tenant's id."""
        q = select(t.quarantine).where(t.quarantine.c.tenant == tenant, t.quarantine.c.id == entry_id)
        found = rows_as(QuarantineRow, conn.execute(q).mappings())
        return found[0] if found else None

    def quarantine_open_ids(self, conn: Connection, tenant: str, source: str, external_ids: Iterable[str]) -> set[str]:
        """Which of `external_ids` have an open entry of `source` (any entity type)."""
        found: set[str] = set()
        wanted = {fit_column(str(e), 128): str(e) for e in external_ids}
        for chunk in chunks(list(wanted)):
            found.update(
                wanted[e]
                for (e,) in conn.execute(
                    select(t.quarantine.c.external_id).where(
                        t.quarantine.c.tenant == tenant,
                        t.quarantine.c.source == source,
                        t.quarantine.c.external_id.in_(chunk),
                        t.quarantine.c.resolved_at.is_(None),
                    )
                )
            )
        return found

    def quarantine_open_counts(self, conn: Connection, tenant: str) -> dict[str, int]:
        """source → open entries of the tenant."""
        rows = conn.execute(
            select(t.quarantine.c.source, func.count())
            .where(t.quarantine.c.tenant == tenant, t.quarantine.c.resolved_at.is_(None))
            .group_by(t.quarantine.c.source)
        )
        return {r[0]: int(r[1]) for r in rows}

    def quarantine_open_count(self, conn: Connection, tenant: str, source: str, entity: str) -> int:
        """Open entries of one source and entity (a pull's parked records, for its reconciliation)."""
        q = (
            select(func.count())
            .select_from(t.quarantine)
            .where(
                t.quarantine.c.tenant == tenant,
                t.quarantine.c.source == source,
                t.quarantine.c.entity == entity,
                t.quarantine.c.resolved_at.is_(None),
            )
        )
        return int(conn.execute(q).scalar_one())
