"""The Woningpas pull: for each resident with a mandate, their properties → canonical dwellings (keyed
`be:vl:geu:…`, joined with the dwelling their intake named), building facts, every EPC and the renovation
obligation; incremental through the change feed, a full re-read as the nightly reconcile and the backfill.

- **Resumable and idempotent.** Each unit is merged in its own transaction; the feed's cursor moves only after
  a page's units are merged (with the set of units still to read again in the same transaction). A re-read of
  an unchanged pass changes nothing (the merge compares content hashes).
- **Partial passes.** A section reported `bron_onbeschikbaar` is not merged at all — what the hub knew of it
  stays — and the unit is read again on the next run (`pending`). A pass that does not fit the contract is
  quarantined with its reason (`woningpas` / `unit`), the others go on.
- **Doubtful joins.** A unit whose address only nearly matches a dwelling the resident already has is not
  imported: it becomes a match candidate on the follow-up list, until a coordinator decides (`decide_match`).
- **Faults.** 429 and 503 are retried by the core client (Retry-After honoured, the shared budget); what still
  fails leaves the unit or holder pending, never a half-written record."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from connectors.woningpas.address import join_unit
from connectors.woningpas.client import WoningpasClient
from connectors.woningpas.mandates import holders, record_mandate_missing
from connectors.woningpas.mapping import Mapped, MappingError, map_pass
from connectors.woningpas.schemas import Eigendom
from connectors.woningpas.settings import (
    EARLY_PHASES,
    EPC,
    FEED_CURSOR,
    FEED_MAX_PAGE_SIZE,
    HOLDER_CURSOR_PREFIX,
    MATCH_FOLLOW_UP,
    OBLIGATION_FOLLOW_UP,
    PARTNER,
    PENDING_CURSOR,
    QUARANTINE_SOURCE,
    UNIT,
    UNIT_FILE,
)
from hub.canonical import Dwelling, DwellingFile, EnergyCertificate
from hub.followup import Task, close_follow_ups, open_follow_ups, raise_follow_ups
from hub.http import (
    OutcomeUnknown,
    PartnerAuthError,
    PartnerError,
    PartnerNotFound,
    PartnerRateLimited,
    PartnerServerError,
    PartnerUnavailable,
)
from hub.journey import recompute_dossiers
from hub.logs import log_event
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store, utcnow
from hub.worker import call_metadata

log = logging.getLogger(__name__)
SOURCE = PARTNER
TRANSIENT = (PartnerRateLimited, PartnerServerError, PartnerUnavailable, OutcomeUnknown)


@dataclass
class PullReport:
    """What one Woningpas pull of one tenant did (run metadata)."""

    tenant: str
    full: bool = False
    merge: MergeStats = field(default_factory=MergeStats)
    holders_read: int = 0
    units_read: int = 0
    feed_changes: int = 0
    feed_pages: int = 0
    unknown_units: int = 0
    sections_unavailable: int = 0
    pending_units: int = 0
    pending_holders: int = 0
    match_candidates: int = 0
    quarantined: int = 0
    mandates_missing: int = 0
    not_found: int = 0
    journey_events: int = 0
    follow_ups_raised: int = 0
    follow_ups_closed: int = 0
    seconds: float = 0.0
    calls: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {
            "full_pull": self.full,
            "holders_read": self.holders_read,
            "units_read": self.units_read,
            "feed_changes": self.feed_changes,
            "feed_pages": self.feed_pages,
            "unknown_units": self.unknown_units,
            "sections_unavailable": self.sections_unavailable,
            "pending_units": self.pending_units,
            "pending_holders": self.pending_holders,
            "match_candidates": self.match_candidates,
            "quarantined": self.quarantined,
            "mandates_missing": self.mandates_missing,
            "units_not_found": self.not_found,
            "created": self.merge.total("created"),
            "updated": self.merge.total("updated"),
            "unchanged": self.merge.total("unchanged"),
            "deleted": self.merge.total("deleted"),
            "journey_events_added": self.journey_events,
            "follow_ups_raised": self.follow_ups_raised,
            "follow_ups_closed": self.follow_ups_closed,
            "by_entity": self.merge.as_dict(),
            **call_metadata(self.calls),
            "seconds": round(self.seconds, 2),
        }


@dataclass
class Pending:
    """Units to read again (unit → the resident it was read for) and holders whose properties failed."""

    units: dict[str, str] = field(default_factory=dict)
    holders: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, raw: str | None) -> Pending:
        data = json.loads(raw) if raw else {}
        return cls(dict(data.get("units", {})), set(data.get("holders", [])))

    def dump(self) -> str:
        return json.dumps({"units": dict(sorted(self.units.items())), "holders": sorted(self.holders)})


class WoningpasPull:
    """Pull one tenant's Woningpas data for the residents whose mandate stands."""

    def __init__(
        self,
        store: Store,
        client: WoningpasClient,
        tenant: str,
        *,
        warn_days: int = 365,
        today: date | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.tenant = tenant
        self.warn_days = warn_days
        self.today = today
        self.report = PullReport(tenant)
        self.pending = Pending()
        self.touched: set[str] = set()  # residents whose dossiers are re-derived
        self.read: set[str] = set()  # units read in this run
        self.insz: dict[str, str] = {}

    # --- entry points ---------------------------------------------------------------------------------------

    def run(self, residents: Sequence[str], full: bool = False) -> PullReport:
        started = time.monotonic()
        self.report.full = full
        with self.store.begin() as conn:
            cursors = self.store.cursors(conn, SOURCE, self.tenant)
            self.insz = holders(self.store, conn, self.tenant)
        self.pending = Pending.load(cursors.get(PENDING_CURSOR))
        allowed = [r for r in residents if r in self.insz]
        first = FEED_CURSOR not in cursors
        if full or first:
            # where the feed stands before the re-read: what changes during it is read from there next time
            end = self._feed_end(cursors.get(FEED_CURSOR))
            for rid in allowed:
                self._read_holder(rid)
            self._retry_pending(set(allowed))
            with self.store.begin() as conn:
                if end is not None:
                    self.store.set_cursor(conn, SOURCE, self.tenant, FEED_CURSOR, end)
                self._save_pending(conn)
        else:
            new = [r for r in allowed if HOLDER_CURSOR_PREFIX + r not in cursors or r in self.pending.holders]
            for rid in new:
                self._read_holder(rid)
            self._retry_pending(set(allowed))
            self._follow_feed(cursors[FEED_CURSOR], set(allowed))
        self._finish(started)
        return self.report

    def reread(self, external_ids: Iterable[str]) -> PullReport:
        """Read quarantined passes again (`{gebouweenheidId}@{resident}`): one that maps now leaves quarantine."""
        started = time.monotonic()
        with self.store.begin() as conn:
            self.pending = Pending.load(self.store.get_cursor(conn, SOURCE, self.tenant, PENDING_CURSOR))
        for ext in sorted(set(external_ids)):
            unit, _, rid = ext.partition("@")
            if unit.isdigit() and rid:
                self._read_unit(unit, rid)
        with self.store.begin() as conn:
            self._save_pending(conn)
        self._finish(started)
        return self.report

    # --- reading --------------------------------------------------------------------------------------------

    def _feed_end(self, cursor: str | None) -> str | None:
        try:
            last = None
            for page in self.client.iter_changes(cursor=cursor, limit=FEED_MAX_PAGE_SIZE):
                self.report.feed_pages += 1
                last = page.cursor
            return last
        except TRANSIENT as exc:
            log_event(log, "woningpas feed not reachable; cursor kept", logging.WARNING, tenant=self.tenant,
                      error=type(exc).__name__)  # fmt: skip
            return None

    def _follow_feed(self, cursor: str, allowed: set[str]) -> None:
        """The change feed from the stored cursor: the units it names are read again (once per run), then the
        cursor moves past the page, with what is still pending, in one transaction."""
        while True:
            try:
                page = self.client.changes(cursor=cursor, limit=self.client.page_size)
            except TRANSIENT:
                return  # the cursor stays: the next run reads from here
            self.report.feed_pages += 1
            self.report.feed_changes += len(page.changes)
            units = list(dict.fromkeys(str(c.get("gebouweenheidId")) for c in page.changes))
            with self.store.begin() as conn:
                dwellings = self.store.lookup_ids(conn, SOURCE, self.tenant, UNIT, units)
                rows = self.store.load_entities(conn, set(dwellings.values()), tenant=self.tenant)
            for unit in units:
                if unit in self.read:
                    continue
                rid = self.pending.units.get(unit) or (rows.get(dwellings.get(unit, ""), {}) or {}).get("data", {}).get(
                    "resident_id"
                )
                if not rid:
                    self.report.unknown_units += 1  # a unit the hub never read: the nightly full read finds its holder
                    continue
                if rid in allowed:
                    self._read_unit(unit, rid)
            with self.store.begin() as conn:
                self.store.set_cursor(conn, SOURCE, self.tenant, FEED_CURSOR, page.cursor)
                self._save_pending(conn)
            cursor = page.cursor
            if not page.more:
                return

    def _retry_pending(self, allowed: set[str]) -> None:
        for unit, rid in sorted(self.pending.units.items()):
            if unit not in self.read and rid in allowed:
                self._read_unit(unit, rid)

    def _read_holder(self, rid: str) -> None:
        try:
            raw = self.client.properties(self.insz[rid])
        except PartnerAuthError as exc:
            if "MANDAAT_ONTBREKEND" in exc.message:
                with self.store.begin() as conn:
                    record_mandate_missing(self.store, conn, self.tenant, rid)
                self.report.mandates_missing += 1
                self.pending.holders.discard(rid)
                return
            raise
        except TRANSIENT:
            self.pending.holders.add(rid)
            return
        self.report.holders_read += 1
        units: list[str] = []
        for row in raw:
            try:
                units.append(str(Eigendom.model_validate(row).gebouweenheidId))
            except ValidationError:
                self._quarantine("holder", f"?@{rid}", "a property row does not fit the contract", row)
        for unit in dict.fromkeys(units):
            if unit not in self.read:
                self._read_unit(unit, rid)
        self.pending.holders.discard(rid)
        with self.store.begin() as conn:
            self.store.set_cursor(conn, SOURCE, self.tenant, HOLDER_CURSOR_PREFIX + rid, utcnow().isoformat())
            self._save_pending(conn)

    def _read_unit(self, unit: str, rid: str) -> None:
        self.read.add(unit)
        ext = f"{unit}@{rid}"
        try:
            raw = self.client.passport(int(unit))
        except PartnerNotFound:
            self.report.not_found += 1
            self.pending.units.pop(unit, None)
            return
        except PartnerAuthError:
            self.report.mandates_missing += 1  # the mandate does not (or no longer) cover this unit
            self.pending.units.pop(unit, None)
            return
        except TRANSIENT:
            self.pending.units[unit] = rid
            return
        self.report.units_read += 1
        try:
            mapped = map_pass(raw)
        except MappingError as exc:
            self._quarantine("unit", ext, f"pass of gebouweenheid {unit}: {exc}", raw)
            self.pending.units.pop(unit, None)
            return
        with self.store.begin() as conn:
            merged = self._merge(conn, mapped, rid)
            if merged:
                self.store.quarantine_resolve(conn, self.tenant, QUARANTINE_SOURCE, "unit", [ext])
        if mapped.unavailable and merged:
            self.report.sections_unavailable += len(mapped.unavailable)
            self.pending.units[unit] = rid
        else:
            self.pending.units.pop(unit, None)

    def _quarantine(self, entity: str, ext: str, reason: str, payload: Any) -> None:
        with self.store.begin() as conn:
            self.store.quarantine_put(conn, self.tenant, QUARANTINE_SOURCE, entity, ext, reason, payload)
        self.report.quarantined += 1
        self.report.merge.add(entity, "quarantined")

    def _save_pending(self, conn: Connection) -> None:
        self.report.pending_units = len(self.pending.units)
        self.report.pending_holders = len(self.pending.holders)
        self.store.set_cursor(conn, SOURCE, self.tenant, PENDING_CURSOR, self.pending.dump())

    # --- merging --------------------------------------------------------------------------------------------

    def _dwelling_id(self, conn: Connection, m: Mapped, rid: str) -> str | None:
        """The canonical dwelling of the unit: known by a registry key, joined with one of the resident's
        dwellings, or new. None while a doubtful join waits for a coordinator."""
        known = self.store.lookup_ids(conn, "hub", self.tenant, "dwelling", list(m.keys))
        found = next((known[k] for k in m.keys if k in known), None)
        if found is None:
            mine = {
                r["canonical_id"]: r["data"]
                for r in self.store.entities_of(conn, "dwelling", tenant=self.tenant, parents=[rid], live=True)
            }
            join = join_unit(m.address, m.keys, mine)
            if join.kind == "doubtful" and join.dwelling_id:
                self._candidate(conn, m, join.dwelling_id, join.reason)
                return None
            found = join.dwelling_id
        if found is None:
            found = self.store.resolve_ids(conn, "hub", self.tenant, "dwelling", [m.dwelling_key])[m.dwelling_key]
        self.store.link_ids(conn, "hub", self.tenant, "dwelling", {m.dwelling_key: found})
        self.store.link_ids(conn, SOURCE, self.tenant, UNIT, {str(m.unit_id): found})
        return found

    def _candidate(self, conn: Connection, m: Mapped, dwelling_id: str, why: str) -> None:
        self.report.match_candidates += 1
        dossiers = self._dossiers_of(conn, [dwelling_id])
        raise_follow_ups(
            self.store,
            conn,
            self.tenant,
            [
                Task(
                    key=f"{MATCH_FOLLOW_UP}:{m.unit_id}:{dwelling_id}",
                    kind=MATCH_FOLLOW_UP,
                    reason=(
                        f"Woningpas gebouweenheid {m.unit_id} may be the dossier's dwelling ({why}): confirm or "
                        "reject the join; until then its data is not imported"
                    ),
                    dossier_id=dossiers[0] if dossiers else None,
                    dwelling_id=dwelling_id,
                    detail={"gebouweenheid": m.unit_id, "candidate_dwelling": dwelling_id, "why": why},
                )
            ],
            SOURCE,
        )

    def _merge(self, conn: Connection, m: Mapped, rid: str) -> bool:
        did = self._dwelling_id(conn, m, rid)
        if did is None:
            return False
        now = utcnow()
        ref = f"gebouweenheid:{m.unit_id}"
        current = self.store.load_entities(conn, [did], tenant=self.tenant).get(did)
        owner = (current or {}).get("data", {}).get("resident_id") if current else None
        dwelling = Dwelling(
            id=did, tenant=self.tenant, dwelling_key=m.dwelling_key, resident_id=owner or rid, **m.dwelling
        )
        items = [Incoming(dwelling, SOURCE, ref, now, natural_key=m.dwelling_key)]
        unit = str(m.unit_id)
        self.store.join_dwelling_files(conn, SOURCE, self.tenant, UNIT_FILE, {unit: [did]})
        file_id = self.store.resolve_ids(conn, SOURCE, self.tenant, UNIT_FILE, [unit])[unit]
        items.append(
            Incoming(
                DwellingFile(id=file_id, tenant=self.tenant, dwelling_id=did, **m.file),
                SOURCE,
                ref,
                now,
                fields=frozenset({"dwelling_id", *m.file}),
            )
        )
        if m.certificates is not None:
            numbers = [c["certificate_number"] for c in m.certificates]
            ids = self.store.resolve_ids(conn, SOURCE, self.tenant, EPC, numbers)
            for c in m.certificates:
                cert = EnergyCertificate(id=ids[c["certificate_number"]], tenant=self.tenant, dwelling_id=did, **c)
                items.append(Incoming(cert, SOURCE, f"epc:{c['certificate_number']}", now))
            held = self.store.entities_of(conn, "energy_certificate", tenant=self.tenant, parents=[did], live=True)
            mine = self.store.external_ids(conn, SOURCE, self.tenant, EPC, [r["canonical_id"] for r in held])
            for r in held:
                if r["canonical_id"] in mine and mine[r["canonical_id"]] not in numbers:
                    gone = EnergyCertificate(id=r["canonical_id"], tenant=self.tenant, **r["data"])
                    items.append(Incoming(gone, SOURCE, f"epc:{mine[r['canonical_id']]}", now, deleted=True))
        merge(self.store, conn, items, self.report.merge)
        self.touched.add(owner or rid)
        return True

    # --- dossiers and the follow-up list ----------------------------------------------------------------------

    def _dossiers_of(self, conn: Connection, dwelling_ids: list[str]) -> list[str]:
        return [
            r["canonical_id"]
            for r in self.store.live_entities(conn, "dossier", self.tenant)
            if r["data"].get("dwelling_id") in dwelling_ids
        ]

    def _finish(self, started: float) -> None:
        now = utcnow()
        with self.store.begin() as conn:
            intakes = [
                i
                for ids in self.store.child_ids(conn, "intake", self.touched, tenant=self.tenant).values()
                for i in ids
            ]
            self.report.journey_events = recompute_dossiers(
                self.store, conn, self.tenant, intakes, SOURCE, now, self.report.merge
            )
            self._deadlines(conn)
        self.report.seconds = time.monotonic() - started
        self.report.calls = self.client.http.stats.as_dict()
        log_event(
            log,
            "woningpas pull finished",
            tenant=self.tenant,
            partner=SOURCE,
            units=self.report.units_read,
            created=self.report.merge.total("created"),
            updated=self.report.merge.total("updated"),
            pending=self.report.pending_units,
            quarantined=self.report.quarantined,
        )

    def _deadlines(self, conn: Connection) -> None:
        """Dossiers whose renovation deadline is near while they are still early go on the follow-up list;
        a task whose obligation is met, or whose dossier moved on, is closed."""
        today = self.today or utcnow().date()
        horizon = today + timedelta(days=self.warn_days)
        raise_: list[Task] = []
        keep: set[str] = set()
        for r in self.store.live_entities(conn, "dossier", self.tenant):
            d = r["data"]
            ob = d.get("renovation_obligation") or {}
            if not ob or ob.get("met") or d.get("phase") not in EARLY_PHASES:
                continue
            deadline = date.fromisoformat(str(ob["deadline"])[:10])
            if deadline > horizon:
                continue
            key = f"{OBLIGATION_FOLLOW_UP}:{r['canonical_id']}:{deadline.isoformat()}"
            keep.add(key)
            raise_.append(
                Task(
                    key=key,
                    kind=OBLIGATION_FOLLOW_UP,
                    reason=(
                        f"renovation obligation: label {ob.get('required_label')} due by {deadline:%d-%m-%Y} "
                        f"(label {ob.get('label_at_deed') or '?'} at the deed), "
                        + ("the deadline has passed" if deadline < today else f"{(deadline - today).days} days left")
                        + f", while the dossier is in phase {d.get('phase')}"
                    ),
                    dossier_id=r["canonical_id"],
                    dwelling_id=d.get("dwelling_id"),
                    due_on=deadline,
                )
            )
        self.report.follow_ups_raised += raise_follow_ups(self.store, conn, self.tenant, raise_, SOURCE)
        stale = [
            t["_id"]
            for t in open_follow_ups(self.store, conn, self.tenant, OBLIGATION_FOLLOW_UP)
            if f"{OBLIGATION_FOLLOW_UP}:{t.get('dossier_id')}:{t.get('due_on')}" not in keep
        ]
        if stale:
            keys = self._keys_of(conn, stale)
            self.report.follow_ups_closed += close_follow_ups(self.store, conn, self.tenant, keys, SOURCE)

    def _keys_of(self, conn: Connection, follow_up_ids: list[str]) -> list[str]:
        rows = self.store.load_entities(conn, follow_up_ids, tenant=self.tenant)
        return [str(r["natural_key"]) for r in rows.values() if r.get("natural_key")]


def decide_match(store: Store, tenant: str, gebouweenheid_id: int, dwelling_id: str | None) -> None:
    """A coordinator's decision on a match candidate: `dwelling_id` is the unit's dwelling (join), or None
    (not the same home: the unit becomes a dwelling of its own). The next pull imports the unit accordingly."""
    from hub.canonical.keys import flemish_dwelling_key

    key = flemish_dwelling_key(str(gebouweenheid_id))
    with store.begin() as conn:
        if dwelling_id is not None:
            store.link_ids(conn, "hub", tenant, "dwelling", {key: dwelling_id})
        else:
            store.resolve_ids(conn, "hub", tenant, "dwelling", [key])
        tasks = [
            t["_id"]
            for t in open_follow_ups(store, conn, tenant, MATCH_FOLLOW_UP)
            if (t.get("detail") or {}).get("gebouweenheid") == gebouweenheid_id
        ]
        rows = store.load_entities(conn, tasks, tenant=tenant)
        keys = [str(r["natural_key"]) for r in rows.values() if r.get("natural_key")]
        close_follow_ups(store, conn, tenant, keys, "coordinator")


__all__ = ["PartnerError", "PullReport", "WoningpasPull", "decide_match"]
