"""The two store reads the streams make in raw SQL on `t.entities`, bypassing Store, with their own chunking.
Kept as they are, one function each, until Store has methods for them; then only these bodies change."""

from __future__ import annotations

from sqlalchemy import Connection, select

from hub.store import Store
from hub.store import tables as t


def resident_dwellings(conn: Connection, resident_ids: list[str]) -> dict[str, tuple[str, str]]:
    """resident → (dwelling id, "street number[-addition]") for their primary address."""
    out: dict[str, tuple[str, str]] = {}
    for i in range(0, len(resident_ids), 500):
        q = select(t.entities.c.canonical_id, t.entities.c.parent_id, t.entities.c.data).where(
            t.entities.c.entity == "dwelling", t.entities.c.parent_id.in_(resident_ids[i : i + 500])
        )
        for r in conn.execute(q):
            d = r.data
            label = f"{d.get('street')} {d.get('number')}" + (f"-{d['addition']}" if d.get("addition") else "")
            out[r.parent_id] = (r.canonical_id, label)
    return out


def intake_candidates(
    store: Store, conn: Connection, resident_ids: list[str]
) -> dict[tuple[str, str | None], list[str]]:
    """(resident, campaign name) → intake ids, for linking kansen whose grid row lacks the intake."""
    intakes: list[tuple[str, str, str | None]] = []
    for i in range(0, len(resident_ids), 500):
        q = select(t.entities.c.canonical_id, t.entities.c.parent_id, t.entities.c.data).where(
            t.entities.c.entity == "intake", t.entities.c.parent_id.in_(resident_ids[i : i + 500])
        )
        intakes += [(r.canonical_id, r.parent_id, r.data.get("campaign_id")) for r in conn.execute(q)]
    camp_ids = sorted({c for _, _, c in intakes if c})
    names = {cid: e["data"].get("name") for cid, e in store.load_entities(conn, camp_ids).items()}
    out: dict[tuple[str, str | None], list[str]] = {}
    for iid, rid, cid in intakes:
        out.setdefault((rid, names.get(cid or "")), []).append(iid)
    return out
