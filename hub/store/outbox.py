"""The outbox: pushes to partners, queued once per idempotency key, then claimed, sent, retried or parked.

Writes take the caller's `conn`; the claim opens its own short transactions (below)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import ColumnElement, Connection, and_, func, select, update

from hub.store import tables as t
from hub.store.base import ERROR_TEXT_LIMIT, QueuedItem, chunks, insert_or_get_id, utcnow
from hub.store.quarantine import QuarantineRepo
from hub.store.rows import OutboxRow, row_as
from hub.store.status import OUTBOX_DUE, OutboxStatus


class OutboxRepo(QuarantineRepo):
    """Builds on the quarantine repository: `outbox_park` parks an item there."""

    def outbox_enqueue(
        self,
        conn: Connection,
        tenant: str,
        partner: str,
        operation: str,
        idempotency_key: str,
        payload: dict[str, Any],
    ) -> QueuedItem:
        """Queue a push in the caller's transaction; the same idempotency key is only ever queued once."""
        now = utcnow()
        values = {
            "tenant": tenant,
            "partner": partner,
            "operation": operation,
            "idempotency_key": idempotency_key,
            "payload": payload,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        return insert_or_get_id(conn, t.outbox, values, ("tenant", "idempotency_key"))

    def outbox_import(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert complete outbox rows as given (a benchmark's or a restore's), in chunks. No de-duplication:
        a row whose idempotency key is stored already makes the insert fail."""
        for chunk in chunks(rows):
            conn.execute(t.outbox.insert(), [dict(r) for r in chunk])

    # --- the claim: own short transactions ---------------------------------------------------------------

    def outbox_claim(
        self, tenant: str, partner: str, limit: int = 100, lease_seconds: float = 300.0, now: datetime | None = None
    ) -> list[OutboxRow]:
        """Due items (pending, to retry or of unknown outcome), oldest first, each leased to this caller: its
        next_attempt_at moves past the lease, so an overlapping run does not send it too. Optimistic per row:
        an item another run claimed first is skipped. A crashed run's items come back when the lease ends.
        Its own transactions (the read, then one per lease), committed before anything is sent."""
        now = now or utcnow()
        until = datetime.fromtimestamp(now.timestamp() + lease_seconds, UTC)
        claimed: list[OutboxRow] = []
        with self.begin() as conn:
            rows = conn.execute(
                select(t.outbox).where(self.outbox_due(tenant, partner, now)).order_by(t.outbox.c.id).limit(limit)
            ).all()
        for r in rows:
            with self.begin() as conn:
                won = conn.execute(
                    update(t.outbox)
                    .where(
                        t.outbox.c.tenant == tenant,
                        t.outbox.c.id == r.id,
                        t.outbox.c.next_attempt_at == r.next_attempt_at,
                    )
                    .values(next_attempt_at=until, updated_at=now)
                ).rowcount
            if won == 1:
                claimed.append(row_as(OutboxRow, r._mapping))
        return claimed

    # --- in the caller's transaction ---------------------------------------------------------------------

    @staticmethod
    def outbox_due(tenant: str, partner: str, now: datetime) -> ColumnElement[bool]:
        """The items a push claims now: pending, to retry or of unknown outcome, and due (not leased)."""
        return and_(
            t.outbox.c.tenant == tenant,
            t.outbox.c.partner == partner,
            t.outbox.c.status.in_(OUTBOX_DUE),
            t.outbox.c.next_attempt_at <= now,
        )

    def outbox_due_versions(
        self, conn: Connection, tenant: str, partner: str, now: datetime | None = None
    ) -> list[tuple[Any, ...]]:
        """(id, attempts, next_attempt_at, status) of each item the push would claim now (`outbox_due`), oldest
        first: what identifies the due work and its version, for a sensor's run key."""
        o = t.outbox
        q = (
            select(o.c.id, o.c.attempts, o.c.next_attempt_at, o.c.status)
            .where(self.outbox_due(tenant, partner, now or utcnow()))
            .order_by(o.c.id)
        )
        return [tuple(r) for r in conn.execute(q)]

    def outbox_update(self, conn: Connection, tenant: str, item_id: int, **values: Any) -> None:
        conn.execute(
            update(t.outbox)
            .where(t.outbox.c.tenant == tenant, t.outbox.c.id == item_id)
            .values(updated_at=utcnow(), **values)
        )

    def outbox_park(
        self, conn: Connection, item: Mapping[str, Any], attempts: int, reason: str, partner_answer: Any = None
    ) -> None:
        """Give up on an outbox item: `failed`, and into quarantine (source `outbox:<partner>`) with its payload
        and the partner's answer, so a coordinator sees why and can replay it."""
        self.outbox_update(
            conn,
            item["tenant"],
            item["id"],
            status=OutboxStatus.FAILED,
            attempts=attempts,
            last_error=reason[:ERROR_TEXT_LIMIT],
        )
        self.quarantine_put(
            conn,
            item["tenant"],
            f"outbox:{item['partner']}",
            item["operation"],
            item["idempotency_key"],
            reason,
            {"payload": item["payload"], "partner_answer": partner_answer},
        )

    def outbox_requeue(self, conn: Connection, tenant: str, idempotency_key: str, now: datetime | None = None) -> int:
        """Make an item not sent yet due again with fresh attempts (a quarantine replay). Of unknown outcome: an
        earlier attempt may have landed, so the push looks before it sends. Returns the rows changed: 0 when
        the item was sent already or is gone."""
        now = now or utcnow()
        return int(
            conn.execute(
                update(t.outbox)
                .where(t.outbox.c.tenant == tenant, t.outbox.c.idempotency_key == idempotency_key)
                .where(t.outbox.c.status != OutboxStatus.SENT)
                .values(status=OutboxStatus.UNCERTAIN, attempts=0, next_attempt_at=now, updated_at=now)
            ).rowcount
        )

    def outbox_replan(self, conn: Connection, tenant: str, idempotency_key: str, payload: dict[str, Any]) -> bool:
        """A parked (`failed`) item planned again with a different payload (what the partner refused was
        corrected at the source): its payload replaced, due again as `uncertain` (the push looks before it
        writes) with fresh attempts, its quarantine entry closed. Returns whether it changed; an item that is
        not parked, or whose payload is the same, is left alone."""
        row = (
            conn.execute(
                select(t.outbox.c.id, t.outbox.c.partner, t.outbox.c.operation, t.outbox.c.payload).where(
                    t.outbox.c.tenant == tenant,
                    t.outbox.c.idempotency_key == idempotency_key,
                    t.outbox.c.status == OutboxStatus.FAILED,
                )
            )
            .mappings()
            .first()
        )
        if row is None or row["payload"] == payload:
            return False
        now = utcnow()
        self.outbox_update(
            conn,
            tenant,
            row["id"],
            payload=payload,
            status=OutboxStatus.UNCERTAIN,
            attempts=0,
            next_attempt_at=now,
            last_error=None,
        )
        self.quarantine_resolve(conn, tenant, f"outbox:{row['partner']}", row["operation"], [idempotency_key])
        return True

    def outbox_withhold(self, conn: Connection, item: Mapping[str, Any], reason: str, hold: Mapping[str, Any]) -> None:
        """Hold an item back (hub/consent.py): `withheld`, not claimed, its attempts unchanged. `hold` says for
        what (purpose, partner, residents) and is kept in `result` with the status to resume with."""
        self.outbox_update(
            conn,
            item["tenant"],
            item["id"],
            status=OutboxStatus.WITHHELD,
            last_error=reason[:ERROR_TEXT_LIMIT],
            result={"withheld": dict(hold), "resume_as": _resume_status(str(item["status"]))},
        )

    def outbox_withheld(self, conn: Connection, tenant: str, partner: str | None = None) -> list[OutboxRow]:
        """The tenant's withheld items (of one partner), oldest first."""
        q = select(t.outbox).where(t.outbox.c.tenant == tenant, t.outbox.c.status == OutboxStatus.WITHHELD)
        if partner is not None:
            q = q.where(t.outbox.c.partner == partner)
        return [row_as(OutboxRow, r) for r in conn.execute(q.order_by(t.outbox.c.id)).mappings()]

    def outbox_resume_withheld(
        self, conn: Connection, tenant: str, resident_id: str, purpose: str, partner: str, now: datetime | None = None
    ) -> int:
        """Make the items withheld for this resident, purpose and partner due again, as they were before
        (consent was recorded); the push checks consent again before it sends. Returns the items resumed."""
        now = now or utcnow()
        resumed = 0
        for item in self.outbox_withheld(conn, tenant):
            hold = (item["result"] or {}).get("withheld") or {}
            if hold.get("purpose") != purpose or hold.get("partner") != partner:
                continue
            if resident_id not in (hold.get("residents") or []):
                continue
            resumed += conn.execute(
                update(t.outbox)
                .where(
                    t.outbox.c.tenant == tenant, t.outbox.c.id == item["id"], t.outbox.c.status == OutboxStatus.WITHHELD
                )
                .values(
                    status=(item["result"] or {}).get("resume_as") or OutboxStatus.PENDING,
                    next_attempt_at=now,
                    updated_at=now,
                    last_error=None,
                    result=None,
                )
            ).rowcount
        return resumed

    def outbox_keys_present(self, conn: Connection, tenant: str, idempotency_keys: Iterable[str]) -> set[str]:
        """Which of these idempotency keys the tenant has in the outbox already (any status)."""
        found: set[str] = set()
        for chunk in chunks([str(k) for k in idempotency_keys]):
            found.update(
                k
                for (k,) in conn.execute(
                    select(t.outbox.c.idempotency_key).where(
                        t.outbox.c.tenant == tenant, t.outbox.c.idempotency_key.in_(chunk)
                    )
                )
            )
        return found

    @overload
    def outbox_counts(self, conn: Connection, tenant: str, partner: str) -> dict[str, int]: ...
    @overload
    def outbox_counts(self, tenant: str, partner: str) -> dict[str, int]: ...
    def outbox_counts(self, *args: Any, **kwargs: Any) -> dict[str, int]:
        """status → items of a tenant and partner. `outbox_counts(conn, tenant, partner)` reads in the caller's
        transaction; `outbox_counts(tenant, partner)` opens its own (asset metadata), as `inbox_counts`."""
        return self._with_conn(self._outbox_counts, args, kwargs)

    def _outbox_counts(self, conn: Connection, tenant: str, partner: str) -> dict[str, int]:
        rows = conn.execute(
            select(t.outbox.c.status, func.count())
            .where(t.outbox.c.tenant == tenant, t.outbox.c.partner == partner)
            .group_by(t.outbox.c.status)
        )
        return {r[0]: int(r[1]) for r in rows}


def _resume_status(status: str) -> str:
    """What a withheld item resumes as: of unknown outcome stays so (the push looks first), else pending."""
    return OutboxStatus.UNCERTAIN if status == OutboxStatus.UNCERTAIN else OutboxStatus.PENDING
