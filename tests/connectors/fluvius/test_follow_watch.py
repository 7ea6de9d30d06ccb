"""The follow of portal applications (webhook and poll alike) and the watches, on the store alone."""

from __future__ import annotations

from datetime import date

from connectors.fluvius.follow import FollowReport, apply_application, category_status
from connectors.fluvius.settings import APPLICATION_CATEGORY, FOLLOW_UP_APPEAL, FOLLOW_UP_INVOICE_WINDOW, MVP, PARTNER
from connectors.fluvius.watch import add_months, watch, window_start
from hub.canonical import Invoice, PremiumApplication
from hub.followup import open_follow_ups
from hub.merge import Incoming, MergeStats, merge
from hub.store import utcnow

T = "loket-leuven"


def _planned(store, ref="hub-ref1", cats=("dak", "warmtepomp"), intake="i1"):
    with store.begin() as conn:
        ids = store.resolve_ids(conn, PARTNER, T, APPLICATION_CATEGORY, [f"{ref}/{c}" for c in cats])
        items = [
            Incoming(
                PremiumApplication(
                    id=ids[f"{ref}/{c}"],
                    tenant=T,
                    dwelling_id="d1",
                    dossier_id="do1",
                    intake_id=intake,
                    scheme=MVP,
                    category=c,
                    status="planned",
                    reference=ref,
                ),
                PARTNER,
                "plan",
                utcnow(),
            )
            for c in cats
        ]
        merge(store, conn, items, MergeStats())
    return {c: ids[f"{ref}/{c}"] for c in cats}


def _app(status, updated, decisions=None, **extra):
    cats = []
    for c in ("dak", "warmtepomp"):
        item = {"categorie": c, "aangevraagd_bedrag": 1000.0}
        if decisions and c in decisions:
            item["beslissing"] = decisions[c]
        cats.append(item)
    return {
        "id": "A1",
        "referentie": "hub-ref1",
        "status": status,
        "updated_at": updated,
        "dossiernummer": "MVP-2026-000001",
        "ontvangen_op": "2026-10-01T10:00:00Z",
        "categorieen": cats,
        **extra,
    }


def _statuses(store, ids):
    with store.begin() as conn:
        rows = store.load_entities(conn, list(ids.values()), tenant=T)
    return {c: rows[i]["data"]["status"] for c, i in ids.items()}


def test_category_status_follows_the_per_category_decision():
    app = _app(
        "gedeeltelijk_goedgekeurd",
        "x",
        {
            "dak": {"status": "goedgekeurd", "toegekend_bedrag": 800},
            "warmtepomp": {
                "status": "afgewezen",
                "toegekend_bedrag": 0,
                "reden_codes": ["ATTEST_FACTUUR_INCONSISTENT"],
            },
        },
    )
    assert category_status(app, app["categorieen"][0]) == "approved"
    assert category_status(app, app["categorieen"][1]) == "rejected"
    paid = {**app, "status": "uitbetaald"}
    assert category_status(paid, paid["categorieen"][0]) == "paid"
    assert category_status(paid, paid["categorieen"][1]) == "rejected"  # nothing granted: nothing paid
    assert category_status(_app("aanvulling_gevraagd", "x"), {"categorie": "dak"}) == "more_documents_requested"


def test_a_duplicate_or_older_state_changes_nothing(store):
    ids = _planned(store)
    r = FollowReport(T)
    with store.begin() as conn:
        apply_application(store, conn, T, _app("in_behandeling", "2026-10-02T08:00:00Z"), r, "webhook")
    assert _statuses(store, ids) == {"dak": "in_review", "warmtepomp": "in_review"}
    decided = _app(
        "goedgekeurd",
        "2026-11-02T08:00:00Z",
        {c: {"status": "goedgekeurd", "toegekend_bedrag": 900} for c in ("dak", "warmtepomp")},
        beslist_op="2026-11-02",
    )
    with store.begin() as conn:
        apply_application(store, conn, T, decided, r, "poll")
        apply_application(store, conn, T, decided, r, "webhook")  # the same state by the other road
        apply_application(store, conn, T, _app("in_behandeling", "2026-10-02T08:00:00Z"), r, "webhook")  # late
    assert _statuses(store, ids) == {"dak": "approved", "warmtepomp": "approved"}
    assert r.already_known == 2 and r.stale == 2
    with store.begin() as conn:
        row = store.load_entities(conn, [ids["dak"]], tenant=T)[ids["dak"]]
    assert row["data"]["amount_granted"] == 900 and row["data"]["decided_on"] == "2026-11-02"


