"""Cross-references: which canonical id each partner record (system, tenant, entity, external id) stands for.

Every method works in the caller's transaction (`conn`); ids are created first-writer-wins."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select, update

from hub.pseudonym import current_key, keyed_hash
from hub.store import tables as t
from hub.store.base import StoreBase, chunks, dialect_insert, utcnow

ERASED_PREFIX = "erased:"


def erased_ref(system: str, tenant: str, entity: str, external_id: str) -> str:
    """What an erasure leaves of a partner id in the xref: a keyed hash, so the id is gone from the hub but a
    pull that meets it again recognises it (and does not re-import the erased resident)."""
    return ERASED_PREFIX + keyed_hash(current_key(), system, tenant, entity, external_id)


class XrefRepo(StoreBase):
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
            # an erased subject's ids resolve to its tombstone (the merge writes nothing into it)
            found.update(self.erased_lookup(conn, system, tenant, entity, missing))
            missing = [e for e in missing if e not in found]
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

    def erased_lookup(
        self, conn: Connection, system: str, tenant: str, entity: str, external_ids: Iterable[str]
    ) -> dict[str, str]:
        """external id → tombstone canonical id, for the ids an erasure hashed (`erased_ref`)."""
        refs = {erased_ref(system, tenant, entity, str(e)): str(e) for e in external_ids}
        found = self._xref_map(conn, system, tenant, entity, t.xref.c.external_id, t.xref.c.canonical_id, refs)
        return {refs[r]: c for r, c in found.items()}

    def hash_xref_of(self, conn: Connection, tenant: str, canonical_ids: Iterable[str]) -> int:
        """Replace every partner id that maps to one of `canonical_ids` by its `erased_ref` (an erasure);
        returns the rows changed. Already hashed rows are left alone, so a second run changes nothing."""
        changed = 0
        for chunk in chunks(sorted({str(c) for c in canonical_ids})):
            rows = conn.execute(
                select(t.xref.c.id, t.xref.c.system, t.xref.c.tenant, t.xref.c.entity, t.xref.c.external_id).where(
                    t.xref.c.tenant == tenant,
                    t.xref.c.canonical_id.in_(chunk),
                    ~t.xref.c.external_id.startswith(ERASED_PREFIX),
                )
            ).all()
            for r in rows:
                conn.execute(
                    update(t.xref)
                    .where(t.xref.c.tenant == tenant, t.xref.c.id == r.id)
                    .values(external_id=erased_ref(r.system, r.tenant, r.entity, r.external_id))
                )
                changed += 1
        return changed

    def external_ids(
        self, conn: Connection, system: str, tenant: str, entity: str, canonical_ids: Iterable[str]
    ) -> dict[str, str]:
        """canonical id → external id (the reverse of lookup_ids)."""
        return self._xref_map(conn, system, tenant, entity, t.xref.c.canonical_id, t.xref.c.external_id, canonical_ids)

    def _xref_map(
        self, conn: Connection, system: str, tenant: str, entity: str, key: Any, value: Any, keys: Iterable[str]
    ) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in chunks([str(k) for k in keys]):
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
        erased = self.erased_lookup(conn, system, tenant, entity, links)
        links = {e: c for e, c in links.items() if str(e) not in erased}  # an erased id is never linked again
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
        stmt = dialect_insert(conn, t.xref).on_conflict_do_nothing(
            index_elements=["system", "tenant", "entity", "external_id"]
        )
        for chunk in chunks(rows):
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
            .join(
                t.entities,
                (t.entities.c.canonical_id == t.xref.c.canonical_id) & (t.entities.c.tenant == t.xref.c.tenant),
            )
            .where(
                t.xref.c.system == system,
                t.xref.c.tenant == tenant,
                t.xref.c.entity == entity,
                t.entities.c.entity == kind,
                t.entities.c.deleted_at.is_(None),
            )
        )

    # --- checks ------------------------------------------------------------------------------------------

    def xref_shared_canonical_ids(self, conn: Connection, tenant: str, system: str, entity: str) -> int:
        """How many canonical ids two or more external ids of `system`/`entity` point at (for kinds where one
        canonical record must stand for exactly one partner record)."""
        x = t.xref
        shared = (
            select(x.c.canonical_id)
            .where(x.c.tenant == tenant, x.c.system == system, x.c.entity == entity)
            .group_by(x.c.canonical_id)
            .having(func.count() > 1)
            .subquery()
        )
        return int(conn.execute(select(func.count()).select_from(shared)).scalar_one())

    def xref_external_ids_mapped_twice(self, conn: Connection, tenant: str) -> int:
        """How many (system, entity, external id) of the tenant map to two canonical ids. The unique constraint
        forbids it; counted in case a store lacks it."""
        x = t.xref
        twice = (
            select(x.c.system, x.c.entity, x.c.external_id)
            .where(x.c.tenant == tenant)
            .group_by(x.c.system, x.c.entity, x.c.external_id)
            .having(func.count() > 1)
            .subquery()
        )
        return int(conn.execute(select(func.count()).select_from(twice)).scalar_one())
