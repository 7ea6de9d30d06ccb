"""The canonical store read into Arrow for the mart: one query per relation, fetched as Arrow record batches
through ADBC (SQLite and PostgreSQL; SQLAlchemy's cursor for any other dialect), never row by row into Python
objects. What is read stays in memory: the build stages it in an in-memory DuckDB and writes only the mart's
pseudonymised tables to disk.

SQLite is read in a child process (`python -m hub.mart.extract`), which streams the tables back over a pipe in
Arrow's IPC format: ADBC's driver carries its own SQLite library, and two SQLite libraries in one process break
each other's POSIX locks (SQLite's "multiple copies" hazard: the second does not see the first's WAL frames, and
a close in one drops the other's locks). Each process has its own locks, so the child reads as any other reader.

Times come out as UTC timestamps without a zone (`timestamp[us]`): SQLite holds them as text, PostgreSQL as
`timestamptz`; both end up the same."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import text
from sqlalchemy.engine import make_url

from hub.canonical.models import ONLINE_ACCOUNT_FIELD
from hub.mart import adbc_read
from hub.store import Store

# the entity kinds the mart reads (live rows only: deleted and erased records leave the facts)
ENTITIES = (
    "campaign",
    "resident",
    "dwelling",
    "dwelling_file",
    "intake",
    "opportunity",
    "action",
    "appointment",
    "advice",
    "invoice",
    "energy_certificate",
    "premium_application",
    "dossier",
    "follow_up",
)

TIMES = {"deleted_at", "occurred_at", "recorded_at", "created_at", "sent_at", "updated_at"}


@dataclass(frozen=True)
class Relation:
    name: str
    sql: str  # `{tenants}` and `{entities}` are filled with bound-parameter placeholders
    chunk: int | None = None  # a part of a table read in rowid ranges: which one


# Residents and dwellings leave the store with only the fields the mart needs: names, e-mail addresses, phone
# numbers and street addresses are never read ({json}: the dialect's JSON object builder and field reader).
PROJECTED = {
    "resident": ("is_coach", ONLINE_ACCOUNT_FIELD, "kind"),
    "dwelling": ("country", "postcode", "resident_id", "area"),
}


def _projection(entity: str, dialect: str) -> str:
    fields = PROJECTED[entity]
    if dialect == "postgresql":
        body = ", ".join(f"'{f}', CAST(data AS JSON) -> '{f}'" for f in fields)
        return f"CAST(json_build_object({body}) AS TEXT)"
    # `->` keeps a nested object as JSON (json_extract would give its text)
    body = ", ".join(f"'{f}', data -> '$.{f}'" for f in fields)
    return f"json_object({body})"


def _data(dialect: str) -> str:
    cases = " ".join(f"WHEN '{e}' THEN {_projection(e, dialect)}" for e in PROJECTED)
    return f"CASE entity {cases} ELSE CAST(data AS TEXT) END"


# SQLite: one pass over the table in rowid ranges read side by side (each a sequential scan of its own pages;
# walking the (tenant, entity) index instead costs a b-tree lookup per row, about half again as much)
CHUNKS = 8


def relations(dialect: str) -> tuple[Relation, ...]:
    """The relations to read, for a dialect. The entities in parts read in parallel: rowid ranges on SQLite
    (`{lo}`/`{hi}` bound per part), groups of entity kinds of about the same size on PostgreSQL."""
    head = f"SELECT canonical_id, tenant, entity, parent_id, {_data(dialect)} AS data FROM entities "
    live = "deleted_at IS NULL AND tenant IN ({tenants}) AND entity IN ({entities})"
    if dialect == "sqlite":
        parts: tuple[Relation, ...] = tuple(
            Relation("entities", head + "NOT INDEXED WHERE rowid BETWEEN {lo} AND {hi} AND " + live, chunk=i)
            for i in range(CHUNKS)
        )
    else:
        big = ("dossier", "intake")  # the two largest kinds together, the rest, each projected kind
        rest = ", ".join(f"'{e}'" for e in (*big, *PROJECTED))
        parts = (
            Relation("entities", head + f"WHERE entity IN ({', '.join(repr(e) for e in big)}) AND " + live),
            Relation("entities", head + f"WHERE entity NOT IN ({rest}) AND " + live),
            *(Relation("entities", head + f"WHERE entity = '{e}' AND " + live) for e in PROJECTED),
        )
    return (*parts, *RELATIONS)


RELATIONS = (
    Relation(
        "journey_events",
        "SELECT tenant, dossier_id, phase, source, occurred_at, recorded_at FROM journey_events "
        "WHERE tenant IN ({tenants})",
    ),
    # follow-ups the hub planned for stalled dossiers go through a partner's outbox (their key names the stall)
    Relation(
        "stall_outbox",
        "SELECT tenant, partner, operation, idempotency_key, status, created_at, sent_at FROM outbox "
        "WHERE tenant IN ({tenants}) AND idempotency_key LIKE '%stalled:%'",
    ),
)


def _adbc_uri(url: str) -> tuple[str, str] | None:
    """(driver, uri) for an ADBC driver, or None when the dialect has none here."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite" and u.database and u.database != ":memory:":
        return "sqlite", u.database
    if backend == "postgresql":
        return "postgresql", u.set(drivername="postgresql").render_as_string(hide_password=False)
    return None


