"""The resident's mandate and INSZ: what lets the hub read their Woningpas (hub/consent.py, `fetch-under-mandate`).

A holder of a real right gives the desk (the tenant's organisation) a mandate in Woningpas itself, with eID or
itsme; the desk then tells the hub: this resident, this INSZ (rijksregisternummer), this mandate reference.
`register_mandate` records it as two facts:
- the INSZ as a cross-reference (system `woningpas`, entity `holder`): it stays out of every entity's data, the
  mart, logs and consent records, and an erasure hashes it away with the resident's other partner ids;
- the mandate as consent (`fetch-under-mandate` / `woningpas`, source `coordinator`, reference
  `mandate:<ref>`), the one check the pull goes through.

Woningpas itself says when a mandate no longer stands: a 403 `MANDAAT_ONTBREKEND` on the holder's properties
is recorded as a withdrawal (source `woningpas`), so the resident is not asked for again until the desk records
a new mandate."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection

from connectors.woningpas.insz import valid_insz
from connectors.woningpas.settings import HOLDER, PARTNER
from hub.consent import COORDINATOR, Purpose, Recorded, check, record
from hub.store import Store, utcnow

_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")


class MandateError(ValueError):
    """A mandate that cannot be recorded; the message never shows the INSZ."""


def register_mandate(
    store: Store,
    conn: Connection,
    tenant: str,
    resident_id: str,
    insz: str,
    reference: str,
    *,
    granted: bool = True,
    source: str = COORDINATOR,
    requested_by: str | None = None,
) -> Recorded:
    """Record that `resident_id` gave (or withdrew) the tenant's organisation a Woningpas mandate, and their
    INSZ. Refused: an INSZ that fails its checksum, an INSZ already linked to another resident, a reference that
    is not a plain id (it is shown in the consent history). `requested_by` (the coordinator's role or staff
    id, never the resident) is kept in the consent record's reference (`mandate:<ref>:by:<role>`); the desk's
    statement counts as said when recorded, so a new mandate lifts an earlier withdrawal."""
    digits = normalise_insz(insz)
    if not valid_insz(digits):
        raise MandateError("not a valid INSZ (11 digits with a matching checksum); the value is not shown")
    ref = _reference(reference, requested_by)
    _live_resident(store, conn, tenant, resident_id)
    known = store.lookup_ids(conn, PARTNER, tenant, HOLDER, [digits]).get(digits)
    if known is not None and known != resident_id:
        raise MandateError("this INSZ is linked to another resident of the tenant")
    store.link_ids(conn, PARTNER, tenant, HOLDER, {digits: resident_id})
    said = utcnow() if source == COORDINATOR else None
    return record(
        store, conn, tenant, resident_id, Purpose.FETCH_UNDER_MANDATE, PARTNER, granted, source, ref, said_after=said
    )


def withdraw_mandate(
    store: Store, conn: Connection, tenant: str, resident_id: str, reference: str, *, requested_by: str | None = None
) -> Recorded:
    """The resident withdrew the mandate (told the desk, or withdrew it in Woningpas): recorded as the
    coordinator's withdrawal of `fetch-under-mandate` / `woningpas`, so the pull does not ask for them again
    until a new mandate is recorded. The INSZ stays linked (a new mandate needs it again; an erasure hashes
    it away)."""
    ref = _reference(reference, requested_by)
    _live_resident(store, conn, tenant, resident_id)
    return record(
        store, conn, tenant, resident_id, Purpose.FETCH_UNDER_MANDATE, PARTNER, False, COORDINATOR, ref,
        said_after=utcnow(),
    )  # fmt: skip


@dataclass(frozen=True)
class MandateRow:
    """One resident whose INSZ the hub knows, with the mandate statement in force (None: none recorded)."""

    resident_id: str
    insz_masked: str
    granted: bool | None
    source: str | None
    source_ref: str | None
    recorded_at: str | None


def list_mandates(store: Store, conn: Connection, tenant: str) -> list[MandateRow]:
    """The tenant's live residents with a known INSZ (masked: only its last 3 digits) and their mandate."""
    known = holders(store, conn, tenant)
    verdict = check(store, conn, tenant, known, Purpose.FETCH_UNDER_MANDATE, PARTNER)
    rows = []
    for rid in sorted(known):
        st = verdict.standing.get(rid)
        if st is None:
            rows.append(MandateRow(rid, mask_insz(known[rid]), None, None, None, None))
            continue
        at = st["recorded_at"].isoformat(timespec="seconds")
        rows.append(MandateRow(rid, mask_insz(known[rid]), bool(st["granted"]), st["source"], st["source_ref"], at))
    return rows


def normalise_insz(value: str) -> str:
    """An INSZ as typed (85.07.30-033.28, spaces) → its 11 digits (not checked)."""
    return re.sub(r"[\s.-]", "", value or "")


def mask_insz(value: str) -> str:
    """All digits but the last 3 masked: what a listing may show."""
    return "*" * max(0, len(value) - 3) + value[-3:]


def _reference(reference: str, requested_by: str | None) -> str:
    if not _REF.match(reference or ""):
        raise MandateError("the mandate reference must be a plain id (letters, digits, . _ : / -; at most 64)")
    if requested_by is None:
        return f"mandate:{reference}"
    if not _REF.match(requested_by) or "@" in requested_by:
        raise MandateError("requested-by must be the coordinator's role or staff id (letters, digits, . _ : / -)")
    return f"mandate:{reference}:by:{requested_by}"


def _live_resident(store: Store, conn: Connection, tenant: str, resident_id: str) -> None:
    row = store.load_entities(conn, [resident_id], tenant=tenant).get(resident_id)
    if row is None or row["entity"] != "resident" or row["deleted_at"] is not None:
        raise MandateError(f"tenant {tenant} has no live resident with canonical id {resident_id}")


def record_mandate_missing(store: Store, conn: Connection, tenant: str, resident_id: str) -> bool:
    """Woningpas answered 403 `MANDAAT_ONTBREKEND` for the resident: the mandate no longer stands."""
    return record(
        store,
        conn,
        tenant,
        resident_id,
        Purpose.FETCH_UNDER_MANDATE,
        PARTNER,
        False,
        PARTNER,
        "eigendommen:MANDAAT_ONTBREKEND",
    ).logged


def holders(store: Store, conn: Connection, tenant: str) -> dict[str, str]:
    """resident canonical id → INSZ, for the tenant's live residents whose INSZ the hub knows."""
    return {rid: insz for insz, rid in store.live_external_ids(conn, PARTNER, tenant, HOLDER, "resident").items()}
