"""Journey dates: every phase date the journey stores or compares is a UTC-aware datetime (partners give
offsets, naive local times or plain dates), a phase reached without a date of its own takes the earliest date
of a later dated phase (so no phase lasts a negative time), and advice is dated by the coach's visit."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hub.canonical import Action, Intake, Opportunity, Phase
from hub.journey import dossier_evidence, fill_undated, recompute_dossiers
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store

T = "coop-noord"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _is_utc(value: datetime | None) -> bool:
    return value is not None and value.tzinfo is not None and value.utcoffset() == timedelta(0)


# --- 1. UTC ---------------------------------------------------------------------------------------------------


def test_every_evidence_date_is_utc_aware_whatever_the_partner_sent():
    intake = {"status": "open", "created_at": "2026-01-01T10:00:00+02:00"}  # an offset
    opps = [{"_id": "o1", "status": "mandate", "created_at": "2026-01-05T10:00:00"}]  # naive local (CET)
    actions = [
        {"kind": "visit", "status": "done", "opportunity_id": "o1", "date_planned": "2026-07-01T09:00:00"},  # CEST
        {"kind": "subsidy-request", "status": "default", "opportunity_id": "o1", "created_at": "2026-08-01"},  # date
        {"kind": "quotation-request", "status": "executed", "opportunity_id": "o1", "date_executed": "2026-09-01"},
    ]
    ev = dossier_evidence(intake, opps, actions)
    dated = {p: d for p, d in ev.items() if d is not None}
    assert set(dated) >= {Phase.INTEREST, Phase.CONTACT, Phase.ADVICE, Phase.FINANCING, Phase.EXECUTION}
    assert all(_is_utc(d) for d in dated.values()), dated
    assert dated[Phase.INTEREST] == datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    assert dated[Phase.CONTACT] == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # naive: Europe/Amsterdam wall clock
    assert dated[Phase.ADVICE] == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # summer time
    assert dated[Phase.FINANCING] == datetime(2026, 8, 1, tzinfo=UTC)  # a date: the start of that day in UTC
    assert dated[Phase.EXECUTION] == datetime(2026, 9, 1, tzinfo=UTC)


def test_the_earliest_of_two_visits_is_found_by_the_instant_not_the_wall_clock():
    intake = {"status": "open", "created_at": "2026-01-01T10:00:00+00:00"}
    visits = [
        {"kind": "visit", "status": "made", "opportunity_id": "o1", "date_planned": "2026-02-01T08:30:00+00:00"},
        {"kind": "visit", "status": "made", "opportunity_id": "o1", "date_planned": "2026-02-01T09:00:00+01:00"},
    ]
    ev = dossier_evidence(intake, [{"_id": "o1", "status": "in_progress"}], visits)
    assert ev[Phase.ADVICE] == datetime(2026, 2, 1, 8, 0, tzinfo=UTC)


def test_the_store_keeps_the_instant_of_an_offset_date(any_store: Store):
    """SQLite keeps a datetime's wall clock without its offset: the journey hands the store UTC."""
    _seed(
        any_store,
        [Intake(id="i1", tenant=T, resident_id=None, status="open", created_at=_at("2026-03-01T10:00+02:00"))],
    )
    _recompute(any_store, ["i1"])
    did = store_dossier_id(any_store, "i1")
    with any_store.begin() as conn:
        [event] = any_store.journey_events(conn, T)
        dossier = any_store.load_entities(conn, [did], tenant=T)[did]["data"]
    assert _as_utc(event["occurred_at"]) == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert datetime.fromisoformat(dossier["phase_since"]) == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert datetime.fromisoformat(dossier["opened_at"]).utcoffset() == timedelta(0)


# --- 2. undated phases ----------------------------------------------------------------------------------------


def test_an_undated_phase_takes_the_earliest_date_of_a_later_dated_phase():
    a, b = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    ev = {Phase.INTEREST: datetime(2026, 1, 1, tzinfo=UTC), Phase.CONTACT: None, Phase.QUOTATION: b, Phase.ADVICE: a}
    filled = fill_undated(ev)
    assert filled[Phase.CONTACT] == a and filled[Phase.ADVICE] == a and filled[Phase.QUOTATION] == b
    # nothing later is dated: it stays undated (the hub's first sighting dates it)
    assert fill_undated({Phase.INTEREST: a, Phase.ADVICE: None})[Phase.ADVICE] is None


def test_hoomdossier_style_advice_without_a_date_takes_the_paid_premiums_day():
    intake = {"status": "open", "created_at": "2026-01-01T10:00:00+00:00"}
    files = [{"_appointments": [], "_advices": [{"measure": "roof"}], "scans": {}}]
    premiums = [{"status": "paid", "paid_on": "2026-04-02"}]
    ev = dossier_evidence(
        intake, [], [], None, files, _rules(dwelling_file_advice=True, premium_execution={"paid"}), None, premiums
    )
    assert ev[Phase.ADVICE] is None and fill_undated(ev)[Phase.ADVICE] == datetime(2026, 4, 2, tzinfo=UTC)


def negative_durations(store: Store, tenant: str = T) -> int:
    """Phases (in journey order, stopped left out) whose next reached phase was reached before them."""
    with store.begin() as conn:
        events = store.journey_events(conn, tenant)
    by_dossier: dict[str, list[tuple[int, datetime]]] = {}
    for e in events:
        if e["phase"] != Phase.STOPPED.value:
            by_dossier.setdefault(e["dossier_id"], []).append((Phase(e["phase"]).order, _as_utc(e["occurred_at"])))
    count = 0
    for phases in by_dossier.values():
        phases.sort()
        count += sum(1 for (_, a), (_, b) in itertools.pairwise(phases) if b < a)
    return count


