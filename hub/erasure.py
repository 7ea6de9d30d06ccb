"""Erasure of one resident of one tenant, and the retention purge. Names no partner: each connector declares
how its partner is told (`hub.connector.Erase`).

`erase()` is one request per (tenant, resident), kept as its audit record (`erasure_requests`, no personal
data: the subject is a keyed hash, `requested_by` the coordinator's role or staff id). It runs in steps, each
recorded, so it is idempotent (a second run changes nothing and says so) and resumable (a partner down
leaves the request open; the next run, the outbox worker and the partner's next pull continue it):

1. **store** (one transaction): the resident and every record below it become tombstones. The dossier stays
   live with only its journey facts (phase, dates, campaign), so the journey counts and the funnel do not
   change; every other record is marked deleted and keeps only non-personal facts (statuses, kinds, dates)
   plus `{"erased": <request id>}`. Natural keys (addresses) and field provenance go. Partner ids become keyed
   hashes in the xref: a pull that meets them again finds the tombstone and the merge writes nothing (no
   re-import while a partner still holds the record). Payloads in inbox, outbox, quarantine and idempotency
   records that carry the subject are blanked; unsent work for the subject is cancelled. Each connector's
   notice is queued in its outbox (the worker retries it while the partner is down).
2. **mart**: republished without the resident (`mark_mart_published`, after `build_mart`).
3. **partners**: queued → told (the outbox item was sent) → confirmed (by the partner's own sign: its answer,
   its deletion message, or a full pull that no longer lists the watched ids). A partner the hub cannot tell
   gets its instruction into the coordinator's task on a connector that has a coordinator channel.

The request is done when the store is purged, the mart republished and every partner confirmed."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hub.config import HubConfig
from hub.connector import REGISTRY, ErasurePlan, ErasureSubject, Registry
from hub.logs import log_event
from hub.merge import ERASED_KEY
from hub.pseudonym import keyed_hash, require_key
from hub.store import Store, as_utc, utcnow
from hub.worker import outbox_key

log = logging.getLogger("hub.erasure")

OPEN, DONE = "open", "done"
QUEUED, TOLD, CONFIRMED, FAILED, NOTHING, COORDINATOR = (
    "queued",
    "told",
    "confirmed",
    "failed",
    "nothing-held",
    "needs-coordinator",
)
FINAL = (CONFIRMED, NOTHING)

# What a tombstone keeps of each record (non-personal journey facts); everything else is removed.
KEEP: dict[str, tuple[str, ...]] = {
    "dossier": ("intake_id", "campaign_id", "phase", "phase_since", "opened_at"),
    "intake": ("status", "campaign_id", "created_at"),
    "opportunity": ("status", "measure_category", "created_at"),
    "action": ("kind", "status", "created_at"),
    "resident": ("kind",),
    "premium_application": ("scheme", "status"),
}
LIVE_TOMBSTONES = frozenset({"dossier"})  # kept live: the mart counts it (without any link to the person)
_REQUESTED_BY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,63}$")


class ErasureError(Exception):
    """The request cannot start (unknown resident, bad requested-by); the message names no personal data."""


@dataclass
class ErasureReport:
    request_id: str
    tenant: str
    status: str
    already_done: bool = False
    started: bool = False
    audit: dict[str, Any] = field(default_factory=dict)


def subject_hash(key: bytes, tenant: str, resident_id: str) -> str:
    return keyed_hash(key, "resident", tenant, resident_id, length=64)


def find_residents(store: Store, tenant: str, email: str) -> list[str]:
    """Canonical ids of the tenant's live residents with this e-mail (case-insensitive)."""
    wanted = email.strip().lower()
    with store.begin() as conn:
        rows = store.live_entities(conn, "resident", tenant)
    return sorted(r["canonical_id"] for r in rows if str(r["data"].get("email") or "").strip().lower() == wanted)


