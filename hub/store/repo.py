"""Repositories over the state store: xref, entities, provenance, journey events, cursors, inbox, outbox,
quarantine and the shared request budget. All writes are upserts that stay correct with concurrent writers."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, case, func, literal, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from hub.store import tables as t
from hub.store.db import make_engine, migrate

_CHUNK = 500


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything the store returns is UTC-aware."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stable_hash(value: Any) -> str:
    """A content hash that does not depend on key order (used for diffing and inbox de-duplication)."""
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"state store does not support {conn.dialect.name}")


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass(frozen=True)
class QueuedItem:
    id: int
    created: bool


class Store:
    """The hub's state store. Open it with `Store.open()`; it migrates on start."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        engine = make_engine(url)
        migrate(engine)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    # --- xref ---------------------------------------------------------------------------------------------

    def resolve_ids(
        self, conn: Connection, system: str, tenant: str, entity: str, external_ids: Iterable[str]
    ) -> dict[str, str]:
        """Canonical id for each external id, creating new ones; concurrent callers agree on one id."""
        wanted = sorted({str(e) for e in external_ids})
        if not wanted:
            return {}
        found = self.lookup_ids(conn, system, tenant, entity, wanted)
        missing = [e for e in wanted if e not in found]
        if missing:
            self.link_ids(conn, system, tenant, entity, {e: str(uuid.uuid4()) for e in missing})
            # Re-read: a concurrent writer may have won the race for some ids.
            found.update(self.lookup_ids(conn, system, tenant, entity, missing))
        return found

    def lookup_ids(
        self, conn: Connection, system: str, tenant: str, entity: str, external_ids: Iterable[str]
    ) -> dict[str, str]:
        """external id → canonical id, for the ids that have one."""
        return self._xref_map(conn, system, tenant, entity, t.xref.c.external_id, t.xref.c.canonical_id, external_ids)

    def external_ids(
        self, conn: Connection, system: str, tenant: str, entity: str, canonical_ids: Iterable[str]
    ) -> dict[str, str]:
        """canonical id → external id (the reverse of lookup_ids)."""
        return self._xref_map(conn, system, tenant, entity, t.xref.c.canonical_id, t.xref.c.external_id, canonical_ids)

    def _xref_map(
        self, conn: Connection, system: str, tenant: str, entity: str, key: Any, value: Any, keys: Iterable[str]
    ) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks([str(k) for k in keys]):
            rows = conn.execute(
                select(key, value).where(
                    t.xref.c.system == system,
                    t.xref.c.tenant == tenant,
                    t.xref.c.entity == entity,
                    key.in_(chunk),
                )
            )
            out.update({r[0]: r[1] for r in rows})
        return out

    def external_ids_of(self, conn: Connection, system: str, tenant: str, entity: str, canonical_id: str) -> list[str]:
        """Every external id of `system`/`entity` that maps to one canonical id (e.g. a resident's accounts)."""
        rows = conn.execute(
            select(t.xref.c.external_id)
            .where(
                t.xref.c.system == system,
                t.xref.c.tenant == tenant,
                t.xref.c.entity == entity,
                t.xref.c.canonical_id == canonical_id,
            )
            .order_by(t.xref.c.id)
        )
        return [r[0] for r in rows]

    def link_ids(self, conn: Connection, system: str, tenant: str, entity: str, links: dict[str, str]) -> None:
        """Record external id → canonical id where the external id has none yet (first writer wins)."""
        if not links:
            return
        now = utcnow()
        rows = [
            {
                "system": system,
                "tenant": tenant,
                "entity": entity,
                "external_id": str(e),
                "canonical_id": c,
                "first_seen_at": now,
            }
            for e, c in sorted(links.items())
        ]
        stmt = _insert(conn, t.xref).on_conflict_do_nothing(
            index_elements=["system", "tenant", "entity", "external_id"]
        )
        for chunk in _chunks(rows):
            conn.execute(stmt, list(chunk))

    def live_external_ids(self, conn: Connection, system: str, tenant: str, entity: str, kind: str) -> dict[str, str]:
        """external id → canonical id for every xref of `entity` whose canonical `kind` entity is not deleted."""
        q = self._live_xref(system, tenant, entity, kind, t.xref.c.external_id, t.xref.c.canonical_id)
        return {r.external_id: r.canonical_id for r in conn.execute(q)}

    def count_live_external_ids(self, conn: Connection, system: str, tenant: str, entity: str, kind: str) -> int:
        q = self._live_xref(system, tenant, entity, kind, func.count())
        return int(conn.execute(q).scalar_one())

    @staticmethod
    def _live_xref(system: str, tenant: str, entity: str, kind: str, *columns: Any) -> Any:
        return (
            select(*columns)
            .select_from(t.xref)
            .join(t.entities, t.entities.c.canonical_id == t.xref.c.canonical_id)
            .where(
                t.xref.c.system == system,
                t.xref.c.tenant == tenant,
                t.xref.c.entity == entity,
                t.entities.c.entity == kind,
                t.entities.c.deleted_at.is_(None),
            )
        )

    def mark_deleted(self, conn: Connection, canonical_ids: Iterable[str]) -> dict[str, str]:
        """Soft-delete canonical entities (kept, with deleted_at): returns id → entity type of those that were
        live. The content hash records the deletion, so a later identical observation restores the entity."""
        ids = [str(c) for c in canonical_ids]
        marked: dict[str, str] = {}
        now = utcnow()
        for chunk in _chunks(ids):
            rows = conn.execute(
                select(t.entities.c.canonical_id, t.entities.c.entity, t.entities.c.data).where(
                    t.entities.c.canonical_id.in_(chunk), t.entities.c.deleted_at.is_(None)
                )
            ).all()
            for r in rows:
                conn.execute(
                    update(t.entities)
                    .where(t.entities.c.canonical_id == r.canonical_id)
                    .values(
                        deleted_at=now,
                        updated_at=now,
                        version=t.entities.c.version + 1,
                        data_hash=stable_hash([r.data, True]),
                    )
                )
                marked[r.canonical_id] = r.entity
        return marked

    # --- entities and provenance -------------------------------------------------------------------------

    def load_entities(self, conn: Connection, canonical_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(canonical_ids)
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(ids):
            for r in conn.execute(select(t.entities).where(t.entities.c.canonical_id.in_(chunk))).mappings():
                out[r["canonical_id"]] = dict(r)
        return out

    def child_ids(
        self, conn: Connection, entity: str, parent_ids: Iterable[str], *, live: bool = True
    ) -> dict[str, list[str]]:
        """parent id → canonical ids of its `entity` children (oldest first), e.g. a resident's dwellings."""
        out: dict[str, list[str]] = {}
        for chunk in _chunks(sorted({str(p) for p in parent_ids})):
            q = select(t.entities.c.parent_id, t.entities.c.canonical_id).where(
                t.entities.c.entity == entity, t.entities.c.parent_id.in_(chunk)
            )
            if live:
                q = q.where(t.entities.c.deleted_at.is_(None))
            for r in conn.execute(q.order_by(t.entities.c.created_at, t.entities.c.canonical_id)):
                out.setdefault(r.parent_id, []).append(r.canonical_id)
        return out

    def join_dwelling_files(
        self, conn: Connection, system: str, tenant: str, entity: str, candidates: dict[str, list[str]]
    ) -> None:
        """One dossier file per dwelling across systems: each external id of `system`/`entity` that has no xref
        yet is linked to the first live dwelling file of its candidate dwellings (in order) that no other id
        of the same `system`/`entity` holds. The rest get their own canonical id later (resolve_ids)."""
        known = self.lookup_ids(conn, system, tenant, entity, candidates)
        new = {e: ds for e, ds in candidates.items() if e not in known and ds}
        if not new:
            return
        files = self.child_ids(conn, "dwelling_file", {d for ds in new.values() for d in ds})
        taken = self.external_ids(conn, system, tenant, entity, [f for v in files.values() for f in v])
        for ext, dwellings in new.items():
            free = [f for d in dwellings for f in files.get(d, []) if f not in taken]
            if free:
                self.link_ids(conn, system, tenant, entity, {ext: free[0]})
                taken[free[0]] = ext

    def upsert_entities(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Insert or update entities; an update only lands when the content hash differs (no-op replays)."""
        if not rows:
            return
        stmt = _insert(conn, t.entities)
        stmt = stmt.on_conflict_do_update(
            index_elements=["canonical_id"],
            set_={
                "data": stmt.excluded.data,
                "data_hash": stmt.excluded.data_hash,
                "natural_key": stmt.excluded.natural_key,
                "parent_id": stmt.excluded.parent_id,
                "version": t.entities.c.version + 1,
                "updated_at": stmt.excluded.updated_at,
                "deleted_at": stmt.excluded.deleted_at,
            },
            where=t.entities.c.data_hash != stmt.excluded.data_hash,
        )
        for chunk in _chunks(rows):
            conn.execute(stmt, list(chunk))

    def load_provenance(self, conn: Connection, canonical_ids: Iterable[str]) -> dict[str, dict[str, dict[str, Any]]]:
        ids = list(canonical_ids)
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for chunk in _chunks(ids):
            for r in conn.execute(
                select(t.field_provenance).where(t.field_provenance.c.canonical_id.in_(chunk))
            ).mappings():
                out.setdefault(r["canonical_id"], {})[r["field"]] = {
                    "source": r["source"],
                    "source_ref": r["source_ref"],
                    "observed_at": as_utc(r["observed_at"]),
                }
        return out

    def upsert_provenance(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        stmt = _insert(conn, t.field_provenance)
        stmt = stmt.on_conflict_do_update(
            index_elements=["canonical_id", "field"],
            set_={
                "source": stmt.excluded.source,
                "source_ref": stmt.excluded.source_ref,
                "observed_at": stmt.excluded.observed_at,
            },
        )
        for chunk in _chunks(rows):
            conn.execute(stmt, list(chunk))

    # --- journey events ----------------------------------------------------------------------------------

    def add_journey_events(self, conn: Connection, rows: list[dict[str, Any]]) -> int:
        """Record phases reached; a (dossier, phase) pair already recorded is skipped. Returns rows added."""
        if not rows:
            return 0
        keys = [(r["dossier_id"], r["phase"]) for r in rows]
        existing: set[tuple[str, str]] = set()
        for chunk in _chunks(keys):
            existing.update(
                (r.dossier_id, r.phase)
                for r in conn.execute(
                    select(t.journey_events.c.dossier_id, t.journey_events.c.phase).where(
                        tuple_(t.journey_events.c.dossier_id, t.journey_events.c.phase).in_(list(chunk))
                    )
                )
            )
        new = [r for r in rows if (r["dossier_id"], r["phase"]) not in existing]
        if new:
            stmt = _insert(conn, t.journey_events).on_conflict_do_nothing(index_elements=["dossier_id", "phase"])
            for chunk in _chunks(new):
                conn.execute(stmt, list(chunk))
        return len(new)

    # --- cursors -----------------------------------------------------------------------------------------

    def get_cursor(self, conn: Connection, system: str, tenant: str, stream: str) -> str | None:
        return conn.execute(
            select(t.sync_cursors.c.value).where(
                t.sync_cursors.c.system == system,
                t.sync_cursors.c.tenant == tenant,
                t.sync_cursors.c.stream == stream,
            )
        ).scalar_one_or_none()

    def set_cursor(self, conn: Connection, system: str, tenant: str, stream: str, value: str) -> None:
        stmt = _insert(conn, t.sync_cursors).values(
            system=system, tenant=tenant, stream=stream, value=value, updated_at=utcnow()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["system", "tenant", "stream"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
        conn.execute(stmt)

    def cursors(self, conn: Connection, system: str, tenant: str) -> dict[str, str]:
        rows = conn.execute(
            select(t.sync_cursors.c.stream, t.sync_cursors.c.value).where(
                t.sync_cursors.c.system == system, t.sync_cursors.c.tenant == tenant
            )
        )
        return {r.stream: r.value for r in rows}

    # --- inbox / outbox / quarantine ---------------------------------------------------------------------

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
        mid = message_id or f"sha256:{content_hash}"
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
        """Insert unless (source, tenant, message id) is stored already; the row's id either way."""
        stmt = (
            _insert(conn, t.inbox)
            .values(
                source=source,
                tenant=tenant,
                message_id=message_id,
                content_hash=content_hash,
                payload=payload,
                meta=meta,
                status="received",
                attempts=0,
                received_at=utcnow(),
                stream=stream,
            )
            .on_conflict_do_nothing(index_elements=["source", "tenant", "message_id"])
        )
        created = conn.execute(stmt).rowcount == 1
        row_id = conn.execute(
            select(t.inbox.c.id).where(
                t.inbox.c.source == source, t.inbox.c.tenant == tenant, t.inbox.c.message_id == message_id
            )
        ).scalar_one()
        return QueuedItem(id=int(row_id), created=created)

    def inbox_receive(
        self, conn: Connection, source: str, tenant: str, stream: str, payload: str, meta: dict[str, Any]
    ) -> QueuedItem:
        """Store a pushed message of `stream` before it is acknowledged. A message whose content equals the
        newest message of the same stream is a repeat (a sender's retry, or a resend of unchanged state) and
        is not stored again; the same content after a different one (A → B → A) is a new message. Two
        identical concurrent deliveries compute the same message id, so the unique constraint keeps one."""
        content_hash = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        latest = conn.execute(
            select(t.inbox.c.id, t.inbox.c.content_hash)
            .where(t.inbox.c.tenant == tenant, t.inbox.c.source == source, t.inbox.c.stream == stream)
            .order_by(t.inbox.c.id.desc())
            .limit(1)
        ).first()
        if latest is not None and latest.content_hash == content_hash:
            return QueuedItem(id=int(latest.id), created=False)
        mid = f"{content_hash[:40]}:{latest.id if latest is not None else 0}:{stream}"[:128]
        return self._inbox_insert(conn, source, tenant, mid, content_hash, payload, meta, stream)

    def inbox_open(self, tenant: str, source: str, limit: int = 5000) -> list[dict[str, Any]]:
        """Messages not yet forwarded or given up on (received / retry), oldest first."""
        with self.begin() as conn:
            rows = conn.execute(
                select(t.inbox)
                .where(
                    t.inbox.c.tenant == tenant,
                    t.inbox.c.source == source,
                    t.inbox.c.status.in_(("received", "retry")),
                )
                .order_by(t.inbox.c.id)
                .limit(limit)
            ).mappings()
            return [dict(r) for r in rows]

    def inbox_unapplied(self, tenant: str, source: str, limit: int = 5000) -> list[dict[str, Any]]:
        """Messages not yet applied to the canonical model, oldest first."""
        with self.begin() as conn:
            rows = conn.execute(
                select(t.inbox)
                .where(t.inbox.c.tenant == tenant, t.inbox.c.source == source, t.inbox.c.applied_at.is_(None))
                .order_by(t.inbox.c.id)
                .limit(limit)
            ).mappings()
            return [dict(r) for r in rows]

    def inbox_lease(self, item: dict[str, Any], lease_seconds: float = 300.0, now: datetime | None = None) -> bool:
        """Lease one message to this caller (optimistic: False when an overlapping run took it first)."""
        now = now or utcnow()
        until = datetime.fromtimestamp(now.timestamp() + lease_seconds, UTC)
        old = item.get("next_attempt_at")
        cond = t.inbox.c.next_attempt_at.is_(None) if old is None else t.inbox.c.next_attempt_at == old
        with self.begin() as conn:
            won = conn.execute(
                update(t.inbox)
                .where(t.inbox.c.id == item["id"], t.inbox.c.status == item["status"], cond)
                .values(next_attempt_at=until)
            ).rowcount
        if won == 1:
            item["next_attempt_at"] = until
        return bool(won == 1)

    def inbox_update(self, conn: Connection, item_id: int, **values: Any) -> None:
        conn.execute(update(t.inbox).where(t.inbox.c.id == item_id).values(**values))

    def inbox_counts(self, tenant: str, source: str) -> dict[str, int]:
        with self.begin() as conn:
            rows = conn.execute(
                select(t.inbox.c.status, func.count())
                .where(t.inbox.c.tenant == tenant, t.inbox.c.source == source)
                .group_by(t.inbox.c.status)
            )
            return {r[0]: int(r[1]) for r in rows}

    # --- idempotency records (synchronous proxies) -----------------------------------------------------------

    def idempotency_begin(
        self, tenant: str, scope: str, key: str, request_hash: str, stale_after: float = 120.0
    ) -> dict[str, Any]:
        """Claim (tenant, scope, key) for one upstream call. Returns the record: `claimed` True when this
        caller must make the call; otherwise the record holds the stored answer (`done`) or another caller's
        call in flight (`in_flight`, newer than `stale_after` seconds). A stale in-flight claim is taken
        over (its caller died or timed out) and counts as an attempt whose outcome is unknown."""
        now = utcnow()
        r = t.idempotency_records
        with self.begin() as conn:
            conn.execute(
                _insert(conn, r)
                .values(
                    tenant=tenant,
                    scope=scope,
                    key=key,
                    request_hash=request_hash,
                    status="in_flight",
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["tenant", "scope", "key"])
            )
            row = dict(
                conn.execute(select(r).where(r.c.tenant == tenant, r.c.scope == scope, r.c.key == key)).mappings().one()
            )
            fresh = row["attempts"] == 0 and row["status"] == "in_flight"
            stale = row["status"] in ("in_flight", "open") and (
                row["status"] == "open" or (now - (as_utc(row["updated_at"]) or now)).total_seconds() > stale_after
            )
            if fresh or stale:
                won = conn.execute(
                    update(r)
                    .where(r.c.id == row["id"], r.c.attempts == row["attempts"], r.c.status == row["status"])
                    .values(status="in_flight", attempts=row["attempts"] + 1, updated_at=now, request_hash=request_hash)
                ).rowcount
                if won == 1:
                    row.update(status="in_flight", attempts=row["attempts"] + 1, updated_at=now)
                    return {**row, "claimed": True, "earlier_attempts": row["attempts"] - 1}
            return {**row, "claimed": False}

    def idempotency_finish(
        self, record_id: int, status: str, response_status: int | None = None, response_body: Any = None
    ) -> None:
        """`done` keeps the answer for repeats; `open` releases the claim (the next caller calls again)."""
        r = t.idempotency_records
        with self.begin() as conn:
            conn.execute(
                update(r)
                .where(r.c.id == record_id)
                .values(
                    status=status, response_status=response_status, response_body=response_body, updated_at=utcnow()
                )
            )

    def idempotency_get(self, tenant: str, scope: str, key: str) -> dict[str, Any] | None:
        r = t.idempotency_records
        with self.begin() as conn:
            row = (
                conn.execute(select(r).where(r.c.tenant == tenant, r.c.scope == scope, r.c.key == key))
                .mappings()
                .first()
            )
            return dict(row) if row else None

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
        stmt = (
            _insert(conn, t.outbox)
            .values(
                tenant=tenant,
                partner=partner,
                operation=operation,
                idempotency_key=idempotency_key,
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
        created = conn.execute(stmt).rowcount == 1
        row_id = conn.execute(select(t.outbox.c.id).where(t.outbox.c.idempotency_key == idempotency_key)).scalar_one()
        return QueuedItem(id=row_id, created=created)

    def outbox_claim(
        self, tenant: str, partner: str, limit: int = 100, lease_seconds: float = 300.0, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Due items (pending, to retry or of unknown outcome), oldest first, each leased to this caller: its
        next_attempt_at moves past the lease, so an overlapping run does not send it too. Optimistic per row:
        an item another run claimed first is skipped. A crashed run's items come back when the lease ends."""
        now = now or utcnow()
        until = datetime.fromtimestamp(now.timestamp() + lease_seconds, UTC)
        claimed: list[dict[str, Any]] = []
        with self.begin() as conn:
            rows = conn.execute(
                select(t.outbox).where(self.outbox_due(tenant, partner, now)).order_by(t.outbox.c.id).limit(limit)
            ).all()
        for r in rows:
            with self.begin() as conn:
                won = conn.execute(
                    update(t.outbox)
                    .where(t.outbox.c.id == r.id, t.outbox.c.next_attempt_at == r.next_attempt_at)
                    .values(next_attempt_at=until, updated_at=now)
                ).rowcount
            if won == 1:
                claimed.append(dict(r._mapping))
        return claimed

    @staticmethod
    def outbox_due(tenant: str, partner: str, now: datetime) -> Any:
        """The items a push claims now: pending, to retry or of unknown outcome, and due (not leased)."""
        return and_(
            t.outbox.c.tenant == tenant,
            t.outbox.c.partner == partner,
            t.outbox.c.status.in_(("pending", "retry", "uncertain")),
            t.outbox.c.next_attempt_at <= now,
        )

    def outbox_update(self, conn: Connection, item_id: int, **values: Any) -> None:
        conn.execute(update(t.outbox).where(t.outbox.c.id == item_id).values(updated_at=utcnow(), **values))

    def outbox_park(
        self, conn: Connection, item: dict[str, Any], attempts: int, reason: str, partner_answer: Any = None
    ) -> None:
        """Give up on an outbox item: `failed`, and into quarantine (source `outbox:<partner>`) with its payload
        and the partner's answer, so a coordinator sees why and can replay it."""
        self.outbox_update(conn, item["id"], status="failed", attempts=attempts, last_error=reason[:4000])
        self.quarantine_put(
            conn,
            item["tenant"],
            f"outbox:{item['partner']}",
            item["operation"],
            item["idempotency_key"],
            reason,
            {"payload": item["payload"], "partner_answer": partner_answer},
        )

    def outbox_counts(self, conn: Connection, tenant: str, partner: str) -> dict[str, int]:
        rows = conn.execute(
            select(t.outbox.c.status, func.count())
            .where(t.outbox.c.tenant == tenant, t.outbox.c.partner == partner)
            .group_by(t.outbox.c.status)
        )
        return {r[0]: int(r[1]) for r in rows}

    def quarantine_put(
        self,
        conn: Connection,
        tenant: str,
        source: str,
        entity: str,
        external_id: str,
        reason: str,
        payload: Any = None,
    ) -> None:
        """Park a record that cannot be processed, with its reason; a repeat bumps the count and reopens it."""
        now = utcnow()
        stmt = _insert(conn, t.quarantine).values(
            tenant=tenant,
            source=source,
            entity=entity,
            external_id=str(external_id),
            reason=reason,
            payload=payload,
            occurrences=1,
            first_seen_at=now,
            last_seen_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant", "source", "entity", "external_id"],
            set_={
                "reason": stmt.excluded.reason,
                "payload": stmt.excluded.payload,
                "occurrences": t.quarantine.c.occurrences + 1,
                "last_seen_at": stmt.excluded.last_seen_at,
                "resolved_at": None,
            },
        )
        conn.execute(stmt)

    def quarantine_resolve(
        self, conn: Connection, tenant: str, source: str, entity: str, external_ids: Iterable[str]
    ) -> int:
        ids = [str(e) for e in external_ids]
        total = 0
        for chunk in _chunks(ids):
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

    def open_quarantine(self, conn: Connection, tenant: str | None = None) -> list[dict[str, Any]]:
        q = select(t.quarantine).where(t.quarantine.c.resolved_at.is_(None))
        if tenant:
            q = q.where(t.quarantine.c.tenant == tenant)
        return [dict(r) for r in conn.execute(q.order_by(t.quarantine.c.id)).mappings()]

    # --- request budget ----------------------------------------------------------------------------------

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
                _insert(conn, b)
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

    # --- small read helpers used by checks, the CLI and tests -------------------------------------------

    def count(self, table: Table, **where: Any) -> int:
        q = select(func.count()).select_from(table)
        for col, val in where.items():
            q = q.where(table.c[col] == val)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())
