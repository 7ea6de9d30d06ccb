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

# PostgreSQL advisory locks (two-key form) taken per consent subject while a statement is recorded
SUBJECT_LOCK_CLASS = 80_090


def _utc_row(row: ConsentRow) -> ConsentRow:
    row["observed_at"] = as_utc(row["observed_at"])
    row["recorded_at"] = as_utc(row["recorded_at"])
    if "said_after" in row:
        row["said_after"] = as_utc(row["said_after"])
    if "last_seen_at" in row:  # a consent_log row; logged before migration 0009: seen when observed
        row["last_seen_at"] = as_utc(row["last_seen_at"]) or row["observed_at"]
    row["granted"] = bool(row["granted"])
    return row


def takes_over(statement: ConsentRow, standing: ConsentRow | None) -> bool:
    """Does `statement` (observed at or after `standing`) replace it as the one in force? Yes when nothing
    stands yet, when it withdraws (when in doubt nothing is shared), when what stands grants too, or when it
    grants and the hub knows it was said after the withdrawal that stands. So a grant the hub cannot date
    after a withdrawal (a flag read for the first time, a change the hub did not see happen) never lifts it."""
    if standing is None or not statement["granted"] or standing["granted"]:
        return True
    said_after = statement.get("said_after")
    return said_after is not None and as_utc(said_after) >= as_utc(standing["observed_at"])


