"""The EP-Online lookup: the tenant's Dutch dwellings asked about their energy labels, after BAG gave them their
verblijfsobject ids (stage 2). The registrations become the dwelling's EnergyCertificates (mapping.py's selection),
the current label goes to its dwelling file under EP-Online's rank, and each answer is cached with its date
(`register_lookups`, system `ep_online`) so the nightly re-check asks only what is due.

Which dwellings are asked: those never asked, those whose key or address changed since (the query's hash
differs: a dwelling that just took its BAG key is asked again by id), and, on a full run, those answered longer
ago than `recheck_days` (a new registration after works shows up then). A dwelling with a verblijfsobject key is
asked by that id (a nummeraanduiding id is never sent: contracts §3.4); one without, by its address, unless a
match candidate about it waits for a person (its address is in doubt: a label asked by it could be a
neighbour's; it is asked once the candidate is decided, as its key or address then changes). The
placeholder id `0000000000000000` is refused locally, and registrations about another object are quarantined
with their reason, never attached. A 404 is "no label"; a 400 (the address as written is invalid) is recorded
and asked again when the address changes."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from connectors.ep_online.client import EpOnlineClient
from connectors.ep_online.mapping import Selection, select
from connectors.ep_online.settings import PARTNER, PLACEHOLDER_ID, EpOnlineSettings
from hub import progress
from hub.canonical import DwellingFile, EnergyCertificate
from hub.canonical.keys import normalise_nl_postcode, split_nl_addition
from hub.connector import PartnerRun
from hub.http import PartnerAuthError, PartnerClientError
from hub.identity.candidates import DWELLING
from hub.identity.resolve import is_due, query_hash
from hub.logs import log_event
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store, utcnow

log = logging.getLogger(__name__)
BATCH = 100
VBO_PREFIX = "nl:bag:vbo:"
CERTIFICATE = "energy_certificate"


def query_for(data: dict[str, Any]) -> dict[str, Any] | None:
    """By object id when the dwelling carries its verblijfsobject key, else by address; None when neither can be
    asked (no valid postcode or number)."""
    key = str(data.get("dwelling_key") or "")
    if key.startswith(VBO_PREFIX):
        return {"object_id": key[len(VBO_PREFIX) :]}
    pc = normalise_nl_postcode(str(data.get("postcode") or ""))
    nr = str(data.get("number") or "").strip()
    if pc is None or not nr.isdigit() or not 0 < int(nr) <= 99999:
        return None
    letter, addition = split_nl_addition(data.get("addition"))
    return {"postcode": pc, "huisnummer": int(nr), "huisletter": letter or "", "huisnummertoevoeging": addition or ""}


@dataclass
class LabelReport:
    dwellings: int = 0
    asked: int = 0
    by_id: int = 0
    by_address: int = 0
    fresh: int = 0
    unaskable: int = 0
    waiting_for_match: int = 0
    with_label: int = 0
    without_label: int = 0
    refused_queries: int = 0
    quarantined: int = 0
    other_homes_ignored: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    stats: MergeStats = field(default_factory=MergeStats)
    calls: int = 0

    def metadata(self) -> dict[str, Any]:
        return {
            "dutch_dwellings": self.dwellings,
            "asked": self.asked,
            "asked_by_object_id": self.by_id,
            "asked_by_address": self.by_address,
            "fresh_answers_kept": self.fresh,
            "unaskable_addresses": self.unaskable,
            "waiting_for_a_match_decision": self.waiting_for_match,
            "with_label": self.with_label,
            "without_label": self.without_label,
            "refused_queries": self.refused_queries,
            "registrations_quarantined": self.quarantined,
            "other_homes_ignored": self.other_homes_ignored,
            "certificates": dict(self.stats.counts.get(CERTIFICATE, {})),
            "register_calls": self.calls,
        }


@dataclass
class Answer:
    dwelling: Any  # the dwelling's entity row
    query: dict[str, Any]
    records: list[dict[str, Any]] | None  # None: the query was refused (400)
    error: str | None = None


def _ask(client: EpOnlineClient, row: Any, q: dict[str, Any]) -> Answer:
    try:
        if "object_id" in q:
            return Answer(row, q, client.by_object(q["object_id"]))
        return Answer(
            row, q, client.by_address(q["postcode"], q["huisnummer"], q["huisletter"], q["huisnummertoevoeging"])
        )
    except PartnerAuthError:
        raise
    except PartnerClientError as exc:
        return Answer(row, q, None, str(exc)[:300])


def run(run: PartnerRun, full: bool) -> LabelReport:
    return lookup(run, full)


def reread(run: PartnerRun, records: dict[str, list[str]]) -> LabelReport:
    """The quarantine replay: the dwellings whose answer was quarantined (`dwelling:{id}`) asked again now,
    whatever their cached answer's age; one answered cleanly leaves quarantine."""
    ids = {e.removeprefix("dwelling:") for e in records.get(CERTIFICATE, []) if e.startswith("dwelling:")}
    return lookup(run, False, only=ids)


