"""Builds the reporting mart that PowerBI reads: the star schema of hub/mart/schema.py in a fresh DuckDB file,
filled from the canonical store via Arrow (hub/mart/extract.py; staged in an in-memory DuckDB, never row by
row), described (COMMENT ON every table and column), checked, and only then swapped into place atomically, so a
reader never sees a half-built file; Parquet copies of every table beside it.

The checks before the swap: every table's key is unique; the dossiers, campaigns, premium applications and hub
follow-ups counted against the store itself (not against what was staged); and no personal data: for tenants
that did not opt in, no resident id, e-mail address, phone number, IBAN or full postcode in any text column.

Personal data is pseudonymised: residents and coaches appear as keyed hashes (HUB_MART_PSEUDONYM_KEY; only
sandbox tenants may go without it), dwellings only by their area and 4-digit postcode. An erased resident's
dossier keeps its row (the funnel counts do not change) with no resident reference and no postcode area
(hub/erasure.py)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import func, select, text

from hub import progress
from hub.canonical import FUNNEL
from hub.config import HubConfig
from hub.connector import REGISTRY, Registry
from hub.journey import LABEL_ORDER
from hub.mart.extract import extract
from hub.mart.meta import tenant_freshness
from hub.mart.schema import FIELDS, STAGING, TABLES, VIEWS, Table, parse_sql
from hub.pseudonym import require_key
from hub.redact import PERSONAL_TEXT_PATTERNS
from hub.store import Store, utcnow
from hub.store import tables as t

MART_FILE = "hub.duckdb"
PARQUET_DIR = "parquet"


class MartCheckFailed(RuntimeError):
    """The new file failed a check; the published mart was left as it was."""


@dataclass(frozen=True)
class MartResult:
    path: Path
    rows: dict[str, int]
    parquet_dir: Path
    seconds: dict[str, float] = field(default_factory=dict)


def _pseudonym(secret: bytes, tenant: str, value: str | None) -> str | None:
    if value is None:
        return None
    return hmac.new(secret, f"{tenant}|{value}".encode(), hashlib.sha256).hexdigest()[:20]


def _q(value: str) -> str:
    return value.replace("'", "''")


def _rules_tables(config: HubConfig, reg: Registry, now: datetime) -> dict[str, pa.Table]:
    tenants = config.tenants
    rules = reg.journey_rules()
    visit_done = rules.visit_advice - rules.visit_made
    return {
        "tenant_rules": pa.table(
            {
                "tenant": [tc.id for tc in tenants],
                "name": [tc.name for tc in tenants],
                "country": [tc.country for tc in tenants],
                "personal_data": [tc.mart_personal_data for tc in tenants],
                "after_days": pa.array([tc.follow_up.after_days for tc in tenants], pa.int32()),
                # the follow-up a stalled dossier gets in the partner: its kind and the status it starts in
                "follow_up_action": [tc.follow_up.action for tc in tenants],
                "follow_up_status": [tc.follow_up.status for tc in tenants],
                "now": pa.array([now.replace(tzinfo=None)] * len(tenants), pa.timestamp("us")),
            }
        ),
        "journey_rules": pa.table(
            {
                k: pa.array([sorted(v)], pa.list_(pa.string()))
                for k, v in {
                    "visit_done": visit_done,
                    "visit_made": rules.visit_made,
                    "quotation_executed": rules.quotation_executed,
                    "quotation_active": rules.quotation_active,
                    "subsidy_rejected": rules.subsidy_rejected,
                    "opportunity_executed": rules.opportunity_executed,
                }.items()
            }
        ),
        "phases": pa.table(
            {
                "phase": [p.value for p in FUNNEL],
                "phase_order": pa.array([p.order for p in FUNNEL], pa.int16()),
                "label": [p.label for p in FUNNEL],
            }
        ),
        "label_ranks": pa.table(
            {"label": list(LABEL_ORDER), "rank": pa.array(range(1, len(LABEL_ORDER) + 1), pa.int16())}
        ),
    }


def _store_facts(store: Store, config: HubConfig, built_at: datetime, reg: Registry) -> dict[str, pa.Table]:
    """What the mart takes from the store besides the staged relations: consent counts, and the meta input."""
    tenants = [tc.id for tc in config.tenants]
    consent: dict[str, list[Any]] = {k: [] for k in ("tenant", "purpose", "partner", "granted", "residents")}
    with store.engine.connect() as conn:
        for tenant in tenants:
            for (purpose, partner, granted), n in sorted(store.consent_counts(conn, tenant).items()):
                for k, v in (("tenant", tenant), ("purpose", purpose), ("partner", partner), ("granted", granted)):
                    consent[k].append(v)
                consent["residents"].append(n)
        try:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:  # a store made without migrations (tests): no revision to name
            version = None
    fresh = tenant_freshness(store, config, built_at, reg)
    meta: dict[str, list[Any]] = {
        k: []
        for k in (
            "tenant",
            "built_at",
            "store_version",
            "store_dialect",
            "oldest_sync",
            "age_hours",
            "fresh_within_hours",
            "fresh",
            "freshness",
        )
    }
    for tc in config.tenants:
        rows = [r for r in fresh if r["tenant"] == tc.id]
        syncs = [datetime.fromisoformat(r["last_sync"]) for r in rows if r["last_sync"]]
        oldest = min(syncs) if syncs and len(syncs) == len(rows) else None
        meta["tenant"].append(tc.id)
        meta["built_at"].append(built_at.replace(tzinfo=None))
        meta["store_version"].append(version)
        meta["store_dialect"].append(store.engine.dialect.name)
        meta["oldest_sync"].append(oldest.astimezone(built_at.tzinfo).replace(tzinfo=None) if oldest else None)
        meta["age_hours"].append(round((built_at - oldest).total_seconds() / 3600, 2) if oldest else None)
        meta["fresh_within_hours"].append(float(tc.fresh_within_hours))
        meta["fresh"].append(bool(rows) and all(r["fresh"] for r in rows))
        meta["freshness"].append(", ".join(f"{r['partner']}={r['last_sync'] or 'never'}" for r in rows) or None)
    return {
        "consent_counts": pa.table(
            {
                "tenant": pa.array(consent["tenant"], pa.string()),
                "purpose": pa.array(consent["purpose"], pa.string()),
                "partner": pa.array(consent["partner"], pa.string()),
                "granted": pa.array(consent["granted"], pa.bool_()),
                "residents": pa.array(consent["residents"], pa.int64()),
            }
        ),
        "meta_input": pa.table(
            {
                "tenant": pa.array(meta["tenant"], pa.string()),
                "built_at": pa.array(meta["built_at"], pa.timestamp("us")),
                "store_version": pa.array(meta["store_version"], pa.string()),
                "store_dialect": pa.array(meta["store_dialect"], pa.string()),
                "oldest_sync": pa.array(meta["oldest_sync"], pa.timestamp("us")),
                "age_hours": pa.array(meta["age_hours"], pa.float64()),
                "fresh_within_hours": pa.array(meta["fresh_within_hours"], pa.float64()),
                "fresh": pa.array(meta["fresh"], pa.bool_()),
                "freshness": pa.array(meta["freshness"], pa.string()),
            }
        ),
    }


def _pseudonyms(stage: duckdb.DuckDBPyConnection, config: HubConfig) -> None:
    """Table `pseudonyms` (tenant, id, ref) for every resident and coach the facts name: the first 20 hex digits of
    HMAC-SHA256(key, "tenant|id") (computed in DuckDB from the key's inner and outer pads: the same value as
    Python's hmac), or the id itself for a tenant that opted in to personal data."""
    key = require_key(config, "the mart")
    if len(key) > 64:  # HMAC's rule for long keys
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    ipad, opad = bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)
    opt_in = [tc.id for tc in config.tenants if tc.mart_personal_data] or ["\x00none"]
    stage.execute(
        """
        CREATE TEMP TABLE pseudonyms AS
        WITH ids AS (
            SELECT DISTINCT tenant, resident_id AS id FROM s_dossier_all WHERE resident_id IS NOT NULL
            UNION SELECT DISTINCT tenant, coach_id FROM s_action WHERE coach_id IS NOT NULL
            UNION SELECT DISTINCT tenant, coach_id FROM s_appointment WHERE coach_id IS NOT NULL
        )
        SELECT tenant, id,
               CASE WHEN list_contains($opt_in, tenant) THEN id
                    ELSE left(sha256($opad || unhex(sha256($ipad || encode(tenant || '|' || id)))), 20) END AS ref
        FROM ids
        """,
        {"opt_in": opt_in, "ipad": ipad, "opad": opad},
    )


