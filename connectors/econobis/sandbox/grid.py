"""Econobis' grids: which exist (`GRIDS`: table, filters, sorts, row serialiser, meta) and how a grid request
is answered (RequestQuery + filter/sort classes: `limit`, `offset`, `filters`, `sorts`; `{data, meta}` answers).

`offset` only applies with a `limit`; `filters` is a JSON list of {field, type, data}, `sorts` one of
{field, order}. Matching id lists are cached per (sandbox, grid, filters, sorts, data version), so paging a large
grid costs one scan."""

from __future__ import annotations

import json
import random
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, NamedTuple

from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.lookups import Lookups
from connectors.econobis.sandbox.serializers import (
    grid_audit_trail,
    grid_contact,
    grid_housing_file,
    grid_intake,
    grid_opportunity,
    grid_quotation_request,
)
from hub.sandbox.php import php_int

Row = dict[str, Any]
Getter = Callable[[Row, SandboxDB, Lookups], Any]
Meta = Callable[[list[int], SandboxDB], dict[str, Any]]


class GridError(ValueError):
    """An unknown filter/sort field or filter type: Econobis does not catch these, so the answer is a 500."""


class Filter(NamedTuple):
    """One filterable field of a grid: how its value is read from a row, and how Econobis compares it."""

    get: Getter
    # createdAtStart/End ignore the request's `type`: they compare whole days (Carbon startOfDay/endOfDay).
    day: Literal["day_gte", "day_lte"] | None = None
    # The comparison when the request gives no `type` (the grid's RequestFilter default).
    op: str = "eq"


@dataclass(frozen=True)
class GridSpec:
    table: str
    filters: dict[str, Filter]
    sorts: dict[str, Getter]
    default_sort: tuple[tuple[str, str], ...]
    row: Getter
    meta: Meta


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


FILTER_TYPES = frozenset(
    {
        "eq",
        "neq",
        "rel",
        "nrel",
        "ct",
        "nct",
        "lt",
        "lte",
        "gt",
        "gte",
        "bw",
        "nbw",
        "ew",
        "new",
        "nl",
        "nnl",
        "is0",
        "isn0",
    }
)


def matches(kind: str, value: Any, data: Any) -> bool:
    if kind in ("day_gte", "day_lte"):
        # createdAtStart/End: Carbon::parse(data)->startOfDay()/endOfDay(), i.e. compare whole days
        day = str(_norm(value))[:10]
        bound = str(data)[:10]
        return day >= bound if kind == "day_gte" else day <= bound
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
        self._data: OrderedDict[tuple[Any, ...], tuple[list[int], list[Any]]] = OrderedDict()
        self._size = size

    def get(self, key: tuple[Any, ...]) -> tuple[list[int], list[Any]] | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def put(self, key: tuple[Any, ...], value: tuple[list[int], list[Any]]) -> None:
        with self._lock:
            self._data[key] = value
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


def query_ids(
    db: SandboxDB, lk: Lookups, spec: GridSpec, filters: list[dict[str, Any]], sorts: list[dict[str, Any]]
) -> tuple[list[int], list[Any]]:
    """Matching ids in order, and each id's full sort key (equal keys = rows the database may order freely)."""
    key = (
        spec.table,
        id(spec),
        json.dumps(filters, sort_keys=True),
        json.dumps(sorts, sort_keys=True),
        db.serial,
        db.version,
    )
    cached = _cache.get(key)
    if cached is not None:
        return cached
    checks = []
    for f in filters:
        field = f.get("field")
        if field not in spec.filters:
            raise GridError(f"RequestFilterException: unknown filter field {field!r}")
        getter, forced, default_type = spec.filters[field]
        kind = forced or str(f.get("type") or default_type)
        if not forced and kind not in FILTER_TYPES:
            raise GridError(f"RequestFilterException: unknown filter type {kind!r}")
        if kind not in ("nl", "nnl") and "data" not in f:
            raise GridError(f"RequestFilterException: filter {field!r} needs data")
        checks.append((getter, kind, f.get("data")))
    table = db.tables[spec.table]
    with db.lock:
        ids = [i for i in db.ids[spec.table] if table[i].get("deleted_at") is None]
    if checks:
        ids = [i for i in ids if all(matches(kind, g(table[i], db, lk), data) for g, kind, data in checks)]
    order = []
    for srt in sorts:
        if srt.get("field") not in spec.sorts:
            raise GridError(f"RequestSortException: unknown sort field {srt.get('field')!r}")
        direction = str(srt.get("order") or "asc").lower()
        if direction not in ("asc", "desc"):
            raise GridError(f"RequestSortException: order must be asc or desc, got {direction!r}")
        order.append((srt["field"], direction))
    # Econobis appends its default `created_at DESC` after the request's sorts (last tie-breaker).
    order += list(spec.default_sort)
    # Stable multi-key sort: apply keys from last to first.
    for field, direction in reversed(order):
        getter = spec.sorts[field]

        def sort_key(i: int, g: Getter = getter) -> tuple[int, Any]:
            v = _norm(g(table[i], db, lk))
            return (v is None, v if v is not None else 0)

        ids.sort(key=sort_key, reverse=direction == "desc")
    keys = [tuple(_norm(spec.sorts[f](table[i], db, lk)) for f, _ in order) for i in ids] if order else list(ids)
    _cache.put(key, (ids, keys))
    return ids, keys