def lookup(run: PartnerRun, full: bool, only: set[str] | None = None) -> LabelReport:
    store, tenant = run.store, run.tenant_id
    settings = EpOnlineSettings.model_validate(run.tenant.partner(PARTNER).settings)
    client = EpOnlineClient.for_tenant(run.tenant, store)
    report = LabelReport()
    with store.begin() as conn:
        dwellings = [d for d in store.live_entities(conn, "dwelling", tenant) if d["data"].get("country") == "NL"]
        cache = store.lookups(conn, tenant, PARTNER, [d["canonical_id"] for d in dwellings])
        waiting = store.open_candidate_subjects(conn, tenant, DWELLING)
    report.dwellings = len(dwellings)
    stale_before = utcnow() - timedelta(days=settings.recheck_days)
    due: list[tuple[Any, dict[str, Any]]] = []
    placeholder: list[tuple[Any, dict[str, Any]]] = []
    for d in sorted(dwellings, key=lambda r: r["canonical_id"]):
        if only is not None and d["canonical_id"] not in only:
            continue
        q = query_for(d["data"])
        if q is None:
            report.unaskable += 1
            continue
        if "object_id" not in q and d["canonical_id"] in waiting:
            # its address is in doubt (a match candidate waits for a person): a label asked by it could be a
            # neighbour's, or attach one home's label to two dwellings; asked once the candidate is decided
            report.waiting_for_match += 1
            continue
        cached = cache.get(d["canonical_id"])
        if only is not None or is_due(cached, q, full=full, stale_before=stale_before):
            (placeholder if q.get("object_id") == PLACEHOLDER_ID else due).append((d, q))
        else:
            report.fresh += 1
    if placeholder:
        with store.begin() as conn:
            for d, q in placeholder:
                _quarantine(
                    store, conn, tenant, d, "placeholder_id: never asked (EP-Online answers unrelated labels)", q
                )
                # remembered, so the next run does not park it again (its key must change first)
                store.lookup_record(
                    conn, tenant, PARTNER, d["canonical_id"], query_hash(q), "placeholder", {"query": q}, utcnow()
                )
                report.quarantined += 1
    with progress.task("dwellings asked", total=len(due)) as shown:
        for i in range(0, len(due), BATCH):
            answers = [_ask(client, d, q) for d, q in due[i : i + BATCH]]
            with store.begin() as conn:
                for a in answers:
                    _apply(store, conn, tenant, a, settings, report)
            shown.advance(len(answers))
    report.calls = int(client.stats.calls)
    log_event(
        log,
        "ep_online lookup finished",
        tenant=tenant,
        partner=PARTNER,
        asked=report.asked,
        with_label=report.with_label,
        quarantined=report.quarantined,
    )
    return report