def _placeholders(style: str, values: list[str], start: int, name: str) -> str:
    if style == "dollar":
        return ", ".join(f"${i}" for i in range(start, start + len(values)))
    if style == "named":  # SQLAlchemy's text(): :t0, :t1 … for the tenants, :e0 … for the entity kinds
        return ", ".join(f":{name}{i}" for i in range(len(values)))
    return ", ".join("?" for _ in values)


def _normalise(table: pa.Table) -> pa.Table:
    """Timestamps to UTC `timestamp[us]`, the rest to strings (SQLite cannot type an empty or all-null column)."""
    cols = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        if name in TIMES:
            if pa.types.is_timestamp(col.type):
                col = pc.cast(col, pa.timestamp("us", tz="UTC")) if col.type.tz else col
                col = pc.cast(col, pa.timestamp("us"))
            else:
                col = pc.cast(pc.cast(col, pa.string()), pa.timestamp("us"))
        elif not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())  # every other column the mart reads is text
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def _ranges(store: Store) -> list[tuple[int, int]]:
    """The SQLite entities' rowids cut in CHUNKS ranges of about the same size."""
    with store.engine.connect() as conn:
        lo, hi = conn.execute(text("SELECT min(rowid), max(rowid) FROM entities")).one()
    if lo is None:
        return [(0, -1)] * CHUNKS
    step = (hi - lo) // CHUNKS + 1
    return [(lo + i * step, min(hi, lo + (i + 1) * step - 1)) for i in range(CHUNKS)]


def _sql(rel: Relation, style: str, tenants: list[str], ranges: list[tuple[int, int]]) -> tuple[str, list[str]]:
    lo, hi = ranges[rel.chunk] if rel.chunk is not None else (0, 0)
    params = list(tenants) + (list(ENTITIES) if "{entities}" in rel.sql else [])
    sql = rel.sql.format(
        tenants=_placeholders(style, tenants, 1, "t"),
        entities=_placeholders(style, list(ENTITIES), len(tenants) + 1, "e"),
        lo=int(lo),
        hi=int(hi),
    )
    return sql, params


def _queries(
    driver: str, relations: Iterable[Relation], tenants: list[str], ranges: list[tuple[int, int]]
) -> list[tuple[str, str, list[str]]]:
    style = "qmark" if driver == "sqlite" else "dollar"
    return [(rel.name, *_sql(rel, style, tenants, ranges)) for rel in relations]