def _tie_shuffled_page(ids: list[int], keys: list[Any], offset: int, limit: int, rng: random.Random) -> list[int]:
    """The page MySQL may return: rows with equal sort keys come in no guaranteed order, and a different
    LIMIT/OFFSET may order them differently — so offset paging over ties can skip or repeat rows."""
    end = min(len(ids), offset + limit)
    if offset >= end:
        return []
    start_run = offset
    while start_run > 0 and keys[start_run - 1] == keys[offset]:
        start_run -= 1
    end_run = end
    while end_run < len(ids) and keys[end_run] == keys[end - 1]:
        end_run += 1
    region = ids[start_run:end_run]
    region_keys = keys[start_run:end_run]
    out: list[int] = []
    i = 0
    while i < len(region):
        j = i
        while j < len(region) and region_keys[j] == region_keys[i]:
            j += 1
        run = region[i:j]
        rng.shuffle(run)
        out += run
        i = j
    return out[offset - start_run : end - start_run]


def run_grid(
    db: SandboxDB,
    lk: Lookups,
    spec: GridSpec,
    params: dict[str, str],
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """Answer a grid request. With `rng`, ties in the sort order are reordered per request, as MySQL may."""
    filters = _parse_json_list(params.get("filters"), "filters")
    sorts = _parse_json_list(params.get("sorts"), "sorts")
    ids, keys = query_ids(db, lk, spec, filters, sorts)
    # PHP (int) casts: junk becomes 0; limit 0 means no LIMIT; offset only applies together with a limit.
    # Negative values read as 0, as in Laravel's builder: offset() clamps at 0, limit() ignores a negative.
    limit, offset = max(0, php_int(params.get("limit"))), max(0, php_int(params.get("offset")))
    if not limit:
        page = ids
    elif rng is not None:
        page = _tie_shuffled_page(ids, keys, offset, limit, rng)
    else:
        page = ids[offset : offset + limit]
    table = db.tables[spec.table]
    return {"data": [spec.row(table[i], db, lk) for i in page], "meta": spec.meta(ids, db)}


# --- the grids (filters/sorts Econobis accepts per grid) ----------------------------------------------------


def _meta_ids(key: str) -> Meta:
    return lambda ids, db: {"total": len(ids), key: ids}


def _created(r: Row, db: SandboxDB, lk: Lookups) -> Any:
    return r["created_at"]


def _intake_of(r: Row, db: SandboxDB) -> Row:
    return db.get("intakes", r["intake_id"]) or {}


GRIDS: dict[str, GridSpec] = {
    "contact": GridSpec(
        table="contacts",
        filters={
            "id": Filter(lambda r, db, lk: r["id"]),
            "typeId": Filter(lambda r, db, lk: r["type_id"]),
            "fullName": Filter(lambda r, db, lk: r["full_name"], op="ct"),
            "postalCode": Filter(
                lambda r, db, lk: (db.primary("addresses", r["id"]) or {}).get("postal_code"),
                op="ct",
            ),
            "createdAt": Filter(lambda r, db, lk: r["created_at"], op="ct"),
        },
        sorts={
            "id": lambda r, db, lk: r["id"],
            "createdAt": _created,
            "fullName": lambda r, db, lk: r["full_name"],
        },
        default_sort=(),  # no ORDER BY: the database's own order (insertion = id)
        row=grid_contact,
        meta=lambda ids, db: {"total": len(ids), "useExportAddressConsumption": False},
    ),
    "intake": GridSpec(
        table="intakes",
        filters={
            "createdAtStart": Filter(_created, day="day_gte"),
            "createdAtEnd": Filter(_created, day="day_lte"),
            "campaign": Filter(lambda r, db, lk: r.get("campaign_id")),
            "statusId": Filter(lambda r, db, lk: r["intake_status_id"]),
            "fullName": Filter(
                lambda r, db, lk: (db.get("contacts", r["contact_id"]) or {}).get("full_name"),
                op="ct",
            ),
        },
        sorts={"createdAt": _created, "statusId": lambda r, db, lk: r["intake_status_id"]},
        default_sort=(("createdAt", "desc"),),
        row=grid_intake,
        meta=_meta_ids("intakeIdsTotal"),
    ),
    "opportunity": GridSpec(
        table="opportunities",
        filters={
            "createdAtStart": Filter(_created, day="day_gte"),
            "createdAtEnd": Filter(_created, day="day_lte"),
            "statusId": Filter(lambda r, db, lk: r["status_id"]),
            "measureCategory": Filter(lambda r, db, lk: r["measure_category_id"]),
            "campaign": Filter(lambda r, db, lk: _intake_of(r, db).get("campaign_id")),
        },
        sorts={"createdAt": _created, "statusId": lambda r, db, lk: r["status_id"]},
        default_sort=(("createdAt", "desc"),),
        row=grid_opportunity,
        meta=_meta_ids("opportunityIdsTotal"),
    ),
    "quotation-request": GridSpec(
        table="quotation_requests",
        filters={
            "createdAtStart": Filter(_created, day="day_gte"),
            "createdAtEnd": Filter(_created, day="day_lte"),
            "opportunityActionId": Filter(lambda r, db, lk: r["opportunity_action_id"]),
            "statusId": Filter(lambda r, db, lk: r["status_id"]),
        },
        sorts={"createdAt": _created, "datePlanned": lambda r, db, lk: r.get("date_planned")},
        default_sort=(("createdAt", "desc"),),
        row=grid_quotation_request,
        meta=_meta_ids("quotationRequestIdsTotal"),
    ),
    "housing-file": GridSpec(
        table="housing_files",
        filters={
            "createdAt": Filter(_created, op="ct"),
            "postalCode": Filter(
                lambda r, db, lk: (db.get("addresses", r["address_id"]) or {}).get("postal_code"),
                op="ct",
            ),
            "buildYear": Filter(lambda r, db, lk: r.get("build_year"), op="ct"),
        },
        sorts={"createdAt": _created, "buildYear": lambda r, db, lk: r.get("build_year")},
        default_sort=(("createdAt", "desc"),),
        row=grid_housing_file,
        meta=lambda ids, db: {"total": len(ids)},
    ),
    # RequestQuery: the request's sorts, then ORDER BY updated_at DESC. Filter default type is `ct` except
    # model/changedById (eq); `model` compares the full class name; changedById inner-joins users.
    "audit-trail": GridSpec(
        table="revisions",
        filters={
            "model": Filter(lambda r, db, lk: r["revisionable_type"]),
            "revisionableId": Filter(lambda r, db, lk: r["revisionable_id"], op="ct"),
            "field": Filter(lambda r, db, lk: r["key"], op="ct"),
            "oldValue": Filter(lambda r, db, lk: r["old_value"], op="ct"),
            "newValue": Filter(lambda r, db, lk: r["new_value"], op="ct"),
            "changedById": Filter(lambda r, db, lk: r["user_id"]),
            "updatedAt": Filter(lambda r, db, lk: r["updated_at"], op="ct"),
        },
        sorts={
            "model": lambda r, db, lk: r["revisionable_type"],
            "revisionableId": lambda r, db, lk: r["revisionable_id"],
            "field": lambda r, db, lk: r["key"],
            "updatedAt": lambda r, db, lk: r["updated_at"],
        },
        default_sort=(("updatedAt", "desc"),),
        row=grid_audit_trail,
        meta=lambda ids, db: {"total": len(ids)},
    ),
}
