"""Canonical entities (with their parent tree and soft deletion), field provenance and journey events.

Every method works in the caller's transaction (`conn`): reads and writes here are part of a merge or a check."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select, tuple_, update

from hub.store import tables as t
from hub.store.base import as_utc, chunks, db_datetime, dialect_insert, stable_hash, utcnow
from hub.store.rows import EntityRow, JourneyEventRow, Provenance, rows_as
from hub.store.xref import XrefRepo


class EntityRepo(XrefRepo):
    """Entities build on the xref repository: `join_dwelling_files` links partner ids to existing files."""

    def load_entities(self, conn: Connection, canonical_ids: Iterable[str], *, tenant: str) -> dict[str, EntityRow]:
        """canonical id → its row (live or deleted), for the ids that exist in `tenant`."""
        ids = list(canonical_ids)
        out: dict[str, EntityRow] = {}
        for chunk in chunks(ids):
            rows = conn.execute(
                select(t.entities).where(t.entities.c.tenant == tenant, t.entities.c.canonical_id.in_(chunk))
            ).mappings()
            out.update((r["canonical_id"], r) for r in rows_as(EntityRow, rows))
        return out

    def entities_of(
        self,
        conn: Connection,
        entity: str,
        *,
        tenant: str,
        ids: Iterable[str] | None = None,
        parents: Iterable[str] | None = None,
        live: bool = False,
    ) -> list[EntityRow]:
        """The `entity` rows among `ids`, or the `entity` children of `parents` (exactly one of the two), deleted
        ones too unless `live`. Unordered, like the IN lists they come from (in chunks, in the order given)."""
        if (ids is None) == (parents is None):
            raise TypeError("entities_of takes either ids or parents")
        keys = [str(k) for k in (ids if ids is not None else parents or [])]
        col = t.entities.c.canonical_id if ids is not None else t.entities.c.parent_id
        out: list[EntityRow] = []
        for chunk in chunks(keys):
            q = select(t.entities).where(t.entities.c.tenant == tenant, t.entities.c.entity == entity, col.in_(chunk))
            if live:
                q = q.where(t.entities.c.deleted_at.is_(None))
            out += rows_as(EntityRow, conn.execute(q).mappings())
        return out

    def live_entities(self, conn: Connection, entity: str, tenants: str | Iterable[str]) -> list[EntityRow]:
        """Every live `entity` of one tenant or several (unordered)."""
        wanted = [tenants] if isinstance(tenants, str) else list(tenants)
        q = select(t.entities).where(
            t.entities.c.entity == entity,
            t.entities.c.tenant.in_(wanted),
            t.entities.c.deleted_at.is_(None),
        )
        return rows_as(EntityRow, conn.execute(q).mappings())

    @staticmethod
    def ids_by_natural_key(conn: Connection, tenant: str, entity: str, keys: Sequence[str]) -> dict[str, str]:
        """natural key → canonical id of the existing entities (live or deleted) with one of `keys` (a static
        method: it needs only the connection)."""
        out: dict[str, str] = {}
        for chunk in chunks(keys):
            rows = conn.execute(
                select(t.entities.c.natural_key, t.entities.c.canonical_id).where(
                    t.entities.c.tenant == tenant,
                    t.entities.c.entity == entity,
                    t.entities.c.natural_key.in_(chunk),
                )
            )
            out.update({r.natural_key: r.canonical_id for r in rows})
        return out

    def child_ids(
        self, conn: Connection, entity: str, parent_ids: Iterable[str], *, tenant: str, live: bool = True
    ) -> dict[str, list[str]]:
        """parent id → canonical ids of its `entity` children (oldest first), e.g. a resident's dwellings."""
        out: dict[str, list[str]] = {}
        for chunk in chunks(sorted({str(p) for p in parent_ids})):
            q = select(t.entities.c.parent_id, t.entities.c.canonical_id).where(
                t.entities.c.tenant == tenant, t.entities.c.entity == entity, t.entities.c.parent_id.in_(chunk)
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
        files = self.child_ids(conn, "dwelling_file", {d for ds in new.values() for d in ds}, tenant=tenant)
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
        stmt = dialect_insert(conn, t.entities)
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
        for chunk in chunks(rows):
            conn.execute(stmt, list(chunk))

    def mark_deleted(self, conn: Connection, canonical_ids: Iterable[str], *, tenant: str) -> dict[str, str]:
        """Soft-delete canonical entities (kept, with deleted_at): returns id → entity type of those that were
        live. The content hash records the deletion, so a later identical observation restores the entity."""
        ids = [str(c) for c in canonical_ids]
        marked: dict[str, str] = {}
        now = utcnow()
        for chunk in chunks(ids):
            rows = conn.execute(
                select(t.entities.c.canonical_id, t.entities.c.entity, t.entities.c.data).where(
                    t.entities.c.tenant == tenant,
                    t.entities.c.canonical_id.in_(chunk),
                    t.entities.c.deleted_at.is_(None),
                )
            ).all()
            for r in rows:
                conn.execute(
                    update(t.entities)
                    .where(t.entities.c.tenant == tenant, t.entities.c.canonical_id == r.canonical_id)
                    .values(
                        deleted_at=now,
                        updated_at=now,
                        version=t.entities.c.version + 1,
                        data_hash=stable_hash([r.data, True]),
                    )
                )
                marked[r.canonical_id] = r.entity
        return marked

    def count_live_entities(self, conn: Connection, tenant: str) -> dict[str, int]:
        """entity type → how many of the tenant's entities of that type are live."""
        e = t.entities
        rows = conn.execute(
            select(e.c.entity, func.count()).where(e.c.tenant == tenant, e.c.deleted_at.is_(None)).group_by(e.c.entity)
        )
        return {r[0]: int(r[1]) for r in rows}

    def count_live_by_data(self, conn: Connection, tenant: str, entity: str, field: str) -> dict[str, int]:
        """The tenant's live `entity` rows counted by one field of their data (as text; a missing one is
        'None'), e.g. dossiers by phase."""
        e = t.entities
        value = e.c.data[field].as_string()
        rows = conn.execute(
            select(value, func.count())
            .where(e.c.tenant == tenant, e.c.entity == entity, e.c.deleted_at.is_(None))
            .group_by(value)
        )
        return {str(r[0]): int(r[1]) for r in rows}

    # --- provenance --------------------------------------------------------------------------------------

    def load_provenance(
        self, conn: Connection, canonical_ids: Iterable[str], *, tenant: str
    ) -> dict[str, dict[str, Provenance]]:
        """canonical id → field → who last set it, for entities of `tenant` (provenance is keyed by entity)."""
        ids = list(canonical_ids)
        out: dict[str, dict[str, Provenance]] = {}
        fp, e = t.field_provenance, t.entities
        for chunk in chunks(ids):
            for r in conn.execute(
                select(fp)
                .join(e, e.c.canonical_id == fp.c.canonical_id)
                .where(e.c.tenant == tenant, fp.c.canonical_id.in_(chunk))
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
        stmt = dialect_insert(conn, t.field_provenance)
        stmt = stmt.on_conflict_do_update(
            index_elements=["canonical_id", "field"],
            set_={
                "source": stmt.excluded.source,
                "source_ref": stmt.excluded.source_ref,
                "observed_at": stmt.excluded.observed_at,
            },
        )
        for chunk in chunks(rows):
            conn.execute(stmt, list(chunk))

    # --- journey events ----------------------------------------------------------------------------------

    def add_journey_events(self, conn: Connection, rows: list[dict[str, Any]]) -> int:
        """Record phases reached; a (dossier, phase) pair already recorded is skipped. Returns rows added."""
        if not rows:
            return 0
        keys = [(r["dossier_id"], r["phase"]) for r in rows]
        tenants = sorted({r["tenant"] for r in rows})
        existing: set[tuple[str, str]] = set()
        for chunk in chunks(keys):
            existing.update(
                (r.dossier_id, r.phase)
                for r in conn.execute(
                    select(t.journey_events.c.dossier_id, t.journey_events.c.phase).where(
                        t.journey_events.c.tenant.in_(tenants),
                        tuple_(t.journey_events.c.dossier_id, t.journey_events.c.phase).in_(list(chunk)),
                    )
                )
            )
        new = [r for r in rows if (r["dossier_id"], r["phase"]) not in existing]
        if new:
            stmt = dialect_insert(conn, t.journey_events).on_conflict_do_nothing(index_elements=["dossier_id", "phase"])
            for batch in chunks(new):
                conn.execute(stmt, list(batch))
        return len(new)

    def journey_recorded(
        self, conn: Connection, tenant: str, dossier_ids: Iterable[str]
    ) -> dict[tuple[str, str], datetime]:
        """(dossier id, phase) → when it happened, for the phases already recorded for these dossiers."""
        je = t.journey_events
        out: dict[tuple[str, str], datetime] = {}
        for chunk in chunks(sorted(set(dossier_ids))):
            q = select(je.c.dossier_id, je.c.phase, je.c.occurred_at).where(
                je.c.tenant == tenant, je.c.dossier_id.in_(list(chunk))
            )
            out.update(((r.dossier_id, r.phase), as_utc(r.occurred_at)) for r in conn.execute(q))
        return out

    def journey_events(self, conn: Connection, tenants: str | Iterable[str]) -> list[JourneyEventRow]:
        """Every journey event of one tenant or several (unordered)."""
        wanted = [tenants] if isinstance(tenants, str) else list(tenants)
        q = select(t.journey_events).where(t.journey_events.c.tenant.in_(wanted))
        return rows_as(JourneyEventRow, conn.execute(q).mappings())

    def count_journey_events(self, conn: Connection, tenant: str) -> int:
        q = select(func.count()).select_from(t.journey_events).where(t.journey_events.c.tenant == tenant)
        return int(conn.execute(q).scalar_one())

    def journey_last_progress(
        self, conn: Connection, tenant: str, *, before: datetime, since: datetime, excluding: Iterable[str]
    ) -> dict[str, datetime]:
        """dossier id → when its latest journey event happened, for the tenant's dossiers whose latest event
        lies in [since, before) and that reached none of the `excluding` phases (e.g. done, stopped); oldest
        first, then by dossier id. One grouped query (the stalled-dossier sensor runs it in its tick)."""
        je = t.journey_events
        last = func.max(je.c.occurred_at)
        terminal = func.sum(case((je.c.phase.in_(list(excluding)), 1), else_=0))
        rows = conn.execute(
            select(je.c.dossier_id, last.label("last"))
            .where(je.c.tenant == tenant)
            .group_by(je.c.dossier_id)
            .having(last < db_datetime(conn, before), last >= db_datetime(conn, since), terminal == 0)
            .order_by(last, je.c.dossier_id)
        )
        return {r.dossier_id: as_utc(r.last) for r in rows}
