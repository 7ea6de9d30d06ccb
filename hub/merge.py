"""The merge stage: canonical objects from any partner's mapping → the canonical store.

Applies field-level survivorship (hub.canonical.survivorship), records provenance for every field whose
value or owner changes, and counts what was created, updated or unchanged. Replays change nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hub.canonical import CanonicalModel, Observation, new_value_wins
from hub.store import Provenance, Store, stable_hash, utcnow

ERASED_KEY = "erased"
"""The key of an erased entity's tombstone data (`{"erased": <request id>, ...}`, hub/erasure.py)."""


def is_erased(data: Any) -> bool:
    return isinstance(data, dict) and ERASED_KEY in data


@dataclass(frozen=True)
class Incoming:
    """One canonical object as a source observed it."""

    model: CanonicalModel
    source: str
    source_ref: str
    observed_at: datetime
    natural_key: str | None = None
    deleted: bool = False
    # Only these fields are merged (a partial observation, e.g. one field a message carries); None = all.
    fields: frozenset[str] | None = None


@dataclass
class MergeStats:
    """Per entity type: seen / created / updated / unchanged / quarantined."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, entity: str, outcome: str, n: int = 1) -> None:
        self.counts.setdefault(entity, Counter())[outcome] += n

    def merge(self, other: MergeStats) -> None:
        for entity, c in other.counts.items():
            self.counts.setdefault(entity, Counter()).update(c)

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.counts.values())

    def as_dict(self) -> dict[str, dict[str, int]]:
        keys = ("seen", "created", "updated", "unchanged", "deleted", "quarantined")
        return {e: {k: int(c[k]) for k in keys} for e, c in sorted(self.counts.items())}


def merge(store: Store, conn: Connection, items: list[Incoming], stats: MergeStats) -> list[str]:
    """Write `items` into the store in the caller's transaction; returns the ids that were created or changed."""
    if not items:
        return []
    existing: dict[str, Any] = {}
    related_rows: dict[str, Any] = {}
    # an erased resident's records are tombstones: nothing a partner still holds is written into them or
    # under them (a partner may keep the record until its coordinator deletes it)
    for tenant in sorted({i.model.tenant for i in items}):  # each tenant's rows read in its own scope
        mine = [i for i in items if i.model.tenant == tenant]
        found = store.load_entities(conn, [i.model.id for i in mine], tenant=tenant)
        existing.update(found)
        related = {
            r for i in mine for r in (i.model.parent_id, getattr(i.model, "resident_id", None)) if isinstance(r, str)
        } - set(found)
        if related:
            related_rows.update(store.load_entities(conn, related, tenant=tenant))
    erased = {cid for cid, r in {**existing, **related_rows}.items() if is_erased(r.get("data"))}
    if erased:
        kept = []
        for i in items:
            if erased & {i.model.id, i.model.parent_id, getattr(i.model, "resident_id", None)}:
                stats.add(i.model.entity, "suppressed")
            else:
                kept.append(i)
        items = kept
    provenance: dict[str, Any] = {}
    for tenant in sorted({i.model.tenant for i in items}):
        provenance.update(
            store.load_provenance(conn, [i.model.id for i in items if i.model.tenant == tenant], tenant=tenant)
        )
    now = utcnow()
    # Keyed by id: one batch may carry the same entity twice (two partner addresses of one dwelling).
    rows: dict[str, dict[str, Any]] = {}
    prov_rows: dict[tuple[str, str], dict[str, Any]] = {}
    changed: list[str] = []
    for item in items:
        m = item.model
        entity = m.entity
        stats.add(entity, "seen")
        incoming = m.payload()
        obs = Observation(item.source, item.source_ref, item.observed_at)
        current = existing.get(m.id)
        data: dict[str, Any] = dict(current["data"]) if current else {}
        owners = provenance.setdefault(m.id, {})
        for fname, value in incoming.items():
            if item.fields is not None and fname not in item.fields:
                continue
            cur_prov = owners.get(fname)
            cur_obs = (
                Observation(cur_prov["source"], cur_prov["source_ref"], cur_prov["observed_at"]) if cur_prov else None
            )
            if fname in data and cur_obs is None and current is not None:
                cur_obs = Observation(item.source, item.source_ref, item.observed_at)
            if not new_value_wins(entity, fname, data.get(fname), cur_obs, value, obs):
                continue
            if fname not in data or data[fname] != value or cur_obs is None or cur_obs.source != item.source:
                prov: Provenance = {
                    "source": item.source,
                    "source_ref": item.source_ref,
                    "observed_at": item.observed_at,
                }
                prov_rows[(m.id, fname)] = {"canonical_id": m.id, "field": fname, **prov}
                owners[fname] = prov
            data[fname] = value
        data_hash = stable_hash([data, item.deleted])
        if current is not None and current["data_hash"] == data_hash:
            stats.add(entity, "unchanged")
            continue
        outcome = "created" if current is None else ("deleted" if item.deleted else "updated")
        if m.id not in rows:
            stats.add(entity, outcome)
            changed.append(m.id)
        existing[m.id] = {"data": data, "data_hash": data_hash}
        rows[m.id] = {
            "canonical_id": m.id,
            "tenant": m.tenant,
            "entity": entity,
            # from the merged data: a partial observation must not clear the parent another source set
            "parent_id": data.get(m.parent_field) if m.parent_field else None,
            "natural_key": _natural_key(m, data, item.natural_key),
            "data": data,
            "data_hash": data_hash,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "deleted_at": now if item.deleted else None,
        }
    store.upsert_entities(conn, list(rows.values()))
    store.upsert_provenance(conn, [p for (cid, _), p in prov_rows.items() if cid in rows])
    return changed


def _natural_key(model: CanonicalModel, data: dict[str, Any], given: str | None) -> str | None:
    """The surviving value of the model's natural-key field when it declares one, else the key the source gave."""
    name = model.natural_key_field
    if name is not None and isinstance(data.get(name), str):
        return str(data[name])
    return given


def find_by_natural_key(conn: Connection, tenant: str, entity: str, keys: list[str]) -> dict[str, str]:
    """Canonical ids of existing entities by natural key (used to give one dwelling one id across sources)."""
    return Store.ids_by_natural_key(conn, tenant, entity, keys)
