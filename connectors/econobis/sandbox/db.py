"""In-memory tables of a sandbox Econobis, with auto-increment ids that start where a real, used instance is.

Rows are plain dicts with Econobis' snake_case column names; the API layer turns them into wire shapes.

Like MySQL under Laravel:
- `transaction()` makes a block atomic: on an exception every insert and update in it is undone — but the
  auto-increment counters are NOT rolled back, so a failed call leaves a gap in the ids;
- every update through `update()` / `soft_delete()` of a revisionable model writes `revisions` rows (one per
  changed column, venturecraft/revisionable), which the audit-trail grid serves. Creations are not recorded
  (revisionCreationsEnabled is off), pivot tables are not revisionable, and `raw_update()` — a change made
  outside Eloquent (a migration, a DB fix, a mass update) — leaves no revision at all."""

from __future__ import annotations

import itertools
import json
import threading
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

TABLES = (
    "contacts",
    "addresses",
    "email_addresses",
    "phone_numbers",
    "campaigns",
    "intakes",
    "opportunities",
    "quotation_requests",
    "housing_files",
    "housing_file_specifications",
    "housing_file_housing_statuses",
    "housing_file_hoom_links",
    "housing_file_logs",
    "tasks",
    "notes",
    "documents",
    "webforms",
    "revisions",
    "quotation_request_actions_log",
)
# First auto-increment id per table: a sandbox should not look like a fresh install.
ID_START = {
    "contacts": 1001,
    "addresses": 2001,
    "email_addresses": 3001,
    "phone_numbers": 4001,
    "campaigns": 11,
    "intakes": 501,
    "opportunities": 701,
    "quotation_requests": 901,
    "housing_files": 301,
    "housing_file_specifications": 1201,
    "housing_file_housing_statuses": 1,
    "housing_file_hoom_links": 1,
    "housing_file_logs": 1,
    "tasks": 5001,
    "notes": 6001,
    "documents": 7001,
    "webforms": 1,
    "revisions": 880001,
    "quotation_request_actions_log": 1,
}
# table → revisionable_type (the Eloquent model class), for the models Econobis keeps revisions of.
REVISIONABLE = {
    "contacts": "App\\Eco\\Contact\\Contact",
    "addresses": "App\\Eco\\Address\\Address",
    "email_addresses": "App\\Eco\\EmailAddress\\EmailAddress",
    "phone_numbers": "App\\Eco\\PhoneNumber\\PhoneNumber",
    "campaigns": "App\\Eco\\Campaign\\Campaign",
    "intakes": "App\\Eco\\Intake\\Intake",
    "opportunities": "App\\Eco\\Opportunity\\Opportunity",
    "quotation_requests": "App\\Eco\\QuotationRequest\\QuotationRequest",
    "housing_files": "App\\Eco\\HousingFile\\HousingFile",
    "housing_file_specifications": "App\\Eco\\HousingFile\\HousingFileSpecification",
    "tasks": "App\\Eco\\Task\\Task",
    "documents": "App\\Eco\\Document\\Document",
    "webforms": "App\\Eco\\Webform\\Webform",
}
# Columns revisionable never records (timestamps) and pivot-like list columns (separate tables in Econobis).
NOT_REVISIONED = frozenset(
    {"created_at", "updated_at", "source_ids", "reason_ids", "measure_category_ids", "measure_ids"}
)
CHILD_TABLES = ("addresses", "email_addresses", "phone_numbers")


