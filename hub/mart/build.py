"""Builds the reporting mart that PowerBI reads: a fresh DuckDB file from the canonical store via Arrow,
checked, then atomically swapped into place (readers never see a half-built file), plus Parquet copies.

Tables: campaigns, dossiers, journey_events, consents (counts only), follow_ups, premium_applications; view
funnel. Personal data is pseudonymised: the mart holds no names, e-mails or street addresses — only a keyed
hash per resident (HUB_MART_PSEUDONYM_KEY; only sandbox tenants may go without it) and the 4-digit postcode
area. An erased resident's dossier keeps its row (the funnel counts do not change) with no resident reference
and no postcode area (hub/erasure.py)."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from hub.canonical import FUNNEL, Phase
from hub.config import HubConfig
from hub.pseudonym import require_key
from hub.store import Store, as_utc

MART_FILE = "hub.duckdb"

DOSSIER_SCHEMA = pa.schema(
    [
        ("dossier_id", pa.string()),
        ("tenant", pa.string()),
        ("campaign_id", pa.string()),
        ("campaign_name", pa.string()),
        ("resident_ref", pa.string()),
        ("postcode_area", pa.string()),
        ("phase", pa.string()),
        ("phase_order", pa.int16()),
        ("phase_since", pa.timestamp("us", tz="UTC")),
        ("opened_at", pa.timestamp("us", tz="UTC")),
        # the dwelling's energy label (its dwelling file's: the current EPC's when an authentic source gave it)
        ("energy_label", pa.string()),
        # the dwelling's renovation obligation, when it has one: its deadline and whether it is met
        ("obligation_deadline", pa.date32()),
        ("obligation_met", pa.bool_()),
    ]
)
FOLLOW_UP_SCHEMA = pa.schema(
    [
        ("follow_up_id", pa.string()),
        ("tenant", pa.string()),
        ("dossier_id", pa.string()),
        ("kind", pa.string()),
        ("reason", pa.string()),
        ("due_on", pa.date32()),
        ("status", pa.string()),
        ("raised_at", pa.timestamp("us", tz="UTC")),
    ]
)
PREMIUM_SCHEMA = pa.schema(
    [
        ("application_id", pa.string()),
        ("tenant", pa.string()),
        ("dossier_id", pa.string()),
        ("campaign_id", pa.string()),
        ("scheme", pa.string()),
        ("category", pa.string()),
        ("status", pa.string()),
        ("amount_requested", pa.float64()),
        ("amount_granted", pa.float64()),
        ("amount_paid", pa.float64()),
        ("reason_codes", pa.string()),
        ("prefilled_share", pa.float64()),
        ("submitted_on", pa.date32()),
        ("decided_on", pa.date32()),
        ("paid_on", pa.date32()),
        ("appeal_until", pa.date32()),
    ]
)
EVENT_SCHEMA = pa.schema(
    [
        ("dossier_id", pa.string()),
        ("tenant", pa.string()),
        ("phase", pa.string()),
        ("phase_order", pa.int16()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("source", pa.string()),
    ]
)
CAMPAIGN_SCHEMA = pa.schema(
    [
        ("campaign_id", pa.string()),
        ("tenant", pa.string()),
        ("name", pa.string()),
        ("number", pa.string()),
        ("kind", pa.string()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
    ]
)

CONSENT_SCHEMA = pa.schema(
    [
        ("tenant", pa.string()),
        ("purpose", pa.string()),
        ("partner", pa.string()),
        ("granted", pa.bool_()),
        ("residents", pa.int64()),
    ]
)

FUNNEL_VIEW = """
CREATE VIEW funnel AS
WITH phases AS (
    SELECT * FROM (VALUES {phases}) AS p(phase, phase_order)
), scope AS (
    SELECT DISTINCT tenant, campaign_id, campaign_name FROM dossiers
)
SELECT s.tenant, s.campaign_id, s.campaign_name, p.phase, p.phase_order,
       count(d.dossier_id) FILTER (WHERE d.phase = p.phase) AS dossiers_now,
       count(d.dossier_id) FILTER (WHERE d.phase <> 'stopped' AND d.phase_order >= p.phase_order
                                        AND p.phase <> 'stopped') AS dossiers_reached
