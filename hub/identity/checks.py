"""The identity checks the Dagster UI shows per tenant: no dwelling key shared by two live dwellings, and every
dwelling of a country an address register serves carries the register's key or an open match candidate."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from hub.identity.candidates import DWELLING
from hub.identity.resolve import is_register_key
from hub.store import Store


def shared_dwelling_keys(store: Store, tenant: str) -> dict[str, list[str]]:
    """dwelling key → the live dwellings holding it, for keys held by two or more."""
    by_key: dict[str, list[str]] = defaultdict(list)
    with store.begin() as conn:
        for d in store.live_entities(conn, "dwelling", tenant):
            key = d["data"].get("dwelling_key")
            if key:
                by_key[str(key)].append(d["canonical_id"])
    return {k: sorted(v) for k, v in sorted(by_key.items()) if len(v) > 1}


def unkeyed_dwellings(store: Store, tenant: str, countries: Iterable[str]) -> dict[str, Any]:
    """Live dwellings of `countries` with neither a register key nor an open candidate, and the figures around
    them: how many are keyed, how many wait on a person."""
    wanted = {c.upper() for c in countries}
    with store.begin() as conn:
        dwellings = [d for d in store.live_entities(conn, "dwelling", tenant) if d["data"].get("country") in wanted]
        waiting = store.open_candidate_subjects(conn, tenant, DWELLING)
    keyed = [d for d in dwellings if is_register_key(d["data"].get("dwelling_key"))]
    open_ = [d for d in dwellings if d not in keyed and d["canonical_id"] in waiting]
    missing = sorted(d["canonical_id"] for d in dwellings if d not in keyed and d["canonical_id"] not in waiting)
    return {
        "dwellings": len(dwellings),
        "register_keyed": len(keyed),
        "open_candidate": len(open_),
        "neither": len(missing),
        "examples": missing[:10],
        "keyed_share": round(len(keyed) / len(dwellings), 4) if dwellings else None,
    }
