"""A person's decision on a match candidate, applied with its provenance, and its undo.

- `merge` on a pair: the second record is absorbed into the kept one. Every entity that names it (a dwelling's
  files, certificates, intakes, dossiers, premium files and applications; a resident's dwellings, intakes,
  dossiers, actions) now names the kept one, every partner xref follows, and the absorbed record is retired
  (soft-deleted, `merged_into`). The decision keeps exactly what it moved.
- `merge` on one dwelling: it takes the register object the coordinator chose (`choice`, one the register listed).
- `keep-apart`: nothing moves; the hub never raises the same candidate again.
- `undo`: moves back exactly what the decision moved (what a partner wrote since stays), restores the retired
  record, and reopens the candidate for a new decision.
Field provenance of what moved names the decision (`match`, `candidate:<id>`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from hub.identity.candidates import DWELLING, RESIDENT
from hub.identity.resolve import HUB, ResolveReport, is_register_key, promote
from hub.identity.types import RegisterObject
from hub.store import Store, utcnow

MERGE = "merge"
KEEP_APART = "keep-apart"
DECISIONS = (MERGE, KEEP_APART)
SOURCE = "match"
REF_FIELD = {DWELLING: "dwelling_id", RESIDENT: "resident_id"}


class DecisionError(ValueError):
    """A decision that cannot be applied (unknown candidate, already decided, a choice the register did not list)."""


@dataclass
class Decided:
    candidate_id: int
    decision: str
    status: str
    kept: str | None = None
    absorbed: str | None = None
    moved: dict[str, int] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate_id,
            "decision": self.decision,
            "status": self.status,
            "kept": self.kept,
            "absorbed": self.absorbed,
            "moved": self.moved,
        }


def _open(store: Store, conn: Connection, tenant: str, candidate_id: int) -> dict[str, Any]:
    c = store.candidate(conn, tenant, candidate_id)
    if c is None:
        raise DecisionError(f"no match candidate #{candidate_id} in tenant {tenant}")
    return c


def decide(
    store: Store, tenant: str, candidate_id: int, decision: str, *, by: str, note: str = "", choice: str | None = None
) -> Decided:
    """Apply `decision` (merge | keep-apart) to an open candidate, in one transaction."""
    if decision not in DECISIONS:
        raise DecisionError(f"decision must be one of {list(DECISIONS)}, not {decision!r}")
    with store.begin() as conn:
        c = _open(store, conn, tenant, candidate_id)
        if c["status"] != "open":
            raise DecisionError(f"match candidate #{candidate_id} is {c['status']} already (undo it first)")
        now = utcnow()
        history = list((c.get("decision") or {}).get("history", []))
        history.append({"decision": decision, "by": by, "at": now.isoformat(), "note": note})
        if decision == KEEP_APART:
            store.candidate_set(
                conn,
                tenant,
                candidate_id,
                status="kept_apart",
                decided_at=now,
                decided_by=by[:64],
                note=note,
                decision={"history": history},
            )
            return Decided(candidate_id, decision, "kept_apart")
        subjects = c["subjects"]
        if len(subjects) == 2:
            keep = choice or (c.get("suggestion") or {}).get("keep") or subjects[0]
            if keep not in subjects:
                raise DecisionError(f"keep must be one of {subjects}, not {keep!r}")
            absorb = next(s for s in subjects if s != keep)
            moves = _merge_pair(store, conn, tenant, c["kind"], keep, absorb, candidate_id)
            result = Decided(candidate_id, decision, "merged", keep, absorb, _counts(moves))
        elif c["kind"] == DWELLING:
            moves = _take_object(store, conn, tenant, c, choice, candidate_id)
            result = Decided(candidate_id, decision, "merged", subjects[0], None, _counts(moves))
        else:
            raise DecisionError(f"match candidate #{candidate_id} names one {c['kind']}: only keep-apart applies")
        store.candidate_set(
            conn,
            tenant,
            candidate_id,
            status="merged",
            decided_at=now,
            decided_by=by[:64],
            note=note,
            decision={"history": history, "moves": moves},
        )
        return result


def undo(store: Store, tenant: str, candidate_id: int, *, by: str, note: str = "") -> Decided:
    """Reverse a decision: a merge's moves are moved back, a keep-apart is lifted; the candidate is open again."""
    with store.begin() as conn:
        c = _open(store, conn, tenant, candidate_id)
        if c["status"] not in ("merged", "kept_apart"):
            raise DecisionError(f"match candidate #{candidate_id} is {c['status']}: nothing to undo")
        now = utcnow()
        decision = dict(c.get("decision") or {})
        moves = decision.pop("moves", None)
        moved: dict[str, int] = {}
        if c["status"] == "merged" and moves:
            moved = _reverse(store, conn, tenant, moves, candidate_id)
        history = list(decision.get("history", []))
        history.append({"decision": "undo", "by": by, "at": now.isoformat(), "note": note})
        store.candidate_set(
            conn,
            tenant,
            candidate_id,
            status="open",
            undone_at=now,
            decided_at=None,
            decided_by=None,
            note=note,
            decision={"history": history},
        )
        return Decided(candidate_id, "undo", "open", moved=moved)


