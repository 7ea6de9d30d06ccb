"""A register's answers → the dwellings' keys, or match candidates for a person (contracts §4.2's upgrade rule).

A dwelling keyed on its normalised address takes the register's key (`nl:bag:vbo:…`) only when the register
returned exactly one residential object whose address is the one asked (letter and addition equal, not a side
address), no other dwelling already holds that key, and the number is not one where the register lists several
homes while two residents share the dwelling (a dropped letter would merge two homes). Everything else is a
match candidate with the evidence of each side, and nothing merges until a person decides (hub/identity/decide.py).
Each answer is cached with its date (`register_lookups`), so the nightly re-check asks only what is due."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hub.canonical import Dwelling, DwellingFile
from hub.identity.candidates import DWELLING, raise_candidate
from hub.identity.types import RegisterObject, Resolution
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store, stable_hash

HUB = "hub"
REGISTER_KEY_PREFIXES = ("nl:bag:", "be:vl:")
# the dwelling fields a register owns when it resolved the address (survivorship ranks it first for them)
ADDRESS_FIELDS = frozenset({"dwelling_key", "street", "number", "addition", "postcode", "city", "identifiers"})
FACT_FIELDS = ("build_year", "surface_m2")


def is_register_key(key: Any) -> bool:
    return isinstance(key, str) and key.startswith(REGISTER_KEY_PREFIXES)


def query_hash(query: Mapping[str, Any]) -> str:
    return stable_hash(dict(query))


def is_due(cached: Mapping[str, Any] | None, query: Mapping[str, Any], *, full: bool, stale_before: datetime) -> bool:
    """Whether a register is to be asked again about a subject: never asked, asked something else (its address or
    key changed since), or, on a full run, answered before `stale_before` (a cached `register_lookups` row)."""
    return (
        cached is None or cached["query_hash"] != query_hash(query) or (full and cached["answered_at"] < stale_before)
    )


@dataclass
class ResolveReport:
    """What one batch of answers did: resolved (took the register's key now), confirmed (already had it),
    candidates by reason, not asked again (errors), facts written."""

    answers: int = 0
    resolved: int = 0
    confirmed: int = 0
    errors: int = 0
    candidates: Counter[str] = field(default_factory=Counter)
    facts: int = 0
    stats: MergeStats = field(default_factory=MergeStats)

    def metadata(self) -> dict[str, Any]:
        return {
            "answers": self.answers,
            "resolved": self.resolved,
            "confirmed": self.confirmed,
            "errors": self.errors,
            "match_candidates": sum(self.candidates.values()),
            "candidates_by_reason": dict(sorted(self.candidates.items())),
            "facts_written": self.facts,
        }


def join_addition(letter: str, addition: str) -> str:
    """BAG's huisletter and huisnummertoevoeging as one canonical `addition` ("A", "A-2", "2")."""
    return f"{letter}-{addition}" if letter and addition else (letter or addition)


def classify(objects: Iterable[RegisterObject], residents: int) -> tuple[str, RegisterObject | None]:
    """(outcome, the object the dwelling is) for a register's answer and the number of residents on the dwelling."""
    objs = list(objects)
    if not objs:
        return "not_in_register", None
    exact = [o for o in objs if o.exact and not o.side_address]
    if len(exact) > 1:
        return "several_objects", None
    if not exact:
        if any(o.exact and o.side_address for o in objs):
            return "side_address", None
        return ("inexact" if len({o.key for o in objs}) == 1 else "several_objects"), None
    one = exact[0]
    if not one.residential:
        return "not_residential", None
    others = {o.key for o in objs} - {one.key}
    if others and residents > 1:
        return "several_residents", None
    return "resolved", one


def _household(store: Store, conn: Connection, tenant: str, dwellings: Mapping[str, Any]) -> dict[str, set[str]]:
    """dwelling id → the residents it stands for (its own and those of the intakes naming it)."""
    out: dict[str, set[str]] = {d: ({r["data"].get("resident_id")} - {None}) for d, r in dwellings.items()}
    for intake in store.live_entities(conn, "intake", tenant):
        d, r = intake["data"].get("dwelling_id"), intake["data"].get("resident_id")
        if d in out and r:
            out[d].add(r)
    return out


def _live(store: Store, conn: Connection, tenant: str, ids: list[str]) -> set[str]:
    rows = store.load_entities(conn, ids, tenant=tenant)
    return {i for i, r in rows.items() if r["deleted_at"] is None}


def _side(store: Store, conn: Connection, tenant: str, dwelling_id: str, row: Any) -> dict[str, Any]:
    """One side's evidence: the address as held, the partner records behind it, its residents."""
    data = row["data"] if row is not None else {}
    xrefs = store.xrefs_of(conn, tenant, dwelling_id)
    return {
        "dwelling_id": dwelling_id,
        "key": data.get("dwelling_key"),
        "address": {k: data.get(k) for k in ("street", "number", "addition", "postcode", "city")},
        "resident_id": data.get("resident_id"),
        "partner_records": sorted(f"{x['system']}:{x['entity']}" for x in xrefs if x["system"] != HUB),
        "keys": sorted(x["external_id"] for x in xrefs if x["system"] == HUB),
    }


def apply_resolutions(store: Store, conn: Connection, tenant: str, resolutions: list[Resolution]) -> ResolveReport:
    """Apply a register's answers about the tenant's dwellings in the caller's transaction."""
    report = ResolveReport()
    if not resolutions:
        return report
    rows = store.load_entities(conn, [r.dwelling_id for r in resolutions], tenant=tenant)
    live = {d: r for d, r in rows.items() if r["entity"] == "dwelling" and r["deleted_at"] is None}
    household = _household(store, conn, tenant, live)
    classified = []
    for res in resolutions:
        row = live.get(res.dwelling_id)
        if row is None:
            continue
        report.answers += 1
        if res.error:
            report.errors += 1
            continue
        classified.append((res, row, *classify(res.objects, len(household.get(res.dwelling_id, set())))))
    # the clear answers first: a doubtful one then sees the keys they took (one home written two ways)
    classified.sort(key=lambda c: c[2] != "resolved")
    for res, row, outcome, chosen in classified:
        store.lookup_record(
            conn,
            tenant,
            res.source,
            res.dwelling_id,
            query_hash(res.query),
            outcome,
            {"query": res.query, "objects": [o.evidence() for o in res.objects]},
            res.answered_at,
        )
        if chosen is None:
            _raise_single(store, conn, tenant, res, row, outcome, report)
            continue
        _take_key(store, conn, tenant, res, row, chosen, report)
    return report


def _raise_single(
    store: Store, conn: Connection, tenant: str, res: Resolution, row: Any, reason: str, report: ResolveReport
) -> None:
    evidence = {
        "dwelling": _side(store, conn, tenant, res.dwelling_id, row),
        "asked": res.query,
        "register": [o.evidence() for o in res.objects],
        "source": res.source,
        "answered_at": res.answered_at.isoformat(),
    }
    keys = sorted({o.key for o in res.objects})
    if len(keys) == 1 and reason in ("inexact", "side_address"):
        # the one object the register has there is another dwelling's already: one home written two ways?
        holder = store.lookup_ids(conn, HUB, tenant, "dwelling", keys).get(keys[0])
        if holder and holder != res.dwelling_id and holder in _live(store, conn, tenant, [holder]):
            other = store.load_entities(conn, [holder], tenant=tenant)[holder]
            pair = {
                "left": _side(store, conn, tenant, holder, other),
                "right": evidence["dwelling"],
                "register": evidence["register"],
                "asked": res.query,
                "why": reason,
                "source": res.source,
                "answered_at": evidence["answered_at"],
            }
            raise_candidate(
                store, conn, tenant, DWELLING, (holder, res.dwelling_id), "same_register_object", pair,
                suggestion={"decision": "merge", "keep": holder},
            )  # fmt: skip
            report.candidates["same_register_object"] += 1
            return
    exact = [o for o in res.objects if o.residential]
    suggestion = {"decision": "merge", "choice": exact[0].key} if len(exact) == 1 else None
    cid = raise_candidate(store, conn, tenant, DWELLING, (res.dwelling_id,), reason, evidence, suggestion=suggestion)
    store.withdraw_candidates(conn, tenant, DWELLING, res.dwelling_id, keep=cid, single_only=True)
    report.candidates[reason] += 1


def _take_key(
    store: Store,
    conn: Connection,
    tenant: str,
    res: Resolution,
    row: Any,
    obj: RegisterObject,
    report: ResolveReport,
) -> None:
    did = res.dwelling_id
    current = row["data"].get("dwelling_key")
    if is_register_key(current) and current != obj.key:
        evidence = {
            "dwelling": _side(store, conn, tenant, did, row),
            "asked": res.query,
            "register": [obj.evidence()],
            "source": res.source,
            "answered_at": res.answered_at.isoformat(),
        }
        raise_candidate(
            store,
            conn,
            tenant,
            DWELLING,
            (did,),
            "register_changed",
            evidence,
            suggestion={"decision": "merge", "choice": obj.key},
        )
        report.candidates["register_changed"] += 1
        return
    holder = store.lookup_ids(conn, HUB, tenant, "dwelling", [obj.key]).get(obj.key)
    holder = holder or store.ids_by_natural_key(conn, tenant, "dwelling", [obj.key]).get(obj.key)
    if holder and holder != did:
        other = store.load_entities(conn, [holder], tenant=tenant).get(holder)
        merged_into = (other or {}).get("data", {}).get("merged_into") if other else None
        if merged_into != did:
            evidence = {
                "left": _side(store, conn, tenant, holder, other),
                "right": _side(store, conn, tenant, did, row),
                "register": [obj.evidence()],
                "asked": res.query,
                "source": res.source,
                "answered_at": res.answered_at.isoformat(),
            }
            raise_candidate(
                store,
                conn,
                tenant,
                DWELLING,
                (holder, did),
                "same_register_object",
                evidence,
                score=1.0,
                suggestion={"decision": "merge", "keep": holder},
            )
            report.candidates["same_register_object"] += 1
            return
    promote(store, conn, tenant, did, row, obj, res.source, f"{res.source}:{obj.key}", res.answered_at, report)
    store.withdraw_candidates(conn, tenant, DWELLING, did, keep=None, single_only=True)


def promote(
    store: Store,
    conn: Connection,
    tenant: str,
    dwelling_id: str,
    row: Any,
    obj: RegisterObject,
    source: str,
    source_ref: str,
    observed_at: datetime,
    report: ResolveReport,
) -> None:
    """The dwelling takes the register's key, official address and ids (the register ranks first for them), the
    register's building facts go to its file, and the key resolves to it from now on."""
    data = row["data"]
    was = data.get("dwelling_key")
    identifiers = {**(data.get("identifiers") or {}), **obj.identifiers}
    if was and not is_register_key(was):
        identifiers.setdefault("hub:address_key", was)
    a = obj.address
    dwelling = Dwelling(
        id=dwelling_id,
        tenant=tenant,
        dwelling_key=obj.key,
        country=data.get("country") or "NL",
        street=a.get("street") or None,
        number=a.get("number") or None,
        addition=join_addition(a.get("letter", ""), a.get("addition", "")) or None,
        postcode=a.get("postcode") or None,
        city=a.get("city") or None,
        identifiers=identifiers,
        area=obj.area,
    )
    fields = ADDRESS_FIELDS | {"area"} if obj.area else ADDRESS_FIELDS
    items = [Incoming(dwelling, source, source_ref, observed_at, natural_key=obj.key, fields=fields)]
    facts = {k: obj.facts[k] for k in FACT_FIELDS if obj.facts.get(k) is not None}
    if facts:
        files = store.child_ids(conn, "dwelling_file", [dwelling_id], tenant=tenant).get(dwelling_id, [])
        file_id = files[0] if files else store.resolve_ids(conn, source, tenant, "dwelling_file", [obj.key])[obj.key]
        items.append(
            Incoming(
                DwellingFile(id=file_id, tenant=tenant, dwelling_id=dwelling_id, **facts),
                source,
                source_ref,
                observed_at,
                fields=frozenset({"dwelling_id", *facts}),
            )
        )
        report.facts += 1
    merge(store, conn, items, report.stats)
    store.link_ids(conn, HUB, tenant, "dwelling", {obj.key: dwelling_id})
    if was == obj.key:
        report.confirmed += 1
    else:
        report.resolved += 1