def _quarantine(store: Store, conn: Connection, tenant: str, d: Any, reason: str, payload: Any) -> None:
    store.quarantine_put(conn, tenant, PARTNER, CERTIFICATE, f"dwelling:{d['canonical_id']}", reason, payload)


def _apply(
    store: Store, conn: Connection, tenant: str, a: Answer, settings: EpOnlineSettings, report: LabelReport
) -> None:
    did = str(a.dwelling["canonical_id"])
    now = utcnow()
    report.asked += 1
    if "object_id" in a.query:
        report.by_id += 1
    else:
        report.by_address += 1
    if a.records is None:
        report.refused_queries += 1
        report.outcomes["refused"] += 1
        store.lookup_record(conn, tenant, PARTNER, did, query_hash(a.query), "refused", {"error": a.error}, now)
        return
    address = None if "object_id" in a.query else a.query
    sel = select(
        a.records, object_id=a.query.get("object_id"), address=address, today=now.date(),
        valid_years=settings.valid_years,
    )  # fmt: skip
    report.other_homes_ignored += sel.other_homes
    if sel.refused:
        reasons = sorted({r for r, _ in sel.refused})
        _quarantine(store, conn, tenant, a.dwelling, "; ".join(reasons)[:500], [raw for _, raw in sel.refused])
        report.quarantined += len(sel.refused)
    else:
        store.quarantine_resolve(conn, tenant, PARTNER, CERTIFICATE, [f"dwelling:{did}"])
    _attach(store, conn, tenant, a.dwelling, sel, now, report.stats)
    outcome = "labelled" if sel.certificates else "no_label"
    report.outcomes[outcome] += 1
    if sel.certificates:
        report.with_label += 1
    else:
        report.without_label += 1
    store.lookup_record(
        conn,
        tenant,
        PARTNER,
        did,
        query_hash(a.query),
        outcome,
        {
            "query": a.query,
            "certificates": [c["certificate_number"] for c in sel.certificates],
            "current": (sel.current or {}).get("label"),
            "refused": len(sel.refused),
        },
        now,
    )


def _attach(store: Store, conn: Connection, tenant: str, d: Any, sel: Selection, now: Any, stats: MergeStats) -> None:
    """The registrations as the dwelling's certificates (EP-Online's own, by their numbers); one EP-Online no
    longer answers is removed; the current label to the dwelling's file."""
    did = str(d["canonical_id"])
    numbers = [c["certificate_number"] for c in sel.certificates]
    ids = store.resolve_ids(conn, PARTNER, tenant, CERTIFICATE, numbers) if numbers else {}
    items: list[Incoming] = []
    for c in sel.certificates:
        cert = EnergyCertificate(id=ids[c["certificate_number"]], tenant=tenant, dwelling_id=did, **c)
        items.append(Incoming(cert, PARTNER, c["certificate_number"], now))
    held = store.entities_of(conn, CERTIFICATE, tenant=tenant, parents=[did], live=True)
    mine = store.external_ids(conn, PARTNER, tenant, CERTIFICATE, [r["canonical_id"] for r in held])
    for r in held:
        number = mine.get(r["canonical_id"])
        if number is not None and number not in numbers:
            gone = EnergyCertificate(id=r["canonical_id"], tenant=tenant, **r["data"])
            items.append(Incoming(gone, PARTNER, number, now, deleted=True))
    current = sel.current
    if current is not None:
        files = store.child_ids(conn, "dwelling_file", [did], tenant=tenant).get(did, [])
        key = str(d["data"].get("dwelling_key") or did)
        file_id = files[0] if files else store.resolve_ids(conn, PARTNER, tenant, "dwelling_file", [key])[key]
        items.append(
            Incoming(
                DwellingFile(id=file_id, tenant=tenant, dwelling_id=did, energy_label=current["label"]),
                PARTNER,
                current["certificate_number"],
                now,
                fields=frozenset({"dwelling_id", "energy_label"}),
            )
        )
    if items:
        merge(store, conn, items, stats)
