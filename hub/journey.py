"""Dossiers and their journey phase, derived from canonical intakes, opportunities and actions.

The status → phase rules are data each connector declares (`Connector.journey`, statuses are code_ref
strings), merged over the registry; this module only knows the canonical shapes. A dossier records each phase it
reaches once (journey_events), with the time the evidence says it happened."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from hub.canonical import Dossier, Phase
from hub.connector import REGISTRY, JourneyRules
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store, as_utc, chunks

# Partners send naive timestamps as local wall-clock time (a CRM's DATETIME columns, a dwelling file's appointments);
# the hub's tenants (the Netherlands, Flanders) share one civil time, so one zone reads them all.
LOCAL_TZ = ZoneInfo("Europe/Amsterdam")


def _dt(value: Any) -> datetime | None:
    """A partner's time as a UTC-aware datetime, so phases order by the instant: an offset is honoured, a naive
    time is local wall-clock time (`LOCAL_TZ`), a date (`YYYY-MM-DD`) is the start of that day in UTC (as a
    certificate's or premium's day). None for what is no time."""
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                return datetime(day.year, day.month, day.day, tzinfo=UTC)
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    return parsed.astimezone(UTC)


def _utc(value: datetime) -> datetime:
    """The hub's own clock values (a run's `observed_at`) in UTC; a naive one is taken as UTC already."""
    return as_utc(value).astimezone(UTC)


def _day_start(value: Any) -> datetime | None:
    """A date (`YYYY-MM-DD`, as a premium's submit or payment day) as the start of that day in UTC, so it sits
    with the partners' timestamps."""
    if value is None or isinstance(value, datetime):
        return _dt(value)
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _earliest(*values: Any) -> datetime | None:
    found = [d for d in (_dt(v) for v in values) if d is not None]
    return min(found) if found else None


def fill_undated(evidence: dict[Phase, datetime | None]) -> dict[Phase, datetime | None]:
    """The evidence with each phase that has no date of its own dated by the earliest date of a later dated
    phase (in journey order): the dossier cannot have reached it later than a phase that follows it, so no
    phase lasts a negative time. A phase with no dated phase after it stays None (the hub's first sighting
    dates it)."""
    out = dict(evidence)
    later: datetime | None = None
    for phase in sorted(evidence, key=lambda p: p.order, reverse=True):
        when = evidence[phase]
        if when is None:
            out[phase] = later
        else:
            later = when if later is None else min(later, when)
    return out


# energy labels best first, Dutch (NTA 8800) and Flemish scales together: only their order matters here
LABEL_ORDER = ("A++++", "A+++", "A++", "A+", "A", "B", "C", "D", "E", "F", "G")


def _label_rank(label: Any) -> int | None:
    text = str(label or "").strip().upper()
    return LABEL_ORDER.index(text) if text in LABEL_ORDER else None


def certified_improvement(certificates: list[dict[str, Any]], opened: datetime | None) -> datetime | None:
    """When the first energy certificate issued after the day `opened` whose label is better than the one
    before it (or that is the first one) was issued (midnight UTC of its day); None when there is none."""
    if opened is None:
        return None
    dated: list[tuple[date, int]] = []
    for c in certificates:
        rank = _label_rank(c.get("label"))
        try:
            issued = date.fromisoformat(str(c.get("issued_on"))[:10])
        except ValueError:
            continue
        if not c.get("_deleted") and rank is not None:
            dated.append((issued, rank))
    previous: int | None = None
    for issued, rank in sorted(dated):
        if issued > opened.date() and (previous is None or rank < previous):
            return datetime(issued.year, issued.month, issued.day, tzinfo=UTC)
        previous = rank
    return None


CLEARED = "cleared"  # an appointment cleared in the partner (canonical Appointment.status)


def dossier_evidence(
    intake: dict[str, Any],
    opportunities: list[dict[str, Any]],
    actions: list[dict[str, Any]],
    resident: dict[str, Any] | None = None,
    dwelling_files: list[dict[str, Any]] | None = None,
    rules: JourneyRules | None = None,
    certificates: list[dict[str, Any]] | None = None,
    premiums: list[dict[str, Any]] | None = None,
) -> dict[Phase, datetime | None]:
    """Which phases this dossier has reached, each with when (None when no partner date says), by the
    connectors' rules (`rules`, default: the registry's).

    `dwelling_files` carry what a partner reported for the resident's dwelling: `_appointments`, `_advices` and
    `scans` (an appointment, a woonplan or scan progress is advice, as a planned visit is). `certificates`: the
    energy certificates of the dossier's dwelling (a better one issued after the dossier opened is execution,
    when a connector declares `certificate_execution`). `premiums`: the dossier's premium applications (an open
    or decided one is financing; a paid one counts toward execution, by `premium_financing` and
    `premium_execution`)."""
    r = rules or REGISTRY.journey_rules()
    ev: dict[Phase, datetime | None] = {Phase.INTEREST: _dt(intake.get("created_at"))}
    live_opps = [o for o in opportunities if not o.get("_deleted")]
    opp_status = [o.get("status") for o in live_opps]
    in_contact = any((resident or {}).get(f) for f in r.contact_fields)
    if intake.get("status") in r.intake_contact or live_opps or in_contact:
        ev[Phase.CONTACT] = _earliest(*(o.get("created_at") for o in live_opps))
    visits = [a for a in actions if a["kind"] == "visit" and a.get("status") in r.visit_advice]
    if visits:
        ev[Phase.ADVICE] = _earliest(*(a.get("date_planned") or a.get("date_recorded") for a in visits))
    files = (dwelling_files or []) if r.dwelling_file_advice else []
    planned = [a for f in files for a in f.get("_appointments", []) if a.get("planned_at")]
    if Phase.ADVICE not in ev and (
        planned or any(f.get("_advices") for f in files) or any(any((f.get("scans") or {}).values()) for f in files)
    ):
        # dated by the coach's visit (the appointment), when there is one; a woonplan or scan alone has no date
        ev[Phase.ADVICE] = _earliest(*(a.get("planned_at") for a in planned if a.get("status") != CLEARED))
    subsidies = [a for a in actions if a["kind"] == "subsidy-request" and a.get("status") not in r.subsidy_rejected]
    applied = [pa for pa in premiums or [] if not pa.get("_deleted") and pa.get("status") in r.premium_financing]
    if subsidies or applied or any(s in r.opportunity_financing for s in opp_status):
        ev[Phase.FINANCING] = _earliest(
            *(a.get("created_at") for a in subsidies), *(_day_start(pa.get("submitted_on")) for pa in applied)
        )
    quotes = [a for a in actions if a["kind"] == "quotation-request" and a.get("status") in r.quotation_active]
    if quotes or any(s in r.opportunity_quotation for s in opp_status):
        ev[Phase.QUOTATION] = _earliest(*(a.get("date_released") or a.get("created_at") for a in quotes))
    executed_quotes = [
        a for a in actions if a["kind"] == "quotation-request" and a.get("status") in r.quotation_executed
    ]
    visit_made_on = {
        a.get("opportunity_id") for a in actions if a["kind"] == "visit" and a.get("status") in r.visit_made
    }
    in_execution = [
        o
        for o in live_opps
        if o.get("status") in r.opportunity_executed
        # such a status means execution, unless a visit on the kans is `visit_made` (an appointment planned):
        # Econobis sets a kans in_progress when a visit is planned, and that is advice
        or (o.get("status") in r.opportunity_in_progress and o.get("_id") not in visit_made_on)
    ]
    if in_execution or executed_quotes:
        ev[Phase.EXECUTION] = _earliest(*(a.get("date_executed") for a in executed_quotes))
    paid = [pa for pa in premiums or [] if not pa.get("_deleted") and pa.get("status") in r.premium_execution]
    if paid and Phase.EXECUTION not in ev:
        ev[Phase.EXECUTION] = _earliest(*(_day_start(pa.get("paid_on")) for pa in paid))
    if r.certificate_execution and certificates:
        certified = certified_improvement(certificates, _dt(intake.get("created_at")))
        if certified is not None and Phase.EXECUTION not in ev:
            ev[Phase.EXECUTION] = certified
    closed = r.opportunity_executed | r.opportunity_stopped
    if live_opps and all(s in closed for s in opp_status):
        if any(s in r.opportunity_executed for s in opp_status):
            ev[Phase.DONE] = None
        elif all(s in r.opportunity_stopped for s in opp_status):
            ev[Phase.STOPPED] = None
    if intake.get("status") in r.intake_stopped and not live_opps:
        ev[Phase.STOPPED] = None
    return ev


def current_phase(evidence: dict[Phase, datetime | None]) -> Phase:
    """Stopped and done are terminal; otherwise the furthest phase with evidence."""
    if Phase.STOPPED in evidence:
        return Phase.STOPPED
    if Phase.DONE in evidence:
        return Phase.DONE
    return max(evidence, key=lambda p: p.order)


def _load(
    store: Store,
    conn: Connection,
    entity: str,
    *,
    tenant: str,
    ids: Iterable[str] | None = None,
    parents: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The `entity` rows among `ids` or the children of `parents`, deleted ones too, flattened: their data
    with `_id`, `_parent` and `_deleted`."""
    return [
        {**r["data"], "_id": r["canonical_id"], "_parent": r["parent_id"], "_deleted": r["deleted_at"] is not None}
        for r in store.entities_of(conn, entity, tenant=tenant, ids=ids, parents=parents)
    ]


def _dwelling_files(
    store: Store, conn: Connection, tenant: str, resident_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """resident id → its dwellings' files, each with its live `_appointments` and `_advices`."""
    if not resident_ids:
        return {}
    # dwelling → resident: ids only, the dwellings' data is not needed here
    owner = {d: rid for rid, ds in store.child_ids(conn, "dwelling", resident_ids, tenant=tenant).items() for d in ds}
    files = [f for f in _load(store, conn, "dwelling_file", tenant=tenant, parents=list(owner)) if not f["_deleted"]]
    if not files:
        return {}
    file_ids = [f["_id"] for f in files]
    children: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for entity in ("appointment", "advice"):
        for c in _load(store, conn, entity, tenant=tenant, parents=file_ids):
            if not c["_deleted"]:
                children.setdefault(c["_parent"], {}).setdefault(entity, []).append(c)
    out: dict[str, list[dict[str, Any]]] = {}
    for f in files:
        kids = children.get(f["_id"], {})
        out.setdefault(owner[f["_parent"]], []).append(
            {**f, "_appointments": kids.get("appointment", []), "_advices": kids.get("advice", [])}
        )
    return out


def recompute_dossiers(
    store: Store,
    conn: Connection,
    tenant: str,
    intake_ids: Iterable[str],
    source: str,
    observed_at: datetime,
    stats: MergeStats,
) -> int:
    """Re-derive the dossier (and its phase) of each intake; returns journey events added."""
    ids = sorted(set(intake_ids))
    observed_at = _utc(observed_at)
    events = 0
    journey = REGISTRY.journey_rules()
    for chunk in chunks(ids):
        loaded = _load(store, conn, "intake", tenant=tenant, ids=chunk)
        intakes = [x for x in loaded if not x["_deleted"]]
        events += _retire(store, conn, tenant, [x for x in loaded if x["_deleted"]], source, observed_at, stats)
        opps = _load(store, conn, "opportunity", tenant=tenant, parents=[x["_id"] for x in intakes])
        actions = _load(store, conn, "action", tenant=tenant, parents=[o["_id"] for o in opps])
        resident_ids = [x["resident_id"] for x in intakes if x.get("resident_id")]
        residents = {r["_id"]: r for r in _load(store, conn, "resident", tenant=tenant, ids=resident_ids)}
        files_by_resident = _dwelling_files(store, conn, tenant, resident_ids)
        dwelling_ids = sorted({x["dwelling_id"] for x in intakes if x.get("dwelling_id")})
        certificates: dict[str, list[dict[str, Any]]] = {}
        if journey.certificate_execution and dwelling_ids:
            for c in _load(store, conn, "energy_certificate", tenant=tenant, parents=dwelling_ids):
                certificates.setdefault(c["_parent"], []).append(c)
        premiums: dict[str, list[dict[str, Any]]] = {}
        if (journey.premium_financing or journey.premium_execution) and dwelling_ids:
            for pa in _load(store, conn, "premium_application", tenant=tenant, parents=dwelling_ids):
                if pa.get("intake_id"):
                    premiums.setdefault(str(pa["intake_id"]), []).append(pa)
        opps_by_intake: dict[str, list[dict[str, Any]]] = {}
        for o in opps:
            opps_by_intake.setdefault(o["_parent"], []).append(o)
        actions_by_opp: dict[str, list[dict[str, Any]]] = {}
        for a in actions:
            if not a["_deleted"]:
                actions_by_opp.setdefault(a["_parent"], []).append({**a, "opportunity_id": a["_parent"]})
        dossier_ids = store.resolve_ids(conn, "hub", tenant, "dossier", [x["_id"] for x in intakes])
        recorded = store.journey_recorded(conn, tenant, dossier_ids.values())
        items: list[Incoming] = []
        event_rows: list[dict[str, Any]] = []
        for intake in intakes:
            my_opps = opps_by_intake.get(intake["_id"], [])
            my_actions = [a for o in my_opps for a in actions_by_opp.get(o["_id"], [])]
            rid = intake.get("resident_id") or ""
            files = files_by_resident.get(rid)
            dwelling = intake.get("dwelling_id")
            ev = dossier_evidence(
                intake,
                my_opps,
                my_actions,
                residents.get(rid),
                files,
                journey,
                certificates.get(dwelling or ""),
                premiums.get(intake["_id"]),
            )
            phase = current_phase(ev)
            dated = fill_undated(ev)
            did = dossier_ids[intake["_id"]]
            obligation = next(
                (f.get("renovation_obligation") for f in files or [] if dwelling and f.get("dwelling_id") == dwelling),
                None,
            )
            items.append(
                Incoming(
                    Dossier(
                        id=did,
                        tenant=tenant,
                        intake_id=intake["_id"],
                        resident_id=intake.get("resident_id"),
                        dwelling_id=intake.get("dwelling_id"),
                        campaign_id=intake.get("campaign_id"),
                        phase=phase,
                        # a phase no evidence dates (neither its own nor a later phase's): since the hub first
                        # recorded it (else now)
                        phase_since=dated.get(phase) or recorded.get((did, phase.value)) or observed_at,
                        opened_at=_dt(intake.get("created_at")),
                        renovation_obligation=obligation,
                    ),
                    source=source,
                    source_ref=intake["_id"],
                    observed_at=observed_at,
                )
            )
            for p, when in dated.items():
                event_rows.append(
                    {
                        "tenant": tenant,
                        "dossier_id": did,
                        "phase": p.value,
                        "source": source,
                        "occurred_at": when or recorded.get((did, p.value)) or observed_at,
                        "recorded_at": observed_at,
                    }
                )
        merge(store, conn, items, stats)
        events += store.add_journey_events(conn, event_rows)
    return events


DELETED_IN_SOURCE = "deleted_in_source"


def _retire(
    store: Store,
    conn: Connection,
    tenant: str,
    deleted: list[dict[str, Any]],
    source: str,
    observed_at: datetime,
    stats: MergeStats,
) -> int:
    """The dossiers of intakes deleted at the source: stopped, `stop_reason = deleted_in_source` (kept for the
    coordinator, left out of the mart's counts). Only dossiers that exist; one already retired stays as it is,
    and one that was stopped already keeps the date it stopped (a replay changes nothing)."""
    if not deleted:
        return 0
    observed_at = _utc(observed_at)
    existing = store.lookup_ids(conn, "hub", tenant, "dossier", [x["_id"] for x in deleted])
    rows = store.load_entities(conn, list(existing.values()), tenant=tenant)
    items: list[Incoming] = []
    event_rows: list[dict[str, Any]] = []
    for intake in deleted:
        did = existing.get(intake["_id"])
        row = rows.get(did or "")
        if did is None or row is None or row.get("deleted_at") is not None:
            continue
        data = dict(row["data"])
        if data.get("phase") == Phase.STOPPED.value and data.get("stop_reason") == DELETED_IN_SOURCE:
            continue
        stopped_since = _dt(data.get("phase_since")) if data.get("phase") == Phase.STOPPED.value else None
        data.update(phase=Phase.STOPPED, phase_since=stopped_since or observed_at, stop_reason=DELETED_IN_SOURCE)
        items.append(Incoming(Dossier(id=did, tenant=tenant, **data), source, intake["_id"], observed_at))
        event_rows.append(
            {
                "tenant": tenant,
                "dossier_id": did,
                "phase": Phase.STOPPED.value,
                "source": source,
                "occurred_at": observed_at,
                "recorded_at": observed_at,
            }
        )
    merge(store, conn, items, stats)
    return store.add_journey_events(conn, event_rows)


def visits_ahead(
    store: Store,
    conn: Connection,
    tenant: str,
    dossiers: Mapping[str, Mapping[str, Any]],
    now: datetime,
    rules: JourneyRules | None = None,
) -> set[str]:
    """The dossiers (id → dossier data) with a coach visit planned after `now`: a live visit action whose status
    is `visit_made` (an appointment made) with its planned time ahead, or — when dwelling files are evidence —
    an appointment ahead (not cleared) on a dwelling file of the dossier's resident. Store reads only."""
    r = rules or REGISTRY.journey_rules()
    now = _utc(now)
    ahead: set[str] = set()
    by_intake: dict[str, list[str]] = {}
    by_resident: dict[str, list[str]] = {}
    for did, data in dossiers.items():
        if data.get("intake_id"):
            by_intake.setdefault(str(data["intake_id"]), []).append(did)
        if data.get("resident_id"):
            by_resident.setdefault(str(data["resident_id"]), []).append(did)
    if by_intake and r.visit_made:
        intake_of = {
            o["_id"]: o["_parent"]
            for o in _load(store, conn, "opportunity", tenant=tenant, parents=list(by_intake))
            if not o["_deleted"]
        }
        for a in _load(store, conn, "action", tenant=tenant, parents=list(intake_of)) if intake_of else []:
            when = _dt(a.get("date_planned"))
            if (
                not a["_deleted"]
                and a.get("kind") == "visit"
                and a.get("status") in r.visit_made
                and when
                and when > now
            ):
                ahead.update(by_intake[intake_of[a["_parent"]]])
    if by_resident and r.dwelling_file_advice:
        for rid, files in _dwelling_files(store, conn, tenant, list(by_resident)).items():
            for a in (a for f in files for a in f["_appointments"]):
                when = _dt(a.get("planned_at"))
                if a.get("status") != CLEARED and when and when > now:
                    ahead.update(by_resident[rid])
    return ahead
