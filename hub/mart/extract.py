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


_ENTITY_SQL = (
    "SELECT canonical_id, tenant, entity, parent_id, CAST(data AS TEXT) AS data FROM entities "
    "WHERE deleted_at IS NULL AND tenant IN ({tenants}) AND entity IN ({entities})"
)
# Residents and dwellings leave the store with only the fields the mart needs: names, e-mail addresses, phone
# numbers and street addresses are never read ({json}: the dialect's JSON object builder and field reader).
PROJECTED = {
    "resident": ("is_coach", ONLINE_ACCOUNT_FIELD, "kind"),
    "dwelling": ("country", "postcode", "resident_id", "area"),
}


def _projected_sql(entity: str, dialect: str) -> str:
    fields = PROJECTED[entity]
    if dialect == "postgresql":
        body = ", ".join(f"'{f}', CAST(data AS JSON) -> '{f}'" for f in fields)
        obj = f"CAST(json_build_object({body}) AS TEXT)"
    else:
        # `->` keeps a nested object as JSON (json_extract would give its text)
        body = ", ".join(f"'{f}', data -> '$.{f}'" for f in fields)
        obj = f"json_object({body})"
    return (
        f"SELECT canonical_id, tenant, entity, parent_id, {obj} AS data FROM entities "
        f"WHERE deleted_at IS NULL AND tenant IN ({{tenants}}) AND entity = '{entity}'"
    )


def relations(dialect: str) -> tuple[Relation, ...]:
    """The relations to read, for a dialect; the entities in parts of about the same size, read in parallel
    (SQLite and PostgreSQL both serve several readers at once)."""
    rest = ", ".join(f"'{e}'" for e in ("dossier", "intake", *PROJECTED))
    return (
        Relation("entities", _ENTITY_SQL.replace("entity IN", "entity IN ('dossier', 'intake') AND entity IN")),
        Relation("entities", _ENTITY_SQL.replace("entity IN", f"entity NOT IN ({rest}) AND entity IN")),
        *(Relation("entities", _projected_sql(e, dialect)) for e in PROJECTED),
        *RELATIONS,
    )


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


def _placeholders(style: str, values: list[str], start: int) -> str:
    if style == "dollar":
        return ", ".join(f"${i}" for i in range(start, start + len(values)))
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


def _queries(driver: str, relations: Iterable[Relation], tenants: list[str]) -> list[tuple[str, str, list[str]]]:
    style = "qmark" if driver == "sqlite" else "dollar"
    out = []
    for rel in relations:
        params = list(tenants) + (list(ENTITIES) if "{entities}" in rel.sql else [])
        sql = rel.sql.format(
            tenants=_placeholders(style, tenants, 1),
            entities=_placeholders(style, list(ENTITIES), len(tenants) + 1),
        )
        out.append((rel.name, sql, params))
    return out


def _fetch_adbc(driver: str, uri: str, relations: Iterable[Relation], tenants: list[str]) -> dict[str, pa.Table]:
    parts = adbc_read.read(driver, uri, _queries(driver, relations, tenants))
    return _combine([(name, _normalise(table)) for name, table in parts])


def _combine(parts: list[tuple[str, pa.Table]]) -> dict[str, pa.Table]:
    out: dict[str, list[pa.Table]] = {}
    for name, table in parts:
        out.setdefault(name, []).append(table)
    return {name: pa.concat_tables(tables) if len(tables) > 1 else tables[0] for name, tables in out.items()}


def _fetch_sqlalchemy(store: Store, relations: Iterable[Relation], tenants: list[str]) -> dict[str, pa.Table]:
    out = []
    with store.engine.connect() as conn:
        for rel in relations:
            names = {f"t{i}": t for i, t in enumerate(tenants)} | {f"e{i}": e for i, e in enumerate(ENTITIES)}
            sql = rel.sql.format(
                tenants=", ".join(f":t{i}" for i in range(len(tenants))),
                entities=", ".join(f":e{i}" for i in range(len(ENTITIES))),
            )
            result = conn.execute(text(sql), names)
            keys = list(result.keys())
            rows = result.fetchall()
            out.append(
                (rel.name, _normalise(pa.table({k: pa.array([r[i] for r in rows]) for i, k in enumerate(keys)})))
            )
    return _combine(out)


def _fetch_in_child(uri: str, relations: Iterable[Relation], tenants: list[str]) -> dict[str, pa.Table]:
    """SQLite through ADBC in a child process (hub/mart/adbc_read.py run as a script, so it loads no more than
    pyarrow and the driver); the tables come back over its stdout as Arrow IPC streams."""
    spec = {"driver": "sqlite", "uri": uri, "queries": _queries("sqlite", relations, tenants)}
    proc = subprocess.Popen(
        [sys.executable, adbc_read.__file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(spec).encode())
    proc.stdin.close()
    parts: list[tuple[str, pa.Table]] = []
    try:
        header = proc.stdout.readline()
        for name in json.loads(header) if header.strip() else []:
            parts.append((name, _normalise(pa.ipc.open_stream(proc.stdout).read_all())))
    finally:
        err = proc.stderr.read() if proc.stderr else b""
        proc.wait()
    if proc.returncode != 0 or not header.strip():
        reason = err.decode(errors="replace").strip()[-2000:] or f"exit status {proc.returncode}, no tables"
        raise RuntimeError(f"reading the store for the mart failed: {reason}")
    return _combine(parts)


def extract(store: Store, tenants: list[str]) -> dict[str, pa.Table]:
    """The mart's inputs for these tenants: `entities` (live, data as JSON text), `journey_events`,
    `stall_outbox`."""
    if not tenants:
        tenants = ["\x00none"]
    target = _adbc_uri(store.engine.url.render_as_string(hide_password=False))
    if target is None:
        return _fetch_sqlalchemy(store, relations(store.engine.dialect.name), tenants)
    driver, uri = target
    if driver == "sqlite":
        return _fetch_in_child(uri, relations(driver), tenants)
    return _fetch_adbc(driver, uri, relations(driver), tenants)