ALL_DAYS = """
CREATE TEMP VIEW all_days AS
    SELECT opened_at::DATE AS x FROM mart.dossiers UNION ALL SELECT entered_at::DATE FROM mart.journey_transitions
    UNION ALL SELECT month FROM mart.actions UNION ALL SELECT executed_on FROM mart.executed_measures
    UNION ALL SELECT submitted_on FROM mart.premium_applications UNION ALL SELECT paid_on FROM mart.premium_applications
    UNION ALL SELECT issued_on FROM mart.energy_certificates UNION ALL SELECT raised_at::DATE FROM mart.follow_ups
"""


_EMPTY = pa.table({k: pa.array([], pa.string()) for k in ("canonical_id", "tenant", "entity", "parent_id", "data")})


def _stage_and_write(inputs: dict[str, pa.Table], config: HubConfig, target: Path) -> dict[str, int]:
    stage = duckdb.connect(":memory:")
    try:
        stage.execute("SET TimeZone = 'UTC'")
        for name, arrow in inputs.items():
            if not name.startswith("entities:"):
                stage.register(name, arrow)
        for entity in FIELDS:
            stage.register(f"raw_{entity}", inputs.pop(f"entities:{entity}", _EMPTY))
            stage.execute(parse_sql(entity))
            stage.unregister(f"raw_{entity}")  # its JSON text is parsed: let it go before the build needs the memory
        stage.execute(STAGING)
        _pseudonyms(stage, config)
        stage.execute(f"ATTACH '{_q(str(target))}' AS mart")
        rows = {}
        for tbl in TABLES:
            if tbl.name == "dates":
                stage.execute(ALL_DAYS)
            stage.execute(f'CREATE TABLE mart."{tbl.name}" ({tbl.ddl})')
            stage.execute(f'INSERT INTO mart."{tbl.name}" {tbl.sql}')
            rows[tbl.name] = stage.execute(f'SELECT count(*) FROM mart."{tbl.name}"').fetchall()[0][0]
        stage.execute("DETACH mart")
        return rows
    finally:
        stage.close()


