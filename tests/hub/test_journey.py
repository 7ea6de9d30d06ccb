"""Journey phases from canonical intakes, opportunities and actions."""

from __future__ import annotations

from hub.canonical import Phase
from hub.journey import current_phase, dossier_evidence

INTAKE = {"status": "open", "created_at": "2026-01-01T10:00:00+00:00"}


def _opp(status, oid="o1"):
    return {"_id": oid, "status": status, "created_at": "2026-01-05T10:00:00+00:00"}


def _act(kind, status, oid="o1", **dates):
    return {"kind": kind, "status": status, "opportunity_id": oid, **dates}


def test_open_intake_is_interest():
    assert current_phase(dossier_evidence(INTAKE, [], [])) == Phase.INTEREST


def test_intake_in_progress_is_contact():
    assert current_phase(dossier_evidence({**INTAKE, "status": "in_progress"}, [], [])) == Phase.CONTACT


def test_visit_made_is_advice_not_execution_although_econobis_sets_the_kans_in_progress():
    ev = dossier_evidence(
        INTAKE, [_opp("in_progress")], [_act("visit", "made", date_planned="2026-02-01T09:00:00+01:00")]
    )
    assert current_phase(ev) == Phase.ADVICE
    assert ev[Phase.ADVICE].isoformat().startswith("2026-02-01")


def test_open_quotation_is_quotation_and_subsidy_is_financing():
    assert (
        current_phase(dossier_evidence(INTAKE, [_opp("pending")], [_act("quotation-request", "default")]))
        == Phase.QUOTATION
    )
    assert (
        current_phase(dossier_evidence(INTAKE, [_opp("subsidy-request_pending")], [_act("subsidy-request", "default")]))
        == Phase.FINANCING
    )


def test_all_kansen_closed_with_one_executed_is_done_and_all_failed_is_stopped():
    assert current_phase(dossier_evidence(INTAKE, [_opp("executed"), _opp("no_execution", "o2")], [])) == Phase.DONE
    assert current_phase(dossier_evidence(INTAKE, [_opp("no_execution"), _opp("inactive", "o2")], [])) == Phase.STOPPED
    assert current_phase(dossier_evidence({**INTAKE, "status": "closed_without_opportunity"}, [], [])) == Phase.STOPPED


def test_executed_quotation_is_execution_while_other_kansen_are_open():
    ev = dossier_evidence(
        INTAKE,
        [_opp("executed"), _opp("active", "o2")],
        [_act("quotation-request", "executed", date_executed="2026-05-01")],
    )
    assert current_phase(ev) == Phase.EXECUTION
