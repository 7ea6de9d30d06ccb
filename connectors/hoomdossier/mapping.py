"""Hoomdossier's messages → the canonical model: appointment, building status, scan progress, dwelling-file
facts from `gebruik`, advices with savings from `woonplan`, the PDF report as a document reference, and the
deletion of a user.

Identity: `account_related.contact_id` is the Econobis contact id, so the resident is the canonical id of
xref (econobis, contact, id) — created here when the Econobis pull has not seen the contact yet, and merged
with it when it does. The Hoomdossier building is a dwelling file: xref (hoomdossier, building, id), attached
to the resident's existing dwelling file when there is one. Account and user ids are linked to the resident,
which is how a register call whose answer was lost gets its ids back (see routes.py)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection

from connectors.hoomdossier.schemas import (
    Afspraak,
    Delete,
    Gebruik,
    Message,
    Pdf,
    ScanStatus,
    WoningStatus,
    Woonplan,
)
from connectors.hoomdossier.settings import ECONOBIS_CONTACTS
from hub.canonical import Advice, Appointment, Document, DwellingFile, Resident
from hub.canonical.survivorship import HOOMDOSSIER
from hub.journey import recompute_dossiers
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store

SOURCE = HOOMDOSSIER
ECONOBIS = ECONOBIS_CONTACTS  # the xref system of Econobis ids (contact ids travel in every message)

# gebruik question short → canonical dwelling-file field and how to read the answer
_MONUMENT = {"1": True, "2": False}
_CONTRACT = {"bought": True, "rented": False, "rented-private": False}
_UNKNOWN_LABELS = {"X", "?", ""}
_MEASURE_TYPES = {
    "App\\Models\\MeasureApplication": "measure",
    "App\\Models\\CooperationMeasureApplication": "cooperation-measure",
    "App\\Models\\CustomMeasureApplication": "custom-measure",
}


def _int(value: Any) -> int | None:
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return None


def _float(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return None


def gebruik_facts(msg: Gebruik) -> dict[str, Any]:
    """Dwelling-file facts from the answers present in the message (absent questions are not touched;
    a question answered with `[]` clears the value Hoomdossier owned)."""
    current = msg.current or {}
    facts: dict[str, Any] = {}

    def q(short: str) -> Any:
        return current.get(short)

    if (x := q("build-year")) is not None:
        facts["build_year"] = _int(x.value())
    if (x := q("surface")) is not None:
        facts["surface_m2"] = _float(x.value())
    if (x := q("building-layers")) is not None:
        facts["floors"] = _int(x.value())
    if (x := q("resident-count")) is not None:
        facts["residents"] = _int(x.value())
    if (x := q("building-type-category")) is not None or (x := q("building-type")) is not None:
        facts["building_type"] = x.label()
    if (x := q("roof-type")) is not None:
        facts["roof_type"] = x.label()
    if (x := q("energy-label")) is not None:
        label = x.label()
        facts["energy_label"] = None if label is None or label in _UNKNOWN_LABELS else label
    if (x := q("monument")) is not None:
        facts["is_monument"] = _MONUMENT.get(str(x.value()))
    if (x := q("building-contract-type")) is not None:
        facts["owner_occupied"] = _CONTRACT.get(str(x.value()))
    return facts


class HoomdossierApply:
    """Apply one tenant's Hoomdossier messages (in the order they were received) to the canonical store."""

    def __init__(self, store: Store, tenant: str) -> None:
        self.store = store
        self.tenant = tenant
        self.stats = MergeStats()
        self.journey_events = 0
        self._dwelling: str | None = None

    def apply(self, conn: Connection, endpoint: str, msg: Message, inbox_id: int, received_at: datetime) -> None:
        related = msg.account_related
        resident_id = self._resident(conn, related.contact_id, related.account_id, related.user_id)
        file_id, dwelling_id = (
            self._dwelling_file(conn, related.building_id, resident_id) if related.building_id else (None, None)
        )
        self._dwelling = dwelling_id
        items: list[Incoming] = []
        ref = f"inbox:{inbox_id}"

        def add(model: Any, fields: set[str] | None = None, deleted: bool = False) -> None:
            frozen = frozenset(fields) if fields is not None else None
            items.append(Incoming(model, SOURCE, ref, received_at, deleted=deleted, fields=frozen))

        if resident_id and related.account_id:
            add(
                Resident(id=resident_id, tenant=self.tenant, hoomdossier_account_id=related.account_id),
                {"hoomdossier_account_id"},
            )
        if file_id is not None:
            base = {"hoomdossier_building_id"} | ({"dwelling_id"} if dwelling_id else set())
            if isinstance(msg, WoningStatus) and msg.status is not None and msg.status.short:
                add(
                    self._file(file_id, hoomdossier_status=msg.status.short, bid=related.building_id),
                    base | {"hoomdossier_status"},
                )
            elif isinstance(msg, ScanStatus):
                scans = {k: bool(s.has_made_progress) for k, s in (msg.scans or {}).items()}
                add(self._file(file_id, scans=scans, bid=related.building_id), base | {"scans"})
            elif isinstance(msg, Gebruik):
                facts = gebruik_facts(msg)
                add(self._file(file_id, bid=related.building_id, **facts), base | set(facts))
            elif isinstance(msg, Delete):
                add(
                    self._file(file_id, hoomdossier_status="deleted", bid=related.building_id),
                    base | {"hoomdossier_status"},
                )
            else:
                add(self._file(file_id, bid=related.building_id), base)
            if isinstance(msg, Afspraak):
                add(self._appointment(conn, msg, file_id, resident_id, related.building_id))
            elif isinstance(msg, Woonplan):
                items.extend(self._advices(conn, msg, file_id, ref, received_at))
            elif isinstance(msg, Pdf):
                doc = self._document(conn, msg, file_id, related.building_id, inbox_id, received_at)
                if doc is not None:
                    add(doc)
            elif isinstance(msg, Delete):
                items.extend(self._advices_gone(conn, file_id, set(), ref, received_at))
        if isinstance(msg, Delete) and resident_id:
            # the owning source clears its own value: the account is gone
            add(Resident(id=resident_id, tenant=self.tenant, hoomdossier_account_id=None), {"hoomdossier_account_id"})
        merge(self.store, conn, items, self.stats)
        if resident_id:
            intakes = self.store.child_ids(conn, "intake", [resident_id], tenant=self.tenant).get(resident_id, [])
            self.journey_events += recompute_dossiers(
                self.store, conn, self.tenant, intakes, SOURCE, received_at, self.stats
            )

    # --- identity -----------------------------------------------------------------------------------------

    def _resident(
        self, conn: Connection, contact_id: int | None, account_id: int | None, user_id: int | None
    ) -> str | None:
        rid: str | None = None
        if contact_id:
            rid = self.store.resolve_ids(conn, ECONOBIS, self.tenant, "contact", [str(contact_id)])[str(contact_id)]
        elif account_id:
            rid = self.store.lookup_ids(conn, SOURCE, self.tenant, "account", [str(account_id)]).get(str(account_id))
        if rid is None:
            return None
        if account_id:
            self.store.link_ids(conn, SOURCE, self.tenant, "account", {str(account_id): rid})
        if user_id:
            self.store.link_ids(conn, SOURCE, self.tenant, "user", {str(user_id): rid})
        return rid

    def _dwelling_file(self, conn: Connection, building_id: int, resident_id: str | None) -> tuple[str, str | None]:
        """(dwelling file id, the resident's dwelling id when known)."""
        key = str(building_id)
        dwellings = (
            self.store.child_ids(conn, "dwelling", [resident_id], tenant=self.tenant).get(resident_id, [])
            if resident_id
            else []
        )
        # the same dossier as the resident's dwelling file from Econobis, when there is one
        self.store.join_dwelling_files(conn, SOURCE, self.tenant, "building", {key: dwellings})
        file_id = self.store.resolve_ids(conn, SOURCE, self.tenant, "building", [key])[key]
        return file_id, (dwellings[0] if dwellings else None)

    # --- entities -----------------------------------------------------------------------------------------

    def _file(self, file_id: str, *, bid: int | None, **values: Any) -> DwellingFile:
        return DwellingFile(
            id=file_id, tenant=self.tenant, hoomdossier_building_id=bid, dwelling_id=self._dwelling, **values
        )

    def _appointment(
        self, conn: Connection, msg: Afspraak, file_id: str, resident_id: str | None, building_id: int | None
    ) -> Appointment:
        key = str(building_id)
        aid = self.store.resolve_ids(conn, SOURCE, self.tenant, "appointment", [key])[key]
        coach_contacts = [str(c.contact_id) for c in (msg.coaches or []) if c.contact_id]
        coaches = self.store.resolve_ids(conn, ECONOBIS, self.tenant, "contact", coach_contacts)
        planned = msg.planned_at()
        return Appointment(
            id=aid,
            tenant=self.tenant,
            dwelling_file_id=file_id,
            resident_id=resident_id,
            coach_ids=[coaches[c] for c in coach_contacts],
            planned_at=planned,
            status="planned" if planned else "cleared",
        )

    def _advices(self, conn: Connection, msg: Woonplan, file_id: str, ref: str, at: datetime) -> list[Incoming]:
        """The woonplan is the whole to-do list: advices no longer in it are deleted (an emptied plan, which
        Econobis itself rejects, is applied here too)."""
        advices = msg.advices or {}
        ids = self.store.resolve_ids(conn, SOURCE, self.tenant, "advice", list(advices))
        out: list[Incoming] = []
        for key, a in advices.items():
            kind = _MEASURE_TYPES.get(a.measure_type or "", "measure")
            quantity, unit = (a.surface, "m2") if a.surface is not None else (a.count, "count")
            out.append(
                Incoming(
                    Advice(
                        id=ids[key],
                        tenant=self.tenant,
                        dwelling_file_id=file_id,
                        measure=f"{kind}:{a.measure_id}",
                        name=a.name,
                        category=a.measure_category.short if a.measure_category else None,
                        execute_self=a.execute_self,
                        quantity=quantity,
                        quantity_unit=unit if quantity is not None else None,
                        savings_gas_m3=_float(a.savings_gas),
                        savings_electricity_kwh=_float(a.savings_electricity),
                        savings_co2_kg=_float(a.co2_savings),
                    ),
                    SOURCE,
                    ref,
                    at,
                )
            )
        return out + self._advices_gone(conn, file_id, set(ids.values()), ref, at)

    def _advices_gone(self, conn: Connection, file_id: str, keep: set[str], ref: str, at: datetime) -> list[Incoming]:
        """The file's stored advices outside `keep`, as deletions."""
        gone = [
            a
            for a in self.store.child_ids(conn, "advice", [file_id], tenant=self.tenant).get(file_id, [])
            if a not in keep
        ]
        stored = self.store.load_entities(conn, gone, tenant=self.tenant)
        return [
            Incoming(Advice(id=a, tenant=self.tenant, **stored[a]["data"]), SOURCE, ref, at, deleted=True)
            for a in gone
            if a in stored
        ]

    def _document(
        self, conn: Connection, msg: Pdf, file_id: str, building_id: int | None, inbox_id: int, at: datetime
    ) -> Document | None:
        contents = msg.pdf.contents if msg.pdf else None
        if not contents:
            return None  # envelope only: the file was missing on Hoomdossier's disk
        try:
            raw = base64.b64decode(contents, validate=False)
        except (binascii.Error, ValueError):
            raw = b""
        digest = hashlib.sha256(raw).hexdigest()
        key = f"{building_id}:{digest}"
        did = self.store.resolve_ids(conn, SOURCE, self.tenant, "document", [key])[key]
        return Document(
            id=did,
            tenant=self.tenant,
            dwelling_file_id=file_id,
            kind="hoomdossier-report",
            sha256=digest,
            size_bytes=len(raw),
            inbox_id=inbox_id,
            received_at=at,
        )
