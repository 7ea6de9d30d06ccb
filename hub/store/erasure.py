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
from urllib.parse import quote, quote_plus

from sqlalchemy import JSON, ColumnElement, Connection, LargeBinary, Table, Text, cast, false, func, or_, select, update

from hub.store import tables as t
from hub.store.base import StoreBase, chunks, db_datetime, fit_column, utcnow
from hub.store.sealed import SEALED_PREFIX, is_sealed, sealed, sealed_content_hash
from hub.store.status import INBOX_OPEN, OUTBOX_DUE, InboxStatus, OutboxStatus

PURGED = {"purged": "retention"}


def tombstone(request_id: str) -> dict[str, str]:
    return {"erased": request_id}


PURGED_TEXT = "purged (retention)"


def needle_forms(needles: Iterable[str]) -> list[str]:
    """Each needle in every form a stored body may carry it: as is, percent-encoded (a form body: `%40` for
    `@`, `+` or `%20` for a space), JSON-escaped (`\\u00eb` for `ë`)."""
    out: set[str] = set()
    for n in needles:
        if not n:
            continue
        out.update((n, quote_plus(n, safe=""), quote(n, safe=""), json.dumps(n)[1:-1]))
    return sorted(out)


def _bytes_contain(blob: bytes, forms: Iterable[str]) -> bool:
    low = blob.lower()
    return any(f.lower().encode("utf-8") in low for f in forms)


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
                        ~t.xref.c.external_id.startswith(SEALED_PREFIX),
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

    def delete_consents(self, conn: Connection, tenant: str, resident_id: str) -> int:
        """The resident's consent statements and the state they stand for (their references name partner
        records). An erased resident has no consent: nothing is shared for a tombstone (hub/consent.py)."""
        total = 0
        for table in (t.consents, t.consent_log):
            total += conn.execute(
                table.delete().where(table.c.tenant == tenant, table.c.resident_id == resident_id)
            ).rowcount
        return int(total)

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
        outbox: Sequence[tuple[str, str, str, str]] = (),
    ) -> dict[str, int]:
        """Blank every stored payload of the tenant that carries the subject: rows whose payload (or key,
        answer, reason, error, result; a refused body's bytes) contains a needle in any form it is stored in
        (as is, percent-encoded, JSON-escaped), inbox rows of the listed (source, stream prefix), idempotency
        records of the listed (scope, key), quarantine entries of the listed partner ids, outbox items of the
        listed (partner, operation, payload field, value). Identifiers and content hashes of the blanked rows
        are sealed (hub/store/sealed.py). Unsent work for the subject is cancelled (an outbox item failed, an
        inbox message skipped). Returns rows per table."""
        marker = tombstone(request_id)
        note = f"erased ({request_id})"
        forms = needle_forms(needles)
        counts: dict[str, int] = {}

        i = t.inbox
        cond = _contains_any([i.c.payload, i.c.meta, i.c.result, i.c.last_error], forms)
        for source, prefix in inbox_streams:
            cond = or_(cond, (i.c.source == source) & i.c.stream.startswith(prefix, autoescape=True))
        rows = conn.execute(
            select(*_INBOX_SEAL_COLS, i.c.status, i.c.applied_at).where(i.c.tenant == tenant, cond)
        ).all()
        values: dict[str, Any]
        for r in rows:
            values = _sealed_inbox(r, marker, note)
            if r.stream and not is_sealed(r.stream):
                values["stream"] = sealed(r.stream)
            if r.status in INBOX_OPEN:
                values.update(status=InboxStatus.SKIPPED, last_error=note)
            if r.applied_at is None:
                values["applied_at"] = now
            conn.execute(update(i).where(i.c.tenant == tenant, i.c.id == r.id).values(**values))
        counts["inbox"] = len(rows)

        o = t.outbox
        ids = {
            r.id
            for r in conn.execute(
                select(o.c.id).where(
                    o.c.tenant == tenant, _contains_any([o.c.payload, o.c.result, o.c.last_error], forms)
                )
            )
        }
        wanted: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for partner, operation, field, value in outbox:
            wanted.setdefault((partner, operation), []).append((field, str(value)))
        for (partner, operation), fields in wanted.items():
            for item in conn.execute(
                select(o.c.id, o.c.payload).where(
                    o.c.tenant == tenant, o.c.partner == partner, o.c.operation == operation
                )
            ):
                payload = item.payload if isinstance(item.payload, dict) else {}
                if any(str(payload.get(f)) == v for f, v in fields):
                    ids.add(item.id)
        for chunk in chunks(sorted(ids)):
            for ro in conn.execute(
                select(o.c.id, o.c.status, o.c.last_error).where(o.c.tenant == tenant, o.c.id.in_(chunk))
            ):
                values = {**_blank_values(o, ["payload"], marker), "result": marker, "updated_at": now}
                if ro.last_error:
                    values["last_error"] = note
                if ro.status in (*OUTBOX_DUE, OutboxStatus.WITHHELD):
                    values.update(
                        status=OutboxStatus.FAILED, last_error=f"cancelled: the resident was erased ({request_id})"
                    )
                conn.execute(update(o).where(o.c.tenant == tenant, o.c.id == ro.id).values(**values))
        counts["outbox"] = len(ids)

        q = t.quarantine
        cond = _contains_any([q.c.payload, q.c.reason], forms)
        for system, entity, ext in partner_ids:
            cond = or_(cond, (q.c.source == system) & (q.c.entity == entity) & (q.c.external_id == ext))
        qids = {r.id for r in conn.execute(select(q.c.id).where(q.c.tenant == tenant, cond))}
        # a body refused at the receiver is kept byte-exact (invalid UTF-8 included): searched here, not in SQL
        for body in conn.execute(
            select(q.c.id, q.c.payload_bytes).where(q.c.tenant == tenant, q.c.payload_bytes.is_not(None))
        ):
            if body.payload_bytes and _bytes_contain(bytes(body.payload_bytes), forms):
                qids.add(body.id)
        for chunk in chunks(sorted(qids)):
            for rq in conn.execute(select(q.c.id, q.c.external_id).where(q.c.tenant == tenant, q.c.id.in_(chunk))):
                values = {**_sealed_quarantine(rq, marker, note), "resolved_at": func.coalesce(q.c.resolved_at, now)}
                conn.execute(update(q).where(q.c.tenant == tenant, q.c.id == rq.id).values(**values))
        counts["quarantine"] = len(qids)

        d = t.idempotency_records
        cond = _contains_any([d.c.key, d.c.response_body], forms)
        for scope, key in idempotency:
            cond = or_(cond, (d.c.scope == scope) & (d.c.key == key))
        drows = conn.execute(select(d.c.id, d.c.key, d.c.request_hash).where(d.c.tenant == tenant, cond)).all()
        for rd in drows:
            values = {**_blank_values(d, [], marker), "response_body": marker, "updated_at": now}
            if not is_sealed(rd.key):
                values.update(_sealed_call(rd))
            conn.execute(update(d).where(d.c.tenant == tenant, d.c.id == rd.id).values(**values))
        counts["idempotency_records"] = len(drows)
        return counts

    def blank_outbox_items(self, conn: Connection, tenant: str, keys: Iterable[str], request_id: str) -> int:
        """Tombstone the payloads and answers of sent outbox items (an erasure's own notices, once the partner
        has them)."""
        total = 0
        for chunk in chunks(sorted(set(keys))):
            total += conn.execute(
                update(t.outbox)
                .where(
                    t.outbox.c.tenant == tenant,
                    t.outbox.c.idempotency_key.in_(chunk),
                    t.outbox.c.status == OutboxStatus.SENT,
                )
                .values(payload=tombstone(request_id), result=tombstone(request_id))
            ).rowcount
        return int(total)

    # --- retention ---------------------------------------------------------------------------------------

    def held_by_quarantine(self, conn: Connection, tenant: str) -> tuple[set[int], set[str]]:
        """(inbox ids, outbox keys) that an open quarantine entry still refers to: what a coordinator may replay,
        so the purge leaves them whole."""
        inbox_ids: set[int] = set()
        outbox_keys: set[str] = set()
        q = t.quarantine
        for r in conn.execute(
            select(q.c.source, q.c.external_id, q.c.payload).where(q.c.tenant == tenant, q.c.resolved_at.is_(None))
        ):
            if str(r.source).startswith("outbox:"):
                outbox_keys.add(str(r.external_id))
            if isinstance(r.payload, dict) and isinstance(r.payload.get("inbox_id"), int):
                inbox_ids.add(int(r.payload["inbox_id"]))
        return inbox_ids, outbox_keys

    def purge_processed(self, conn: Connection, tenant: str, before: datetime) -> dict[str, int]:
        """Blank what carries personal data in the tenant's finished work older than `before` (the retention
        purge), the same columns an erasure blanks: inbox messages applied and no longer to forward (payload,
        meta, result, error; message id and content hash sealed), sent outbox items and failed ones no open
        quarantine entry holds (payload, result, error), resolved quarantine entries (payload, bytes, reason, id),
        finished or abandoned idempotency records (answer text; key and request hash sealed, so a repeat of
        the call is still answered with the partner's ids). Rows, counts, statuses, ids and times stay;
        work an open quarantine entry refers to is left whole (a coordinator may replay it); rows purged or
        erased before are left alone."""
        cut = db_datetime(conn, before)
        held_inbox, held_outbox = self.held_by_quarantine(conn, tenant)
        counts: dict[str, int] = {}

        i = t.inbox
        rows = conn.execute(
            select(*_INBOX_SEAL_COLS).where(
                i.c.tenant == tenant,
                i.c.applied_at.is_not(None),
                i.c.applied_at < cut,
                i.c.status.not_in(list(INBOX_OPEN)),
                ~i.c.message_id.startswith(SEALED_PREFIX, autoescape=True),
                ~i.c.payload.startswith('{"erased"'),
            )
        ).all()
        n = 0
        for r in rows:
            if r.id in held_inbox:
                continue
            conn.execute(
                update(i).where(i.c.tenant == tenant, i.c.id == r.id).values(**_sealed_inbox(r, PURGED, PURGED_TEXT))
            )
            n += 1
        counts["inbox"] = n

        o = t.outbox
        orows = conn.execute(
            select(o.c.id, o.c.idempotency_key, o.c.status, o.c.result, o.c.last_error)
            .where(o.c.tenant == tenant)
            .where(
                or_(
                    (o.c.status == OutboxStatus.SENT) & (o.c.sent_at < cut),
                    (o.c.status == OutboxStatus.FAILED) & (o.c.updated_at < cut),
                )
            )
            .where(~cast(o.c.payload, Text).contains('"purged"'), ~cast(o.c.payload, Text).contains('"erased"'))
        ).all()
        n = 0
        for ro in orows:
            if ro.status == OutboxStatus.FAILED and fit_column(ro.idempotency_key, 128) in held_outbox:
                continue
            values = {**_blank_values(o, ["payload"], PURGED), "result": _ids_only(ro.result)}
            if ro.last_error:
                values["last_error"] = PURGED_TEXT
            conn.execute(update(o).where(o.c.tenant == tenant, o.c.id == ro.id).values(**values))
            n += 1
        counts["outbox"] = n

        q = t.quarantine
        qrows = conn.execute(
            select(q.c.id, q.c.external_id)
            .where(q.c.tenant == tenant, q.c.resolved_at.is_not(None), q.c.resolved_at < cut)
            .where(q.c.reason != PURGED_TEXT, ~q.c.reason.startswith("erased ("))
        ).all()
        for rq in qrows:
            values = _sealed_quarantine(rq, PURGED, PURGED_TEXT)
            conn.execute(update(q).where(q.c.tenant == tenant, q.c.id == rq.id).values(**values))
        counts["quarantine"] = len(qrows)

        d = t.idempotency_records
        drows = conn.execute(
            select(d.c.id, d.c.key, d.c.request_hash, d.c.response_body).where(
                d.c.tenant == tenant, d.c.updated_at < cut, ~d.c.key.startswith(SEALED_PREFIX, autoescape=True)
            )
        ).all()
        for rd in drows:
            body = rd.response_body
            if isinstance(body, dict) and "erased" in body:
                continue
            conn.execute(
                update(d)
                .where(d.c.tenant == tenant, d.c.id == rd.id)
                .values(
                    **_blank_values(d, [], PURGED),
                    **_sealed_call(rd),
                    response_body=None if body is None else _ids_only(body),
                )
            )
        counts["idempotency_records"] = len(drows)
        return {k: int(v) for k, v in counts.items()}