def test_mixed_dated_and_undated_evidence_gives_no_negative_phase_durations(any_store: Store):
    """A store of dossiers with dated and undated evidence: 4 phases had a negative duration when an undated
    phase was dated "now" (the run's time) while a later phase carried the partner's (earlier) date."""
    _seed(any_store, _mixed_journeys())
    _recompute(any_store, [f"i{n}" for n in range(1, 6)])
    assert negative_durations(any_store) == 0
    with any_store.begin() as conn:
        events = any_store.journey_events(conn, T)
    by = {(e["dossier_id"], e["phase"]): _as_utc(e["occurred_at"]) for e in events}
    d1 = store_dossier_id(any_store, "i1")
    assert by[(d1, "contact")] == by[(d1, "advice")] == datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
    d2 = store_dossier_id(any_store, "i2")
    assert by[(d2, "quotation")] == by[(d2, "execution")] == datetime(2026, 4, 1, tzinfo=UTC)
    assert all(when <= NOW for when in by.values())


# --- 7. advice dated by the visit -----------------------------------------------------------------------------


def test_advice_is_dated_by_the_coachs_visit_not_by_the_kans():
    intake = {"status": "open", "created_at": "2026-01-01T10:00:00+00:00"}
    opp = {"_id": "o1", "status": "in_progress", "created_at": "2026-01-05T10:00:00+00:00"}
    planned = {"kind": "visit", "status": "done", "opportunity_id": "o1", "created_at": "2026-01-05T10:00:00+00:00"}
    ev = dossier_evidence(intake, [opp], [{**planned, "date_planned": "2026-03-10T14:00:00+01:00"}])
    assert ev[Phase.ADVICE] == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    # a done visit known only by when the coach recorded it
    ev = dossier_evidence(intake, [opp], [{**planned, "date_recorded": "2026-03-12T00:00:00+01:00"}])
    assert ev[Phase.ADVICE] == datetime(2026, 3, 11, 23, 0, tzinfo=UTC)


def test_a_dwelling_files_appointment_dates_advice_by_the_visit():
    intake = {"status": "open", "created_at": "2026-01-01T10:00:00+00:00"}
    files = [{"_appointments": [{"planned_at": "2026-05-04T10:00:00", "status": "planned"}], "_advices": []}]
    ev = dossier_evidence(intake, [], [], None, files, _rules(dwelling_file_advice=True))
    assert ev[Phase.ADVICE] == datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # naive local (CEST) → UTC


# --- helpers --------------------------------------------------------------------------------------------------


def _rules(**kw):
    from hub.connector import REGISTRY, JourneyRules

    base = REGISTRY.journey_rules()
    extra = {k: (frozenset(v) if isinstance(v, set) else v) for k, v in kw.items()}
    return base | JourneyRules(**extra)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _seed(store: Store, models) -> None:
    with store.begin() as conn:
        merge(store, conn, [Incoming(m, "test", m.id, NOW) for m in models], MergeStats())


def _recompute(store: Store, intake_ids, at: datetime = NOW) -> int:
    with store.begin() as conn:
        return recompute_dossiers(store, conn, T, intake_ids, "test", at, MergeStats())


def store_dossier_id(store: Store, intake_id: str) -> str:
    with store.begin() as conn:
        return store.lookup_ids(conn, "hub", T, "dossier", [intake_id])[intake_id]


def _mixed_journeys() -> list:
    def intake(n, status="open", created="2026-01-01T09:00:00+00:00"):
        return Intake(id=f"i{n}", tenant=T, resident_id=None, status=status, created_at=_at(created))

    def opp(n, status, created=None):
        return Opportunity(id=f"o{n}", tenant=T, intake_id=f"i{n}", status=status, created_at=created and _at(created))

    def act(n, kind, status, **dates):
        return Action(id=f"a{n}{kind}", tenant=T, opportunity_id=f"o{n}", kind=kind, status=status, **dates)

    return [
        # 1: contact without a date (intake in progress, kans undated), visit done on 1 February
        intake(1, "in_progress"),
        opp(1, "in_progress"),
        act(1, "visit", "done", date_planned=_at("2026-02-01T09:00:00+01:00")),
        # 2: quotation by the kans' status (undated), the quotation executed on 1 April
        intake(2),
        opp(2, "mandate", "2026-01-05T10:00:00+00:00"),
        act(2, "quotation-request", "executed", date_executed=_at("2026-04-01").date()),
        # 3: financing by the kans' status (undated), quotation released on 1 May
        intake(3),
        opp(3, "subsidy-request_pending", "2026-01-05T10:00:00+00:00"),
        act(3, "quotation-request", "default", date_released=_at("2026-05-01T10:00:00+02:00")),
        # 4: advice undated (a visit without dates), executed on 1 June
        intake(4, "in_progress"),
        opp(4, "active"),
        act(4, "visit", "made"),
        act(4, "quotation-request", "executed", date_executed=_at("2026-06-01").date()),
        # 5: all dated
        intake(5),
        opp(5, "active", "2026-01-02T10:00:00+00:00"),
        act(5, "visit", "made", date_planned=_at("2026-01-10T10:00:00+01:00")),
    ]