def _counts(moves: dict[str, Any]) -> dict[str, int]:
    return {
        "entities": len(moves.get("refs", [])),
        "xrefs": len(moves.get("xrefs", [])),
        "consent_statements": len(moves.get("consent_log", [])),
    }


def _merge_pair(
    store: Store, conn: Connection, tenant: str, kind: str, keep: str, absorb: str, candidate_id: int
) -> dict[str, Any]:
    rows = store.load_entities(conn, [keep, absorb], tenant=tenant)
    if keep not in rows or absorb not in rows:
        raise DecisionError("one side of the candidate no longer exists")
    a, k = rows[absorb], rows[keep]
    if a["deleted_at"] is not None:
        raise DecisionError(f"{absorb} is retired already (merged or deleted)")
    ref = REF_FIELD[kind]
    now = utcnow()
    refs: list[dict[str, Any]] = []
    prov: list[tuple[str, str]] = []
    for r in store.referencing(conn, tenant, ref, absorb):
        if r["canonical_id"] in (absorb, keep):
            continue
        data = dict(r["data"])
        field_moved = data.get(ref) == absorb
        if field_moved:
            data[ref] = keep
            prov.append((r["canonical_id"], ref))
        parent_moved = r["parent_id"] == absorb
        store.rewrite_entity(
            conn,
            tenant,
            r["canonical_id"],
            data,
            parent_id=keep if parent_moved else r["parent_id"],
            deleted=r["deleted_at"] is not None,
        )
        refs.append({"id": r["canonical_id"], "field": field_moved, "parent": parent_moved})
    xrefs = [x["id"] for x in store.xrefs_of(conn, tenant, absorb)]
    store.xrefs_move(conn, tenant, xrefs, keep)
    # one person: what either record consented to or withdrew is the person's; a withdrawal under the absorbed
    # record must stop sharing under the kept one (what is in force is worked out from the joined statements)
    consent_log = store.consent_reassign(conn, tenant, absorb, keep) if kind == RESIDENT else []
    kept_before = dict(k["data"])
    if kind == DWELLING:
        ids = {**(a["data"].get("identifiers") or {}), **(k["data"].get("identifiers") or {})}
        if a["data"].get("dwelling_key") and not is_register_key(a["data"].get("dwelling_key")):
            ids.setdefault("hub:address_key:merged", a["data"]["dwelling_key"])
        store.rewrite_entity(
            conn, tenant, keep, {**k["data"], "identifiers": ids}, parent_id=k["parent_id"], deleted=False
        )
    store.rewrite_entity(
        conn, tenant, absorb, {**a["data"], "merged_into": keep}, parent_id=a["parent_id"], deleted=True
    )
    store.provenance_set(conn, prov, SOURCE, f"candidate:{candidate_id}", now)
    store.withdraw_candidates(conn, tenant, kind, absorb, keep=candidate_id)
    store.lookups_forget(conn, tenant, [absorb])
    return {
        "type": "pair",
        "kind": kind,
        "keep": keep,
        "absorb": absorb,
        "refs": refs,
        "xrefs": xrefs,
        "consent_log": consent_log,
        "absorbed_before": {"data": a["data"], "parent_id": a["parent_id"], "natural_key": a["natural_key"]},
        "kept_identifiers_before": kept_before.get("identifiers"),
    }