def test_more_documents_asked_is_one_follow_up_and_unknown_applications_are_not_ours(store):
    _planned(store)
    r = FollowReport(T)
    asked = _app(
        "aanvulling_gevraagd",
        "2026-10-05T08:00:00Z",
        aanvulling={"gevraagd_op": "2026-10-05", "documenten_gevraagd": ["aannemersattest"], "reden": "x"},
    )
    with store.begin() as conn:
        apply_application(store, conn, T, asked, r, "webhook")
        apply_application(store, conn, T, {**asked, "updated_at": "2026-10-05T09:00:00Z"}, r, "poll")
        apply_application(store, conn, T, {**asked, "referentie": "someone-else"}, r, "poll")
        tasks = open_follow_ups(store, conn, T, "premium-documents")
    assert len(tasks) == 1 and "aannemersattest" in tasks[0]["reason"]
    assert r.foreign == 1


def test_add_months_and_the_window_start():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 11, 15), 24) == date(2026, 11, 15)
    invoices = [{"issued_on": "2024-05-01", "executed_on": "2024-06-01"}, {"issued_on": "2024-03-01"}]
    assert window_start(MVP, invoices) == date(2024, 3, 1)  # the first invoice, advance included
    assert window_start("ISDE_NL", [{"issued_on": "2024-05-01", "executed_on": "2024-06-01"}]) == date(2024, 6, 1)


def test_the_invoice_window_is_flagged_once_and_closed_when_submitted(store):
    ids = _planned(store, cats=("dak",))
    with store.begin() as conn:
        merge(
            store,
            conn,
            [
                Incoming(
                    Invoice(id="inv1", tenant=T, intake_id="i1", number="F1", issued_on=date(2024, 12, 20)),
                    "webform",
                    "f1",
                    utcnow(),
                )
            ],
            MergeStats(),
        )
    today = date(2026, 11, 1)
    with store.begin() as conn:
        first = watch(store, conn, T, MVP, today, warn_days=60, appeal_warn_days=10)
        second = watch(store, conn, T, MVP, today, warn_days=60, appeal_warn_days=10)
        tasks = open_follow_ups(store, conn, T, FOLLOW_UP_INVOICE_WINDOW)
    assert first.windows_flagged == 1 and second.windows_flagged == 0
    assert len(tasks) == 1 and "2026-12-20" in tasks[0]["reason"]
    r = FollowReport(T)
    with store.begin() as conn:
        apply_application(
            store,
            conn,
            T,
            {**_app("ingediend", "2026-11-02T08:00:00Z"), "categorieen": [{"categorie": "dak"}]},
            r,
            "poll",
        )
        done = watch(store, conn, T, MVP, today, warn_days=60, appeal_warn_days=10)
        assert not open_follow_ups(store, conn, T, FOLLOW_UP_INVOICE_WINDOW)
    assert done.windows_closed == 1
    assert _statuses(store, ids) == {"dak": "submitted"}


def test_an_appeal_term_nearing_its_end_is_flagged(store):
    ids = _planned(store, cats=("dak",))
    refused = {
        **_app("afgewezen", "2026-11-02T08:00:00Z", beslist_op="2026-11-02", beroep_tot="2026-12-02"),
        "categorieen": [{"categorie": "dak", "beslissing": {"status": "afgewezen", "toegekend_bedrag": 0}}],
    }
    with store.begin() as conn:
        apply_application(store, conn, T, refused, FollowReport(T), "poll")
        early = watch(store, conn, T, MVP, date(2026, 11, 3), warn_days=60, appeal_warn_days=10)
        near = watch(store, conn, T, MVP, date(2026, 11, 25), warn_days=60, appeal_warn_days=10)
        tasks = open_follow_ups(store, conn, T, FOLLOW_UP_APPEAL)
    assert early.appeals_flagged == 0 and near.appeals_flagged == 1
    assert len(tasks) == 1 and "2026-12-02" in tasks[0]["reason"]
    assert _statuses(store, ids) == {"dak": "rejected"}
