"""The Econobis pull: every grid in pages, streamed, mapped to canonical, merged, cursors committed with the
data in the same transaction; dossiers re-derived for what changed.

- New records: by id (contacts), createdAt day windows (intakes, kansen, kansacties) and newest-first paging
  (housing files) — the audit trail does not record creations.
- Updates and soft-deletes: the audit-trail grid since its cursor; each changed record is re-read through its
  detail endpoint and merged; soft-deleted ones are marked deleted (kept, never forgotten).
- A full run (`full=True`, the nightly reconcile) re-reads every grid — catching changes made outside
  Eloquent and pivot changes, which leave no revision — and checks records no grid delivers any more."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, select

from connectors.econobis.client import EconobisClient, Page
from connectors.econobis.mapping import (
    AMS,
    SOURCE,
    MappingError,
    StatusNames,
    dwelling_key_for,
    map_action,
    map_campaign,
    map_contact,
    map_housing_file,
    map_intake,
    map_opportunity,
)
from connectors.econobis.schemas import (
    AuditRow,
    FullContact,
    FullHousingFile,
    FullIntake,
    FullOpportunity,
    GridContact,
    GridHousingFile,
    GridIntake,
    GridOpportunity,
    GridQuotationRequest,
)
from hub.http import PartnerError, PartnerNotFound
from hub.journey import recompute_dossiers
from hub.logs import log_event
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store, utcnow
from hub.store import tables as t

log = logging.getLogger("connectors.econobis")
STREAMS = ("contact", "intake", "opportunity", "quotation-request", "housing-file")
# The grids with a createdAt filter: what a date-range backfill re-reads.
WINDOW_STREAMS = ("intake", "opportunity", "quotation-request")
# The `meta` key under which a grid lists every id matching the filters (the housing-file grid has none).
IDS_TOTAL = {
    "intake": "intakeIdsTotal",
    "opportunity": "opportunityIdsTotal",
    "quotation-request": "quotationRequestIdsTotal",
}
MAX_PASSES = 2
NAMES_CURSOR = "status-names"
AUDIT_CURSOR = "audit-trail"
# audit-trail `model` → the stream whose detail endpoint re-reads it
AUDIT_MODELS = {
    "Contact": "contact",
    "Intake": "intake",
    "Opportunity": "opportunity",
    "QuotationRequest": "quotation-request",
    "HousingFile": "housing-file",
}
# child models whose changes belong to a contact (found through xrefs learned from contact details)
CHILD_MODELS = {
    "Address": "contact-address",
    "EmailAddress": "contact-email",
    "PhoneNumber": "contact-phone",
    "Person": "contact-person",
}
CANONICAL_KIND = {
    "contact": "resident",
    "intake": "intake",
    "opportunity": "opportunity",
    "quotation-request": "action",
    "housing-file": "dwelling_file",
}


@dataclass
class PullReport:
    """What one pull of one tenant did; becomes Dagster materialization metadata."""

    tenant: str
    merge: MergeStats = field(default_factory=MergeStats)
    rows_read: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    detail_calls: int = 0
    repaged: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    changes: dict[str, Any] = field(default_factory=dict)
    reconcile: dict[str, Any] = field(default_factory=dict)
    journey_events: int = 0
    dossiers_recomputed: int = 0
    seconds: float = 0.0
    calls: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "rows_read": dict(self.rows_read),
            "pages": self.pages,
            "detail_calls": self.detail_calls,
            "repaged": dict(self.repaged),
            "quarantined": self.quarantined,
            "changes": dict(self.changes),
            "reconcile": dict(self.reconcile),
            "journey_events_added": self.journey_events,
            "dossiers_recomputed": self.dossiers_recomputed,
            "entities": self.merge.as_dict(),
            "partner_calls": self.calls,
            "seconds": round(self.seconds, 2),
        }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _wall_clock(value: datetime) -> str:
    """A UTC timestamp as Econobis stores it: naive Europe/Amsterdam wall-clock text."""
    return _utc(value).astimezone(AMS).strftime("%Y-%m-%d %H:%M:%S")


def _window_start(cursor: str | None) -> str | None:
    """createdAtStart takes a day in Econobis' timezone; re-read that whole day (cheap, and catches records
    committed late with an earlier timestamp)."""
    if not cursor:
        return None
    return datetime.fromisoformat(cursor).astimezone(AMS).date().isoformat()


class EconobisPull:
    """Pull one tenant's Econobis into the canonical store."""

    def __init__(self, store: Store, client: EconobisClient, tenant: str, page_size: int = 500) -> None:
        self.store = store
        self.client = client
        self.tenant = tenant
        self.page_size = page_size
        self.report = PullReport(tenant)
        self.touched_intakes: set[str] = set()
        self.names = StatusNames()
        self.full = False
        # external ids each stream delivered during a full run (for the deletion reconcile)
        self.seen_ids: dict[str, set[str]] = {}
        # (first day, last day) in Econobis' timezone: re-read only records created in it (a backfill)
        self.window: tuple[date, date] | None = None

    # --- entry point --------------------------------------------------------------------------------------

    def run(self, streams: tuple[str, ...] = STREAMS, full: bool = False, changes: bool = True) -> PullReport:
        """New records per stream (all records when `full`), then updates and deletions from the audit trail;
        a full run also reconciles deletions the audit trail cannot show."""
        started = time.monotonic()
        with self.store.begin() as conn:
            cursors = self.store.cursors(conn, SOURCE, self.tenant)
        self.names = StatusNames(json.loads(cursors.get(NAMES_CURSOR, "{}")))
        if cursors.get(AUDIT_CURSOR) is None:
            # Before the first scan: changes made while it runs are then read by the next change pass.
            self._init_audit_cursor()
        self.full = full
        self.handlers: dict[str, Callable[[str | None], None]] = {
            "contact": self._contacts,
            "intake": self._intakes,
            "opportunity": self._opportunities,
            "quotation-request": self._quotation_requests,
            "housing-file": self._housing_files,
        }
        for stream in streams:
            self.handlers[stream](None if full else cursors.get(stream))
        if changes:
            self._changes()
        if full and set(streams) == set(STREAMS):
            self._reconcile_deletions()
        with self.store.begin() as conn:
            self.report.dossiers_recomputed = len(self.touched_intakes)
            self.report.journey_events = recompute_dossiers(
                self.store, conn, self.tenant, self.touched_intakes, SOURCE, utcnow(), self.report.merge
            )
        self.report.seconds = time.monotonic() - started
        self.report.calls = self.client.http.stats.as_dict()
        log_event(
            log,
            "econobis pull finished",
            tenant=self.tenant,
            partner=SOURCE,
            created=self.report.merge.total("created"),
            updated=self.report.merge.total("updated"),
            unchanged=self.report.merge.total("unchanged"),
            quarantined=self.report.quarantined,
            calls=self.report.calls.get("calls"),
        )
        return self.report

    def run_window(self, first_day: date, last_day: date) -> PullReport:
        """Re-read the intakes, kansen and kansacties created from `first_day` to `last_day` (whole days in
        Econobis' timezone, both included) and merge them, leaving the incremental cursors alone: a coordinator's
        backfill of a date range. Their contacts are known from the contact scan; unchanged records stay
        unchanged, so running the same window twice changes nothing."""
        self.window = (first_day, last_day)
        try:
            return self.run(streams=WINDOW_STREAMS, full=True, changes=False)
        finally:
            self.window = None

    def reread(self, records: dict[str, list[str]]) -> PullReport:
        """Fetch named records again by their detail and merge them (a quarantine replay): one that maps now
        leaves the quarantine, one that still does not stays there with its (new) reason."""
        started = time.monotonic()
        with self.store.begin() as conn:
            self.names = StatusNames(json.loads(self.store.cursors(conn, SOURCE, self.tenant).get(NAMES_CURSOR, "{}")))
        for stream, external_ids in sorted(records.items()):
            if stream in STREAMS:
                self._reread(stream, sorted({int(e) for e in external_ids if str(e).isdigit()}))
        with self.store.begin() as conn:
            self.report.journey_events = recompute_dossiers(
                self.store, conn, self.tenant, self.touched_intakes, SOURCE, utcnow(), self.report.merge
            )
        self.report.seconds = time.monotonic() - started
        self.report.calls = self.client.http.stats.as_dict()
        return self.report

    # --- helpers ------------------------------------------------------------------------------------------

    def _pages(self, entity: str, **kw: Any) -> Iterator[Page]:
        for page in self.client.grid(entity, page_size=self.page_size, **kw):
            self.report.pages += 1
            self.report.rows_read[entity] = self.report.rows_read.get(entity, 0) + len(page.rows)
            yield page

    def _window_pages(self, entity: str, cursor: str | None) -> Iterator[Page]:
        """Pages of a grid with a createdAt filter, oldest first, from the cursor's day on — complete.

        MySQL orders rows with equal createdAt arbitrarily per query, so offset paging can skip a row that
        moved across a page boundary. Every page's meta lists ALL matching ids; rows listed there but never
        delivered are fetched by paging again (only those rows are passed on), up to MAX_PASSES, and what is
        still missing then by its detail endpoint."""
        start = _window_start(cursor)
        filters = [{"field": "createdAtStart", "data": start}] if start else []
        if self.window is not None:
            filters = [
                {"field": "createdAtStart", "data": self.window[0].isoformat()},
                {"field": "createdAtEnd", "data": self.window[1].isoformat()},
            ]
        sorts = [{"field": "createdAt", "order": "asc"}]
        seen: set[int] = set()
        expected: set[int] = set()
        for attempt in range(MAX_PASSES):
            for n, page in enumerate(self._pages(entity, filters=filters, sorts=sorts)):
                listed = page.meta.get(IDS_TOTAL[entity]) if n == 0 else None  # every page repeats the list
                if isinstance(listed, list):
                    expected.update(int(i) for i in listed)
                rows = [r for r in page.rows if attempt == 0 or r.get("id") not in seen]
                seen.update(int(r["id"]) for r in page.rows if isinstance(r.get("id"), int))
                if rows:
                    yield Page(rows, page.total, page.offset, page.meta)
            missing = expected - seen
            if not missing:
                return
            self.report.repaged[entity] = self.report.repaged.get(entity, 0) + 1
            log_event(
                log,
                "grid skipped rows while paging; paging again",
                logging.WARNING,
                tenant=self.tenant,
                partner=SOURCE,
                entity=entity,
                missing=len(missing),
                attempt=attempt + 1,
            )
        # Still missing after re-paging: fetch those few by their detail endpoint (shaped like grid rows).
        found: list[dict[str, Any]] = []
        for ext in sorted(expected - seen):
            raw = self._detail(entity, ext)
            if raw is None:
                continue  # deleted since it was listed: nothing to add
            row = self._detail_as_grid_row(entity, raw)
            if row is None:
                with self.store.begin() as conn:
                    self._quarantine(conn, entity, ext, f"{entity} {ext}: detail does not parse", raw)
                continue
            found.append(row)
        if found:
            yield Page(found, len(found), 0, {})

    def _detail_as_grid_row(self, entity: str, raw: dict[str, Any]) -> dict[str, Any] | None:
        try:
            if entity == "intake":
                intake = FullIntake.model_validate(raw)
                if intake.status is not None and intake.status.code_ref:
                    self.names.learn("intake", intake.status.name, intake.status.code_ref)
                return intake.to_grid().model_dump(by_alias=True, mode="json")
            if entity == "opportunity":
                opp = FullOpportunity.model_validate(raw)
                if opp.status.code_ref:
                    self.names.learn("opportunity", opp.status.name, opp.status.code_ref)
                return opp.to_grid().model_dump(by_alias=True, mode="json")
            GridQuotationRequest.model_validate(raw)
            return raw
        except ValidationError:
            return None

    def _rows(self, model: type[Any], entity: str, page: Page) -> tuple[list[Any], list[tuple[Any, str, Any]]]:
        """Parse a page; malformed rows come back separately (to quarantine) and never stop the good ones."""
        good: list[Any] = []
        bad: list[tuple[Any, str, Any]] = []
        for raw in page.rows:
            try:
                good.append(model.model_validate(raw))
            except ValidationError as exc:
                err = exc.errors()[0]
                bad.append(
                    (
                        raw.get("id", "?") if isinstance(raw, dict) else "?",
                        f"invalid {entity} row: {err['msg']} at {err['loc']}",
                        raw,
                    )
                )
        return good, bad

    def _quarantine_bad(self, conn: Connection, entity: str, bad: list[tuple[Any, str, Any]]) -> None:
        for ext, reason, raw in bad:
            self._quarantine(conn, entity, ext, reason, raw)

    def _quarantine(self, conn: Connection, entity: str, external_id: Any, reason: str, payload: Any) -> None:
        self.store.quarantine_put(conn, self.tenant, SOURCE, entity, str(external_id), reason, payload)
        self.report.quarantined += 1
        self.report.merge.add(entity, "quarantined")

    def _release(self, conn: Connection, entity: str, ids: list[str]) -> None:
        if ids:
            self.store.quarantine_resolve(conn, self.tenant, SOURCE, entity, ids)

    def _commit(
        self, conn: Connection, stream: str, cursor: str | None, items: list[Incoming], released: list[str]
    ) -> list[str]:
        changed = merge(self.store, conn, items, self.report.merge)
        self._release(conn, stream, released)
        if cursor is not None:
            self.store.set_cursor(conn, SOURCE, self.tenant, stream, cursor)
        if any(self.names.learned.values()):
            self.store.set_cursor(
                conn, SOURCE, self.tenant, NAMES_CURSOR, json.dumps(self.names.learned, sort_keys=True)
            )
        return changed

    def _ids(self, conn: Connection, entity: str, external: list[Any]) -> dict[str, str]:
        return self.store.resolve_ids(conn, SOURCE, self.tenant, entity, [str(e) for e in external])

    def _detail(self, entity: str, record_id: int) -> dict[str, Any] | None:
        self.report.detail_calls += 1
        try:
            return self.client.detail(entity, record_id)
        except PartnerNotFound:
            return None

    def _seen(self, stream: str, raw_rows: list[dict[str, Any]]) -> None:
        if self.full:
            self.seen_ids.setdefault(stream, set()).update(str(r["id"]) for r in raw_rows if "id" in r)

    # --- change detection: the audit trail ----------------------------------------------------------------

    def _init_audit_cursor(self) -> None:
        page = self.client.grid_page("audit-trail", limit=1, sorts=[{"field": "updatedAt", "order": "desc"}])
        self.report.pages += 1
        at = "1970-01-01 00:00:00"
        if page.rows:
            at = _wall_clock(AuditRow.model_validate(page.rows[0]).changed_at)
        # "seen" starts empty: revisions of that second are read (again) by the first change pass, harmlessly
        with self.store.begin() as conn:
            self.store.set_cursor(conn, SOURCE, self.tenant, AUDIT_CURSOR, json.dumps({"at": at, "seen": []}))

    def _changes(self) -> None:
        """Read the audit trail since the cursor; re-read every changed record by its detail endpoint; mark
        soft-deleted ones deleted. The audit trail has no id filter or sort: the cursor is the last second
        seen (`updatedAt gte`, wall-clock Amsterdam) plus the revision ids already handled in that second."""
        with self.store.begin() as conn:
            raw = self.store.get_cursor(conn, SOURCE, self.tenant, AUDIT_CURSOR)
        cursor: dict[str, Any] = json.loads(raw) if raw else {"at": "1970-01-01 00:00:00", "seen": []}
        done = set(cursor["seen"])
        newest: str = cursor["at"]
        filters = [{"field": "updatedAt", "type": "gte", "data": cursor["at"]}]
        sorts = [{"field": "updatedAt", "order": "asc"}]
        touched: dict[str, set[int]] = {}
        deleted: dict[str, set[int]] = {}
        children: dict[str, set[int]] = {}
        ids: set[int] = set()
        newest_ids = set(done)
        revisions = 0
        for _attempt in range(MAX_PASSES):
            total = 0
            for page in self._pages("audit-trail", filters=filters, sorts=sorts):
                total = page.total
                for raw_row in page.rows:
                    try:
                        rev = AuditRow.model_validate(raw_row)
                    except ValidationError:
                        continue
                    if rev.id in ids:
                        continue
                    ids.add(rev.id)
                    at = _wall_clock(rev.changed_at)
                    if at > newest:
                        newest, newest_ids = at, set()
                    if at == newest:
                        newest_ids.add(rev.id)
                    if at == cursor["at"] and rev.id in done:
                        continue
                    revisions += 1
                    stream = AUDIT_MODELS.get(rev.model)
                    if stream is not None:
                        if rev.field == "deleted_at" and rev.new_value:
                            deleted.setdefault(stream, set()).add(rev.revisionable_id)
                        else:
                            touched.setdefault(stream, set()).add(rev.revisionable_id)
                    elif rev.model in CHILD_MODELS:
                        children.setdefault(CHILD_MODELS[rev.model], set()).add(rev.revisionable_id)
            if len(ids) >= total:
                break
            self.report.repaged["audit-trail"] = self.report.repaged.get("audit-trail", 0) + 1
        deferred = self._children_to_contacts(children, touched)
        for stream, gone in deleted.items():
            touched.get(stream, set()).difference_update(gone)
            self._mark_deleted(stream, gone)
        rescanned: list[str] = []
        for stream in STREAMS:
            if not touched.get(stream):
                continue
            if len(touched[stream]) > self._grid_cost(stream):
                # cheaper to read the whole grid (500 rows a call) than one detail call per changed record
                rescanned.append(stream)
                self.handlers[stream](None)
            else:
                self._reread(stream, sorted(touched[stream]))
        with self.store.begin() as conn:
            self.store.set_cursor(
                conn, SOURCE, self.tenant, AUDIT_CURSOR, json.dumps({"at": newest, "seen": sorted(newest_ids)})
            )
        self.report.changes = {
            "revisions": revisions,
            "records_reread": {k: len(v) for k, v in touched.items() if v},
            "records_deleted": {k: len(v) for k, v in deleted.items() if v},
            "child_changes_deferred_to_reconcile": deferred,
            "streams_rescanned": rescanned,
        }

    def _grid_cost(self, stream: str) -> int:
        """Calls a full read of this stream's grid costs (its live records / page size, x2 for re-paging)."""
        with self.store.begin() as conn:
            live = self.store.count_live_external_ids(conn, SOURCE, self.tenant, stream, CANONICAL_KIND[stream])
        return 2 * (live // self.page_size + 1)

    def _children_to_contacts(self, children: dict[str, set[int]], touched: dict[str, set[int]]) -> int:
        """Address/e-mail/phone/person revisions → their contact, when a detail read linked them before."""
        deferred = 0
        with self.store.begin() as conn:
            for entity, child_ids in children.items():
                owners = self.store.lookup_ids(conn, SOURCE, self.tenant, entity, [str(c) for c in child_ids])
                deferred += len(child_ids) - len(owners)
                contacts = self.store.external_ids(conn, SOURCE, self.tenant, "contact", set(owners.values()))
                touched.setdefault("contact", set()).update(int(c) for c in contacts.values())
        return deferred

    def _mark_deleted(self, stream: str, external_ids: set[int] | set[str]) -> int:
        with self.store.begin() as conn:
            canon = self.store.lookup_ids(conn, SOURCE, self.tenant, stream, [str(e) for e in external_ids])
            rows = self.store.load_entities(conn, canon.values())
            marked = self.store.mark_deleted(conn, canon.values())
            for cid, entity in marked.items():
                self.report.merge.add(entity, "deleted")
                data = rows.get(cid, {}).get("data", {})
                if entity == "intake":
                    self.touched_intakes.add(cid)
                elif entity == "opportunity" and data.get("intake_id"):
                    self.touched_intakes.add(data["intake_id"])
                elif entity == "action" and data.get("opportunity_id"):
                    opp = self.store.load_entities(conn, [data["opportunity_id"]]).get(data["opportunity_id"])
                    if opp and opp["data"].get("intake_id"):
                        self.touched_intakes.add(opp["data"]["intake_id"])
            return len(marked)

    def _reread(self, stream: str, record_ids: list[int]) -> None:
        """Fetch each changed record's detail (one call each, outside transactions) and merge it like a grid
        row; a 404 means it was deleted after the revision was written."""
        for i in range(0, len(record_ids), self.page_size):
            chunk = record_ids[i : i + self.page_size]
            details: list[tuple[int, dict[str, Any]]] = []
            gone: set[int] = set()
            for rid in chunk:
                raw = self._detail(stream, rid)
                if raw is None:
                    gone.add(rid)
                else:
                    details.append((rid, raw))
            if gone:
                self._mark_deleted(stream, gone)
            self._apply_details(stream, details)

    def _apply_details(self, stream: str, details: list[tuple[int, dict[str, Any]]]) -> None:
        bad: list[tuple[Any, str, Any]] = []

        def parse(model: type[Any]) -> list[Any]:
            out = []
            for rid, raw in details:
                try:
                    out.append(model.model_validate(raw))
                except ValidationError as exc:
                    err = exc.errors()[0]
                    bad.append((rid, f"invalid {stream} detail: {err['msg']} at {err['loc']}", raw))
            return out

        if stream == "contact":
            contacts = parse(FullContact)
            self._apply_contacts([c.to_grid() for c in contacts], bad, None, children=contacts)
        elif stream == "intake":
            intakes = parse(FullIntake)
            statuses: dict[int, str | None] = {}
            for it in intakes:
                if it.status is not None and it.status.code_ref:
                    self.names.learn("intake", it.status.name, it.status.code_ref)
                statuses[it.id] = it.status.code_ref if it.status else None
            self._apply_intakes([it.to_grid() for it in intakes], bad, statuses, None)
        elif stream == "opportunity":
            opps = parse(FullOpportunity)
            resolved: dict[int, tuple[str | None, str | int | None]] = {}
            for o in opps:
                if o.status.code_ref:
                    self.names.learn("opportunity", o.status.name, o.status.code_ref)
                resolved[o.id] = (o.status.code_ref, int(o.intake.id) if o.intake else None)
            self._apply_opportunities([o.to_grid() for o in opps], bad, resolved, None)
        elif stream == "quotation-request":
            self._apply_quotation_requests(parse(GridQuotationRequest), bad, None)
        elif stream == "housing-file":
            self._apply_housing_files([h.to_grid() for h in parse(FullHousingFile)], bad)

    # --- reconcile: what the audit trail cannot see ---------------------------------------------------------

    def _reconcile_deletions(self) -> None:
        """After a full read: records the hub holds as live but no grid delivered any more are checked one by
        one (a detail 404 = deleted, e.g. removed outside Eloquent or hard-deleted); the rest stay."""
        found: dict[str, int] = {}
        for stream in STREAMS:
            seen = self.seen_ids.get(stream, set())
            with self.store.begin() as conn:
                live = self.store.live_external_ids(conn, SOURCE, self.tenant, stream, CANONICAL_KIND[stream])
            missing = sorted(int(e) for e in live if e not in seen and e.isdigit())
            gone = {rid for rid in missing if self._detail(stream, rid) is None}
            if gone:
                found[stream] = self._mark_deleted(stream, gone)
        self.report.reconcile = {"deleted": found}

    # --- streams ------------------------------------------------------------------------------------------

    def _contacts(self, cursor: str | None) -> None:
        last_id = int(cursor) if cursor else 0
        filters = [{"field": "id", "type": "gt", "data": last_id}] if last_id else []
        for page in self._pages("contact", filters=filters, sorts=[{"field": "id", "order": "asc"}]):
            rows, bad = self._rows(GridContact, "contact", page)
            self._seen("contact", page.rows)
            max_id = max([last_id, *(int(raw.get("id", 0)) for raw in page.rows)])
            self._apply_contacts(rows, bad, str(max_id))
            last_id = max_id

    def _apply_contacts(
        self, rows: list[GridContact], bad: list[tuple[Any, str, Any]], cursor: str | None, children: Any = None
    ) -> None:
        """Merge contact rows (from the grid, or built from details); `children` = FullContact details whose
        address/e-mail/phone/person ids are linked to the resident, so their audit-trail rows find it."""
        observed = utcnow()
        with self.store.begin() as conn:
            self._quarantine_bad(conn, "contact", bad)
            ids = self._ids(conn, "contact", [r.id for r in rows])
            keys = {r.id: dwelling_key_for(r.postal_code, r.street_and_number) for r in rows}
            dwelling_ids = self.store.resolve_ids(conn, "hub", self.tenant, "dwelling", [k for k in keys.values() if k])
            items: list[Incoming] = []
            for r in rows:
                key = keys[r.id]
                resident, dwelling = map_contact(r, self.tenant, ids[str(r.id)], dwelling_ids.get(key) if key else None)
                items.append(Incoming(resident, SOURCE, f"contact:{r.id}", observed))
                if dwelling is not None:
                    items.append(Incoming(dwelling, SOURCE, f"contact:{r.id}:address", observed, natural_key=key))
            for full in children or []:
                self._link_children(conn, full, ids[str(full.id)])
            self._commit(conn, "contact", cursor, items, [str(r.id) for r in rows])

    def _link_children(self, conn: Connection, full: FullContact, resident_id: str) -> None:
        links = {
            "contact-address": [a.id for a in full.addresses],
            "contact-email": [e.id for e in full.email_addresses],
            "contact-phone": [p.id for p in full.phone_numbers],
            "contact-person": [full.person.id] if full.person else [],
        }
        for entity, child_ids in links.items():
            self.store.link_ids(conn, SOURCE, self.tenant, entity, {str(c): resident_id for c in child_ids})

    def _resident_dwellings(self, conn: Connection, resident_ids: list[str]) -> dict[str, tuple[str, str]]:
        """resident → (dwelling id, "street number[-addition]") for their primary address."""
        out: dict[str, tuple[str, str]] = {}
        for i in range(0, len(resident_ids), 500):
            q = select(t.entities.c.canonical_id, t.entities.c.parent_id, t.entities.c.data).where(
                t.entities.c.entity == "dwelling", t.entities.c.parent_id.in_(resident_ids[i : i + 500])
            )
            for r in conn.execute(q):
                d = r.data
                label = f"{d.get('street')} {d.get('number')}" + (f"-{d['addition']}" if d.get("addition") else "")
                out[r.parent_id] = (r.canonical_id, label)
        return out

    def _status(self, table: str, name: str | None, detail_entity: str, record_id: int) -> str | None:
        code = self.names.code(table, name)
        if code is None and name:
            raw = self._detail(detail_entity, record_id)
            model = FullIntake if table == "intake" else FullOpportunity
            status = model.model_validate(raw).status if raw else None
            if status is not None and status.code_ref:
                self.names.learn(table, status.name, status.code_ref)
                code = status.code_ref
        return code

    def _max_created(self, cursor: str | None, rows: list[Any]) -> str | None:
        if self.window is not None:
            return None  # a window re-read never moves the incremental cursors
        stamps = [_utc(r.created_at) for r in rows]
        if cursor:
            stamps.append(datetime.fromisoformat(cursor))
        return max(stamps).isoformat() if stamps else cursor

    def _intakes(self, cursor: str | None) -> None:
        for page in self._window_pages("intake", cursor):
            rows, bad = self._rows(GridIntake, "intake", page)
            self._seen("intake", page.rows)
            statuses = {r.id: self._status("intake", r.status, "intake", r.id) for r in rows}  # may call details
            cursor = self._max_created(cursor, rows)
            self._apply_intakes(rows, bad, statuses, cursor)

    def _apply_intakes(
        self,
        rows: list[GridIntake],
        bad: list[tuple[Any, str, Any]],
        statuses: dict[int, str | None],
        cursor: str | None,
    ) -> None:
        observed = utcnow()
        with self.store.begin() as conn:
            self._quarantine_bad(conn, "intake", bad)
            intake_ids = self._ids(conn, "intake", [r.id for r in rows])
            resident_ids = self._ids(conn, "contact", [r.contact_id for r in rows])
            campaign_ids = self._ids(conn, "campaign", [r.campaign.id for r in rows if r.campaign])
            dwellings = self._resident_dwellings(conn, list(resident_ids.values()))
            items: list[Incoming] = []
            ok: list[str] = []
            seen_campaigns: set[str] = set()
            for r in rows:
                status = statuses[r.id]
                if status is None:
                    self._quarantine(
                        conn,
                        "intake",
                        r.id,
                        f"intake status name {r.status!r} has no known code_ref",
                        r.model_dump(mode="json"),
                    )
                    continue
                rid = resident_ids[str(r.contact_id)]
                dw = dwellings.get(rid)
                ids = {
                    "intake": intake_ids[str(r.id)],
                    "resident": rid,
                    "campaign": campaign_ids[str(r.campaign.id)] if r.campaign else None,
                    # Intakes use the contact's address; only link when the grid shows the same one.
                    "dwelling": dw[0] if dw and dw[1] == (r.full_address or "") else None,
                }
                if r.campaign and str(r.campaign.id) not in seen_campaigns:
                    seen_campaigns.add(str(r.campaign.id))
                    camp = map_campaign(self.tenant, campaign_ids[str(r.campaign.id)], r.campaign.name)
                    items.append(Incoming(camp, SOURCE, f"campaign:{r.campaign.id}", observed))
                items.append(Incoming(map_intake(r, self.tenant, ids, status), SOURCE, f"intake:{r.id}", observed))
                ok.append(str(r.id))
            changed = self._commit(conn, "intake", cursor, items, ok)
            self.touched_intakes.update(c for c in changed if c in set(intake_ids.values()))

    def _intake_candidates(self, conn: Connection, resident_ids: list[str]) -> dict[tuple[str, str | None], list[str]]:
        """(resident, campaign name) → intake ids, for linking kansen whose grid row lacks the intake."""
        intakes: list[tuple[str, str, str | None]] = []
        for i in range(0, len(resident_ids), 500):
            q = select(t.entities.c.canonical_id, t.entities.c.parent_id, t.entities.c.data).where(
                t.entities.c.entity == "intake", t.entities.c.parent_id.in_(resident_ids[i : i + 500])
            )
            intakes += [(r.canonical_id, r.parent_id, r.data.get("campaign_id")) for r in conn.execute(q)]
        camp_ids = sorted({c for _, _, c in intakes if c})
        names = {cid: e["data"].get("name") for cid, e in self.store.load_entities(conn, camp_ids).items()}
        out: dict[tuple[str, str | None], list[str]] = {}
        for iid, rid, cid in intakes:
            out.setdefault((rid, names.get(cid or "")), []).append(iid)
        return out

    def _opportunities(self, cursor: str | None) -> None:
        for page in self._window_pages("opportunity", cursor):
            rows, bad = self._rows(GridOpportunity, "opportunity", page)
            self._seen("opportunity", page.rows)
            # 1. what the store already knows (short transaction, no partner calls inside)
            with self.store.begin() as conn:
                opp_ids = self._ids(conn, "opportunity", [r.id for r in rows])
                resident_ids = self._ids(conn, "contact", [r.contact_id for r in rows if r.contact_id])
                existing = self.store.load_entities(conn, opp_ids.values())
                candidates = self._intake_candidates(conn, list(resident_ids.values()))
            resolved: dict[int, tuple[str | None, str | int | None]] = {}
            for r in rows:
                status = self.names.code("opportunity", r.status_name)
                intake: str | int | None = (existing.get(opp_ids[str(r.id)]) or {}).get("data", {}).get("intake_id")
                if intake is None and r.contact_id is not None:
                    found = candidates.get((resident_ids[str(r.contact_id)], r.campaign_name), [])
                    intake = found[0] if len(found) == 1 else None
                resolved[r.id] = (status, intake)
            # 2. the grid cannot tell for some kansen: one detail call each, outside any transaction
            for r in rows:
                status, intake = resolved[r.id]
                if status is not None and intake is not None:
                    continue
                raw = self._detail("opportunity", r.id)
                full = FullOpportunity.model_validate(raw) if raw else None
                if full is not None:
                    if full.status.code_ref:
                        self.names.learn("opportunity", full.status.name, full.status.code_ref)
                        status = status or full.status.code_ref
                    if intake is None and full.intake is not None:
                        intake = int(full.intake.id)  # an Econobis id: resolved below
                resolved[r.id] = (status, intake)
            cursor = self._max_created(cursor, rows)
            self._apply_opportunities(rows, bad, resolved, cursor)

    def _apply_opportunities(
        self,
        rows: list[GridOpportunity],
        bad: list[tuple[Any, str, Any]],
        resolved: dict[int, tuple[str | None, str | int | None]],
        cursor: str | None,
    ) -> None:
        """`resolved`: kans id → (status code_ref, intake: a canonical id (str) or an Econobis id (int))."""
        observed = utcnow()
        with self.store.begin() as conn:
            self._quarantine_bad(conn, "opportunity", bad)
            opp_ids = self._ids(conn, "opportunity", [r.id for r in rows])
            ext_intakes = [i for _, i in resolved.values() if isinstance(i, int)]
            intake_xref = self._ids(conn, "intake", ext_intakes)
            items: list[Incoming] = []
            ok: list[str] = []
            for r in rows:
                status, intake = resolved[r.id]
                intake_id = intake_xref[str(intake)] if isinstance(intake, int) else intake
                if status is None or intake_id is None:
                    why = "status name unknown" if status is None else "intake not identifiable"
                    self._quarantine(conn, "opportunity", r.id, f"kans {r.number}: {why}", r.model_dump(mode="json"))
                    continue
                oid = opp_ids[str(r.id)]
                items.append(
                    Incoming(
                        map_opportunity(r, self.tenant, oid, intake_id, status),
                        SOURCE,
                        f"opportunity:{r.id}",
                        observed,
                    )
                )
                ok.append(str(r.id))
                self.touched_intakes.add(intake_id)
            self._commit(conn, "opportunity", cursor, items, ok)

    def _learn_opportunity_names(self, rows: list[GridQuotationRequest]) -> None:
        for r in rows:
            st = r.opportunity.status
            if st is not None and st.code_ref:
                self.names.learn("opportunity", st.name, st.code_ref)

    def _quotation_requests(self, cursor: str | None) -> None:
        for page in self._window_pages("quotation-request", cursor):
            rows, bad = self._rows(GridQuotationRequest, "quotation-request", page)
            self._seen("quotation-request", page.rows)
            cursor = self._max_created(cursor, rows)
            self._apply_quotation_requests(rows, bad, cursor)

    def _apply_quotation_requests(
        self, rows: list[GridQuotationRequest], bad: list[tuple[Any, str, Any]], cursor: str | None
    ) -> None:
        observed = utcnow()
        self._learn_opportunity_names(rows)
        with self.store.begin() as conn:
            self._quarantine_bad(conn, "quotation-request", bad)
            action_ids = self._ids(conn, "quotation-request", [r.id for r in rows])
            opp_ids = self._ids(conn, "opportunity", [r.opportunity.id for r in rows])
            coach_ids = self._ids(
                conn, "contact", [r.organisation_or_coach.id for r in rows if r.organisation_or_coach]
            )
            opps = self.store.load_entities(conn, opp_ids.values())
            items: list[Incoming] = []
            ok: list[str] = []
            for r in rows:
                oid = opp_ids[str(r.opportunity.id)]
                try:
                    coach = coach_ids[str(r.organisation_or_coach.id)] if r.organisation_or_coach else None
                    action = map_action(r, self.tenant, action_ids[str(r.id)], oid, coach)
                except MappingError as exc:
                    self._quarantine(conn, "quotation-request", r.id, str(exc), r.model_dump(mode="json"))
                    continue
                items.append(Incoming(action, SOURCE, f"quotation-request:{r.id}", observed))
                ok.append(str(r.id))
                intake_ext = r.opportunity.intake.id if r.opportunity.intake else None
                opp_row = opps.get(oid)
                if opp_row is not None:
                    intake_id = opp_row["data"].get("intake_id")
                    if intake_id:
                        self.touched_intakes.add(intake_id)
                elif intake_ext is not None:
                    self.touched_intakes.add(self._ids(conn, "intake", [intake_ext])[str(intake_ext)])
            self._commit(conn, "quotation-request", cursor, items, ok)

    def _housing_files(self, cursor: str | None) -> None:
        # No createdAt filter exists on this grid: page newest-first and stop once past the cursor's day.
        stop_before = (datetime.fromisoformat(cursor) - timedelta(days=1)) if cursor else None
        newest = cursor
        for page in self._pages("housing-file", sorts=[{"field": "createdAt", "order": "desc"}]):
            rows, bad = self._rows(GridHousingFile, "housing-file", page)
            self._seen("housing-file", page.rows)
            parsed = len(rows)
            if stop_before is not None:
                rows = [r for r in rows if _utc(r.created_at) >= stop_before]
            newest = self._max_created(newest, rows)
            self._apply_housing_files(rows, bad)
            if stop_before is not None and len(rows) < parsed:
                break
        if newest is not None:
            with self.store.begin() as conn:
                self.store.set_cursor(conn, SOURCE, self.tenant, "housing-file", newest)

    def _apply_housing_files(self, rows: list[GridHousingFile], bad: list[tuple[Any, str, Any]]) -> None:
        observed = utcnow()
        with self.store.begin() as conn:
            self._quarantine_bad(conn, "housing-file", bad)
            keys = {r.id: dwelling_key_for(r.postal_code, r.full_address) for r in rows}
            dwellings = self.store.resolve_ids(conn, "hub", self.tenant, "dwelling", [k for k in keys.values() if k])
            # a housing file joins the dossier file Hoomdossier created first (its first message makes Econobis
            # create the housing file)
            self.store.join_dwelling_files(
                conn,
                SOURCE,
                self.tenant,
                "housing-file",
                {str(r.id): [dwellings[keys[r.id] or ""]] for r in rows if keys[r.id] in dwellings},
            )
            file_ids = self._ids(conn, "housing-file", [r.id for r in rows])
            items = [
                Incoming(
                    map_housing_file(r, self.tenant, file_ids[str(r.id)], dwellings.get(keys[r.id] or "")),
                    SOURCE,
                    f"housing-file:{r.id}",
                    observed,
                )
                for r in rows
            ]
            self._commit(conn, "housing-file", None, items, [str(r.id) for r in rows])


def pull_tenant(
    store: Store, client: EconobisClient, tenant: str, *, full: bool = False, page_size: int = 500
) -> PullReport:
    """Pull one tenant; raises PartnerError subclasses when Econobis stays unreachable."""
    try:
        return EconobisPull(store, client, tenant, page_size).run(full=full)
    except PartnerError:
        log_event(log, "econobis pull failed", logging.ERROR, tenant=tenant, partner=SOURCE)
        raise


def reconcile_counts(store: Store, client: EconobisClient, tenant: str) -> list[dict[str, Any]]:
    """Per stream: the records Econobis lists (one grid call each, the total only) against the live records
    the hub holds and those parked in quarantine — the reconciliation asset check."""
    out: list[dict[str, Any]] = []
    for stream in STREAMS:
        partner = client.grid_page(stream, limit=1).total
        with store.begin() as conn:
            hub = store.count_live_external_ids(conn, SOURCE, tenant, stream, CANONICAL_KIND[stream])
        parked = store.count(t.quarantine, tenant=tenant, source=SOURCE, entity=stream, resolved_at=None)
        out.append(
            {
                "entity": stream,
                "partner": partner,
                "hub": hub,
                "quarantined": parked,
                "difference": partner - hub - parked,
            }
        )
    return out
