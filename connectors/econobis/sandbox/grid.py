"""Econobis' grid query semantics (RequestQuery + filter/sort classes): `limit`, `offset` (only with limit),
`filters` = JSON list of {field, type, data}, `sorts` = JSON list of {field, order}; `{data, meta}` answers.

Matching id lists are cached per (grid, filters, sorts, data version), so paging a large grid costs one scan."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.lookups import Lookups

Getter = Callable[[dict[str, Any], SandboxDB, Lookups], Any]


class GridError(ValueError):
    """Malformed grid parameters (Econobis answers these with a 422/500; the sandbox uses 422)."""


@dataclass(frozen=True)
class GridSpec:
    table: str
    filters: dict[str, tuple[Getter, str | None]]  # field → (getter, forced comparison or None)
    sorts: dict[str, Getter]
    default_sort: tuple[tuple[str, str], ...]
    row: Getter
    meta: Callable[[list[int], SandboxDB], dict[str, Any]]


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _cmp_value(value: Any, data: Any) -> tuple[Any, Any]:
    """Compare numbers as numbers and everything else as strings (dates sort as ISO strings)."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int | float):
        try:
            return value, float(data)
        except (TypeError, ValueError):
            return str(value), str(data)
    return str(_norm(value)), str(data)


def matches(kind: str, value: Any, data: Any) -> bool:
    if kind == "nl":
        return value in (None, "")
    if kind == "nnl":
        return value not in (None, "")
    if kind in ("is0", "isn0"):
        zero = value in (0, None, "0", "", False)
        return zero if kind == "is0" else not zero
    if kind in ("rel", "nrel"):
        values = value if isinstance(value, list | tuple | set) else [value]
        hit = any(str(v) == str(data) for v in values)
        return hit if kind == "rel" else not hit
    if isinstance(value, list | tuple | set):
        return any(matches(kind, v, data) for v in value)
    if value is None:
        return kind in ("neq", "nct", "nbw", "new")
    text, needle = str(_norm(value)).lower(), str(data).lower()
    if kind == "eq":
        a, b = _cmp_value(value, data)
        return a == b
    if kind == "neq":
        a, b = _cmp_value(value, data)
        return a != b
    if kind == "ct":
        return needle in text
    if kind == "nct":
        return needle not in text
    if kind == "bw":
        return text.startswith(needle)
    if kind == "nbw":
        return not text.startswith(needle)
    if kind == "ew":
        return text.endswith(needle)
    if kind == "new":
        return not text.endswith(needle)
    a, b = _cmp_value(value, data)
    try:
        if kind == "lt":
            return bool(a < b)
        if kind == "lte":
            return bool(a <= b)
        if kind == "gt":
            return bool(a > b)
        if kind == "gte":
            return bool(a >= b)
    except TypeError:
        return False
    raise GridError(f"unknown filter type {kind!r}")


class _Cache:
    def __init__(self, size: int = 64) -> None:
        self._lock = threading.Lock()
        self._data: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()
        self._size = size

    def get(self, key: tuple[Any, ...]) -> list[int] | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def put(self, key: tuple[Any, ...], ids: list[int]) -> None:
        with self._lock:
            self._data[key] = ids
            while len(self._data) > self._size:
                self._data.popitem(last=False)


_cache = _Cache()


def _parse_json_list(raw: str | None, name: str) -> list[dict[str, Any]]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise GridError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise GridError(f"{name} must be a JSON array of objects")
    return value


def query_ids(db: SandboxDB, lk: Lookups, spec: GridSpec, filters: list[dict[str, Any]], sorts: list[dict[str, Any]]) -> list[int]:
    key = (spec.table, id(spec), json.dumps(filters, sort_keys=True), json.dumps(sorts, sort_keys=True), db.version)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    checks = []
    for f in filters:
        field = f.get("field")
        if field not in spec.filters:
            continue  # Econobis ignores filters it does not know
        getter, forced = spec.filters[field]
        checks.append((getter, forced or str(f.get("type", "eq")), f.get("data")))
    table = db.tables[spec.table]
    with db.lock:
        ids = [i for i in db.ids[spec.table] if table[i].get("deleted_at") is None]
    if checks:
        ids = [i for i in ids if all(matches(kind, g(table[i], db, lk), data) for g, kind, data in checks)]
    order = [(s.get("field"), str(s.get("order", "asc")).lower()) for s in sorts if s.get("field") in spec.sorts]
    if not order:
        order = list(spec.default_sort)
    # Stable multi-key sort: apply keys from last to first.
    for field, direction in reversed(order):
        getter = spec.sorts[field]

        def sort_key(i: int, g: Getter = getter) -> tuple[int, Any]:
            v = _norm(g(table[i], db, lk))
            return (v is None, v if v is not None else 0)

        ids.sort(key=sort_key, reverse=direction == "desc")
    _cache.put(key, ids)
    return ids


def run_grid(db: SandboxDB, lk: Lookups, grids: dict[str, GridSpec], entity: str, params: dict[str, str]) -> dict[str, Any]:
    spec = grids[entity]
    filters = _parse_json_list(params.get("filters"), "filters")
    sorts = _parse_json_list(params.get("sorts"), "sorts")
    ids = query_ids(db, lk, spec, filters, sorts)
    limit_raw, offset_raw = params.get("limit"), params.get("offset")
    page = ids
    if limit_raw not in (None, ""):
        try:
            limit = int(str(limit_raw))
            offset = int(str(offset_raw)) if offset_raw not in (None, "") else 0
        except ValueError:
            raise GridError("limit and offset must be integers") from None
        page = ids[offset : offset + limit]  # offset only applies together with limit
    table = db.tables[spec.table]
    return {"data": [spec.row(table[i], db, lk) for i in page], "meta": spec.meta(ids, db)}