def erase(
    store: Store,
    config: HubConfig,
    tenant: str,
    resident_id: str,
    requested_by: str,
    reg: Registry = REGISTRY,
    now: datetime | None = None,
) -> ErasureReport:
    """Start (or continue) the erasure of one resident; see the module docstring."""
    key = require_key(config, "hub erase")
    tc = config.tenant(tenant)
    if not _REQUESTED_BY.match(requested_by or "") or "@" in requested_by:
        raise ErasureError(
            "--requested-by must be the coordinator's role or staff id (letters, digits, . _ : / -; at most 64), "
            "not an e-mail address or a name of the resident"
        )
    now = now or utcnow()
    subject = subject_hash(key, tenant, resident_id)
    with store.begin() as conn:
        req = store.erasure_get(conn, tenant, subject)
        if req is not None and req["status"] == DONE:
            return ErasureReport(req["id"], tenant, DONE, already_done=True, audit=audit_record(req))
        started = req is None
        if req is None:
            root = store.load_entities(conn, [resident_id], tenant=tenant).get(resident_id)
            if root is None or root["tenant"] != tenant or root["entity"] != "resident":
                raise ErasureError(f"tenant {tenant} has no resident with canonical id {resident_id}")
            rid = str(uuid.uuid4())
            steps: dict[str, Any] = {"store": {"status": "pending"}, "mart": {"status": "pending"}, "partners": {}}
            store.erasure_create(
                conn,
                {
                    "id": rid,
                    "tenant": tenant,
                    "subject": subject,
                    "requested_by": requested_by,
                    "requested_at": now,
                    "status": OPEN,
                    "steps": steps,
                    "removed": {},
                    "updated_at": now,
                },
            )
            removed, partners = _purge(
                store, conn, tc.id, rid, resident_id, [c for c in reg.with_erase() if tc.has(c.name)], key, now
            )
            steps = {**steps, "store": {"status": DONE, "at": now.isoformat()}, "partners": partners}
            store.erasure_update(conn, tenant, rid, steps=steps, removed=removed)
            req = store.erasure_by_id(conn, tenant, rid)
            assert req is not None
    log_event(log, "erasure started" if started else "erasure resumed", tenant=tenant, request=req["id"])
    req = progress(store, tenant, req["id"], reg)
    return ErasureReport(req["id"], tenant, req["status"], started=started, audit=audit_record(req))


def _purge(
    store: Store,
    conn: Any,
    tenant: str,
    rid: str,
    resident_id: str,
    connectors: list[Any],
    key: bytes,
    now: datetime,
) -> tuple[dict[str, int], dict[str, Any]]:
    """Step 1 in the caller's transaction: tombstones, provenance, xref hashes, payloads, partner notices."""
    tree = store.entity_tree(conn, tenant, resident_id)
    xref = store.xref_of(conn, tenant, tree)
    by_system: dict[str, dict[str, list[str]]] = {}
    for system, entity, ext in xref:
        by_system.setdefault(system, {}).setdefault(entity, []).append(ext)
    subject = ErasureSubject(
        request_id=rid,
        tenant=tenant,
        resident_id=resident_id,
        records={cid: {"entity": r["entity"], "data": dict(r["data"] or {})} for cid, r in tree.items()},
        xref={s: {e: tuple(v) for e, v in es.items()} for s, es in by_system.items()},
    )
    plans: dict[str, ErasurePlan | None] = {c.name: c.erase.plan(subject) for c in connectors}
    needles = set(tree)  # canonical ids
    for data in subject.of("resident"):
        for f in ("email", "phone"):
            v = str(data.get(f) or "").strip()
            if len(v) >= 6:
                needles.add(v)
    for plan in plans.values():
        needles.update(n for n in (plan.needles if plan else ()) if len(n) >= 6)
    removed = store.blank_subject_payloads(
        conn,
        tenant,
        rid,
        sorted(needles),
        [s for p in plans.values() if p for s in p.inbox],
        [s for p in plans.values() if p for s in p.idempotency],
        xref,
        now,
        outbox=[(c.name, *item) for c in connectors if (p := plans[c.name]) for item in p.outbox],
    )
    tomb: dict[str, dict[str, Any]] = {}
    for cid, r in tree.items():
        data = r["data"] or {}
        kept = {f: data[f] for f in KEEP.get(r["entity"], ()) if f in data}
        tomb[cid] = {"data": {**kept, ERASED_KEY: rid}, "live": r["entity"] in LIVE_TOMBSTONES}
    removed["entities"] = store.tombstone_entities(conn, tenant, tomb, now)
    removed["field_provenance"] = store.delete_provenance(conn, tree)
    removed["xref"] = store.hash_xref_of(conn, tenant, tree)
    removed["consents"] = store.delete_consents(conn, tenant, resident_id)
    # a register's cached answers about the resident's dwellings, and the match candidates naming any of them
    # (their evidence holds addresses and names)
    removed["register_lookups"] = store.lookups_forget(conn, tenant, tree)
    removed["match_candidates"] = store.candidates_forget(conn, tenant, tree)
    return removed, _queue(store, conn, tenant, rid, connectors, plans, key)