def _take_object(
    store: Store, conn: Connection, tenant: str, c: dict[str, Any], choice: str | None, candidate_id: int
) -> dict[str, Any]:
    did = c["subjects"][0]
    listed = {o["key"]: o for o in (c.get("evidence") or {}).get("register", [])}
    key = str(choice or (c.get("suggestion") or {}).get("choice") or "")
    if not listed:
        raise DecisionError(
            f"match candidate #{candidate_id}: the register listed no object for this address; keep-apart keeps "
            "the dwelling as it is (correct the address in the partner system and it is asked again)"
        )
    if key not in listed:
        raise DecisionError(f"choose one of the register's objects: {sorted(listed)} (got {key!r})")
    holder = store.lookup_ids(conn, HUB, tenant, "dwelling", [key]).get(key)
    if holder and holder != did:
        raise DecisionError(f"dwelling {holder} holds {key} already: merge the two dwellings instead")
    row = store.load_entities(conn, [did], tenant=tenant).get(did)
    if row is None or row["deleted_at"] is not None:
        raise DecisionError(f"dwelling {did} no longer exists")
    o = listed[key]
    obj = RegisterObject(
        key=o["key"],
        address=dict(o.get("address") or {}),
        identifiers=dict(o.get("identifiers") or {}),
        residential=bool(o.get("residential", True)),
        side_address=bool(o.get("side_address")),
        exact=bool(o.get("exact", True)),
        facts=dict(o.get("facts") or {}),
    )
    before = {"data": row["data"], "parent_id": row["parent_id"], "natural_key": row["natural_key"]}
    source = (c.get("evidence") or {}).get("source") or SOURCE
    promote(store, conn, tenant, did, row, obj, source, f"candidate:{candidate_id}", utcnow(), ResolveReport())
    return {"type": "object", "dwelling": did, "key": key, "before": before, "refs": [], "xrefs": []}


def _reverse(store: Store, conn: Connection, tenant: str, moves: dict[str, Any], candidate_id: int) -> dict[str, int]:
    if moves.get("type") == "object":
        did, key = moves["dwelling"], moves["key"]
        before = moves["before"]
        row = store.load_entities(conn, [did], tenant=tenant).get(did)
        if row is not None:
            restored = {**row["data"], **{k: before["data"].get(k) for k in ("dwelling_key", "identifiers")}}
            store.rewrite_entity(
                conn,
                tenant,
                did,
                restored,
                parent_id=row["parent_id"],
                deleted=row["deleted_at"] is not None,
                natural_key=before["natural_key"],
                set_natural_key=True,
            )
        xr = [x["id"] for x in store.xrefs_of(conn, tenant, did) if x["system"] == HUB and x["external_id"] == key]
        store.xrefs_delete(conn, tenant, xr)
        return {"entities": 1, "xrefs": len(xr)}
    keep, absorb = moves["keep"], moves["absorb"]
    ref = REF_FIELD[moves["kind"]]
    ids = [r["id"] for r in moves["refs"]]
    rows = store.load_entities(conn, ids, tenant=tenant)
    back: list[tuple[str, str]] = []
    for m in moves["refs"]:
        r = rows.get(m["id"])
        if r is None:
            continue
        data = dict(r["data"])
        if m["field"] and data.get(ref) == keep:
            data[ref] = absorb
            back.append((m["id"], ref))
        parent = absorb if m["parent"] and r["parent_id"] == keep else r["parent_id"]
        store.rewrite_entity(conn, tenant, m["id"], data, parent_id=parent, deleted=r["deleted_at"] is not None)
    still = {x["id"] for x in store.xrefs_of(conn, tenant, keep)}
    xrefs = [i for i in moves["xrefs"] if i in still]
    store.xrefs_move(conn, tenant, xrefs, absorb)
    before = moves["absorbed_before"]
    store.rewrite_entity(
        conn,
        tenant,
        absorb,
        before["data"],
        parent_id=before["parent_id"],
        deleted=False,
        natural_key=before["natural_key"],
        set_natural_key=True,
    )
    if moves["kind"] == DWELLING:
        k = store.load_entities(conn, [keep], tenant=tenant).get(keep)
        if k is not None:
            store.rewrite_entity(
                conn,
                tenant,
                keep,
                {**k["data"], "identifiers": moves.get("kept_identifiers_before") or {}},
                parent_id=k["parent_id"],
                deleted=k["deleted_at"] is not None,
            )
    moved_back = (
        store.consent_reassign(conn, tenant, keep, absorb, log_ids=moves.get("consent_log") or [])
        if moves["kind"] == RESIDENT
        else []
    )
    store.provenance_set(conn, back, SOURCE, f"candidate:{candidate_id}:undo", utcnow())
    return {"entities": len(back), "xrefs": len(xrefs), "consent_statements": len(moved_back)}