FROM scope s CROSS JOIN phases p
LEFT JOIN dossiers d ON d.tenant = s.tenant AND d.campaign_id IS NOT DISTINCT FROM s.campaign_id
GROUP BY ALL
ORDER BY s.tenant, s.campaign_name, p.phase_order
"""

COMMENTS = {
    "dossiers": "One row per dossier (a resident's journey in one campaign) with its current phase.",
    "journey_events": "One row per phase a dossier reached, with when the partner data says it happened.",
    "campaigns": "Campaigns per tenant.",
    "consents": "Residents per tenant, purpose and partner whose standing consent is granted or withdrawn (counts).",
    "follow_ups": "The hub's own follow-up list for coordinators: one task per row (kind, reason, due date, status).",
    "premium_applications": "One row per premium application and category of works (regeling MVP_VL or ISDE_NL): "
    "status, amounts requested, granted and paid, the portal's reason codes (comma separated), the share of "
    "fields the hub prefilled, and the dates. refused_by_hub: a refusal the hub foresaw, never sent.",
}


@dataclass(frozen=True)
class MartResult:
    path: Path
    rows: dict[str, int]
    parquet_dir: Path


def _pseudonym(secret: bytes, tenant: str, value: str | None) -> str | None:
    if value is None:
        return None
    return hmac.new(secret, f"{tenant}|{value}".encode(), hashlib.sha256).hexdigest()[:20]


def _ts(value: Any) -> datetime | None:
    if value is None:
        return None
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return as_utc(dt)


def _day(value: Any) -> Any:
    if not value:
        return None
    return datetime.fromisoformat(str(value)[:10]).date()


def _entities(store: Store, entity: str, tenants: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    with store.engine.connect() as conn:
        return [(r["canonical_id"], r["tenant"], r["data"]) for r in store.live_entities(conn, entity, tenants)]


def collect(store: Store, config: HubConfig) -> dict[str, pa.Table]:
    """Read the canonical store into Arrow tables (columnar: built per column, never row-by-row inserts)."""
    tenants = [tc.id for tc in config.tenants]
    # no built-in key outside the sandbox: a real tenant's mart refuses to publish without HUB_MART_PSEUDONYM_KEY
    secret = require_key(config, "the mart")
    opt_in = {tc.id for tc in config.tenants if tc.mart_personal_data}

    campaigns = _entities(store, "campaign", tenants)
    campaign_names = {cid: data.get("name") for cid, _, data in campaigns}
    camp_cols: dict[str, list[Any]] = defaultdict(list)
    for cid, tenant, data in campaigns:
        camp_cols["campaign_id"].append(cid)
        camp_cols["tenant"].append(tenant)
        for k in ("name", "number", "kind"):
            camp_cols[k].append(data.get(k))
        for k in ("start_date", "end_date"):
            camp_cols[k].append(datetime.fromisoformat(data[k]).date() if data.get(k) else None)

    dwellings = {cid: data for cid, _, data in _entities(store, "dwelling", tenants)}
    labels = {
        data.get("dwelling_id"): data.get("energy_label") for _, _, data in _entities(store, "dwelling_file", tenants)
    }
    cols: dict[str, list[Any]] = defaultdict(list)
    for did, tenant, data in _entities(store, "dossier", tenants):
        phase = Phase(data["phase"])
        dwelling = dwellings.get(data.get("dwelling_id") or "", {})
        postcode = (dwelling.get("postcode") or "")[:4] or None
        cols["dossier_id"].append(did)
        cols["tenant"].append(tenant)
        cols["campaign_id"].append(data.get("campaign_id"))
        cols["campaign_name"].append(campaign_names.get(data.get("campaign_id") or "", "(geen campagne)"))
        rid = data.get("resident_id")
        cols["resident_ref"].append(rid if tenant in opt_in else _pseudonym(secret, tenant, rid))
        cols["postcode_area"].append(postcode)
        cols["phase"].append(phase.value)
        cols["phase_order"].append(phase.order)
        cols["phase_since"].append(_ts(data.get("phase_since")))
        cols["opened_at"].append(_ts(data.get("opened_at")))
        cols["energy_label"].append(labels.get(data.get("dwelling_id")))
        obligation = data.get("renovation_obligation") or {}
        cols["obligation_deadline"].append(_day(obligation.get("deadline")))
        cols["obligation_met"].append(obligation.get("met") if obligation else None)

    fu_cols: dict[str, list[Any]] = defaultdict(list)
    for fid, tenant, data in _entities(store, "follow_up", tenants):
        fu_cols["follow_up_id"].append(fid)
        fu_cols["tenant"].append(tenant)
        for k in ("dossier_id", "kind", "reason", "status"):
            fu_cols[k].append(data.get(k))
        fu_cols["due_on"].append(_day(data.get("due_on")))
        fu_cols["raised_at"].append(_ts(data.get("raised_at")))

    campaign_of = {did: data.get("campaign_id") for did, _, data in _entities(store, "dossier", tenants)}
    pa_cols: dict[str, list[Any]] = defaultdict(list)
    for aid, tenant, data in _entities(store, "premium_application", tenants):
        if "scheme" not in data:
            continue
        pa_cols["application_id"].append(aid)
        pa_cols["tenant"].append(tenant)
        pa_cols["campaign_id"].append(campaign_of.get(str(data.get("dossier_id"))))
        for k in ("dossier_id", "scheme", "category", "status"):  # the portal's dossier number names a person's file
            pa_cols[k].append(data.get(k))
        for k in ("amount_requested", "amount_granted", "amount_paid", "prefilled_share"):
            pa_cols[k].append(None if data.get(k) is None else float(data[k]))
        pa_cols["reason_codes"].append(",".join(data.get("reason_codes") or []) or None)
        for k in ("submitted_on", "decided_on", "paid_on", "appeal_until"):
            pa_cols[k].append(_day(data.get(k)))

    ev_cols: dict[str, list[Any]] = defaultdict(list)
    with store.engine.connect() as conn:
        for r in store.journey_events(conn, tenants):
            ev_cols["dossier_id"].append(r["dossier_id"])
            ev_cols["tenant"].append(r["tenant"])
            ev_cols["phase"].append(r["phase"])
            ev_cols["phase_order"].append(Phase(r["phase"]).order)
            ev_cols["occurred_at"].append(as_utc(r["occurred_at"]))
            ev_cols["source"].append(r["source"])
        consent_cols: dict[str, list[Any]] = defaultdict(list)
        for tenant in tenants:
            for (purpose, partner, granted), n in sorted(store.consent_counts(conn, tenant).items()):
                for k, v in (("tenant", tenant), ("purpose", purpose), ("partner", partner), ("granted", granted)):
                    consent_cols[k].append(v)
                consent_cols["residents"].append(n)

    def table(schema: pa.Schema, data: dict[str, list[Any]]) -> pa.Table:
        return pa.table({f.name: pa.array(data.get(f.name, []), type=f.type) for f in schema}, schema=schema)

    return {
        "campaigns": table(CAMPAIGN_SCHEMA, camp_cols),
        "dossiers": table(DOSSIER_SCHEMA, cols),
        "journey_events": table(EVENT_SCHEMA, ev_cols),
        "consents": table(CONSENT_SCHEMA, consent_cols),
        "follow_ups": table(FOLLOW_UP_SCHEMA, fu_cols),
        "premium_applications": table(PREMIUM_SCHEMA, pa_cols),
    }


def build_mart(store: Store, config: HubConfig, mart_dir: Path) -> MartResult:
    """Build, check and publish the mart; returns its path and row counts."""
    mart_dir.mkdir(parents=True, exist_ok=True)
    tables = collect(store, config)
    final = mart_dir / MART_FILE
    tmp = mart_dir / f".{MART_FILE}.{os.getpid()}.building"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        for name, arrow in tables.items():
            con.register(f"_{name}", arrow)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM _{name}")
            con.unregister(f"_{name}")
            comment = COMMENTS[name].replace("'", "''")
            con.execute(f"COMMENT ON TABLE {name} IS '{comment}'")
        phases = ", ".join(f"('{p.value}', {p.order})" for p in FUNNEL)
        con.execute(FUNNEL_VIEW.format(phases=phases))
        # Check before publishing: every table holds exactly what was collected.
        rows = {name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in tables}  # type: ignore[index]
        for name, arrow in tables.items():
            if rows[name] != arrow.num_rows:
                raise RuntimeError(f"mart check failed: {name} has {rows[name]} rows, expected {arrow.num_rows}")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, final)
    parquet_dir = mart_dir / "parquet"
    parquet_dir.mkdir(exist_ok=True)
    for name, arrow in tables.items():
        part = parquet_dir / f".{name}.parquet.tmp"
        pq.write_table(arrow, part)
        os.replace(part, parquet_dir / f"{name}.parquet")
    return MartResult(final, rows, parquet_dir)


def read_funnel(path: Path) -> list[tuple[Any, ...]]:
    """The funnel view as rows (tenant, campaign_name, phase, dossiers_now, dossiers_reached)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "SELECT tenant, campaign_name, phase, dossiers_now, dossiers_reached FROM funnel "
            "ORDER BY tenant, campaign_name, phase_order"
        ).fetchall()
    finally:
        con.close()