def revision_value(value: Any) -> str | None:
    """How a PHP value lands in the `revisions` text columns."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# One number per SandboxDB made in this process (never reused, unlike id()).
_SERIALS = itertools.count(1)


class SandboxDB:
    """Tables keyed by id (insertion order = id order), plus the indexes the API needs."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[int, dict[str, Any]]] = {t: {} for t in TABLES}
        self.ids: dict[str, list[int]] = {t: [] for t in TABLES}
        self._next = dict(ID_START)
        self._qr_by_opportunity: dict[int, list[int]] = defaultdict(list)
        self._children: dict[tuple[str, int], list[int]] = defaultdict(list)
        self._primary: dict[tuple[str, int], int] = {}
        self.now: Callable[[], datetime] = now or (lambda: datetime.now().replace(microsecond=0))
        # AddressObserver: an address's shared area (buurt) from its postcode and number, set by the instance
        self.address_area: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        # The user revisions are attributed to (Auth::id()); None = no user (seed, console).
        self.acting_user: int | None = None
        # Revisions are off while seeding: the seed is history the hub reads as state, not as changes.
        self.record_revisions = False
        self._journal: list[Callable[[], None]] | None = None
        # Bumped on every write; grid result caches key on it, and on `serial`: the cache is the module's,
        # shared by every sandbox in the process, whose versions repeat (one test's sandbox after another's).
        self.version = 0
        self.serial = next(_SERIALS)

    # --- transactions -------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """DB::transaction(): all or nothing. Nested blocks join the outer one (as Laravel savepoint-less
        code effectively does here). Holds the lock: sandbox writes are serialised."""
        with self.lock:
            if self._journal is not None:
                yield
                return
            self._journal = []
            try:
                yield
            except BaseException:
                for undo in reversed(self._journal):
                    undo()
                self.version += 1
                raise
            finally:
                self._journal = None

    def _undo(self, fn: Callable[[], None]) -> None:
        if self._journal is not None:
            self._journal.append(fn)

    # --- writes -------------------------------------------------------------------------------------------

    def insert(self, table: str, row: dict[str, Any]) -> int:
        with self.lock:
            self.version += 1
            row_id = self._next[table]
            self._next[table] += 1  # never given back, even on rollback (InnoDB)
            row["id"] = row_id
            if table == "addresses" and self.address_area is not None:
                row.update(self.address_area(row))
            self.tables[table][row_id] = row
            self.ids[table].append(row_id)
            undo_index: list[Callable[[], None]] = []
            if table == "quotation_requests":
                self._qr_by_opportunity[row["opportunity_id"]].append(row_id)
                undo_index.append(lambda: self._qr_by_opportunity[row["opportunity_id"]].remove(row_id))
            if table in CHILD_TABLES:
                key = (table, row["contact_id"])
                self._children[key].append(row_id)
                undo_index.append(lambda: self._children[key].remove(row_id))
                # Econobis' observers: the first row of a kind becomes primary; a new primary demotes the old.
                before = self._primary.get(key)
                if key not in self._primary:
                    row["primary"] = True
                if row.get("primary"):
                    if before is not None and before != row_id:
                        self.tables[table][before]["primary"] = False
                    self._primary[key] = row_id

                def undo_primary() -> None:
                    if before is None:
                        self._primary.pop(key, None)
                    else:
                        self._primary[key] = before
                        self.tables[table][before]["primary"] = True

                undo_index.append(undo_primary)

            def undo_insert() -> None:
                for fn in undo_index:
                    fn()
                del self.tables[table][row_id]
                self.ids[table].remove(row_id)

            self._undo(undo_insert)
            return row_id

    def update(self, table: str, row_id: int, change: dict[str, Any]) -> dict[str, Any]:
        """An Eloquent save: changed columns only, `updated_at` bumped, a revision per changed column."""
        with self.lock:
            row = self.tables[table][row_id]
            dirty = {k: v for k, v in change.items() if row.get(k) != v or k not in row}
            if not dirty:
                return row
            if table == "addresses" and self.address_area is not None and {"postal_code", "number"} & set(dirty):
                derived = self.address_area({**row, **dirty})
                dirty.update({k: v for k, v in derived.items() if row.get(k) != v})
            previous = {k: row.get(k) for k in dirty}
            # an explicit updated_at is the writer's clock (the seed replays history at past times): keep it
            self._set(table, row_id, dirty, touch="updated_at" not in change)
            model = REVISIONABLE.get(table)
            if model and self.record_revisions:
                now = self.now()
                for key, new in dirty.items():
                    if key in NOT_REVISIONED:
                        continue
                    old = previous[key]
                    if revision_value(old) == revision_value(new):
                        continue
                    self.insert(
                        "revisions",
                        {
                            "revisionable_type": model,
                            "revisionable_id": row_id,
                            "key": key,
                            "old_value": revision_value(old),
                            "new_value": revision_value(new),
                            "user_id": self.acting_user,
                            "created_at": now,
                            "updated_at": now,
                        },
                    )
            return row

    def raw_update(self, table: str, row_id: int, change: dict[str, Any]) -> dict[str, Any]:
        """A query-builder update (`DB::table(...)->update()`): no observers, no revisions, no updated_at."""
        with self.lock:
            self._set(table, row_id, change, touch=False)
            return self.tables[table][row_id]

    def soft_delete(self, table: str, row_id: int) -> None:
        """SoftDeletes::delete(): sets deleted_at; revisionable records it as a `deleted_at` revision."""
        self.update(table, row_id, {"deleted_at": self.now()})

    def _set(self, table: str, row_id: int, change: dict[str, Any], touch: bool) -> None:
        row = self.tables[table][row_id]
        missing = object()
        old = {k: row.get(k, missing) for k in change}
        if touch and "updated_at" not in change and "updated_at" in row:
            old["updated_at"] = row["updated_at"]
            change = {**change, "updated_at": self.now()}
        self.version += 1
        row.update(change)

        def undo() -> None:
            for k, v in old.items():
                if v is missing:
                    row.pop(k, None)
                else:
                    row[k] = v

        self._undo(undo)

    # --- reads --------------------------------------------------------------------------------------------

    def get(self, table: str, row_id: int | None) -> dict[str, Any] | None:
        return self.tables[table].get(row_id) if row_id is not None else None

    def live(self, table: str, row_id: int | None) -> dict[str, Any] | None:
        row = self.get(table, row_id)
        return row if row is not None and row.get("deleted_at") is None else None

    def primary(self, table: str, contact_id: int) -> dict[str, Any] | None:
        row_id = self._primary.get((table, contact_id))
        return self.tables[table][row_id] if row_id is not None else None

    def children(self, table: str, contact_id: int) -> list[dict[str, Any]]:
        """A contact's live addresses / email addresses / phone numbers, in id order."""
        rows = (self.tables[table][i] for i in self._children.get((table, contact_id), []))
        return [r for r in rows if r.get("deleted_at") is None]

    def kansacties_of(self, opportunity_id: int) -> list[dict[str, Any]]:
        return [self.tables["quotation_requests"][q] for q in self._qr_by_opportunity.get(opportunity_id, [])]

    def where(self, table: str, **eq: Any) -> list[dict[str, Any]]:
        """Live rows whose columns equal the given values (a table scan; the write paths are small)."""
        return [
            r
            for r in self.tables[table].values()
            if r.get("deleted_at") is None and all(r.get(k) == v for k, v in eq.items())
        ]

    def id_range(self, table: str, lo: int | None, hi: int | None) -> list[int]:
        """Ids in [lo, hi] (either bound optional), using the sorted id list."""
        ids = self.ids[table]
        start = 0 if lo is None else bisect_left(ids, lo)
        end = len(ids) if hi is None else bisect_right(ids, hi)
        return ids[start:end]