def _describe(tables: list[Table]) -> str:
    """The COMMENT ON statements of these tables and views and every column, as one script (one call, not one per
    column: a few hundred statements)."""
    out = []
    for tbl in tables:
        kind = "VIEW" if tbl.kind == "view" else "TABLE"
        out.append(f"COMMENT ON {kind} \"{tbl.name}\" IS '{_q(f'[{tbl.kind}] {tbl.description}')}';")
        out.extend(f'COMMENT ON COLUMN "{tbl.name}"."{c.name}" IS \'{_q(c.description)}\';' for c in tbl.columns)
    return "\n".join(out)


# text that must never be in a mart of a tenant without the opt-in (the quarantine viewer masks the same shapes)
_PII_PATTERNS = PERSONAL_TEXT_PATTERNS


_IDLIKE = re.compile(r"(^tenant$|_id$|_ref$)")


def _check(con: duckdb.DuckDBPyConnection, store: Store, config: HubConfig, rows: dict[str, int]) -> dict[str, Any]:
    """The checks before publishing (MartCheckFailed names the first that fails)."""
    problems: list[str] = []
    for tbl in TABLES:
        keys = ", ".join(f'"{k}"' for k in tbl.key)
        dup = con.execute(
            f'SELECT count(*) FROM (SELECT {keys} FROM "{tbl.name}" GROUP BY ALL HAVING count(*) > 1)'
        ).fetchall()[0][0]
        if dup:
            problems.append(f"{tbl.name}: {dup} duplicated keys ({keys})")
    tenants = [tc.id for tc in config.tenants]
    e = t.entities
    with store.engine.connect() as conn:

        def live(entity: str) -> int:
            q = select(func.count()).where(e.c.entity == entity, e.c.deleted_at.is_(None), e.c.tenant.in_(tenants))
            return int(conn.execute(q).scalar() or 0)

        expected = {"dossiers": live("dossier"), "campaigns": live("campaign")}
    # every live dossier of the store is in the file or was retired (its intake deleted at the source)
    retired = con.execute("SELECT coalesce(sum(retired_dossiers), 0) FROM mart_meta").fetchall()[0][0]
    got = {"dossiers": rows["dossiers"] + int(retired), "campaigns": rows["campaigns"]}
    for name, n in expected.items():
        if got[name] != n:
            problems.append(f"{name}: {got[name]} rows (retired ones included), the store has {n}")
    private = [tc.id for tc in config.tenants if not tc.mart_personal_data]
    pii: dict[str, int] = {}
    if private:
        in_list = ", ".join(f"'{_q(x)}'" for x in private)
        for tbl in TABLES:
            # free text only: ids and pseudonyms are hex and digits, which a phone pattern could match
            cols = [c.name for c in tbl.columns if c.type == "VARCHAR" and not _IDLIKE.search(c.name)]
            if not cols or not any(c.name == "tenant" for c in tbl.columns):
                continue
            for col in cols:
                # the column's distinct values once, every pattern counted over them in the same pass
                counts = ", ".join(
                    f"count(*) FILTER (WHERE regexp_matches(v, '{_q(p)}'))" for p in _PII_PATTERNS.values()
                )
                found = con.execute(
                    f'SELECT {counts} FROM (SELECT DISTINCT "{col}" AS v FROM "{tbl.name}" '
                    f'WHERE tenant IN ({in_list}) AND "{col}" IS NOT NULL)'
                ).fetchall()[0]
                for what, n in zip(_PII_PATTERNS, found, strict=True):
                    if n:
                        problems.append(f"{tbl.name}.{col}: {n} values look like a {what}")
                        pii[f"{tbl.name}.{col}:{what}"] = n
    if problems:
        raise MartCheckFailed("mart check failed: " + "; ".join(problems))
    return {"keys_unique": True, "counts_match_store": expected, "personal_data_found": pii}


