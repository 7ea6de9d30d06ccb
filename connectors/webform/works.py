"""`works.completed`: what a resident supplies through the desk's form for premium applications once the works
are done — capacity, national id, bank account, EAN, the tax assessment's figures, invoices and their scans,
and consent to apply in their name — written into the canonical model (PremiumFile, Invoice, Document) and the
consent register, so a premium connector can build the application from what the hub knows.

The event names its dossier by `signup` (the form's own submission id of the resident's earlier sign-up: the
same key the sign-up's intake is known by, xref `webform`/`intake` or the intake's `external_code`) or by
`dossier` (the hub's dossier id the coordinator gave the resident). A sign-up not yet opened (the same run, or a
CRM that has not sent the intake back yet) waits: the message stays open and is tried again on every run. An
unknown dossier id is refused (quarantined).

Once per content: the premium file is one per intake (later events update the fields they carry, and add their
documents), an invoice is keyed by intake and invoice number, a document by intake and its sha256 (its bytes stay
in the first message that carried them), and the consent statement is recorded only when it changes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from connectors.webform.schemas import WorksCompleted
from connectors.webform.settings import DOCUMENT, INBOX_SOURCE, INVOICE, PARTNER, PREMIUM_FILE
from hub.canonical import Document
from hub.canonical.models import Invoice, PremiumFile
from hub.consent import Purpose, record
from hub.logs import log_event
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store

log = logging.getLogger("connectors.webform.works")
SOURCE = PARTNER
# the provenance reference of what a works.completed event wrote (a sign-up's is `signup:<key>`)
REF_PREFIX = "works:"


class UnknownDossier(ValueError):
    """The event names a dossier the tenant does not have (no personal data in the message)."""


@dataclass(frozen=True)
class Target:
    """The dossier an event is for: its intake, resident and dwelling."""

    intake_id: str
    resident_id: str | None
    dwelling_id: str | None


@dataclass
class WorksApplied:
    premium_file_id: str
    invoices: int
    documents: int
    consents_recorded: int


def find_intake_by_key(store: Store, conn: Connection, tenant: str, key: str) -> str | None:
    """The intake a sign-up key names: the hub's own (xref `webform`/`intake`) or a CRM's intake that carries the
    key as its external code (the sign-up was sent on with it)."""
    known = store.lookup_ids(conn, SOURCE, tenant, "intake", [key])
    if key in known:
        return known[key]
    for r in store.live_entities(conn, "intake", tenant):
        if r["data"].get("external_code") == key:
            return str(r["canonical_id"])
    return None


def target_of(
    store: Store, conn: Connection, tenant: str, form: WorksCompleted, signup_key: str | None
) -> Target | None:
    """The dossier the event names; None while a sign-up's intake is not known yet; UnknownDossier for a
    dossier id the tenant does not have."""
    if form.dossier is not None:
        row = store.load_entities(conn, [form.dossier], tenant=tenant).get(form.dossier)
        if row is None or row["entity"] != "dossier" or row["deleted_at"] is not None:
            raise UnknownDossier("`dossier` names no live dossier of this tenant")
        intake_id = str(row["data"]["intake_id"])
    else:
        found = find_intake_by_key(store, conn, tenant, signup_key or "")
        if found is None:
            return None
        intake_id = found
    intake = store.load_entities(conn, [intake_id], tenant=tenant).get(intake_id)
    data = intake["data"] if intake else {}
    return Target(intake_id, data.get("resident_id"), data.get("dwelling_id"))


def apply_works(
    store: Store,
    conn: Connection,
    tenant: str,
    form: WorksCompleted,
    target: Target,
    inbox_id: int,
    event_key: str,
    received_at: datetime,
    premium_partners: Iterable[str],
) -> WorksApplied:
    """Write one checked event into the canonical model and the consent register (the caller's transaction)."""
    ref = f"{REF_PREFIX}{event_key}"
    stats = MergeStats()
    items: list[Incoming] = []
    intake = target.intake_id
    # documents: one per intake and content; the first message that carried the bytes keeps them
    docs: list[dict[str, Any]] = []
    keys = {}
    for d in form.documents:
        digest = hashlib.sha256(d.content()).hexdigest()
        keys[f"{intake}:{digest}"] = (d, digest)
    known_docs = store.lookup_ids(conn, SOURCE, tenant, DOCUMENT, list(keys))
    # a document hangs under the dwelling's file when it has one (so an erasure of the resident reaches it);
    # without one it is found through the premium file's and the invoices' references
    files = store.child_ids(conn, "dwelling_file", [target.dwelling_id], tenant=tenant) if target.dwelling_id else {}
    found = files.get(str(target.dwelling_id)) or []
    file_id = found[0] if found else None
    doc_ids = store.resolve_ids(conn, SOURCE, tenant, DOCUMENT, list(keys))
    for key, (d, digest) in keys.items():
        did = doc_ids[key]
        entry = {"id": did, "kind": d.kind, "filename": d.filename, "media_type": d.media_type}
        if d.invoice_number:
            entry["invoice_number"] = d.invoice_number
        docs.append(entry)
        if key in known_docs:
            continue
        doc = Document(
            id=did,
            tenant=tenant,
            dwelling_file_id=file_id,
            kind=d.kind,
            sha256=digest,
            size_bytes=len(d.content()),
            inbox_id=inbox_id,
            received_at=received_at,
        )
        items.append(Incoming(doc, SOURCE, ref, received_at))
    # invoices: keyed by intake and number
    inv_keys = {f"{intake}:{i.number}": i for i in form.invoices}
    inv_ids = store.resolve_ids(conn, SOURCE, tenant, INVOICE, list(inv_keys))
    scans = {e["invoice_number"]: e["id"] for e in docs if e.get("invoice_number") and e["kind"] == "factuur"}
    scans.update(
        {
            e["invoice_number"]: e["id"]
            for e in docs
            if e.get("invoice_number") and e["kind"] == "voorschotfactuur" and e["invoice_number"] not in scans
        }
    )
    for key, i in inv_keys.items():
        given = i.model_dump(exclude_none=True, exclude_unset=True)
        inv = Invoice(
            id=inv_ids[key],
            tenant=tenant,
            intake_id=intake,
            dwelling_id=target.dwelling_id,
            number=i.number,
            issued_on=i.issued_on,
            is_advance=i.is_advance,
            amount_excl_vat=i.amount_excl_vat,
            vat_pct=i.vat_pct,
            contractor_kbo=i.contractor_kbo,
            category=i.category,
            measure=i.measure,
            meldcode=i.meldcode,
            quantity=i.quantity,
            unit=i.unit,
            executed_on=i.executed_on,
            material=i.material.model_dump(exclude_none=True) if i.material else {},
            document_id=scans.get(i.number),
        )
        fields = {"intake_id", "dwelling_id", "number", "is_advance"} | set(given)
        if inv.document_id is not None:
            fields.add("document_id")
        items.append(Incoming(inv, SOURCE, ref, received_at, fields=frozenset(fields & set(Invoice.model_fields))))
    # the premium file: one per intake; an event updates what it carries and adds its documents
    pid = store.resolve_ids(conn, SOURCE, tenant, PREMIUM_FILE, [intake])[intake]
    existing = store.load_entities(conn, [pid], tenant=tenant).get(pid)
    kept = list((existing["data"].get("documents") if existing else None) or [])
    have = {e.get("id") for e in kept}
    documents = kept + [e for e in docs if e["id"] not in have]
    pf = PremiumFile(
        id=pid,
        tenant=tenant,
        intake_id=intake,
        dwelling_id=target.dwelling_id,
        capacity=form.capacity,
        national_id=form.national_id,
        iban=form.iban,
        ean=form.ean,
        income=form.income.model_dump() if form.income else None,
        grid_connection_year=form.grid_connection_year,
        permit_date=form.permit_date,
        building_type=form.building_type,
        energy_loan=form.energy_loan,
        documents=documents,
        submitted_at=received_at,
    )
    carried = {
        f
        for f in (
            "capacity",
            "national_id",
            "iban",
            "ean",
            "income",
            "grid_connection_year",
            "permit_date",
            "building_type",
        )
        if getattr(form, f) is not None
    }
    if form.energy_loan is not None:
        carried.add("energy_loan")
    pf_fields = frozenset(
        carried | {"intake_id", "dwelling_id", "documents"} | ({"submitted_at"} if not existing else set())
    )
    items.append(Incoming(pf, SOURCE, ref, received_at, fields=pf_fields))
    merge(store, conn, items, stats)
    consents = 0
    if target.resident_id is not None:
        c = form.consent
        source_ref = f"mandate:{c.mandate_reference}" if c.mandate_reference else ref
        for partner in sorted(set(premium_partners)):
            consents += record(
                store,
                conn,
                tenant,
                target.resident_id,
                Purpose.APPLY_FOR_PREMIUM,
                partner,
                c.apply_for_premium,
                SOURCE,
                source_ref,
                c.given_at or received_at,
            ).logged
    log_event(
        log,
        "works completed applied",
        tenant=tenant,
        invoices=len(inv_keys),
        documents=len(keys),
        consents=consents,
    )
    return WorksApplied(pid, len(inv_keys), len(keys), consents)


def document_content(store: Store, tenant: str, document: Mapping[str, Any]) -> bytes | None:
    """The bytes of a document a resident attached to a works.completed event (kept in its inbox message),
    found by its sha256; None for a document that is not the web form's or whose message is purged."""
    inbox_id = document.get("inbox_id")
    digest = document.get("sha256")
    if not isinstance(inbox_id, int) or not digest:
        return None
    with store.begin() as conn:
        row = store.inbox_get(conn, tenant, inbox_id)
    if row is None or row["source"] != INBOX_SOURCE:
        return None
    try:
        docs = json.loads(row["payload"])["data"]["documents"]
        for d in docs:
            raw = base64.b64decode(d["content_base64"], validate=True)
            if hashlib.sha256(raw).hexdigest() == digest:
                return raw
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return None
