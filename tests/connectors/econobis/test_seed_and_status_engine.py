"""Seed data is deterministic, realistic, and consistent with the kansactie status rules of §1.8."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.lookups import Lookups
from connectors.econobis.sandbox.seed import SeedBuilder, SeedSpec
from connectors.econobis.sandbox.status_engine import apply_kansactie_write, derive_opportunity_status, observer_status


def _seed(n=400, tenant="coop-noord", shift=0):
    lk = Lookups(id_shift=shift)
    db = SandboxDB()
    SeedBuilder(SeedSpec(tenant, n), lk, db).build()
    return db, lk


def test_same_spec_gives_the_same_data():
    a, _ = _seed(120)
    b, _ = _seed(120)
    assert a.tables["quotation_requests"] == b.tables["quotation_requests"]
    assert a.tables["contacts"] == b.tables["contacts"]


def test_all_four_kansactie_types_and_realistic_proportions():
    db, lk = _seed(800)
    kinds = Counter(
        lk.by_id("opportunityActions", q["opportunity_action_id"])["codeRef"]
        for q in db.tables["quotation_requests"].values()
    )
    assert set(kinds) == {"visit", "quotation-request", "subsidy-request", "redirection"}
    assert kinds["visit"] > kinds["quotation-request"] > kinds["subsidy-request"] > kinds["redirection"]
    residents = 800
    assert 0.85 * residents < len(db.tables["intakes"]) < 1.1 * residents
    assert all(a.get("postal_code") for a in db.tables["addresses"].values())


def test_every_kansactie_status_belongs_to_its_action_type():
    db, lk = _seed(300, shift=50)
    for q in db.tables["quotation_requests"].values():
        status = lk.by_id("quotationRequestStatus", q["status_id"])
        assert status["opportunityActionId"] == q["opportunity_action_id"]


def test_visit_with_date_planned_is_made_and_its_kans_in_progress():
    db, lk = _seed(300)
    for q in db.tables["quotation_requests"].values():
        action = lk.by_id("opportunityActions", q["opportunity_action_id"])["codeRef"]
        status = lk.by_id("quotationRequestStatus", q["status_id"])["codeRef"]
        if action == "visit" and q["date_recorded"]:
            assert status == "done"
        elif action == "visit" and q["date_planned"] and status not in ("cancelled",):
            assert status == "made"


def test_observer_rules_last_applicable_wins_and_only_valid_codes():
    valid_visit = {"default", "not-made", "made", "done", "cancelled"}
    status, _ = observer_status("visit", "default", {}, {"date_planned": "x", "date_recorded": "y"}, valid_visit)
    assert status == "done"
    # date_released targets under-review-occupant, which visits do not have: no change
    assert observer_status("visit", "made", {}, {"date_released": "x"}, valid_visit)[0] == "made"
    valid_qr = {"default", "approved", "not-approved", "under-review-occupant", "executed"}
    status, extra = observer_status(
        "quotation-request",
        "default",
        {},
        {"not_approved_client": True, "date_approved_client": "d"},
        valid_qr,
    )
    assert status == "not-approved" and extra == {"date_approved_client": None}


def test_observer_compares_as_php_does_so_a_new_kansactie_keeps_its_status():
    """The observer tests `$value != getOriginal()`: on a create the original is null, and null == false in
    PHP, so the flags the controller saves as false are no change (else a new Doorverwijzing would jump to
    "In behandeling" by rule 9)."""
    valid = {"default", "still_refer", "under-review", "handled"}
    created = {"not_approved_external": False, "not_approved_client": False, "date_approved_external": None}
    assert observer_status("redirection", "still_refer", {}, created, valid)[0] == "still_refer"
    # a real change still fires: an external approval date cleared → under-review
    before = {"date_approved_external": "2026-11-01", "not_approved_external": False}
    after = {"date_approved_external": None, "not_approved_external": False}
    assert observer_status("redirection", "still_refer", before, after, valid)[0] == "under-review"


def test_kans_derivation_rules():
    assert derive_opportunity_status("active", "visit", "made", []) == "in_progress"
    assert derive_opportunity_status("in_progress", "visit", "done", []) == "executed"
    assert derive_opportunity_status("in_progress", "visit", "done", [("quotation-request", "default")]) == "pending"
    assert derive_opportunity_status("active", "visit", "cancelled", [("visit", "cancelled")]) == "no_execution"
    assert derive_opportunity_status("pending", "quotation-request", "approved", []) == "mandate"
    assert (
        derive_opportunity_status("pending", "quotation-request", "approved", [("quotation-request", "under-review")])
        == "pending"
    )
    assert derive_opportunity_status("x", "subsidy-request", "approved-det", []) == "subsidy-request_granted"
    assert derive_opportunity_status("x", "redirection", "handled", []) == "x"


def test_a_write_through_the_engine_updates_kansactie_and_kans():
    db, lk = _seed(200)
    visit = next(
        q
        for q in db.tables["quotation_requests"].values()
        if lk.by_id("quotationRequestStatus", q["status_id"])["codeRef"] == "default"
        and lk.by_id("opportunityActions", q["opportunity_action_id"])["codeRef"] == "visit"
    )
    status, kans = apply_kansactie_write(
        db, lk, visit["id"], {"date_planned": datetime(2026, 11, 5, 10)}, datetime(2026, 11, 2)
    )
    assert status == "made" and kans == "in_progress"
