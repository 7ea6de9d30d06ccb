"""Consent as data: what a resident agreed to, per purpose and partner, with who said it and when — and the
one check every outbound push and every authentic-source fetch goes through (docs/consent.md).

- **Purposes** (`Purpose`): sharing the resident's data with a partner, fetching from an authentic source under
  the resident's mandate, applying for premiums on the resident's behalf.
- **Records**: what each system says (a partner's flag, a message that implies it, a coordinator) is recorded
  with `record` — its source, the reference where it said so, and when. Only a CHANGE of what that source said
  last is a new statement; a source repeating itself (every pull re-reads the flag) is not: it only moves when
  the hub last saw the source say it. The latest change is in force, whichever system made it — except that a
  grant the hub cannot date after the withdrawal in force (a flag read for the first time, a change it did not
  see happen) never lifts that withdrawal (hub/store/consent.py, docs/consent.md).
- **No record**: what it means is decided per purpose in `WITHOUT_RECORD`, once, here: nothing is shared,
  fetched or applied for without a granted statement.
- **The check** (`check`): the outbox worker (hub/worker.py) asks it before it sends an item whose operation
  the connector declared (`Push.consent`: operation → `ConsentNeed`); an item without consent is `withheld`,
  visible in the outbox counts, and resumes when consent is recorded (`record` makes it due again). An
  operation without a declaration (an erasure, a write into the cooperation's own CRM) is not checked. An
  authentic source's pull declares `Pull.mandate` and fetches only for the residents `check` allows
  (`mandated_run`).

A withdrawal takes effect from the next run on: an item already claimed by a running push is sent; every
later attempt of every item is checked again. Nothing here names a partner."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from hub.logs import log_event
from hub.store import ConsentRow, Store, utcnow

if TYPE_CHECKING:
    from hub.connector import Outcome, PartnerRun

log = logging.getLogger("hub.consent")


class Purpose(StrEnum):
    """What a resident consents to (the value is what the store and the CLI show)."""

    SHARE_WITH_PARTNER = "share-with-partner"  # the resident's data goes to a partner (registration, links)
    FETCH_UNDER_MANDATE = "fetch-under-mandate"  # the hub reads an authentic source about the resident
    APPLY_FOR_PREMIUM = "apply-for-premium"  # the hub files a premium application in the resident's name


# What no record means, per purpose. Sharing needs a granted statement: the cooperation's privacy agreement
# (the CRM's today) or the partner's own flag. Fetching from an authentic source needs the resident's mandate,
# and a premium application is made in the resident's name: neither is ever presumed.
WITHOUT_RECORD: Mapping[Purpose, bool] = {
    Purpose.SHARE_WITH_PARTNER: False,
    Purpose.FETCH_UNDER_MANDATE: False,
    Purpose.APPLY_FOR_PREMIUM: False,
}

# The source of statements a coordinator records by hand (`hub consent grant|withdraw`).
COORDINATOR = "coordinator"

Subjects = Callable[[Store, Connection, str, Mapping[str, Any]], Sequence[str] | None]
"""(store, conn, tenant, outbox payload) → the canonical ids of the residents whose data the item shares;
None while the hub does not know them yet (the item waits)."""


@dataclass(frozen=True)
class ConsentNeed:
    """What one outbox operation shares: `purpose` with `partner` (who receives the data: not always the
    partner whose outbox it is — a registration through one partner shares with another), about the
    residents `subjects` names."""

    purpose: Purpose
    partner: str
    subjects: Subjects


@dataclass(frozen=True)
class Verdict:
    """The answer of `check` for some residents: allowed, or which of them lack consent and why."""

    purpose: Purpose
    partner: str
    residents: tuple[str, ...]
    missing: tuple[str, ...] = ()  # no statement at all
    withdrawn: tuple[str, ...] = ()  # the standing statement says no
    standing: Mapping[str, ConsentRow] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return not self.withdrawn and (not self.missing or WITHOUT_RECORD[self.purpose])

    @property
    def unknown(self) -> bool:
        """Some resident has no statement yet (asking the system that holds it may help)."""
        return bool(self.missing)

    def reason(self) -> str:
        """Why not, for the outbox row and the coordinator: purpose, partner, sources; no personal data."""
        parts = []
        if self.withdrawn:
            sources = sorted(
                {f"{self.standing[r]['source']} ({self.standing[r]['source_ref']})" for r in self.withdrawn}
            )
            parts.append(f"withdrawn according to {', '.join(sources)}")
        if self.missing and not WITHOUT_RECORD[self.purpose]:
            parts.append("no consent recorded")
        return f"no consent to {self.purpose.value} {self.partner}: " + "; ".join(parts)

    def hold(self) -> dict[str, Any]:
        """What an item is withheld for (kept on the outbox row; `record` resumes it by this)."""
        return {"purpose": self.purpose.value, "partner": self.partner, "residents": list(self.residents)}


def check(
    store: Store, conn: Connection, tenant: str, residents: Iterable[str], purpose: Purpose, partner: str
) -> Verdict:
    """May the hub act for `purpose` with `partner` for all of these residents of `tenant`? The one check."""
    wanted = tuple(sorted({str(r) for r in residents}))
    standing = store.consent_current(conn, tenant, wanted, purpose.value, partner)
    return Verdict(
        purpose,
        partner,
        wanted,
        missing=tuple(r for r in wanted if r not in standing),
        withdrawn=tuple(r for r in wanted if r in standing and not standing[r]["granted"]),
        standing=standing,
    )


@dataclass(frozen=True)
class Recorded:
    """What `record` did: whether the statement was new (logged), the one standing now, and the outbox items
    it made due again."""

    logged: bool
    standing: ConsentRow | None
    resumed: int = 0


def record(
    store: Store,
    conn: Connection,
    tenant: str,
    resident_id: str,
    purpose: Purpose,
    partner: str,
    granted: bool,
    source: str,
    source_ref: str,
    observed_at: datetime | None = None,
    implied: bool = False,
    said_after: datetime | None = None,
    undated: bool = False,
) -> Recorded:
    """Record what `source` says about one resident (in the caller's transaction, with the work that saw it).
    Only a change of what that source said last is a new statement (`logged`); when a new statement leaves
    consent granted, the items withheld for it are due again. `implied`: the source did not say it but only
    acts so while consent is on (e.g. a partner that sends a resident's data only with its own consent flag
    set); such a statement counts only when it changes what that source said before. `said_after`: the
    earliest the source can have said it, when the caller knows (the coordinator's statement: when recorded;
    an audit-trail revision: after the previous read of the trail); a grant lifts a withdrawal in force only
    when it is known to be said after it. `undated`: the statement may be older than anything the hub saw,
    even when it changes what the source said (a sign-up collected before it was sent on: the hub's own send
    changed the partner's flag, so the change says nothing about when the resident said it); it is never
    dated, so it does not lift a withdrawal."""
    logged, standing = store.consent_record(
        conn,
        tenant,
        resident_id,
        purpose.value,
        partner,
        granted,
        source,
        source_ref,
        observed_at,
        implied,
        said_after,
        undated=undated,
    )
    resumed = 0
    if logged and standing is not None and standing["granted"]:
        resumed = store.outbox_resume_withheld(conn, tenant, resident_id, purpose.value, partner)
    if logged:
        log_event(
            log,
            "consent recorded",
            tenant=tenant,
            purpose=purpose.value,
            partner=partner,
            granted=granted,
            source=source,
            stands=bool(standing and standing["source"] == source and standing["granted"] == granted),
            resumed=resumed,
        )
    return Recorded(logged, standing, resumed)


def record_for(
    store: Store,
    conn: Connection,
    tenant: str,
    resident_id: str,
    purpose: Purpose,
    partners: Iterable[str],
    granted: bool,
    source: str,
    source_ref: str,
    observed_at: datetime | None = None,
    said_after: datetime | None = None,
    undated: bool = False,
) -> int:
    """`record` one statement that covers several partners (a privacy agreement); returns how many were new."""
    return sum(
        record(
            store,
            conn,
            tenant,
            resident_id,
            purpose,
            p,
            granted,
            source,
            source_ref,
            observed_at,
            said_after=said_after,
            undated=undated,
        ).logged
        for p in partners
    )


# --- by hand: a coordinator ----------------------------------------------------------------------------

_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,63}$")


class ConsentError(ValueError):
    """A coordinator's statement that cannot be recorded (unknown resident, purpose or partner, a bad role)."""


def record_by_coordinator(
    store: Store,
    tenant: str,
    resident_id: str,
    purpose: str,
    partner: str,
    granted: bool,
    recorded_by: str,
    known_partners: Iterable[str],
) -> Recorded:
    """What a resident told the cooperation directly (a phone call, a letter, the desk): recorded as the
    coordinator's statement (source `coordinator`, reference `coordinator:<role>`), said when recorded, so it
    is in force over what a partner said before it; a partner repeating its unchanged flag later does not undo
    it, only a change of that flag does. A withdrawal stops sharing from the next run on; a grant makes the
    items withheld for it due again. `recorded_by` is a role or staff id, never the resident."""
    if not _ROLE.match(recorded_by or "") or "@" in recorded_by:
        raise ConsentError("--by must be the coordinator's role or staff id (letters, digits, . _ : / -; at most 64)")
    try:
        wanted = Purpose(purpose)
    except ValueError:
        raise ConsentError(f"unknown purpose {purpose!r}; one of {[p.value for p in Purpose]}") from None
    partners = sorted(known_partners)
    if partner not in partners:
        raise ConsentError(f"tenant {tenant} has no partner {partner!r}; configured: {partners}")
    with store.begin() as conn:
        row = store.load_entities(conn, [resident_id], tenant=tenant).get(resident_id)
        if row is None or row["entity"] != "resident" or row["deleted_at"] is not None:
            raise ConsentError(f"tenant {tenant} has no live resident with canonical id {resident_id}")
        now = utcnow()
        ref = f"{COORDINATOR}:{recorded_by}"
        return record(store, conn, tenant, resident_id, wanted, partner, granted, COORDINATOR, ref, now, said_after=now)


def consent_report(store: Store, tenant: str, resident_id: str) -> dict[str, Any]:
    """What is in force for one resident, what each source said last, and the statements behind it, oldest
    first (no personal data: ids, purposes, partners, sources and times), for `hub consent show` and the
    coordinator's job. `in_force` marks the statement that decides; a source's last word that is not in force
    is either older than it or a grant the hub cannot date after the withdrawal in force."""

    def when(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    def plain(r: ConsentRow, in_force: bool | None = None) -> dict[str, Any]:
        out = {
            "purpose": r["purpose"],
            "partner": r["partner"],
            "granted": r["granted"],
            "source": r["source"],
            "source_ref": r["source_ref"],
            "observed_at": r["observed_at"].isoformat(),
        }
        if "last_seen_at" in r:
            out["last_seen_at"] = when(r.get("last_seen_at"))
            out["said_after"] = when(r.get("said_after"))
        if in_force is not None:
            out["in_force"] = in_force
        return out

    with store.begin() as conn:
        standing = store.consent_of(conn, tenant, resident_id)
        history = store.consent_history(conn, tenant, resident_id)
    deciding = {r.get("log_id") for r in standing}
    last: dict[tuple[str, str, str], ConsentRow] = {}
    for r in sorted(history, key=lambda h: (h["observed_at"], h.get("id", 0))):
        last[(r["purpose"], r["partner"], r["source"])] = r
    return {
        "tenant": tenant,
        "resident": resident_id,
        "standing": [plain(r) for r in standing],
        "sources": [plain(last[k], last[k].get("id") in deciding) for k in sorted(last)],
        "history": [plain(r, r.get("id") in deciding) for r in history],
    }


# --- authentic sources ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mandate:
    """A pull of an authentic source, read only under the resident's mandate (`Pull.mandate`):
    `subjects(run)` names the residents it would fetch for; `fetch(run, residents, full)` fetches for the
    ones `check` allows, and only those. `partner` is the source (the partner the mandate is for)."""

    partner: str
    subjects: Callable[[PartnerRun], Sequence[str]]
    fetch: Callable[[PartnerRun, Sequence[str], bool], Outcome]
    purpose: Purpose = Purpose.FETCH_UNDER_MANDATE


@dataclass
class MandatedOutcome:
    """A mandated pull's own figures plus the residents it left out for want of a mandate."""

    outcome: Outcome
    fetched_for: int
    withheld: int

    def metadata(self) -> dict[str, Any]:
        return {**self.outcome.metadata(), "fetched_for": self.fetched_for, "withheld_without_mandate": self.withheld}


def allowed_residents(
    store: Store, tenant: str, residents: Sequence[str], purpose: Purpose, partner: str
) -> tuple[list[str], list[str]]:
    """(allowed, withheld) of these residents, each checked on its own (one resident's missing mandate does
    not stop the others)."""
    with store.begin() as conn:
        verdict = check(store, conn, tenant, residents, purpose, partner)
    blocked = set(verdict.withdrawn) | (set() if WITHOUT_RECORD[purpose] else set(verdict.missing))
    return [r for r in residents if r not in blocked], [r for r in residents if r in blocked]


def mandated_run(mandate: Mandate) -> Callable[[PartnerRun, bool], MandatedOutcome]:
    """The `Pull.run` of an authentic source: fetch for the residents with a mandate, and only for them."""

    def run(partner_run: PartnerRun, full: bool) -> MandatedOutcome:
        residents = list(mandate.subjects(partner_run))
        allowed, withheld = allowed_residents(
            partner_run.store, partner_run.tenant_id, residents, mandate.purpose, mandate.partner
        )
        log_event(
            log,
            "mandated fetch",
            tenant=partner_run.tenant_id,
            partner=mandate.partner,
            fetched_for=len(allowed),
            withheld=len(withheld),
        )
        return MandatedOutcome(mandate.fetch(partner_run, allowed, full), len(allowed), len(withheld))

    return run


__all__ = [
    "COORDINATOR",
    "WITHOUT_RECORD",
    "ConsentNeed",
    "Mandate",
    "MandatedOutcome",
    "Purpose",
    "Recorded",
    "Verdict",
    "allowed_residents",
    "check",
    "mandated_run",
    "record",
    "record_for",
]