def in_force(statements: Iterable[ConsentRow]) -> ConsentRow | None:
    """The statement in force among one subject's logged statements, taken in the order the hub observed them."""
    standing: ConsentRow | None = None
    for s in sorted(statements, key=lambda r: (as_utc(r["observed_at"]), r.get("id", 0))):
        if takes_over(s, standing):
            standing = s
    return standing


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
        said_after: datetime | None = None,
        undated: bool = False,
    ) -> tuple[bool, ConsentRow | None]:
        """Record what `source` says now; returns (logged, the statement in force afterwards). docs/consent.md.

        Only what a source CHANGES is a new statement: one equal to what the same source said last (a pull
        re-reading an unchanged flag, a replayed message) is not logged; it only moves that statement's
        `last_seen_at` (its time, `observed_at`, stays). A change was said after the hub last saw the old value
        (`said_after`); a first word at a time the hub does not know, unless the caller knows better
        (`said_after`: the coordinator's statement is said when recorded, an audit-trail revision after the
        previous read of the trail). A statement the caller dates (`said_after`) equal to what the source said
        last is said anew when it is dated after the hub last saw the source and what is in force says
        otherwise (the coordinator repeating a withdrawal after the partner changed its flag). An `implied`
        statement (a message the source only sends while consent is on) counts only as a change of what that
        source said before, never as its first word. A late statement (observed before the source's latest)
        that the hub already saw the source contradict later is superseded and not logged. An `undated`
        statement (a sign-up sent on after it was collected) is not dated by the change: it may predate
        what the hub saw.

        Then the statement in force is worked out again from the log (`in_force`): a later statement takes
        over, except a grant the hub cannot date after the withdrawal in force."""
        log = t.consent_log
        subject = (
            log.c.tenant == tenant,
            log.c.resident_id == resident_id,
            log.c.purpose == purpose,
            log.c.partner == partner,
        )
        if conn.dialect.name == "postgresql":
            # one writer per subject: what is in force is worked out from the log, which a concurrent statement
            # (a coordinator during a pull) must not change unseen (SQLite's BEGIN IMMEDIATE serialises already)
            key = "\x1f".join((tenant, resident_id, purpose, partner))
            conn.execute(select(func.pg_advisory_xact_lock(SUBJECT_LOCK_CLASS, func.hashtext(key))))
        now = utcnow()
        at = (observed_at or now).astimezone(UTC)  # UTC: SQLite compares the stored text
        bound = said_after.astimezone(UTC) if said_after is not None else None
        previous = (
            conn.execute(
                select(log.c.id, log.c.granted, log.c.observed_at, log.c.last_seen_at)
                .where(*subject, log.c.source == source, log.c.observed_at <= at)
                .order_by(log.c.observed_at.desc(), log.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        standing = self._consent_standing(conn, tenant, resident_id, purpose, partner)
        if previous is not None:
            seen = as_utc(previous["last_seen_at"] or previous["observed_at"])
            if bool(previous["granted"]) == granted:
                said_anew = (
                    bound is not None and bound > seen and standing is not None and standing["granted"] != granted
                )
                if not said_anew:  # a repeat: the source still says it
                    if at > seen:
                        conn.execute(
                            log.update()
                            .where(log.c.tenant == tenant, log.c.id == previous["id"])
                            .values(last_seen_at=at)
                        )
                    return False, standing
            elif seen > at:
                return False, standing  # late, and the hub saw the source say otherwise after it
            elif not undated:
                bound = seen if bound is None else max(bound, seen)  # changed after the hub last saw the old value
        elif implied:
            return False, standing
        values = {
            "tenant": tenant,
            "resident_id": resident_id,
            "purpose": purpose,
            "partner": partner,
            "granted": granted,
            "source": source,
            "source_ref": source_ref[:128],
            "observed_at": at,
            "recorded_at": now,
        }
        conn.execute(log.insert().values(**values, last_seen_at=at, said_after=bound))
        self._consent_settle(conn, tenant, resident_id, purpose, partner, standing)
        return True, self._consent_standing(conn, tenant, resident_id, purpose, partner)

    def _consent_settle(
        self,
        conn: Connection,
        tenant: str,
        resident_id: str,
        purpose: str,
        partner: str,
        standing: ConsentRow | None,
    ) -> None:
        """Work out the statement in force for one subject from its log again, and keep `consents` to it (no row
        when the log holds no statement any more)."""
        log, c = t.consent_log, t.consents
        subject = (log.c.tenant == tenant, log.c.resident_id == resident_id, log.c.purpose == purpose,
                   log.c.partner == partner)  # fmt: skip
        statements = [_utc_row(r) for r in rows_as(ConsentRow, conn.execute(select(log).where(*subject)).mappings())]
        new = in_force(statements)
        if new is None:
            conn.execute(
                c.delete().where(
                    c.c.tenant == tenant, c.c.resident_id == resident_id, c.c.purpose == purpose,
                    c.c.partner == partner,
                )
            )  # fmt: skip
            return
        if standing is None or standing.get("log_id") != new["id"]:
            state = {
                "granted": new["granted"],
                "source": new["source"],
                "source_ref": new["source_ref"],
                "observed_at": new["observed_at"],
                "recorded_at": new["recorded_at"],
                "log_id": new["id"],
            }
            stmt = dialect_insert(conn, c).values(
                tenant=tenant, resident_id=resident_id, purpose=purpose, partner=partner, **state
            )
            conn.execute(
                stmt.on_conflict_do_update(index_elements=["tenant", "resident_id", "purpose", "partner"], set_=state)
            )

    def consent_reassign(
        self, conn: Connection, tenant: str, from_resident: str, to_resident: str, log_ids: Iterable[int] | None = None
    ) -> list[int]:
        """Statements about one person recorded under two residents (a merge of two records of one person): the
        log rows of `from_resident` (all, or `log_ids` of them: an undo) become `to_resident`'s, and what is in
        force is worked out again for both, per purpose and partner, from the joined log. Returns the ids moved."""
        log = t.consent_log
        q = select(log.c.id, log.c.purpose, log.c.partner).where(
            log.c.tenant == tenant, log.c.resident_id == from_resident
        )
        rows = list(conn.execute(q).mappings())
        if log_ids is not None:
            wanted = {int(i) for i in log_ids}
            rows = [r for r in rows if int(r["id"]) in wanted]
        ids = [int(r["id"]) for r in rows]
        for chunk in chunks(ids):
            conn.execute(
                log.update().where(log.c.tenant == tenant, log.c.id.in_(chunk)).values(resident_id=to_resident)
            )
        for purpose, partner in sorted({(r["purpose"], r["partner"]) for r in rows}):
            for rid in (from_resident, to_resident):
                self._consent_settle(conn, tenant, rid, purpose, partner, None)
        return ids

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
