"""The two canonical-model reads the streams need to link partner rows to records the hub already holds:
a resident's dwelling (for intakes) and a resident's intakes by campaign (for kansen that lack the intake)."""

from __future__ import annotations

from sqlalchemy import Connection

from hub.store import Store


def resident_dwellings(
    store: Store, conn: Connection, tenant: str, resident_ids: list[str]
) -> dict[str, tuple[str, str]]:
    """resident → (dwelling id, "street number[-addition]") for their primary address."""
    out: dict[str, tuple[str, str]] = {}
    for r in store.entities_of(conn, "dwelling", tenant=tenant, parents=resident_ids):
        d = r["data"]
        label = f"{d.get('street')} {d.get('number')}" + (f"-{d['addition']}" if d.get("addition") else "")
        out[str(r["parent_id"])] = (r["canonical_id"], label)
    return out


def intake_candidates(
    store: Store, conn: Connection, tenant: str, resident_ids: list[str]
) -> dict[tuple[str, str | None], list[str]]:
    """(resident, campaign name) → intake ids, for linking kansen whose grid row lacks the intake."""
    intakes = [
        (r["canonical_id"], str(r["parent_id"]), r["data"].get("campaign_id"))
        for r in store.entities_of(conn, "intake", tenant=tenant, parents=resident_ids)
    ]
    camp_ids = sorted({c for _, _, c in intakes if c})
    names = {cid: e["data"].get("name") for cid, e in store.load_entities(conn, camp_ids, tenant=tenant).items()}
    out: dict[tuple[str, str | None], list[str]] = {}
    for iid, rid, cid in intakes:
        out.setdefault((rid, names.get(cid or "")), []).append(iid)
    return out
