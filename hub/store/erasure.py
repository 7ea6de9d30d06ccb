"""Erasure requests (the audit record of each erased resident) and the blanking of personal data in stored
payloads, for an erasure (rows that match the subject) and for the retention purge (processed rows older than
N days). Every method works in the caller's transaction.

Blanking keeps a row and its counts and metadata (ids, statuses, times) and replaces what carried personal
data: a JSON payload by a tombstone (`{"erased": <request id>}` or `{"purged": "retention"}`), a text payload by
that JSON as text, any binary column (e.g. byte-exact bodies) by empty bytes. Binary columns are found from the
table itself, so a column added later is blanked too."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, Connection, LargeBinary, Table, Text, cast, false, func, or_, select, update

from hub.pseudonym import current_key, keyed_hash
from hub.store import tables as t
from hub.store.base import StoreBase, chunks, db_datetime, utcnow
from hub.store.status import INBOX_OPEN, OUTBOX_DUE, IdempotencyStatus, InboxStatus, OutboxStatus
from hub.store.xref import ERASED_PREFIX

PURGED = {"purged": "retention"}


def tombstone(request_id: str) -> dict[str, str]:
    return {"erased": request_id}


def _hashed(value: str) -> str:
    return ERASED_PREFIX + keyed_hash(current_key(), value)


def _contains_any(columns: Sequence[Any], needles: Iterable[str]) -> ColumnElement[bool]:
    """Any of the columns (JSON or text, compared as lower-case text) contains any needle."""
    conds = [
        func.lower(cast(col, Text) if isinstance(col.type, JSON) else col).contains(n.lower(), autoescape=True)
        for col in columns
        for n in needles
        if n
    ]
    return or_(*conds) if conds else false()


def _blank_values(table: Table, payload_cols: Sequence[str], marker: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in payload_cols:
        col = table.c[name]
        values[name] = marker if isinstance(col.type, JSON) else json.dumps(marker)
    for col in table.c:
        if isinstance(col.type, LargeBinary):
            values[col.name] = b""
    return values


class ErasureRepo(StoreBase):
    # --- requests (the audit record) ---------------------------------------------------------------------

    def erasure_get(self, conn: Connection, tenant: str, subject: str) -> dict[str, Any] | None:
        r = t.erasure_requests
        row = conn.execute(select(r).where(r.c.tenant == tenant, r.c.subject == subject)).mappings().first()
        return dict(row) if row else None

    def erasure_by_id(self, conn: Connection, tenant: str, request_id: str) -> dict[str, Any] | None:
        r = t.erasure_requests
        row = conn.execute(select(r).where(r.c.tenant == tenant, r.c.id == request_id)).mappings().first()
        return dict(row) if row else None

    def erasure_create(self, conn: Connection, values: dict[str, Any]) -> None:
        conn.execute(t.erasure_requests.insert().values(**values))

    def erasure_update(self, conn: Connection, tenant: str, request_id: str, **values: Any) -> None:
        values.setdefault("updated_at", utcnow())
        r = t.erasure_requests
        conn.execute(update(r).where(r.c.tenant == tenant, r.c.id == request_id).values(**values))

    def erasure_requests(self, conn: Connection, tenant: str, open_only: bool = False) -> list[dict[str, Any]]:
        r = t.erasure_requests
        q = select(r).where(r.c.tenant == tenant).order_by(r.c.requested_at, r.c.id)
        if open_only:
            q = q.where(r.c.status == "open")
        return [dict(x) for x in conn.execute(q).mappings()]

    # --- the subject's records -------------------------------------------------------------------------

    def entity_tree(self, conn: Connection, tenant: str, root: str) -> dict[str, dict[str, Any]]:
        """The root entity and every entity below it (by parent id, any depth) of one tenant: id → row."""
        out: dict[str, dict[str, Any]] = {}
        frontier = [root]
        rows = conn.execute(
            select(t.entities).where(t.entities.c.canonical_id == root, t.entities.c.tenant == tenant)
        ).mappings()
        out.update((r["canonical_id"], dict(r)) for r in rows)
        while frontier:
            nxt: list[str] = []
            for chunk in chunks(frontier):
                for r in conn.execute(
                    select(t.entities).where(t.entities.c.tenant == tenant, t.entities.c.parent_id.in_(chunk))
                ).mappings():
                    if r["canonical_id"] not in out:
                        out[r["canonical_id"]] = dict(r)
                        nxt.append(r["canonical_id"])
            frontier = nxt
        return out

    def xref_of(self, conn: Connection, tenant: str, canonical_ids: Iterable[str]) -> list[tuple[str, str, str]]:
        """(system, entity, external id) of every unhashed partner id that maps to one of the ids."""
        out: list[tuple[str, str, str]] = []
        for chunk in chunks(sorted(set(canonical_ids))):
            out += [
                (r.system, r.entity, r.external_id)
                for r in conn.execute(
                    select(t.xref.c.system, t.xref.c.entity, t.xref.c.external_id).where(
                        t.xref.c.tenant == tenant,
                        t.xref.c.canonical_id.in_(chunk),
                        ~t.xref.c.external_id.startswith(ERASED_PREFIX),
                    )
                )
            ]
        return out

    def tombstone_entities(self, conn: Connection, tenant: str, rows: dict[str, dict[str, Any]], now: datetime) -> int:
        """Write each id's tombstone: `rows` is id → {"data": ..., "live": bool}; natural keys (addresses)
        cleared, provenance deleted. Returns the entities changed."""
        from hub.store.base import stable_hash

        for cid, row in rows.items():
            values: dict[str, Any] = {
                "data": row["data"],
                "data_hash": stable_hash([row["data"], not row["live"]]),
                "natural_key": None,
                "updated_at": now,
                "version": t.entities.c.version + 1,
            }
            if not row["live"]:
                values["deleted_at"] = func.coalesce(t.entities.c.deleted_at, now)
            conn.execute(
                update(t.entities)
                .where(t.entities.c.tenant == tenant, t.entities.c.canonical_id == cid)
                .values(**values)
            )
        return len(rows)

    def delete_provenance(self, conn: Connection, canonical_ids: Iterable[str]) -> int:
        total = 0
        for chunk in chunks(sorted(set(canonical_ids))):
            total += conn.execute(
                t.field_provenance.delete().where(t.field_provenance.c.canonical_id.in_(chunk))
            ).rowcount
        return int(total)

    # --- payloads ----------------------------------------------------------------------------------------

    def blank_subject_payloads(
        self,
        conn: Connection,
        tenant: str,
        request_id: str,
        needles: Sequence[str],
        inbox_streams: Sequence[tuple[str, str]],
        idempotency: Sequence[tuple[str, str]],
        partner_ids: Sequence[tuple[str, str, str]],
        now: datetime,
    ) -> dict[str, int]:
        """Blank every stored payload of the tenant that carries the subject: rows whose payload (or key,
        answer, reason) contains a needle, inbox rows of the listed (source, stream prefix), idempotency
        records of the listed (scope, key), quarantine entries of the listed partner ids. Unsent work for the
        subject is cancelled (an outbox item failed, an inbox message skipped). Returns rows per table."""
        marker = tombstone(request_id)
        counts: dict[str, int] = {}

        i = t.inbox
        cond = _contains_any([i.c.payload, i.c.meta], needles)
        for source, prefix in inbox_streams:
            cond = or_(cond, (i.c.source == source) & i.c.stream.startswith(prefix, autoescape=True))
        rows = conn.execute(
            select(i.c.id, i.c.status, i.c.applied_at, i.c.stream, i.c.meta).where(i.c.tenant == tenant, cond)
        ).all()
        for r in rows:
            values = _blank_values(i, ["payload"], marker)
            meta = r.meta if isinstance(r.meta, dict) else {}
            values.update(meta={"erased": request_id, "endpoint": meta.get("endpoint")}, result=marker)
            if r.stream:
                values["stream"] = _hashed(r.stream)
            if r.status in INBOX_OPEN:
                values.update(status=InboxStatus.SKIPPED, last_error=f"erased ({request_id})")
            if r.applied_at is None:
                values["applied_at"] = now
            conn.execute(update(i).where(i.c.tenant == tenant, i.c.id == r.id).values(**values))
        counts["inbox"] = len(rows)

        o = t.outbox
        orows = conn.execute(
            select(o.c.id, o.c.status).where(o.c.tenant == tenant, _contains_any([o.c.payload, o.c.result], needles))
        ).all()
        for ro in orows:
            values = {**_blank_values(o, ["payload"], marker), "result": marker, "updated_at": now}
            if ro.status in OUTBOX_DUE:
                values.update(
                    status=OutboxStatus.FAILED, last_error=f"cancelled: the resident was erased ({request_id})"
                )
            conn.execute(update(o).where(o.c.tenant == tenant, o.c.id == ro.id).values(**values))
        counts["outbox"] = len(orows)

        q = t.quarantine
        cond = _contains_any([q.c.payload, q.c.reason], needles)
        for system, entity, ext in partner_ids:
            cond = or_(cond, (q.c.source == system) & (q.c.entity == entity) & (q.c.external_id == ext))
        qrows = conn.execute(select(q.c.id, q.c.external_id).where(q.c.tenant == tenant, cond)).all()
        for rq in qrows:
            values = {
                **_blank_values(q, ["payload"], marker),
                "reason": f"erased ({request_id})",
                "external_id": _hashed(f"{rq.id}:{rq.external_id}"),
                "resolved_at": func.coalesce(q.c.resolved_at, now),
            }
            conn.execute(update(q).where(q.c.tenant == tenant, q.c.id == rq.id).values(**values))
        counts["quarantine"] = len(qrows)

        d = t.idempotency_records
        cond = _contains_any([d.c.key, d.c.response_body], needles)
        for scope, key in idempotency:
            cond = or_(cond, (d.c.scope == scope) & (d.c.key == key))
        drows = conn.execute(select(d.c.id, d.c.key).where(d.c.tenant == tenant, cond)).all()
        for rd in drows:
            values = {**_blank_values(d, [], marker), "response_body": marker, "updated_at": now}
            if not rd.key.startswith(ERASED_PREFIX):
                values["key"] = _hashed(rd.key)
            conn.execute(update(d).where(d.c.tenant == tenant, d.c.id == rd.id).values(**values))
        counts["idempotency_records"] = len(drows)
        return counts

    def blank_outbox_items(self, conn: Connection, tenant: str, keys: Iterable[str], request_id: str) -> int:
        """Tombstone the payloads of sent outbox items (an erasure's own notices, once the partner has them)."""
        total = 0
        for chunk in chunks(sorted(set(keys))):
            total += conn.execute(
                update(t.outbox)
                .where(
                    t.outbox.c.tenant == tenant,
                    t.outbox.c.idempotency_key.in_(chunk),
                    t.outbox.c.status == OutboxStatus.SENT,
                )
                .values(payload=tombstone(request_id))
            ).rowcount
        return int(total)

    # --- retention ---------------------------------------------------------------------------------------

    def purge_processed(self, conn: Connection, tenant: str, before: datetime) -> dict[str, int]:
        """Blank the payloads of the tenant's finished work older than `before` (the retention purge): inbox
        messages applied and no longer to forward, sent outbox items, resolved quarantine entries, finished
        idempotency records. Rows, counts, statuses and times stay; rows purged before are left alone."""
        cut = db_datetime(conn, before)
        marker_text = json.dumps(PURGED)
        counts: dict[str, int] = {}
        i = t.inbox
        counts["inbox"] = conn.execute(
            update(i)
            .where(
                i.c.tenant == tenant,
                i.c.applied_at.is_not(None),
                i.c.applied_at < cut,
                i.c.status.not_in(list(INBOX_OPEN)),
                i.c.payload != marker_text,
                ~i.c.payload.startswith('{"erased"'),
            )
            .values(**_blank_values(i, ["payload"], PURGED))
        ).rowcount
        o = t.outbox
        counts["outbox"] = conn.execute(
            update(o)
            .where(o.c.tenant == tenant, o.c.status == OutboxStatus.SENT, o.c.sent_at < cut)
            .where(~cast(o.c.payload, Text).contains('"purged"'), ~cast(o.c.payload, Text).contains('"erased"'))
            .values(**_blank_values(o, ["payload"], PURGED))
        ).rowcount
        q = t.quarantine
        counts["quarantine"] = conn.execute(
            update(q)
            .where(q.c.tenant == tenant, q.c.resolved_at.is_not(None), q.c.resolved_at < cut)
            .where(q.c.payload.is_not(None))
            .where(~cast(q.c.payload, Text).contains('"purged"'), ~cast(q.c.payload, Text).contains('"erased"'))
            .values(**_blank_values(q, ["payload"], PURGED))
        ).rowcount
        d = t.idempotency_records
        rows = conn.execute(
            select(d.c.id, d.c.response_body).where(
                d.c.tenant == tenant, d.c.status == IdempotencyStatus.DONE, d.c.updated_at < cut
            )
        ).all()
        n = 0
        for r in rows:
            body = r.response_body
            if body is None or (isinstance(body, dict) and ("purged" in body or "erased" in body)):
                continue
            # ids and counts stay (a repeat of the call is still answered with the partner's ids); text goes
            kept = {k: v for k, v in body.items() if isinstance(v, int)} if isinstance(body, dict) else {}
            conn.execute(
                update(d)
                .where(d.c.tenant == tenant, d.c.id == r.id)
                .values(
                    response_body={**kept, **PURGED}, **{c.name: b"" for c in d.c if isinstance(c.type, LargeBinary)}
                )
            )
            n += 1
        counts["idempotency_records"] = n
        return {k: int(v) for k, v in counts.items()}