def _queue(
    store: Store,
    conn: Any,
    tenant: str,
    rid: str,
    connectors: list[Any],
    plans: dict[str, ErasurePlan | None],
    key: bytes,
) -> dict[str, Any]:
    """Queue each partner's notice; instructions for partners the hub cannot tell go to the coordinator
    channel's notice. Returns the partner steps (hashed watch ids only)."""
    steps: dict[str, Any] = {}
    manual: list[dict[str, str]] = []
    for c in connectors:
        plan = plans[c.name]
        step: dict[str, Any] = {"how": c.erase.how, "confirms": c.erase.confirms}
        if plan is None:
            steps[c.name] = {**step, "status": NOTHING}
            continue
        step["watch"] = sorted(keyed_hash(key, c.name, tenant, e, x) for e, x in plan.watch)
        if plan.payload is None:
            step["status"] = COORDINATOR
            if plan.manual:
                manual.append({"partner": c.title, "instruction": plan.manual, "name": c.name})
        else:
            step["status"] = QUEUED
            step["outbox_key"] = outbox_key(c.name, "erase", rid)
        steps[c.name] = step
    channel = next((c for c in connectors if c.erase.coordinator_channel and steps[c.name]["status"] == QUEUED), None)
    for c in connectors:
        step = steps[c.name]
        if step["status"] != QUEUED:
            continue
        plan = plans[c.name]
        assert plan is not None and plan.payload is not None
        payload = {**plan.payload, "request_id": rid}
        if c is channel:
            payload["manual"] = [{"partner": m["partner"], "instruction": m["instruction"]} for m in manual]
        store.outbox_enqueue(conn, tenant, c.name, c.erase.operation, step["outbox_key"], payload)
    for m in manual:
        if channel is not None:
            steps[m["name"]]["via"] = channel.name
    return steps


def progress(store: Store, tenant: str, request_id: str, reg: Registry = REGISTRY) -> dict[str, Any]:
    """Move a request's partner steps on from what the outbox says (sent → told or confirmed, failed →
    failed, due again → queued), blank the payloads of notices sent, and close the request when every step
    is final. Safe to run any time (the resume job, `hub erase`, a pull's observation)."""
    with store.begin() as conn:
        req = store.erasure_by_id(conn, tenant, request_id)
        if req is None or req["status"] == DONE:
            return req or {}
        steps = dict(req["steps"])
        partners = {k: dict(v) for k, v in steps.get("partners", {}).items()}
        now = utcnow().isoformat()
        sent_keys: list[str] = []
        for name, step in partners.items():
            key = step.get("outbox_key")
            if not key or step["status"] in FINAL:
                continue
            row = _outbox_row(conn, tenant, key)
            if row is None:
                continue
            if row["status"] == "sent":
                sent_keys.append(key)
                if step["status"] != TOLD:
                    step["told_at"] = now
                step["status"] = CONFIRMED if step.get("confirms") == "answer" else TOLD
                if step["status"] == CONFIRMED:
                    step.setdefault("confirmed_at", now)
                for other in partners.values():
                    if other.get("via") == name and other["status"] == COORDINATOR:
                        other.update(status=TOLD, told_at=now)
            elif row["status"] == "failed":
                step["status"] = FAILED
            else:
                step["status"] = QUEUED
        if sent_keys:
            store.blank_outbox_items(conn, tenant, sent_keys, request_id)
        steps["partners"] = partners
        values: dict[str, Any] = {"steps": steps}
        if _complete(steps):
            values.update(status=DONE, completed_at=utcnow())
        store.erasure_update(conn, tenant, request_id, **values)
        out = store.erasure_by_id(conn, tenant, request_id)
        assert out is not None
    if out["status"] == DONE:
        log_event(log, "erasure completed", tenant=out["tenant"], request=request_id)
    return out


