"""In-memory tables of a sandbox Econobis, with auto-increment ids that start where a real, used instance is.

Rows are plain dicts with Econobis' snake_case column names; the API layer turns them into wire shapes."""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import defaultdict
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
}


class SandboxDB:
    """Tables keyed by id (insertion order = id order), plus the indexes the API needs."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[int, dict[str, Any]]] = {t: {} for t in TABLES}
        self.ids: dict[str, list[int]] = {t: [] for t in TABLES}
        self._next = dict(ID_START)
        self._qr_by_opportunity: dict[int, list[int]] = defaultdict(list)
        self._primary: dict[tuple[str, int], int] = {}
        # Bumped on every write; grid result caches key on it.
        self.version = 0

    def insert(self, table: str, row: dict[str, Any]) -> int:
        with self.lock:
            self.version += 1
            row_id = self._next[table]
            self._next[table] += 1
            row["id"] = row_id
            self.tables[table][row_id] = row
            self.ids[table].append(row_id)
            if table == "quotation_requests":
                self._qr_by_opportunity[row["opportunity_id"]].append(row_id)
            if table in ("addresses", "email_addresses", "phone_numbers"):
                # Econobis' observers: the first row of a kind becomes primary; a new primary demotes the old.
                key = (table, row["contact_id"])
                if key not in self._primary:
                    row["primary"] = True
                if row.get("primary"):
                    old = self._primary.get(key)
                    if old is not None and old != row_id:
                        self.tables[table][old]["primary"] = False
                    self._primary[key] = row_id
            return row_id

    def update(self, table: str, row_id: int, change: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.version += 1
            row = self.tables[table][row_id]
            row.update(change)
            return row

    def get(self, table: str, row_id: int) -> dict[str, Any] | None:
        return self.tables[table].get(row_id)

    def primary(self, table: str, contact_id: int) -> dict[str, Any] | None:
        row_id = self._primary.get((table, contact_id))
        return self.tables[table][row_id] if row_id is not None else None

    def kansacties_of(self, opportunity_id: int) -> list[dict[str, Any]]:
        return [self.tables["quotation_requests"][q] for q in self._qr_by_opportunity.get(opportunity_id, [])]

    def id_range(self, table: str, lo: int | None, hi: int | None) -> list[int]:
        """Ids in [lo, hi] (either bound optional), using the sorted id list."""
        ids = self.ids[table]
        start = 0 if lo is None else bisect_left(ids, lo)
        end = len(ids) if hi is None else bisect_right(ids, hi)
        return ids[start:end]
