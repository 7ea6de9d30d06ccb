"""Match candidates and register lookups (hub/identity/), and the moves a decision makes: entity references and
partner xrefs from one canonical id to another, kept so the undo can move exactly them back.

Every method works in the caller's transaction (`conn`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update

from hub.store import tables as t
from hub.store.base import StoreBase, as_utc, chunks, dialect_insert, stable_hash, utcnow

OPEN = "open"


def subjects_key(subjects: Iterable[str]) -> str:
    return ",".join(sorted({str(s) for s in subjects}))


class IdentityRepo(StoreBase):
    # --- candidates --------------------------------------------------------------------------------------

    def candidate_upsert(
        self,
        conn: Connection,
        tenant: str,
        kind: str,
        subjects: Iterable[str],
        reason: str,
        evidence: Mapping[str, Any],
        score: float | None,
        suggestion: Mapping[str, Any] | None,
    ) -> tuple[int, bool]:
        """(id, raised now): a new candidate is open; an open one gets the fresh evidence; a decided one (merged,
        kept apart, withdrawn) is left as the person decided it."""
        key = subjects_key(subjects)
        mc = t.match_candidates
        now = utcnow()
        row = conn.execute(
            select(mc.c.id, mc.c.status).where(
                mc.c.tenant == tenant, mc.c.kind == kind, mc.c.subjects == key, mc.c.reason == reason
            )
        ).first()
        if row is not None:
            if row.status == OPEN:
                conn.execute(
                    update(mc)
                    .where(mc.c.tenant == tenant, mc.c.id == row.id)
                    .values(evidence=dict(evidence), score=score, suggestion=suggestion, last_seen_at=now)
                )
            return int(row.id), False
        stmt = dialect_insert(conn, mc).on_conflict_do_nothing(index_elements=["tenant", "kind", "subjects", "reason"])
        conn.execute(
            stmt,
            {
                "tenant": tenant,
                "kind": kind,
                "subjects": key,
                "reason": reason,
                "evidence": dict(evidence),
                "score": score,
                "suggestion": dict(suggestion) if suggestion else None,
                "status": OPEN,
                "raised_at": now,
                "last_seen_at": now,
            },
        )
        new = conn.execute(
            select(mc.c.id).where(mc.c.tenant == tenant, mc.c.kind == kind, mc.c.subjects == key, mc.c.reason == reason)
        ).scalar_one()
        return int(new), True

    def candidates(
        self,
        conn: Connection,
        tenant: str,
        *,
        kind: str | None = None,
        status: str | None = OPEN,
        subject: str | None = None,
    ) -> list[dict[str, Any]]:
        """The tenant's candidates (open ones unless `status` says otherwise; None: all), oldest first."""
        mc = t.match_candidates
        q = select(mc).where(mc.c.tenant == tenant)
        if kind is not None:
            q = q.where(mc.c.kind == kind)
        if status is not None:
            q = q.where(mc.c.status == status)
        if subject is not None:
            q = q.where(mc.c.subjects.contains(subject))
        return [_candidate(dict(r)) for r in conn.execute(q.order_by(mc.c.id)).mappings()]

    def candidate(self, conn: Connection, tenant: str, candidate_id: int) -> dict[str, Any] | None:
        mc = t.match_candidates
        r = conn.execute(select(mc).where(mc.c.tenant == tenant, mc.c.id == int(candidate_id))).mappings().first()
        return _candidate(dict(r)) if r is not None else None

    def candidate_set(self, conn: Connection, tenant: str, candidate_id: int, **values: Any) -> None:
        mc = t.match_candidates
        conn.execute(update(mc).where(mc.c.tenant == tenant, mc.c.id == int(candidate_id)).values(**values))

    def open_candidate_subjects(self, conn: Connection, tenant: str, kind: str) -> set[str]:
        """Every canonical id an open candidate of `kind` names."""
        mc = t.match_candidates
        rows = conn.execute(select(mc.c.subjects).where(mc.c.tenant == tenant, mc.c.kind == kind, mc.c.status == OPEN))
        return {s for r in rows for s in r.subjects.split(",")}

    def withdraw_candidates(
        self, conn: Connection, tenant: str, kind: str, subject: str, *, keep: int | None, single_only: bool = False
    ) -> int:
        """Open candidates of `kind` naming `subject` that no longer stand (the register answered otherwise, the
        subject was merged away): withdrawn, except `keep` (`single_only`: only those about the subject alone).
        Returns how many."""
        n = 0
        for c in self.candidates(conn, tenant, kind=kind, subject=subject):
            if single_only and len(c["subjects"]) != 1:
                continue
            if c["id"] != keep and subject in c["subjects"]:
                self.candidate_set(conn, tenant, c["id"], status="withdrawn", decided_at=utcnow(), decided_by="hub")
                n += 1
        return n

    def candidates_forget(self, conn: Connection, tenant: str, subject_ids: Iterable[str]) -> int:
        """Delete every candidate naming one of these subjects (an erasure: the evidence holds their data)."""
        mc = t.match_candidates
        wanted = {str(s) for s in subject_ids}
        if not wanted:
            return 0
        ids = [
            r.id
            for r in conn.execute(select(mc.c.id, mc.c.subjects).where(mc.c.tenant == tenant))
            if wanted & set(r.subjects.split(","))
        ]
        n = 0
        for chunk in chunks(ids):
            n += conn.execute(mc.delete().where(mc.c.tenant == tenant, mc.c.id.in_(chunk))).rowcount or 0
        return n

    # --- register lookups --------------------------------------------------------------------------------

    def lookups(self, conn: Connection, tenant: str, system: str, subject_ids: Iterable[str]) -> dict[str, dict]:
        """subject id → {query_hash, outcome, answer, answered_at} for those the register was asked about."""
        rl = t.register_lookups
        out: dict[str, dict[str, Any]] = {}
        for chunk in chunks(sorted({str(s) for s in subject_ids})):
            for r in conn.execute(
                select(rl).where(rl.c.tenant == tenant, rl.c.system == system, rl.c.subject_id.in_(chunk))
            ).mappings():
                out[r["subject_id"]] = {**dict(r), "answered_at": as_utc(r["answered_at"])}
        return out

    def lookup_record(
        self,
        conn: Connection,
        tenant: str,
        system: str,
        subject_id: str,
        query_hash: str,
        outcome: str,
        answer: Mapping[str, Any],
        answered_at: datetime,
    ) -> None:
        rl = t.register_lookups
        stmt = dialect_insert(conn, rl)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant", "system", "subject_id"],
            set_={
                "query_hash": stmt.excluded.query_hash,
                "outcome": stmt.excluded.outcome,
                "answer": stmt.excluded.answer,
                "answered_at": stmt.excluded.answered_at,
            },
        )
        conn.execute(
            stmt,
            {
                "tenant": tenant,
                "system": system,
                "subject_id": subject_id,
                "query_hash": query_hash,
                "outcome": outcome,
                "answer": dict(answer),
                "answered_at": answered_at,
            },
        )

    def lookups_forget(self, conn: Connection, tenant: str, subject_ids: Iterable[str]) -> int:
        """Drop the cached answers about these subjects (an erasure; a merge that retired one)."""
        rl = t.register_lookups
        n = 0
        for chunk in chunks(sorted({str(s) for s in subject_ids})):
            n += conn.execute(rl.delete().where(rl.c.tenant == tenant, rl.c.subject_id.in_(chunk))).rowcount or 0
        return n

    # --- the moves a decision makes ----------------------------------------------------------------------

    def referencing(self, conn: Connection, tenant: str, field: str, canonical_id: str) -> list[dict[str, Any]]:
        """Every entity of the tenant (live or deleted) whose `field` or parent is `canonical_id`."""
        e = t.entities
        rows = conn.execute(
            select(e.c.canonical_id, e.c.entity, e.c.parent_id, e.c.data, e.c.deleted_at).where(
                e.c.tenant == tenant,
                or_(e.c.data[field].as_string() == canonical_id, e.c.parent_id == canonical_id),
            )
        ).mappings()
        return [dict(r) for r in rows]

    def rewrite_entity(
        self,
        conn: Connection,
        tenant: str,
        canonical_id: str,
        data: Mapping[str, Any],
        *,
        parent_id: str | None,
        deleted: bool,
        natural_key: str | None = None,
        set_natural_key: bool = False,
    ) -> None:
        """Write an entity's data, parent and deletion as a decision makes them (the content hash follows)."""
        now = utcnow()
        values: dict[str, Any] = {
            "data": dict(data),
            "data_hash": stable_hash([dict(data), deleted]),
            "parent_id": parent_id,
            "deleted_at": now if deleted else None,
            "updated_at": now,
            "version": t.entities.c.version + 1,
        }
        if set_natural_key:
            values["natural_key"] = natural_key
        conn.execute(
            update(t.entities)
            .where(t.entities.c.tenant == tenant, t.entities.c.canonical_id == canonical_id)
            .values(**values)
        )

    def xrefs_of(self, conn: Connection, tenant: str, canonical_id: str) -> list[dict[str, Any]]:
        x = t.xref
        rows = conn.execute(
            select(x.c.id, x.c.system, x.c.entity, x.c.external_id).where(
                x.c.tenant == tenant, x.c.canonical_id == canonical_id
            )
        ).mappings()
        return [dict(r) for r in rows]

    def xrefs_move(self, conn: Connection, tenant: str, xref_ids: Iterable[int], to: str) -> int:
        x = t.xref
        n = 0
        for chunk in chunks(sorted({int(i) for i in xref_ids})):
            n += (
                conn.execute(update(x).where(x.c.tenant == tenant, x.c.id.in_(chunk)).values(canonical_id=to)).rowcount
                or 0
            )
        return n

    def xrefs_delete(self, conn: Connection, tenant: str, xref_ids: Iterable[int]) -> int:
        """Remove xrefs a decision added (its undo)."""
        x = t.xref
        n = 0
        for chunk in chunks(sorted({int(i) for i in xref_ids})):
            n += conn.execute(x.delete().where(x.c.tenant == tenant, x.c.id.in_(chunk))).rowcount or 0
        return n

    def provenance_set(
        self, conn: Connection, rows: Iterable[tuple[str, str]], source: str, source_ref: str, when: datetime
    ) -> None:
        """(canonical id, field) now set by a decision: its provenance says who decided."""
        fp = t.field_provenance
        payload = [
            {"canonical_id": c, "field": f, "source": source, "source_ref": source_ref, "observed_at": when}
            for c, f in rows
        ]
        if not payload:
            return
        stmt = dialect_insert(conn, fp)
        stmt = stmt.on_conflict_do_update(
            index_elements=["canonical_id", "field"],
            set_={"source": stmt.excluded.source, "source_ref": stmt.excluded.source_ref, "observed_at": when},
        )
        for chunk in chunks(payload):
            conn.execute(stmt, list(chunk))


def _candidate(row: dict[str, Any]) -> dict[str, Any]:
    row["subjects"] = row["subjects"].split(",") if row.get("subjects") else []
    for k in ("raised_at", "last_seen_at", "decided_at", "undone_at"):
        row[k] = as_utc(row.get(k))
    return row
