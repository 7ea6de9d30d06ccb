"""Sync cursors: per (system, tenant, stream), how far an incremental pull got (and `last-success:` marks).

Every method works in the caller's transaction, so a cursor moves together with the data it covers."""

from __future__ import annotations

from sqlalchemy import Connection, select

from hub.store import tables as t
from hub.store.base import StoreBase, dialect_insert, utcnow


class CursorRepo(StoreBase):
    def get_cursor(self, conn: Connection, system: str, tenant: str, stream: str) -> str | None:
        return conn.execute(
            select(t.sync_cursors.c.value).where(
                t.sync_cursors.c.system == system,
                t.sync_cursors.c.tenant == tenant,
                t.sync_cursors.c.stream == stream,
            )
        ).scalar_one_or_none()

    def set_cursor(self, conn: Connection, system: str, tenant: str, stream: str, value: str) -> None:
        stmt = dialect_insert(conn, t.sync_cursors).values(
            system=system, tenant=tenant, stream=stream, value=value, updated_at=utcnow()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["system", "tenant", "stream"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
        conn.execute(stmt)

    def cursors(self, conn: Connection, system: str, tenant: str) -> dict[str, str]:
        """stream → cursor value, for every stream of a system and tenant."""
        rows = conn.execute(
            select(t.sync_cursors.c.stream, t.sync_cursors.c.value).where(
                t.sync_cursors.c.system == system, t.sync_cursors.c.tenant == tenant
            )
        )
        return {r.stream: r.value for r in rows}
