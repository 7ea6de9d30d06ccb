"""Change detection from the audit trail: its cursor, which records were updated or soft-deleted since it,
and re-reading them (by detail, or by their whole grid when that is cheaper); soft-deleted ones are marked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import ValidationError
from sqlalchemy import Connection

from connectors.econobis.consent import record_privacy_agreement
from connectors.econobis.mapping import AMS, SOURCE
from connectors.econobis.schemas import AuditRow
from connectors.econobis.settings import AUDIT_CURSOR, AUDIT_EPOCH, AUDIT_MODELS, CHILD_MODELS, MAX_PASSES, STREAMS
from connectors.econobis.sync.context import PullContext, as_utc
from connectors.econobis.sync.paging import GridPager
from connectors.econobis.sync.streams import CANONICAL_KIND, Stream
from hub.sandbox.php import php_truthy
from hub.store import utcnow

# The contacts column of the resident's privacy agreement (akkoord privacybeleid), as the audit trail names it.
PRIVACY_AGREEMENT_COLUMN = "did_agree_avg"


def wall_clock(value: datetime) -> str:
    """A UTC timestamp as Econobis stores it: naive Europe/Amsterdam wall-clock text."""
    return as_utc(value).astimezone(AMS).strftime("%Y-%m-%d %H:%M:%S")


class AuditCursor(NamedTuple):
    """The audit trail has no id filter or sort: the cursor is the last second seen (`updatedAt gte`,
    wall-clock Amsterdam) plus the revision ids already handled in that second. `read_at`: when the change
    pass that left it began reading (the hub's clock, ISO); a revision the next pass finds new was saved
    after that (None: the cursor was only initialised, or written before this was kept)."""

    at: str
    seen: list[int]
    read_at: str | None = None

    @classmethod
    def load(cls, raw: str | None) -> AuditCursor:
        data: dict[str, Any] = json.loads(raw) if raw else {"at": AUDIT_EPOCH, "seen": []}
        return cls(data["at"], data["seen"], data.get("read_at"))

    def dump(self) -> str:
        data: dict[str, Any] = {"at": self.at, "seen": self.seen}
        if self.read_at is not None:
            data["read_at"] = self.read_at
        return json.dumps(data)

    def read_since(self) -> datetime | None:
        return None if self.read_at is None else datetime.fromisoformat(self.read_at)


@dataclass
class Revisions:
    """What one read of the audit trail found, by stream: Econobis ids changed, soft-deleted, child rows."""

    newest: AuditCursor
    count: int = 0
    touched: dict[str, set[int]] = field(default_factory=dict)
    deleted: dict[str, set[int]] = field(default_factory=dict)
    children: dict[str, set[int]] = field(default_factory=dict)
    # contact id → the newest change of its privacy agreement: (changed at, revision id, agreed)
    agreements: dict[int, tuple[datetime, int, bool]] = field(default_factory=dict)


class AuditTrailChanges:
    """The change pass of one pull; `handlers` re-read a whole stream when that is cheaper than details."""

    def __init__(self, ctx: PullContext, pager: GridPager, handlers: Mapping[str, Stream]) -> None:
        self.ctx = ctx
        self.pager = pager
        self.handlers = handlers

    def init_cursor(self) -> None:
        """Before the first scan: changes made while it runs are then read by the next change pass."""
        ctx = self.ctx
        page = ctx.client.grid_page("audit-trail", limit=1, sorts=[{"field": "updatedAt", "order": "desc"}])
        ctx.report.pages += 1
        at = AUDIT_EPOCH
        if page.rows:
            at = wall_clock(AuditRow.model_validate(page.rows[0]).changed_at)
        # "seen" starts empty: revisions of that second are read (again) by the first change pass, harmlessly
        with ctx.store.begin() as conn:
            ctx.store.set_cursor(conn, SOURCE, ctx.tenant, AUDIT_CURSOR, AuditCursor(at, []).dump())

    def run(self) -> None:
        """Read the audit trail since the cursor; re-read every changed record by its detail endpoint; mark
        soft-deleted ones deleted."""
        ctx = self.ctx
        with ctx.store.begin() as conn:
            cursor = AuditCursor.load(ctx.store.get_cursor(conn, SOURCE, ctx.tenant, AUDIT_CURSOR))
        read_at = utcnow()
        revs = self._read(cursor)
        revs.newest = revs.newest._replace(read_at=read_at.isoformat())
        # the privacy agreements first: a revision dates its change (after the previous pass read the trail),
        # which the contact detail re-read below cannot (consent.py; docs/consent.md)
        with ctx.store.begin() as conn:
            self._record_agreements(conn, revs.agreements, cursor.read_since())
        touched, deleted = revs.touched, revs.deleted
        deferred = self._children_to_contacts(revs.children, touched)
        for stream, gone in deleted.items():
            touched.get(stream, set()).difference_update(gone)
            ctx.mark_deleted(stream, gone)
        rescanned: list[str] = []
        for stream in STREAMS:
            if not touched.get(stream):
                continue
            if len(touched[stream]) > self._grid_cost(stream):
                # cheaper to read the whole grid (500 rows a call) than one detail call per changed record
                rescanned.append(stream)
                self.handlers[stream].scan(None)
            else:
                self.handlers[stream].reread(sorted(touched[stream]))
        with ctx.store.begin() as conn:
            ctx.store.set_cursor(conn, SOURCE, ctx.tenant, AUDIT_CURSOR, revs.newest.dump())
        ctx.report.changes = {
            "revisions": revs.count,
            "records_reread": {k: len(v) for k, v in touched.items() if v},
            "records_deleted": {k: len(v) for k, v in deleted.items() if v},
            "child_changes_deferred_to_reconcile": deferred,
            "streams_rescanned": rescanned,
        }

    def _read(self, cursor: AuditCursor) -> Revisions:
        """Every revision from the cursor's second on, skipping those the cursor already handled; paged again
        (up to MAX_PASSES) while fewer distinct revisions arrived than `meta.total` — ties move between pages."""
        done = set(cursor.seen)
        newest: str = cursor.at
        newest_ids = set(done)
        filters = [{"field": "updatedAt", "type": "gte", "data": cursor.at}]
        sorts = [{"field": "updatedAt", "order": "asc"}]
        revs = Revisions(newest=cursor)
        ids: set[int] = set()
        for _attempt in range(MAX_PASSES):
            total = 0
            for page in self.pager.pages("audit-trail", filters=filters, sorts=sorts):
                total = page.total
                for raw_row in page.rows:
                    try:
                        rev = AuditRow.model_validate(raw_row)
                    except ValidationError:
                        continue
                    if rev.id in ids:
                        continue
                    ids.add(rev.id)
                    at = wall_clock(rev.changed_at)
                    if at > newest:
                        newest, newest_ids = at, set()
                    if at == newest:
                        newest_ids.add(rev.id)
                    if at == cursor.at and rev.id in done:
                        continue
                    revs.count += 1
                    stream = AUDIT_MODELS.get(rev.model)
                    if stream is not None:
                        if rev.field == "deleted_at" and rev.new_value:
                            revs.deleted.setdefault(stream, set()).add(rev.revisionable_id)
                        else:
                            revs.touched.setdefault(stream, set()).add(rev.revisionable_id)
                        if stream == "contact" and rev.field == PRIVACY_AGREEMENT_COLUMN:
                            change = (as_utc(rev.changed_at), rev.id, php_truthy(rev.new_value))
                            before = revs.agreements.get(rev.revisionable_id)
                            if before is None or change[:2] > before[:2]:
                                revs.agreements[rev.revisionable_id] = change
                    elif rev.model in CHILD_MODELS:
                        revs.children.setdefault(CHILD_MODELS[rev.model], set()).add(rev.revisionable_id)
            if len(ids) >= total:
                break
            self.ctx.report.repaged["audit-trail"] = self.ctx.report.repaged.get("audit-trail", 0) + 1
        revs.newest = AuditCursor(newest, sorted(newest_ids))
        return revs

    def _record_agreements(
        self, conn: Connection, agreements: dict[int, tuple[datetime, int, bool]], said_after: datetime | None
    ) -> None:
        """A changed privacy agreement (the revision names the column and its new value) is consent given or
        withdrawn (consent.py), whether the contact is re-read by detail or by grid. Observed now, on the
        hub's clock (statements of different systems are ordered on one clock); the revision is the ref. The
        revision is new to this pass, so it was saved after the previous pass began reading (`said_after`,
        None when there was none): a grant made after a coordinator's withdrawal is known to be later."""
        ctx = self.ctx
        ids = ctx.ids(conn, "contact", list(agreements))
        for contact_id, (_changed_at, rev_id, agreed) in sorted(agreements.items()):
            ref = f"audit-trail:{rev_id}"
            record_privacy_agreement(
                ctx.store, conn, ctx.tenant, ids[str(contact_id)], agreed, ref, said_after=said_after
            )

    def _grid_cost(self, stream: str) -> int:
        """Calls a full read of this stream's grid costs (its live records / page size, x2 for re-paging)."""
        ctx = self.ctx
        with ctx.store.begin() as conn:
            live = ctx.store.count_live_external_ids(conn, SOURCE, ctx.tenant, stream, CANONICAL_KIND[stream])
        return 2 * (live // ctx.page_size + 1)

    def _children_to_contacts(self, children: dict[str, set[int]], touched: dict[str, set[int]]) -> int:
        """Address/e-mail/phone/person revisions → their contact, when a detail read linked them before."""
        ctx = self.ctx
        deferred = 0
        with ctx.store.begin() as conn:
            for entity, child_ids in children.items():
                owners = ctx.store.lookup_ids(conn, SOURCE, ctx.tenant, entity, [str(c) for c in child_ids])
                deferred += len(child_ids) - len(owners)
                contacts = ctx.store.external_ids(conn, SOURCE, ctx.tenant, "contact", set(owners.values()))
                touched.setdefault("contact", set()).update(int(c) for c in contacts.values())
        return deferred