def _resident_ids_absent(con: duckdb.DuckDBPyConnection, resident_ids: pa.Table, private: list[str]) -> list[str]:
    """Columns in which a raw resident id of a tenant without the opt-in appears (there must be none): the
    distinct text values of every table, gathered once, semi-joined with the store's resident ids."""
    if not private:
        return []
    in_list = ", ".join(f"'{_q(p)}'" for p in private)
    parts = []
    for tbl in TABLES:
        if not any(c.name == "tenant" for c in tbl.columns):
            continue
        for c in tbl.columns:
            if c.type == "VARCHAR" and c.name != "tenant":
                parts.append(
                    f'SELECT DISTINCT \'{tbl.name}.{c.name}\' AS col, tenant, "{c.name}" AS v FROM "{tbl.name}" '
                    f'WHERE tenant IN ({in_list}) AND length("{c.name}") = 36'
                )
    if not parts:
        return []
    con.register("_resident_ids", resident_ids)
    try:
        found = con.execute(
            f"SELECT col, count(*) FROM ({' UNION ALL '.join(parts)}) x "
            "WHERE EXISTS (SELECT 1 FROM _resident_ids r WHERE r.tenant = x.tenant AND r.id = x.v) GROUP BY col"
        ).fetchall()
    finally:
        con.unregister("_resident_ids")
    return [f"{col}: {n} rows hold a resident's own id" for col, n in sorted(found)]


