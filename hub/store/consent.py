"""Consent records: every statement a system made about a resident's consent for one purpose and partner,
append-only (`consent_log`), and the one that stands now (`consents`). The rules they serve (which statement
stands, what no record means) are hub/consent.py's; this module keeps them.

Every method works in the caller's transaction (`conn`) and is scoped by tenant: a statement is recorded
with the work that observed it (a pull's merge, an inbox apply, a push's settle)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from hub.store import tables as t
from hub.store.base import StoreBase, as_utc, chunks, dialect_insert, utcnow
from hub.store.rows import ConsentRow, rows_as


def _utc_row(row: ConsentRow) -> ConsentRow:
    row["observed_at"] = as_utc(row["observed_at"])
    row["recorded_at"] = as_utc(row["recorded_at"])
    row["granted"] = bool(row["granted"])
    return row


class ConsentRepo(StoreBase):
    def consent_record(
        self,
        conn: Connection,
        tenant: str,
        resident_id: str,
        purpose: str,
        partner: str,
        granted: bool,
        source: str,
        source_ref: str,
        observed_at: datetime | None = None,
        implied: bool = False,
    ) -> tuple[bool, ConsentRow | None]:
        """Record what `source` says now; returns (logged, the statement that stands afterwards).

        A statement equal to the same source's previous one for this subject is not logged again (a pull that
        re-reads an unchanged flag, a replayed message): only changes of each source are history. A logged
        statement stands when it was observed at or after the one standing (the latest observation wins,
        whichever system made it), so a late-arriving older statement is kept in the log but changes nothing.
        An `implied` statement (a message the source only sends while consent is on) counts only as a change of
        what that source said before, never as its first word."""
        log = t.consent_log
        subject = (
            log.c.tenant == tenant,
            log.c.resident_id == resident_id,
            log.c.purpose == purpose,
            log.c.partner == partner,
        )
        previous = conn.execute(
            select(log.c.granted).where(*subject, log.c.source == source).order_by(log.c.id.desc()).limit(1)
        ).scalar_one_or_none()
        if (previous is not None and bool(previous) == granted) or (previous is None and implied):
            return False, self._consent_standing(conn, tenant, resident_id, purpose, partner)
        now = utcnow()
        values = {
            "tenant": tenant,
            "resident_id": resident_id,
            "purpose": purpose,
            "partner": partner,
            "granted": granted,
            "source": source,
            "source_ref": source_ref[:128],
            "observed_at": (observed_at or now).astimezone(UTC),  # UTC: SQLite compares the stored text
            "recorded_at": now,
        }
        inserted = conn.execute(log.insert().values(**values)).inserted_primary_key
        assert inserted is not None
        log_id = int(inserted[0])
        c = t.consents
        stmt = dialect_insert(conn, c).values(**values, log_id=log_id)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant", "resident_id", "purpose", "partner"],
            set_={
                k: stmt.excluded[k] for k in ("granted", "source", "source_ref", "observed_at", "recorded_at", "log_id")
            },
            where=c.c.observed_at <= stmt.excluded.observed_at,
        )
        conn.execute(stmt)
        return True, self._consent_standing(conn, tenant, resident_id, purpose, partner)

    def _consent_standing(
        self, conn: Connection, tenant: str, resident_id: str, purpose: str, partner: str
    ) -> ConsentRow | None:
        return self.consent_current(conn, tenant, [resident_id], purpose, partner).get(resident_id)

    def consent_current(
        self, conn: Connection, tenant: str, resident_ids: Iterable[str], purpose: str, partner: str
    ) -> dict[str, ConsentRow]:
        """resident id → the statement that stands for `purpose` with `partner`, for those that have one."""
        c = t.consents
        out: dict[str, ConsentRow] = {}
        for chunk in chunks(sorted({str(r) for r in resident_ids})):
            q = select(c).where(
                c.c.tenant == tenant, c.c.purpose == purpose, c.c.partner == partner, c.c.resident_id.in_(chunk)
            )
            out.update((r["resident_id"], _utc_row(r)) for r in rows_as(ConsentRow, conn.execute(q).mappings()))
        return out

    def consent_of(self, conn: Connection, tenant: str, resident_id: str) -> list[ConsentRow]:
        """Every statement standing for one resident (each purpose and partner), by purpose and partner."""
        c = t.consents
        q = select(c).where(c.c.tenant == tenant, c.c.resident_id == resident_id).order_by(c.c.purpose, c.c.partner)
        return [_utc_row(r) for r in rows_as(ConsentRow, conn.execute(q).mappings())]

    def consent_history(
        self, conn: Connection, tenant: str, resident_id: str, purpose: str | None = None, partner: str | None = None
    ) -> list[ConsentRow]:
        """The logged statements about one resident, oldest first (optionally of one purpose and partner)."""
        log = t.consent_log
        q = select(log).where(log.c.tenant == tenant, log.c.resident_id == resident_id)
        if purpose is not None:
            q = q.where(log.c.purpose == purpose)
        if partner is not None:
            q = q.where(log.c.partner == partner)
        return [_utc_row(r) for r in rows_as(ConsentRow, conn.execute(q.order_by(log.c.id)).mappings())]

    def consent_counts(self, conn: Connection, tenant: str) -> dict[tuple[str, str, bool], int]:
        """(purpose, partner, granted) → residents, of one tenant's standing statements (CLI, mart, metadata)."""
        c = t.consents
        rows = conn.execute(
            select(c.c.purpose, c.c.partner, c.c.granted, func.count())
            .where(c.c.tenant == tenant)
            .group_by(c.c.purpose, c.c.partner, c.c.granted)
        )
        return {(r[0], r[1], bool(r[2])): int(r[3]) for r in rows}
