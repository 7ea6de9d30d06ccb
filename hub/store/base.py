"""What every repository shares: the engine and its transactions, the dialect's upsert, chunked IN lists, UTC.

Also the content hash and 'insert unless stored, then the row's id' (inbox and outbox)."""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self, TypeVar, overload

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from hub.store import tables as t
from hub.store.db import make_engine, migrate
from hub.store.scope import install_guard

CHUNK = 500
# Characters of an error kept on a queue row (the quarantine keeps the whole reason): one length everywhere.
ERROR_TEXT_LIMIT = 2000
"""Keys per IN list: well below SQLite's bound-parameter limit, small enough for PostgreSQL's planner."""

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything the store returns is UTC-aware."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stable_hash(value: Any) -> str:
    """A content hash that does not depend on key order (used for diffing and inbox de-duplication)."""
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def fit_column(value: str, length: int) -> str:
    """`value` as a bounded text column may hold it: unchanged when it fits and every database can store it,
    else a stable digest (`sha256:<hex>`, cut to `length`). The same value always maps to the same result, so
    keys and streams made from partner input keep their meaning however long or odd the input was; without
    this a 10 MB e-mail would reach a String(200) column (PostgreSQL refuses it: a 503 for bad input) and a
    NUL or a lone surrogate would be refused by PostgreSQL's text type."""
    try:
        value.encode("utf-8")
        storable = "\x00" not in value
    except UnicodeEncodeError:  # a lone surrogate
        storable = False
    if storable and len(value) <= length:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256:{digest}"[:length]


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size`, in order (for IN lists and batched inserts)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def dialect_insert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (the generic one does not)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"state store does not support {conn.dialect.name}")


def db_datetime(conn: Connection, value: datetime) -> datetime:
    """A datetime to compare with a stored one in SQL: SQLite keeps datetimes as naive text (UTC here), and
    compares text; PostgreSQL compares aware values."""
    return value.replace(tzinfo=None) if conn.dialect.name == "sqlite" else value


@dataclass(frozen=True)
class QueuedItem:
    id: int
    created: bool


def insert_or_get_id(conn: Connection, table: Table, values: Mapping[str, Any], unique: Sequence[str]) -> QueuedItem:
    """Insert `values` unless a row with the same `unique` columns is stored already; the row's id either way.

    ON CONFLICT DO NOTHING, then a SELECT by the unique columns: with concurrent writers the loser's insert
    does nothing and its select finds the winner's row, so both agree on one id."""
    stmt = dialect_insert(conn, table).values(**values).on_conflict_do_nothing(index_elements=list(unique))
    created = conn.execute(stmt).rowcount == 1
    row_id = conn.execute(select(table.c.id).where(*(table.c[k] == values[k] for k in unique))).scalar_one()
    return QueuedItem(id=int(row_id), created=created)


_GUARDED: weakref.WeakSet[Engine] = weakref.WeakSet()


def guard_tenants(engine: Engine) -> None:
    """Every statement on `engine` must pin the tenant of each tenant table it touches (hub/store/scope.py)."""
    if engine not in _GUARDED:
        install_guard(engine, t.metadata.tables.values())
        _GUARDED.add(engine)


class StoreBase:
    """The engine and its transactions; every repository mixin of `Store` builds on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        guard_tenants(engine)

    @classmethod
    def open(cls, url: str) -> Self:
        engine = make_engine(url)
        migrate(engine)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    def _with_conn(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        """`fn(conn, *args)` in the caller's connection when one is passed (first, or as `conn=`), else in a
        short transaction of its own: for the methods that serve both a unit of work and asset metadata."""
        conn = kwargs.pop("conn", None)
        if conn is None and args and isinstance(args[0], Connection):
            conn, args = args[0], args[1:]
        if conn is not None:
            return fn(conn, *args, **kwargs)
        with self.begin() as own:
            return fn(own, *args, **kwargs)