# the stages `build_mart` times (MartResult.seconds) and reports as progress
STAGES = ("extract", "build", "describe", "check", "publish")


def build_mart(store: Store, config: HubConfig, mart_dir: Path, reg: Registry = REGISTRY) -> MartResult:
    """Build, describe, check and publish the mart; returns its path, row counts and the stages' seconds.
    A failed check raises MartCheckFailed and leaves the published file (and its Parquet copies) as they were."""
    with progress.task("mart", total=len(STAGES)) as shown:
        return _build_mart(store, config, mart_dir, reg, shown)


def _build_mart(store: Store, config: HubConfig, mart_dir: Path, reg: Registry, shown: progress.Task) -> MartResult:
    clock = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now_ = time.perf_counter()
        seconds[name] = round(now_ - clock, 3)
        clock = now_
        shown.advance()

    mart_dir.mkdir(parents=True, exist_ok=True)
    require_key(config, "the mart")  # a real tenant's mart refuses to build without HUB_MART_PSEUDONYM_KEY
    built_at = utcnow()
    tenants = [tc.id for tc in config.tenants]
    inputs = extract(store, tenants)
    # for the check: none of them may be in the file
    resident_ids = _resident_id_table(inputs.get("entities:resident", _EMPTY))
    inputs |= _rules_tables(config, reg, built_at)
    inputs |= _store_facts(store, config, built_at, reg)
    lap("extract")
    final = mart_dir / MART_FILE
    tmp = mart_dir / f".{MART_FILE}.{os.getpid()}.building"
    for suffix in ("", ".wal"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    try:
        rows = _stage_and_write(inputs, config, tmp)
        lap("build")
        con = duckdb.connect(str(tmp))
        try:
            for view in VIEWS:
                con.execute(f'CREATE VIEW "{view.name}" AS {view.sql}')
            con.execute(_describe([*TABLES, *VIEWS]))
            lap("describe")
            _check(con, store, config, rows)
            private = [tc.id for tc in config.tenants if not tc.mart_personal_data]
            leaks = _resident_ids_absent(con, resident_ids, private)
            if leaks:
                raise MartCheckFailed("mart check failed: " + "; ".join(leaks))
            lap("check")
            parquet_tmp = mart_dir / f".{PARQUET_DIR}.{os.getpid()}.building"
            parquet_tmp.mkdir(exist_ok=True)
            for tbl in TABLES:
                con.execute(f"COPY \"{tbl.name}\" TO '{_q(str(parquet_tmp / tbl.name))}.parquet' (FORMAT parquet)")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, final)
        parquet_dir = mart_dir / PARQUET_DIR
        parquet_dir.mkdir(exist_ok=True)
        for part in sorted(parquet_tmp.glob("*.parquet")):
            os.replace(part, parquet_dir / part.name)
        parquet_tmp.rmdir()
        lap("publish")
    finally:
        for suffix in ("", ".wal"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
        for leftover in mart_dir.glob(f".{PARQUET_DIR}.{os.getpid()}.building"):
            for f in leftover.iterdir():
                f.unlink()
            leftover.rmdir()
    return MartResult(final, rows, mart_dir / PARQUET_DIR, seconds)


def _resident_id_table(residents: pa.Table) -> pa.Table:
    return pa.table({"tenant": residents.column("tenant"), "id": residents.column("canonical_id")})


def read_funnel(path: Path) -> list[tuple[Any, ...]]:
    """The funnel view as rows (tenant, campaign_name, phase, dossiers_now, dossiers_through)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "SELECT tenant, campaign_name, phase, dossiers_now, dossiers_through FROM funnel "
            "ORDER BY tenant, campaign_name, phase_order"
        ).fetchall()
    finally:
        con.close()
