"""The premium portal's part of an erasure, and the coordinator's overview (no personal data in it)."""

from __future__ import annotations

from connectors.fluvius.erase import plan
from connectors.fluvius.report import overview, summary_line
from connectors.fluvius.settings import APPLICATION_CATEGORY, APPLY, PARTNER
from hub.canonical import PremiumApplication, PremiumFile
from hub.connector import ErasureSubject
from hub.merge import Incoming, MergeStats, merge
from hub.store import utcnow


def test_erasure_cancels_unsent_applications_and_marks_the_residents_ids():
    subject = ErasureSubject(
        request_id="rq",
        tenant="t",
        resident_id="r1",
        records={
            "pf": {"entity": "premium_file", "data": {"national_id": "85073003328", "iban": "BE68539007547034"}},
        },
        xref={PARTNER: {APPLICATION_CATEGORY: ("hub-abc/dak",)}},
    )
    p = plan(subject)
    assert p is not None
    assert set(p.needles) == {"85073003328", "BE68539007547034"}
    assert p.outbox == ((APPLY, "resident_id", "r1"),)
    assert p.manual and "premieportaal" in p.manual  # a submitted application stays the portal's record
    nothing = ErasureSubject(request_id="rq", tenant="t", resident_id="r2", records={}, xref={})
    assert plan(nothing) is None


def test_the_overview_counts_applications_and_shares_without_personal_data(store):
    now = utcnow()
    with store.begin() as conn:
        merge(
            store,
            conn,
            [
                Incoming(PremiumFile(id="pf", tenant="t", intake_id="i", national_id="85073003328",
                                     iban="BE68539007547034"), "webform", "w", now),
                Incoming(PremiumApplication(id="a1", tenant="t", dwelling_id="d", dossier_id="do", scheme="MVP_VL",
                                            category="dak", status="paid", reference="r1", portal_id="P1",
                                            amount_requested=1000, amount_granted=800, amount_paid=800,
                                            prefilled_share=0.25), PARTNER, "p", now),
                Incoming(PremiumApplication(id="a2", tenant="t", dwelling_id="d", dossier_id="do", scheme="MVP_VL",
                                            category="warmtepomp", status="refused_by_hub", reference="r2",
                                            reason_codes=["GEBOUW_TE_RECENT"], prefilled_share=0.1), PARTNER, "p", now),
            ],
            MergeStats(),
        )  # fmt: skip
        o = overview(store, conn, "t")
    assert o["by_status"] == {"paid": 1, "refused_by_hub": 1}
    assert (o["requested"], o["granted"], o["paid"]) == (1000, 800, 800)
    assert o["prefilled_share"]["median"] == 0.25  # a refusal the hub held back is not an application
    line = summary_line(o)
    assert "MVP_VL" in line and "25%" in line
    assert "85073003328" not in str(o) and "BE68" not in str(o)


def test_a_category_planned_later_retires_its_earlier_refusal(store):
    from connectors.fluvius.plan import _retire_refusals
    from connectors.fluvius.settings import FOLLOW_UP_REFUSAL
    from hub.followup import Task, open_follow_ups, raise_follow_ups

    now = utcnow()
    with store.begin() as conn:
        merge(
            store,
            conn,
            [
                Incoming(PremiumApplication(id="old", tenant="t", dwelling_id="d", dossier_id="do", scheme="MVP_VL",
                                            category="dak", status="refused_by_hub", reference="r-dak",
                                            reason_codes=["FACTUUR_TE_OUD"]), PARTNER, "p", now),
                Incoming(PremiumApplication(id="other", tenant="t", dwelling_id="d", dossier_id="do2",
                                            scheme="MVP_VL", category="dak", status="refused_by_hub",
                                            reference="r-x"), PARTNER, "p", now),
            ],
            MergeStats(),
        )  # fmt: skip
        raise_follow_ups(
            store, conn, "t", [Task(key=f"{FOLLOW_UP_REFUSAL}:hub:do:dak:FACTUUR_TE_OUD", kind=FOLLOW_UP_REFUSAL,
                                    reason="x", dossier_id="do")], PARTNER)  # fmt: skip
        _retire_refusals(store, conn, "t", "do", {"dak": "new", "vloer": "new2"})
        live = {r["canonical_id"] for r in store.live_entities(conn, "premium_application", "t")}
        assert live == {"other"}  # the dossier's old refusal retired; another dossier's untouched
        assert open_follow_ups(store, conn, "t", FOLLOW_UP_REFUSAL) == []