def confirm(store: Store, tenant: str, request_id: str, partner: str, confirmed_by: str) -> dict[str, Any]:
    """A coordinator confirms by hand that `partner` no longer holds the subject (a partner the hub cannot
    watch, e.g. Hoomdossier for a desk whose Hoomdossier does not post its deletes): the step becomes
    `confirmed`, with who confirmed it and when, and the request closes when every step is final."""
    if not _REQUESTED_BY.match(confirmed_by or "") or "@" in confirmed_by:
        raise ErasureError("--requested-by must be the coordinator's role or staff id, not an e-mail address")
    with store.begin() as conn:
        req = store.erasure_by_id(conn, tenant, request_id)
        if req is None:
            raise ErasureError(f"tenant {tenant} has no erasure request {request_id}")
        steps = dict(req["steps"])
        partners = {k: dict(v) for k, v in steps.get("partners", {}).items()}
        if partner not in partners:
            raise ErasureError(f"erasure {request_id} has no step for {partner!r}; steps: {sorted(partners)}")
        step = partners[partner]
        if step["status"] not in FINAL:
            step.update(status=CONFIRMED, confirmed_at=utcnow().isoformat(), confirmed_by=confirmed_by)
            steps["partners"] = partners
            store.erasure_update(conn, tenant, request_id, steps=steps)
    log_event(log, "erasure step confirmed by a coordinator", tenant=tenant, request=request_id, partner=partner)
    return progress(store, tenant, request_id)