def _fetch_adbc(driver: str, uri: str, relations: Iterable[Relation], tenants: list[str]) -> dict[str, pa.Table]:
    parts = adbc_read.stream(driver, uri, _queries(driver, relations, tenants, []))
    return _combine([(name, _normalise(pa.Table.from_batches([batch]))) for name, batch in parts])


def _combine(parts: list[tuple[str, pa.Table]]) -> dict[str, pa.Table]:
    out: dict[str, list[pa.Table]] = {}
    for name, table in parts:
        out.setdefault(name, []).append(table)
    return {name: pa.concat_tables(tables) if len(tables) > 1 else tables[0] for name, tables in out.items()}


def _fetch_sqlalchemy(store: Store, relations: Iterable[Relation], tenants: list[str]) -> dict[str, pa.Table]:
    out: list[tuple[str, pa.Table]] = []
    ranges = _ranges(store) if store.engine.dialect.name == "sqlite" else []
    with store.engine.connect() as conn:
        for rel in relations:
            names = {f"t{i}": t for i, t in enumerate(tenants)} | {f"e{i}": e for i, e in enumerate(ENTITIES)}
            sql, _ = _sql(rel, "named", tenants, ranges)
            result = conn.execute(text(sql), names)
            keys = list(result.keys())
            rows = result.fetchall()
            table = pa.table({k: pa.array([r[i] for r in rows]) for i, k in enumerate(keys)})
            out.extend((name, _normalise(pa.table(part))) for name, part in adbc_read.split(rel.name, table))
    return _combine(out)


def _fetch_in_child(
    uri: str, relations: Iterable[Relation], tenants: list[str], ranges: list[tuple[int, int]]
) -> dict[str, pa.Table]:
    """SQLite through ADBC in a child process (hub/mart/adbc_read.py run as a script, so it loads no more than
    pyarrow and the driver); the batches come back over its stdout as they are read (adbc_read's framing), so
    this process takes them in while the child still reads."""
    spec = {"driver": "sqlite", "uri": uri, "queries": _queries("sqlite", relations, tenants, ranges)}
    proc = subprocess.Popen(
        [sys.executable, adbc_read.__file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(json.dumps(spec).encode())
    proc.stdin.close()
    err: list[bytes] = []
    stderr = proc.stderr
    drain = threading.Thread(target=lambda: err.append(stderr.read()), daemon=True)  # never blocks the child
    drain.start()
    parts: list[tuple[str, pa.Table]] = []
    ended = False
    try:
        for line in iter(proc.stdout.readline, b""):
            head = json.loads(line)
            if head.get("end"):
                ended = True
                break
            # each batch typed on its own: SQLite types a column by its values, so an all-empty column in one batch
            # may come as integers and as text in the next
            parts.append((head["name"], _normalise(pa.ipc.open_stream(proc.stdout).read_all())))
    finally:
        if not ended:
            proc.kill()
        proc.wait()
        drain.join()
    if proc.returncode != 0 or not ended:
        reason = b"".join(err).decode(errors="replace").strip()[-2000:] or f"exit status {proc.returncode}"
        raise RuntimeError(f"reading the store for the mart failed: {reason}")
    return _combine(parts)


def extract(store: Store, tenants: list[str]) -> dict[str, pa.Table]:
    """The mart's inputs for these tenants: `entities:<kind>` per entity kind (live rows, data as JSON text),
    `journey_events`, `stall_outbox`."""
    if not tenants:
        tenants = ["\x00none"]
    target = _adbc_uri(store.engine.url.render_as_string(hide_password=False))
    if target is None:
        return _fetch_sqlalchemy(store, relations(store.engine.dialect.name), tenants)
    driver, uri = target
    if driver == "sqlite":
        return _fetch_in_child(uri, relations(driver), tenants, _ranges(store))
    return _fetch_adbc(driver, uri, relations(driver), tenants)
