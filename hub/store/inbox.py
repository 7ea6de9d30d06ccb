"""The inbox: messages partners pushed, stored before they are acknowledged, then applied and forwarded.

Writes take the caller's `conn`; the work lists and the lease open their own short transactions (below)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, update

from hub.store import tables as t
from hub.store.base import QueuedItem, StoreBase, chunks, fit_column, insert_or_get_id, utcnow
from hub.store.rows import InboxRow, rows_as
from hub.store.sealed import same_content, sealed
from hub.store.status import INBOX_OPEN, InboxStatus


class InboxRepo(StoreBase):
    def inbox_put(
        self,
        conn: Connection,
        source: str,
        tenant: str,
        payload: str,
        meta: dict[str, Any],
        message_id: str | None = None,
    ) -> QueuedItem:
        """Store a received message durably; a repeat (same message id, else same content) is not stored twice."""
        content_hash = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        mid = fit_column(message_id, 128) if message_id else f"sha256:{content_hash}"
        return self._inbox_insert(conn, source, tenant, mid, content_hash, payload, meta)

    def _inbox_insert(
        self,
        conn: Connection,
        source: str,
        tenant: str,
        message_id: str,
        content_hash: str,
        payload: str,
        meta: dict[str, Any],
        stream: str | None = None,
    ) -> QueuedItem:
        """Insert unless (source, tenant, message id) is stored already, as it is or sealed (an erased or purged
        message keeps its id only as a keyed hash: a redelivery of it is recognised, not stored again); the
        row's id either way."""
        kept = conn.execute(
            select(t.inbox.c.id).where(
                t.inbox.c.tenant == tenant, t.inbox.c.source == source, t.inbox.c.message_id == sealed(message_id)
            )
        ).scalar_one_or_none()
        if kept is not None:
            return QueuedItem(id=int(kept), created=False)
        values = {
            "source": source,
            "tenant": tenant,
            "message_id": message_id,
            "content_hash": content_hash,
            "payload": payload,
            "meta": meta,
            "status": InboxStatus.RECEIVED,
            "attempts": 0,
            "received_at": utcnow(),
            "stream": stream,
        }
        return insert_or_get_id(conn, t.inbox, values, ("source", "tenant", "message_id"))

    def inbox_receive(
        self, conn: Connection, source: str, tenant: str, stream: str, payload: str, meta: dict[str, Any]
    ) -> QueuedItem:
        """Store a pushed message of `stream` before it is acknowledged. A message whose content equals the
        newest message of the same stream is a repeat (a sender's retry, or a resend of unchanged state) and
        is not stored again; the same content after a different one (A → B → A) is a new message. Two
        identical concurrent deliveries compute the same message id, so the unique constraint keeps one. A
        stream name longer than its column is kept as its digest (`fit_column`), never cut."""
        stream = fit_column(stream, 128)
        content_hash = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        latest = conn.execute(
            select(t.inbox.c.id, t.inbox.c.content_hash)
            .where(
                t.inbox.c.tenant == tenant,
                t.inbox.c.source == source,
                # an erasure seals the streams of its subject: a resend of their newest message is still a repeat
                t.inbox.c.stream.in_([stream, sealed(stream)]),
            )
            .order_by(t.inbox.c.id.desc())
            .limit(1)
        ).first()
        if latest is not None and same_content(latest.content_hash, content_hash):
            return QueuedItem(id=int(latest.id), created=False)
        mid = fit_column(f"{content_hash[:40]}:{latest.id if latest is not None else 0}:{stream}", 128)
        return self._inbox_insert(conn, source, tenant, mid, content_hash, payload, meta, stream)

    def inbox_same_content(self, conn: Connection, tenant: str, item_id: int, payload: str) -> bool:
        """Whether the stored message holds `payload` (its content hash, plain or sealed after an erasure or the
        purge, matches): tells a sender's retry of a message id from a different message sent under that id."""
        value = conn.execute(
            select(t.inbox.c.content_hash).where(t.inbox.c.tenant == tenant, t.inbox.c.id == item_id)
        ).scalar_one_or_none()
        return value is not None and same_content(str(value), hashlib.sha256(payload.encode("utf-8")).hexdigest())

    def inbox_import(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert complete inbox rows as given (a benchmark's or a restore's), in chunks. No de-duplication:
        a row whose (source, tenant, message id) is stored already makes the insert fail."""
        for chunk in chunks(rows):
            conn.execute(t.inbox.insert(), [dict(r) for r in chunk])

    # --- work lists and the lease: own short transactions ----------------------------------------------

    def inbox_get(self, conn: Connection, tenant: str, item_id: int) -> InboxRow | None:
        """One stored message by its id (e.g. the one that carried a document's bytes)."""
        rows = rows_as(
            InboxRow,
            conn.execute(select(t.inbox).where(t.inbox.c.tenant == tenant, t.inbox.c.id == item_id)).mappings(),
        )
        return rows[0] if rows else None

    def inbox_open(self, tenant: str, source: str, limit: int = 5000) -> list[InboxRow]:
        """Messages not yet forwarded or given up on (received / retry), oldest first. Its own transaction: the
        list is read once, then each message is leased and handled in transactions of its own."""
        with self.begin() as conn:
            rows = conn.execute(
                select(t.inbox)
                .where(t.inbox.c.tenant == tenant, t.inbox.c.source == source, t.inbox.c.status.in_(INBOX_OPEN))
                .order_by(t.inbox.c.id)
                .limit(limit)
            ).mappings()
            return rows_as(InboxRow, rows)

    def inbox_unapplied(self, tenant: str, source: str, limit: int = 5000) -> list[InboxRow]:
        """Messages not yet applied to the canonical model, oldest first. Its own transaction, as inbox_open."""
        with self.begin() as conn:
            rows = conn.execute(
                select(t.inbox)
                .where(t.inbox.c.tenant == tenant, t.inbox.c.source == source, t.inbox.c.applied_at.is_(None))
                .order_by(t.inbox.c.id)
                .limit(limit)
            ).mappings()
            return rows_as(InboxRow, rows)

    def inbox_lease(
        self, item: InboxRow | dict[str, Any], lease_seconds: float = 300.0, now: datetime | None = None
    ) -> bool:
        """Lease one message to this caller (optimistic: False when an overlapping run took it first). Its own
        transaction, committed before the caller forwards the message, so an overlapping run sees the lease."""
        now = now or utcnow()
        until = datetime.fromtimestamp(now.timestamp() + lease_seconds, UTC)
        old = item.get("next_attempt_at")
        cond = t.inbox.c.next_attempt_at.is_(None) if old is None else t.inbox.c.next_attempt_at == old
        with self.begin() as conn:
            won = conn.execute(
                update(t.inbox)
                .where(
                    t.inbox.c.tenant == item["tenant"],
                    t.inbox.c.id == item["id"],
                    t.inbox.c.status == item["status"],
                    cond,
                )
                .values(next_attempt_at=until)
            ).rowcount
        if won == 1:
            item["next_attempt_at"] = until
        return bool(won == 1)

    # --- in the caller's transaction ---------------------------------------------------------------------

    def inbox_update(self, conn: Connection, tenant: str, item_id: int, **values: Any) -> None:
        conn.execute(update(t.inbox).where(t.inbox.c.tenant == tenant, t.inbox.c.id == item_id).values(**values))

    def inbox_requeue_forward(self, conn: Connection, tenant: str, item_id: int, now: datetime | None = None) -> int:
        """Make a message due to be forwarded again with fresh attempts (a quarantine replay). Returns the
        rows changed: 0 when the message is gone."""
        now = now or utcnow()
        return int(
            conn.execute(
                update(t.inbox)
                .where(t.inbox.c.tenant == tenant, t.inbox.c.id == item_id)
                .values(status=InboxStatus.RETRY, attempts=0, next_attempt_at=now)
            ).rowcount
        )

    def inbox_requeue_apply(self, conn: Connection, tenant: str, item_id: int) -> int:
        """Make a message due to be applied to the canonical model again (a quarantine replay). Returns the
        rows changed: 0 when the message is gone."""
        return int(
            conn.execute(
                update(t.inbox).where(t.inbox.c.tenant == tenant, t.inbox.c.id == item_id).values(applied_at=None)
            ).rowcount
        )

    @staticmethod
    def inbox_due(tenant: str, source: str, now: datetime) -> ColumnElement[bool]:
        """Messages a run has work on now: not applied yet, or still to forward (received / retry) and due
        (not leased, not waiting for a retry)."""
        i = t.inbox
        return and_(
            i.c.tenant == tenant,
            i.c.source == source,
            or_(
                i.c.applied_at.is_(None),
                and_(i.c.status.in_(INBOX_OPEN), or_(i.c.next_attempt_at.is_(None), i.c.next_attempt_at <= now)),
            ),
        )

    def inbox_due_versions(
        self, conn: Connection, tenant: str, source: str, now: datetime | None = None
    ) -> list[tuple[Any, ...]]:
        """(id, attempts, next_attempt_at, applied_at) of each due message (`inbox_due`), oldest first: what
        identifies the due work and its version, for a sensor's run key."""
        i = t.inbox
        q = (
            select(i.c.id, i.c.attempts, i.c.next_attempt_at, i.c.applied_at)
            .where(self.inbox_due(tenant, source, now or utcnow()))
            .order_by(i.c.id)
        )
        return [tuple(r) for r in conn.execute(q)]

    @overload
    def inbox_counts(self, conn: Connection, tenant: str, source: str) -> dict[str, int]: ...
    @overload
    def inbox_counts(self, tenant: str, source: str) -> dict[str, int]: ...
    def inbox_counts(self, *args: Any, **kwargs: Any) -> dict[str, int]:
        """status → messages of a tenant and source. `inbox_counts(conn, tenant, source)` reads in the caller's
        transaction (as `outbox_counts`); `inbox_counts(tenant, source)` opens its own (asset metadata)."""
        return self._with_conn(self._inbox_counts, args, kwargs)

    def _inbox_counts(self, conn: Connection, tenant: str, source: str) -> dict[str, int]:
        rows = conn.execute(
            select(t.inbox.c.status, func.count())
            .where(t.inbox.c.tenant == tenant, t.inbox.c.source == source)
            .group_by(t.inbox.c.status)
        )
        return {r[0]: int(r[1]) for r in rows}