_INBOX_SEAL_COLS = (
    t.inbox.c.id,
    t.inbox.c.message_id,
    t.inbox.c.content_hash,
    t.inbox.c.meta,
    t.inbox.c.last_error,
    t.inbox.c.stream,
)


def _sealed_inbox(r: Any, marker: dict[str, str], note: str) -> dict[str, Any]:
    """An inbox row blanked: payload and bytes, meta (its endpoint kept), result and error; the message id and
    content hash sealed, so a redelivery of the message is still recognised (InboxRepo._inbox_insert)."""
    meta = r.meta if isinstance(r.meta, dict) else {}
    values = {
        **_blank_values(t.inbox, ["payload"], marker),
        "meta": {**marker, "endpoint": meta.get("endpoint")},
        "result": marker,
        "last_error": note if r.last_error else None,
    }
    if not is_sealed(r.message_id):  # id and hash are sealed together
        values.update(message_id=sealed(r.message_id), content_hash=sealed_content_hash(r.content_hash))
    return values


def _sealed_quarantine(r: Any, marker: dict[str, str], note: str) -> dict[str, Any]:
    """A quarantine entry blanked: payload, refused body bytes and reason; its record id sealed (it may be a
    refused body's SHA-256, reversible for a short form)."""
    values = {**_blank_values(t.quarantine, ["payload"], marker), "reason": note}
    if not is_sealed(r.external_id):
        values["external_id"] = sealed(f"{r.id}:{r.external_id}")
    return values


def _sealed_call(r: Any) -> dict[str, str]:
    """A proxied call's key (e.g. `email:<addr>`) and request hash, sealed: a repeat is still recognised
    (IdempotencyRepo._sealed_record)."""
    return {"key": sealed(r.key), "request_hash": sealed_content_hash(r.request_hash)}


def _ids_only(body: Any) -> dict[str, Any]:
    """A partner's answer after the purge: its integer and empty values (the ids a repeat of the call is
    answered with, the counts) and the purge marker; text goes."""
    kept = (
        {k: v for k, v in body.items() if v is None or (isinstance(v, int) and not isinstance(v, bool))}
        if isinstance(body, dict)
        else {}
    )
    return {**kept, **PURGED}