def _outbox_row(conn: Any, tenant: str, key: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from hub.store import tables as t

    o = t.outbox
    row = conn.execute(select(o.c.status).where(o.c.tenant == tenant, o.c.idempotency_key == key)).mappings().first()
    return dict(row) if row else None


def _complete(steps: dict[str, Any]) -> bool:
    return (
        steps.get("store", {}).get("status") == DONE
        and steps.get("mart", {}).get("status") == DONE
        and all(p["status"] in FINAL for p in steps.get("partners", {}).values())
    )


def open_requests(store: Store, tenant: str) -> list[dict[str, Any]]:
    with store.begin() as conn:
        return store.erasure_requests(conn, tenant, open_only=True)


def mark_mart_published(store: Store, tenant: str, request_ids: list[str], reg: Registry = REGISTRY) -> None:
    """Step 2: the mart was rebuilt after these requests purged the store (so it holds none of them)."""
    for rid in request_ids:
        with store.begin() as conn:
            req = store.erasure_by_id(conn, tenant, rid)
            if req is None or req["steps"].get("store", {}).get("status") != DONE:
                continue
            steps = {**req["steps"], "mart": {"status": DONE, "at": utcnow().isoformat()}}
            store.erasure_update(conn, tenant, rid, steps=steps)
        progress(store, tenant, rid, reg)


def _observe(store: Store, tenant: str, partner: str, hit: Any) -> list[str]:
    """Mark confirmed the open requests whose watched ids `hit(watch) -> bool` says are gone at `partner`."""
    key = _key()
    confirmed: list[str] = []
    for req in open_requests(store, tenant):
        step = req["steps"].get("partners", {}).get(partner)
        if not step or step["status"] in FINAL or not step.get("watch"):
            continue
        if hit(set(step["watch"]), key):
            with store.begin() as conn:
                fresh = store.erasure_by_id(conn, tenant, req["id"])
                assert fresh is not None
                steps = dict(fresh["steps"])
                partners = {k: dict(v) for k, v in steps["partners"].items()}
                partners[partner].update(status=CONFIRMED, confirmed_at=utcnow().isoformat())
                steps["partners"] = partners
                store.erasure_update(conn, tenant, req["id"], steps=steps)
            confirmed.append(req["id"])
            progress(store, tenant, req["id"])
    return confirmed


def _key() -> bytes:
    from hub.pseudonym import current_key

    return current_key()


def observe_listing(store: Store, tenant: str, partner: str, entity: str, seen: set[str]) -> list[str]:
    """A complete listing of the partner's `entity` ids (a full pull) shows none of a request's watched ids:
    the partner has erased the subject. Returns the requests confirmed."""

    def gone(watch: set[str], key: bytes) -> bool:
        return not watch & {keyed_hash(key, partner, tenant, entity, s) for s in seen}

    return _observe(store, tenant, partner, gone)


def observe_gone(store: Store, tenant: str, partner: str, entity: str, external_ids: list[str]) -> list[str]:
    """The partner said these ids are deleted (its own deletion message): requests watching one of them are
    confirmed there."""

    def said(watch: set[str], key: bytes) -> bool:
        return bool(watch & {keyed_hash(key, partner, tenant, entity, e) for e in external_ids})

    return _observe(store, tenant, partner, said)


def audit_record(req: dict[str, Any]) -> dict[str, Any]:
    """The audit record as shown to a coordinator (`hub erase`, the job's metadata): who asked, when, what was
    removed, what each partner was told and confirmed. Hashed watch ids and outbox keys are left out."""
    partners = {
        name: {k: v for k, v in step.items() if k not in ("watch", "outbox_key")}
        for name, step in req.get("steps", {}).get("partners", {}).items()
    }
    completed = req.get("completed_at")
    return {
        "request": req["id"],
        "tenant": req["tenant"],
        "subject": req["subject"],
        "requested_by": req["requested_by"],
        "requested_at": _iso(req["requested_at"]),
        "status": req["status"],
        "store": req["steps"].get("store", {}),
        "mart": req["steps"].get("mart", {}),
        "partners": partners,
        "removed": req.get("removed", {}),
        "completed_at": _iso(completed) if completed else None,
    }


def _iso(value: Any) -> str:
    return as_utc(value).isoformat(timespec="seconds") if isinstance(value, datetime) else str(value)


# --- retention --------------------------------------------------------------------------------------------


def purge_retention(store: Store, config: HubConfig, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Blank personal data from every tenant's processed payloads older than its `retention_days`."""
    now = now or utcnow()
    out: dict[str, dict[str, int]] = {}
    for tc in config.tenants:
        with store.begin() as conn:
            out[tc.id] = store.purge_processed(conn, tc.id, now - timedelta(days=tc.retention_days))
        log_event(log, "retention purge", tenant=tc.id, **{k: v for k, v in out[tc.id].items()})
    return out


def resume(store: Store, config: HubConfig, mart_dir: Any, reg: Registry = REGISTRY) -> list[dict[str, Any]]:
    """Continue every open request: move partner steps on, republish the mart for those whose store step is
    done and whose mart step is not (the mart then holds none of them), close what is complete. Returns the
    audit records of the requests it looked at (the resume job's and `hub erase`'s report)."""
    from pathlib import Path

    from hub.mart import build_mart

    requests = [r for tc in config.tenants for r in open_requests(store, tc.id)]
    pending = [r for r in requests if r["steps"].get("mart", {}).get("status") != DONE]
    if pending:
        build_mart(store, config, Path(mart_dir))
        for tc in config.tenants:
            mark_mart_published(store, tc.id, [r["id"] for r in pending if r["tenant"] == tc.id], reg)
    return [audit_record(progress(store, r["tenant"], r["id"], reg)) for r in requests]
