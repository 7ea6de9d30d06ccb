"""The sandbox portal's wire contract (notes/premiums-design.md) over HTTP: token, idempotency, mandates, the
status engine on the sandbox clock, every 422 rule, poll paging, webhooks and the rate limit."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from connectors.fluvius.settings import API, SCOPE_APPLY, SCOPE_READ, TOKEN_PATH
from tests.connectors.fluvius.conftest import (
    BSN,
    INSZ,
    INSZ_LOAN,
    ISDE_CLIENT,
    MVP_CLIENT,
    WHSEC,
    Portal,
    Receiver,
    heat_pump_item,
    isde_body,
    mvp_body,
    windows_item,
)


def statuses(portal: Portal, aid: str, api: Any = None) -> list[str]:
    answer = (api or portal.mvp).call("GET", f"/aanvragen/{aid}/historiek")
    assert answer.status_code == 200
    return [step["naar"] for step in answer.json()["items"]]


# --- token ----------------------------------------------------------------------------------------------------


def test_token_basic_auth_scopes_and_errors(portal: Portal) -> None:
    good = portal.mvp.get_token()
    assert good.status_code == 200
    body = good.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert set(body["scope"].split()) == {SCOPE_APPLY, SCOPE_READ}

    bad = requests.post(
        portal.base + TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=(MVP_CLIENT, "wrong"), timeout=10
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert "Basic" in bad.headers["WWW-Authenticate"]
    grant = requests.post(portal.base + TOKEN_PATH, data={"grant_type": "password"}, auth=(MVP_CLIENT, "s3cret-mvp"))
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    # the reader may not ask for the apply scope
    assert portal.reader.get_token(SCOPE_APPLY).json()["error"] == "invalid_scope"

    # a token with only the read scope cannot create: 403, and reading works
    portal.mvp.login(SCOPE_READ)
    refused = portal.mvp.create(mvp_body())
    assert refused.status_code == 403 and refused.json()["code"] == "ONVOLDOENDE_SCOPE"
    assert portal.mvp.call("GET", "/aanvragen").status_code == 200
    # no token → 401 problem+json
    anon = requests.get(portal.base + API + "/aanvragen", timeout=10)
    assert anon.status_code == 401 and anon.headers["content-type"].startswith("application/problem+json")


def test_token_expires_on_the_sandbox_clock(portal: Portal) -> None:
    portal.mvp.login()
    assert portal.mvp.call("GET", "/aanvragen").status_code == 200
    portal.admin("POST", "/clock", {"advance_seconds": 3601})
    assert portal.mvp.call("GET", "/aanvragen").status_code == 401


# --- drafts, idempotency, patch, documents --------------------------------------------------------------------


def test_create_requires_idempotency_key_and_replays(portal: Portal) -> None:
    body = mvp_body()
    missing = portal.mvp.call("POST", "/aanvragen", body)
    assert missing.status_code == 400 and missing.json()["code"] == "IDEMPOTENCY_KEY_ONTBREEKT"

    first = portal.mvp.create(body, key="k-1")
    assert first.status_code == 201
    draft = first.json()
    assert draft["status"] == "concept" and draft["aanvrager"]["iban_masked"] == "BE68 **** **** 7034"
    assert "iban" not in draft["aanvrager"]
    again = portal.mvp.create(body, key="k-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == draft
    other = portal.mvp.create({**body, "referentie": "something-else"}, key="k-1")
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_HERGEBRUIKT"
    assert len(portal.sb.aanvragen) == 1

    # 24 h of sandbox time later the key is forgotten: the same retry makes a SECOND draft
    portal.advance(1.01)
    late = portal.mvp.create(body, key="k-1")
    assert late.status_code == 201 and "Idempotent-Replayed" not in late.headers
    assert late.json()["id"] != draft["id"]
    found = portal.mvp.call("GET", "/aanvragen", params={"referentie": body["referentie"]}).json()["items"]
    assert len(found) == 2


def test_patch_merges_and_conflicts_after_submit(portal: Portal) -> None:
    body = mvp_body()
    aid = portal.mvp.ready(body)
    gebouw = {**body["gebouw"], "ean": "541448800000000017"}
    patched = portal.mvp.call("PATCH", f"/aanvragen/{aid}", {"gebouw": gebouw})
    assert patched.status_code == 200 and patched.json()["gebouw"]["ean"] == "541448800000000017"
    assert patched.json()["categorieen"][0]["categorie"] == "dak"  # untouched keys stay
    ref = portal.mvp.call("PATCH", f"/aanvragen/{aid}", {"referentie": "other"})
    assert ref.status_code == 400 and ref.json()["invalid-params"][0]["name"] == "referentie"
    bad = portal.mvp.call("PATCH", f"/aanvragen/{aid}", {"categorieen": [{"categorie": "zwembad"}]})
    assert bad.status_code == 400 and any(p["name"] == "categorieen[0].categorie" for p in bad.json()["invalid-params"])

    assert portal.mvp.call("POST", f"/aanvragen/{aid}/indienen").status_code == 200
    late = portal.mvp.call("PATCH", f"/aanvragen/{aid}", {"gebouw": gebouw})
    assert late.status_code == 409 and late.json()["code"] == "STATUS_CONFLICT"
    doc = portal.mvp.upload(aid, "foto")
    assert doc.status_code == 409 and doc.json()["code"] == "STATUS_CONFLICT"


def test_documents_dedup_size_and_media_type(portal: Portal) -> None:
    aid = portal.mvp.create(mvp_body()).json()["id"]
    first = portal.mvp.upload(aid, "factuur", "dak")
    assert first.status_code == 201
    doc = first.json()
    assert set(doc) >= {"document_id", "soort", "sha256", "ontvangen_op"}
    same = portal.mvp.upload(aid, "factuur", "dak")
    assert same.status_code == 200 and same.json()["document_id"] == doc["document_id"]
    assert len(portal.mvp.call("GET", f"/aanvragen/{aid}").json()["documenten"]) == 1
    gif = portal.mvp.call(
        "POST",
        f"/aanvragen/{aid}/documenten",
        {"soort": "foto", "bestandsnaam": "x.gif", "mediatype": "image/gif", "inhoud_base64": "R0lG"},
    )
    assert gif.status_code == 415
    wrong_cat = portal.mvp.upload(aid, "foto", "warmtepomp")
    assert wrong_cat.status_code == 400
    portal.sb.max_document_bytes = 10
    big = portal.mvp.upload(aid, "foto", content=base64.b64encode(b"x" * 11).decode())
    assert big.status_code == 413 and big.json()["code"] == "DOCUMENT_TE_GROOT"


def test_submit_replay_with_key_and_409_without(portal: Portal) -> None:
    aid = portal.mvp.ready(mvp_body())
    first = portal.mvp.call("POST", f"/aanvragen/{aid}/indienen", key="submit-1")
    assert first.status_code == 200
    sent = first.json()
    assert sent["status"] == "ingediend" and sent["dossiernummer"].startswith("MVP-2026-")
    assert "ontvangen_op" in sent
    replay = portal.mvp.call("POST", f"/aanvragen/{aid}/indienen", key="submit-1")
    assert replay.status_code == 200 and replay.json() == sent and replay.headers["Idempotent-Replayed"] == "true"
    again = portal.mvp.call("POST", f"/aanvragen/{aid}/indienen")
    assert again.status_code == 409 and again.json()["code"] == "STATUS_CONFLICT"


# --- mandates and regeling ------------------------------------------------------------------------------------


def test_mandates(portal: Portal) -> None:
    none = portal.mvp.create(mvp_body(aanvrager={**mvp_body()["aanvrager"], "insz": "79010100133"}))
    assert none.status_code == 403 and none.json()["code"] == "MANDAAT_ONTBREKEND"
    loan = portal.mvp.create(mvp_body(aanvrager={**mvp_body()["aanvrager"], "insz": INSZ_LOAN}))
    assert loan.status_code == 403 and loan.json()["code"] == "ENERGIELENING_LOOPT"
    company = portal.mvp.create(mvp_body(aanvrager={**mvp_body()["aanvrager"], "hoedanigheid": "onderneming"}))
    assert company.status_code == 403 and company.json()["code"] == "MANDAAT_ONTBREKEND"
    assert "person → organisation" in company.json()["detail"]
    wrong = portal.mvp.create(isde_body())
    assert wrong.status_code == 403 and wrong.json()["code"] == "REGELING_NIET_TOEGELATEN"

    # ISDE: the machtiging intermediair of the BSN
    assert portal.isde.create(isde_body()).status_code == 201
    no_machtiging = portal.isde.create(isde_body(aanvrager={**isde_body()["aanvrager"], "bsn": "111222333"}))
    assert no_machtiging.status_code == 403 and no_machtiging.json()["code"] == "MANDAAT_ONTBREKEND"

    # a mandate withdrawn later: every read of the aanvraag is refused, and the poll leaves it out
    aid = portal.mvp.create(mvp_body()).json()["id"]
    assert (
        portal.admin("POST", "/mandaten", {"client_id": MVP_CLIENT, "insz": INSZ, "ingetrokken": True}).status_code
        == 201
    )
    read = portal.mvp.call("GET", f"/aanvragen/{aid}")
    assert read.status_code == 403 and read.json()["code"] == "MANDAAT_ONTBREKEND"
    assert portal.mvp.call("GET", "/aanvragen").json()["items"] == []
    # an energy loan starting later blocks the submit
    portal.admin("POST", "/mandaten", {"client_id": MVP_CLIENT, "insz": INSZ, "energielening_actief": True})
    assert portal.mvp.call("POST", f"/aanvragen/{aid}/indienen").json()["code"] == "ENERGIELENING_LOOPT"
    listed = portal.admin("GET", "/mandaten").json()
    assert {"client_id": ISDE_CLIENT, "bsn": BSN} in [
        {k: m[k] for k in ("client_id", "bsn")} for m in listed if "bsn" in m
    ]


def test_other_clients_aanvraag_is_404(portal: Portal) -> None:
    aid = portal.mvp.create(mvp_body()).json()["id"]
    assert portal.isde.call("GET", f"/aanvragen/{aid}").status_code == 404


# --- the status engine ----------------------------------------------------------------------------------------


def test_happy_path_to_paid(portal: Portal) -> None:
    aid = portal.mvp.submitted(mvp_body())
    portal.plan(aid, decision_days=10, pay_days=7)
    portal.advance(1)
    assert portal.mvp.call("GET", f"/aanvragen/{aid}").json()["status"] == "in_behandeling"
    portal.advance(9)
    decided = portal.mvp.call("GET", f"/aanvragen/{aid}").json()
    assert decided["status"] == "goedgekeurd"
    beslissing = decided["categorieen"][0]["beslissing"]
    # 2025 table (submit 2026): roof, lowest income, €14/m² × 100 m²
    assert beslissing == {"status": "goedgekeurd", "toegekend_bedrag": 1400.0, "reden_codes": []}
    assert decided["beroep_tot"].startswith("2026-12-12")
    portal.advance(7)
    paid = portal.mvp.call("GET", f"/aanvragen/{aid}").json()
    assert paid["status"] == "uitbetaald"
    assert paid["betaling"]["bedrag"] == 1400.0 and paid["betaling"]["iban_masked"] == "BE68 **** **** 7034"
    assert statuses(portal, aid) == ["concept", "ingediend", "in_behandeling", "goedgekeurd", "uitbetaald"]
    steps = portal.mvp.call("GET", f"/aanvragen/{aid}/historiek").json()["items"]
    assert all(set(step) == {"van", "naar", "op", "actor", "reden_codes"} for step in steps)
    assert [step["op"][:10] for step in steps] == ["2026-11-02", "2026-11-02", "2026-11-03", "2026-11-12", "2026-11-19"]


def test_more_documents_asked_and_answered(portal: Portal) -> None:
    aid = portal.mvp.submitted(mvp_body())
    portal.plan(aid, aanvulling=3, decision_days=20, pay_days=5)
    portal.advance(3)
    asked = portal.mvp.call("GET", f"/aanvragen/{aid}").json()
    assert asked["status"] == "aanvulling_gevraagd"
    assert asked["aanvulling"]["documenten_gevraagd"] == ["aannemersattest", "foto"]
    assert portal.mvp.upload(aid, "aannemersattest").status_code == 201
    assert portal.mvp.call("GET", f"/aanvragen/{aid}").json()["status"] == "aanvulling_gevraagd"  # one still missing
    assert portal.mvp.upload(aid, "foto", content=base64.b64encode(b"jpeg").decode()).status_code == 201
    assert portal.mvp.call("GET", f"/aanvragen/{aid}").json()["status"] == "in_behandeling"
    portal.advance(30)
    assert statuses(portal, aid) == [
        "concept",
        "ingediend",
        "in_behandeling",
        "aanvulling_gevraagd",
        "in_behandeling",
        "goedgekeurd",
        "uitbetaald",
    ]


def test_more_documents_never_sent_ends_refused(portal: Portal) -> None:
    aid = portal.mvp.submitted(mvp_body())
    portal.plan(aid, aanvulling=2, decision_days=20)
    portal.advance(40)
    lapsed = portal.mvp.call("GET", f"/aanvragen/{aid}").json()
    assert lapsed["status"] == "afgewezen"
    assert lapsed["categorieen"][0]["beslissing"]["reden_codes"] == ["DOCUMENT_ONTBREEKT"]


def test_partly_approved_by_cap(portal: Portal) -> None:
    body = mvp_body()
    body["categorieen"].append(windows_item(40))  # 40 m² × €135 = €5,400 > the €4,125 cap (2025, lowest)
    aid = portal.mvp.submitted(body)
    portal.plan(aid, decision_days=6, pay_days=5)
    portal.advance(6)
    decided = portal.mvp.call("GET", f"/aanvragen/{aid}").json()
    assert decided["status"] == "gedeeltelijk_goedgekeurd"
    dak, ramen = (c["beslissing"] for c in decided["categorieen"])
    assert dak["status"] == "goedgekeurd"
    assert ramen == {
        "status": "gedeeltelijk_goedgekeurd",
        "toegekend_bedrag": 4125.0,
        "reden_codes": ["PLAFOND_TOEGEPAST"],
    }
    assert decided["categorieen"][1]["aangevraagd_bedrag"] == 5400.0
    history = portal.mvp.call("GET", f"/aanvragen/{aid}/historiek").json()["items"]
    assert history[-1]["reden_codes"] == ["PLAFOND_TOEGEPAST"]
    portal.advance(5)
    paid = portal.mvp.call("GET", f"/aanvragen/{aid}").json()
    assert paid["status"] == "uitbetaald" and paid["betaling"]["bedrag"] == 5525.0
    # paying does not end the right to appeal a partly approved decision; the review keeps the cap
    portal.plan(aid, herzien_days=1)
    appeal = portal.mvp.call("POST", f"/aanvragen/{aid}/beroep", {"motivering": "plafond te laag"})
    assert appeal.status_code == 200
    portal.advance(1)
    assert statuses(portal, aid)[-4:] == ["beroep_ingediend", "herzien", "gedeeltelijk_goedgekeurd", "uitbetaald"]
    assert portal.mvp.call("GET", f"/aanvragen/{aid}").json()["betaling"]["bedrag"] == 5525.0


def test_refused_attest_inconsistent_then_appeal_grants(portal: Portal) -> None:
    aid = portal.mvp.submitted(mvp_body())
    portal.plan(aid, decision_days=8, inconsistent="dak", herzien_days=12, pay_days=5)
    portal.advance(8)
    refused = portal.mvp.call("GET", f"/aanvragen/{aid}").json()
    assert refused["status"] == "afgewezen"
    assert refused["categorieen"][0]["beslissing"]["reden_codes"] == ["ATTEST_FACTUUR_INCONSISTENT"]
    assert "betaling" not in refused
    portal.advance(20)
    assert portal.mvp.call("GET", f"/aanvragen/{aid}").json()["status"] == "afgewezen"  # nothing to pay

    no_reason = portal.mvp.call("POST", f"/aanvragen/{aid}/beroep", {})
    assert no_reason.status_code == 400
    wrong = portal.mvp.call("POST", f"/aanvragen/{aid}/bezwaar", {"motivering": "x"})
    assert wrong.status_code == 404
    appeal = portal.mvp.call("POST", f"/aanvragen/{aid}/beroep", {"motivering": "Het attest is aangepast."})
    assert appeal.status_code == 200 and appeal.json()["status"] == "beroep_ingediend"
    twice = portal.mvp.call("POST", f"/aanvragen/{aid}/beroep", {"motivering": "again"})
    assert twice.status_code == 409
    portal.advance(12)
    assert portal.mvp.call("GET", f"/aanvragen/{aid}").json()["status"] == "goedgekeurd"
    portal.advance(5)
    assert statuses(portal, aid)[-5:] == ["afgewezen", "beroep_ingediend", "herzien", "goedgekeurd", "uitbetaald"]


def test_appeal_after_the_term(portal: Portal) -> None:
    aid = portal.mvp.submitted(mvp_body())
    portal.plan(aid, decision_days=5, inconsistent="dak")
    portal.advance(5 + 32)
    late = portal.mvp.call("POST", f"/aanvragen/{aid}/beroep", {"motivering": "te laat"})
    assert late.status_code == 422 and late.json()["code"] == "BEROEPSTERMIJN_VERSTREKEN"
    # appealing a draft is a conflict
    draft = portal.mvp.create(mvp_body()).json()["id"]
    assert portal.mvp.call("POST", f"/aanvragen/{draft}/beroep", {"motivering": "x"}).status_code == 409


def test_isde_bezwaar_route_and_six_week_term(portal: Portal) -> None:
    aid = portal.isde.submitted(isde_body())
    portal.plan(aid, decision_days=30, inconsistent="dakisolatie")
    portal.advance(30)
    decided = portal.isde.call("GET", f"/aanvragen/{aid}").json()
    assert decided["dossiernummer"].startswith("ISDE-2026-") and decided["status"] == "afgewezen"
    assert portal.isde.call("POST", f"/aanvragen/{aid}/beroep", {"motivering": "x"}).status_code == 404
    portal.advance(40)  # within 6 weeks
    ok = portal.isde.call("POST", f"/aanvragen/{aid}/bezwaar", {"motivering": "attest klopt"})
    assert ok.status_code == 200 and ok.json()["status"] == "beroep_ingediend"


def test_withdraw_before_decision_and_409_after(portal: Portal) -> None:
    aid = portal.mvp.submitted(mvp_body())
    portal.advance(1)
    out = portal.mvp.call("POST", f"/aanvragen/{aid}/intrekken")
    assert out.status_code == 200 and out.json()["status"] == "ingetrokken"
    portal.advance(90)
    assert portal.mvp.call("GET", f"/aanvragen/{aid}").json()["status"] == "ingetrokken"  # nothing happens after

    other = portal.mvp.submitted(mvp_body())
    portal.plan(other, decision_days=5)
    portal.advance(5)
    late = portal.mvp.call("POST", f"/aanvragen/{other}/intrekken")
    assert late.status_code == 409 and late.json()["code"] == "STATUS_CONFLICT"


def test_seeded_plan_is_within_the_published_timings(portal: Portal) -> None:
    portal.sb.aanvulling_share, portal.sb.inconsistent_share = 0.1, 0.08
    portal.sb.throttle.limit = 10_000
    plans = []
    for _ in range(40):
        aid = portal.mvp.submitted(mvp_body())
        plans.append(portal.sb.aanvragen[aid].plan)
    for plan in plans:
        assert plan is not None
        days = (plan.decide_at - plan.processing_at).days + 1
        assert 5 <= days <= 60 and 5 <= plan.pay_days <= 20
    assert 0 < sum(p.aanvulling_at is not None for p in plans if p) < 20


# --- the 422 rules --------------------------------------------------------------------------------------------


def refused(api: Any, body: dict[str, Any]) -> dict[str, Any]:
    aid = api.ready(body)
    answer = api.call("POST", f"/aanvragen/{aid}/indienen")
    assert answer.status_code == 422, answer.text
    return dict(answer.json())


def test_rule_factuur_te_oud_counts_from_the_advance_invoice(portal: Portal) -> None:
    body = mvp_body()
    body["categorieen"][0]["facturen"].insert(
        0, {"nummer": "V-1", "datum": "2024-10-01", "is_voorschot": True, "bedrag_excl_btw": 1000, "btw_pct": 6}
    )
    problem = refused(portal.mvp, body)
    assert problem["code"] == "FACTUUR_TE_OUD"
    assert problem["invalid-params"][0]["name"] == "categorieen[0].facturen[0].datum"
    assert problem["fouten"][0]["categorie"] == "dak"


def test_rule_minimum_and_all_failures_listed(portal: Portal) -> None:
    body = mvp_body(inkomen={**mvp_body()["inkomen"], "gezamenlijk_belastbaar_inkomen": 90000})
    body["categorieen"][0]["facturen"][0]["bedrag_excl_btw"] = 900
    body["categorieen"].append(
        {
            "categorie": "sanitair",
            "uitvoeringsdatum": "2026-07-01",
            "facturen": [{"nummer": "S-1", "datum": "2026-07-01", "bedrag_excl_btw": 4000, "btw_pct": 6}],
        }
    )
    problem = refused(portal.mvp, body)
    assert problem["code"] == "MINIMUM_FACTUURBEDRAG"
    codes = [f["code"] for f in problem["fouten"]]
    assert codes == ["MINIMUM_FACTUURBEDRAG", "INKOMENSCATEGORIE_NIET_TOEGELATEN"]
    assert {p["name"] for p in problem["invalid-params"]} == {"categorieen[0].facturen", "categorieen[1].categorie"}


def test_rule_gebouw_te_recent(portal: Portal) -> None:
    body = mvp_body(categorieen=[heat_pump_item()])
    body["gebouw"] = {**body["gebouw"], "aansluitingsjaar": 2019, "vergunningsdatum": "2022-03-01"}
    assert refused(portal.mvp, body)["code"] == "GEBOUW_TE_RECENT"
    # connected before 2014: no matter the permit
    body = mvp_body(categorieen=[heat_pump_item()], gebouw={**mvp_body()["gebouw"], "aansluitingsjaar": 2013})
    assert portal.mvp.call("POST", f"/aanvragen/{portal.mvp.ready(body)}/indienen").status_code == 200
    body = mvp_body(categorieen=[heat_pump_item()], referentie="hp-old-permit")
    body["gebouw"] = {**body["gebouw"], "aansluitingsjaar": 2019, "vergunningsdatum": "2018-03-01"}
    aid = portal.mvp.ready(body)
    assert portal.mvp.call("POST", f"/aanvragen/{aid}/indienen").status_code == 200


def test_rule_warmtepomp_10jaar_from_history(portal: Portal) -> None:
    made = portal.admin(
        "POST", "/historie", {"regeling": "MVP_VL", "insz": INSZ, "categorie": "warmtepomp", "datum": "2019-05-01"}
    )
    assert made.status_code == 201
    assert refused(portal.mvp, mvp_body(categorieen=[heat_pump_item()]))["code"] == "WARMTEPOMP_10JAAR"


def test_rule_inkomenscategorie(portal: Portal) -> None:
    body = mvp_body(categorieen=[windows_item(10)])
    body["inkomen"]["gezamenlijk_belastbaar_inkomen"] = 120000
    problem = refused(portal.mvp, body)
    assert problem["code"] == "INKOMENSCATEGORIE_NIET_TOEGELATEN"


def test_rule_document_ontbreekt(portal: Portal) -> None:
    aid = portal.mvp.create(mvp_body()).json()["id"]
    portal.mvp.upload(aid, "factuur", "dak")
    problem = portal.mvp.call("POST", f"/aanvragen/{aid}/indienen").json()
    assert problem["code"] == "DOCUMENT_ONTBREEKT" and "aanslagbiljet" in problem["detail"]
    isde = portal.isde.create(isde_body()).json()["id"]
    portal.isde.upload(isde, "factuur", "dakisolatie")
    problem = portal.isde.call("POST", f"/aanvragen/{isde}/indienen").json()
    assert problem["code"] == "DOCUMENT_ONTBREEKT" and "betaalbewijs" in problem["detail"]


def test_rules_isde(portal: Portal) -> None:
    unknown = isde_body()
    unknown["categorieen"][0]["meldcode"] = "ISO-XXX-99"
    assert refused(portal.isde, unknown)["code"] == "MELDCODE_ONBEKEND"

    old = isde_body()
    old["categorieen"][0]["uitvoeringsdatum"] = "2024-09-01"
    old["categorieen"][0]["facturen"][0]["datum"] = "2025-01-10"
    assert refused(portal.isde, old)["code"] == "AANVRAAGTERMIJN_VERSTREKEN"

    small = isde_body()
    small["categorieen"][0]["hoeveelheid"] = 12
    problem = refused(portal.isde, small)
    assert problem["code"] == "MINIMUM_FACTUURBEDRAG" and problem["invalid-params"][0]["name"].endswith("hoeveelheid")

    portal.admin(
        "POST",
        "/historie",
        {"regeling": "ISDE_NL", "dwelling_key": "NL-9711AB-12", "isolatietype": "dak", "datum": "2023-03-01"},
    )
    assert refused(portal.isde, isde_body())["code"] == "ISOLATIETYPE_AL_GESUBSIDIEERD"


def test_submit_validation_400(portal: Portal) -> None:
    body = mvp_body()
    del body["aanvrager"]["iban"]
    aid = portal.mvp.ready(body)
    answer = portal.mvp.call("POST", f"/aanvragen/{aid}/indienen")
    assert answer.status_code == 400 and answer.json()["invalid-params"][0]["name"] == "aanvrager.iban"


def test_simulatie(portal: Portal) -> None:
    body = mvp_body()
    body["categorieen"].append(windows_item(40))
    sim = portal.reader.call("POST", "/simulatie", body)
    assert sim.status_code == 200
    out = sim.json()
    assert out["inkomenscategorie"] == "laagste"
    assert [(c["bedrag"], c["plafond_toegepast"]) for c in out["categorieen"]] == [(1400.0, False), (4125.0, True)]
    assert out["totaal"] == 5525.0
    body["inkomen"]["gezamenlijk_belastbaar_inkomen"] = 200000
    high = portal.reader.call("POST", "/simulatie", body).json()
    assert high["categorieen"][1]["regels"] == ["INKOMENSCATEGORIE_NIET_TOEGELATEN"]
    assert portal.sb.aanvragen == {}


# --- poll -------------------------------------------------------------------------------------------------------


def test_poll_paging_cursor_stable_under_writes(portal: Portal) -> None:
    ids = []
    for _ in range(5):
        ids.append(portal.mvp.create(mvp_body()).json()["id"])
        portal.sb.clock.advance(1)
    page1 = portal.mvp.call("GET", "/aanvragen", params={"limit": 2}).json()
    assert [a["id"] for a in page1["items"]] == ids[:2] and page1["next_cursor"]
    # writes in between: the first one is touched (moves to the end), a new one is made
    portal.mvp.call("PATCH", f"/aanvragen/{ids[0]}", {"gebouw": {**mvp_body()["gebouw"], "ean": "541448800000000017"}})
    portal.sb.clock.advance(1)
    newest = portal.mvp.create(mvp_body()).json()["id"]
    page2 = portal.mvp.call("GET", "/aanvragen", params={"cursor": page1["next_cursor"], "limit": 2}).json()
    assert [a["id"] for a in page2["items"]] == ids[2:4]
    page3 = portal.mvp.call("GET", "/aanvragen", params={"cursor": page2["next_cursor"], "limit": 2}).json()
    assert [a["id"] for a in page3["items"]] == [ids[4], ids[0]]
    page4 = portal.mvp.call("GET", "/aanvragen", params={"cursor": page3["next_cursor"], "limit": 2}).json()
    assert [a["id"] for a in page4["items"]] == [newest] and page4["next_cursor"] is None

    since = portal.mvp.call("GET", "/aanvragen", params={"updated_since": page3["items"][1]["updated_at"]}).json()
    assert [a["id"] for a in since["items"]] == [ids[0], newest]
    assert portal.mvp.call("GET", "/aanvragen", params={"status": "ingediend"}).json()["items"] == []
    bad = portal.mvp.call("GET", "/aanvragen", params={"updated_since": "yesterday"})
    assert bad.status_code == 400
    assert portal.mvp.call("GET", "/aanvragen", params={"cursor": "garbage"}).status_code == 400
    assert portal.mvp.call("GET", "/aanvragen", params={"limit": 201}).status_code == 400
    assert portal.isde.call("GET", "/aanvragen").json()["items"] == []  # only the client's own


# --- webhooks ---------------------------------------------------------------------------------------------------


def register(portal: Portal, receiver: Receiver, client_id: str = MVP_CLIENT) -> None:
    answer = portal.admin("POST", "/webhooks", {"client_id": client_id, "url": receiver.url, "secret": WHSEC})
    assert answer.status_code == 201


def verified(receiver: Receiver) -> list[dict[str, Any]]:
    hook = Webhook(WHSEC)
    return [dict(hook.verify(c["body"], c["headers"])) | {"_id": c["headers"]["webhook-id"]} for c in receiver.calls]


def test_webhooks_signed_on_every_status_change(portal: Portal, receiver: Receiver) -> None:
    register(portal, receiver)
    aid = portal.mvp.submitted(mvp_body())
    assert len(receiver.calls) == 1  # the submit itself
    portal.plan(aid, decision_days=5, pay_days=5)
    portal.advance(15)
    events = verified(receiver)
    assert [e["data"]["status"] for e in events] == ["ingediend", "in_behandeling", "goedgekeurd", "uitbetaald"]
    assert [e["data"]["vorige_status"] for e in events] == ["concept", "ingediend", "in_behandeling", "goedgekeurd"]
    assert {e["type"] for e in events} == {"aanvraag.status_gewijzigd"}
    assert events[0]["_id"] == f"msg_{aid}_1" and events[3]["_id"] == f"msg_{aid}_4"
    assert set(events[0]["data"]) == {
        "id",
        "referentie",
        "regeling",
        "status",
        "vorige_status",
        "updated_at",
        "dossiernummer",
    }
    tampered = dict(receiver.calls[0]["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook(WHSEC).verify(receiver.calls[0]["body"].replace("ingediend", "goedgekeurd"), tampered)


def test_webhook_retries_on_non_2xx(portal: Portal, receiver: Receiver) -> None:
    register(portal, receiver)
    receiver.answers = [500, 503]
    aid = portal.mvp.submitted(mvp_body())
    assert len(receiver.calls) == 1
    portal.advance(0.0001)  # ≥ 5 s: the second attempt
    portal.sb.clock.advance(400)  # ≥ 5 min more
    portal.admin("POST", "/webhooks/flush")
    ids = [c["headers"]["webhook-id"] for c in receiver.calls]
    assert ids == [f"msg_{aid}_1"] * 3
    log = portal.admin("GET", "/webhooks").json()["log"]
    assert [e["outcome"] for e in log] == ["failed", "failed", "delivered"]


def test_webhook_faults_duplicate_drop_off(portal: Portal, receiver: Receiver) -> None:
    register(portal, receiver)
    portal.admin("POST", "/webhook-faults", {"duplicate_share": 1.0})
    portal.mvp.submitted(mvp_body())
    assert len(receiver.calls) == 2
    assert receiver.calls[0]["headers"]["webhook-id"] == receiver.calls[1]["headers"]["webhook-id"]

    portal.admin("POST", "/webhook-faults", {"drop_share": 1.0})
    portal.mvp.submitted(mvp_body())
    assert len(receiver.calls) == 2
    assert portal.admin("GET", "/webhooks").json()["log"][-1]["outcome"] == "dropped"

    portal.admin("POST", "/webhook-faults", {"off": True})
    portal.mvp.submitted(mvp_body())
    assert len(receiver.calls) == 2
    portal.admin("POST", "/webhook-faults", {})
    portal.mvp.submitted(mvp_body())
    assert len(receiver.calls) == 3


def test_webhook_faults_share_is_seeded_and_partial(portal: Portal, receiver: Receiver) -> None:
    register(portal, receiver)
    portal.admin("POST", "/webhook-faults", {"drop_share": 0.5, "seed": 3})
    for _ in range(20):
        portal.mvp.submitted(mvp_body())
    assert 3 < len(receiver.calls) < 17


# --- rate limit, faults, admin ----------------------------------------------------------------------------------


def test_rate_limit_429_with_retry_after(portal: Portal) -> None:
    portal.admin("POST", "/throttle", {"per_minute": 5})
    portal.mvp.login()
    answers = [portal.mvp.call("GET", "/aanvragen").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    limited = portal.mvp.call("GET", "/aanvragen")
    assert limited.json()["code"] == "TE_VEEL_VERZOEKEN" and int(limited.headers["Retry-After"]) >= 1
    # per client: the ISDE client is not limited by the MVP client's calls
    assert portal.isde.call("GET", "/aanvragen").status_code == 200


def test_default_limit_is_120_a_minute(portal: Portal) -> None:
    assert portal.sb.throttle.limit == 120


def test_injected_faults_answer_problem_json(portal: Portal) -> None:
    rule = {"route": f"{API}/aanvragen", "method": "GET", "error_rate": 1.0, "error_status": 503}
    assert portal.admin("POST", "/faults", {"rules": [rule]}).status_code == 200
    answer = portal.mvp.call("GET", "/aanvragen")
    assert answer.status_code == 503 and answer.json()["code"] == "DIENST_ONBESCHIKBAAR"
    portal.admin("POST", "/reset")
    assert portal.mvp.call("GET", "/aanvragen").status_code == 401  # tokens are forgotten too
    portal.mvp.login()
    assert portal.mvp.call("GET", "/aanvragen").status_code == 200


def test_admin_dump_clock_and_clients(portal: Portal) -> None:
    aid = portal.mvp.submitted(mvp_body())
    portal.plan(aid, decision_days=10)
    dump = portal.admin("GET", "/aanvragen").json()
    assert dump[0]["id"] == aid and dump[0]["plan"]["decide_at"]
    clock = portal.admin("GET", "/clock").json()["now"]
    assert clock.startswith("2026-11-02T09:00")
    moved = portal.admin("POST", "/clock", {"set": "2026-12-01T10:00:00+01:00"}).json()
    assert moved["now"].startswith("2026-12-01T10:00") and moved["transitions"] >= 2
    made = portal.admin("POST", "/clients", {"client_id": "x", "client_secret": "y", "regeling": "ISDE_NL"})
    assert made.status_code == 201
    assert (
        portal.admin("POST", "/clients", {"client_id": "x", "client_secret": "y", "regeling": "XX"}).status_code == 400
    )
    assert json.loads(portal.admin("GET", "/clients").text)[-1]["regeling"] == "ISDE_NL"


def test_webhook_delay_and_out_of_order(portal: Portal, receiver: Receiver) -> None:
    register(portal, receiver)
    portal.admin("POST", "/webhook-faults", {"delay_seconds": 60})
    portal.mvp.submitted(mvp_body())
    assert receiver.calls == []  # held back a minute of sandbox time
    portal.advance(60 / 86400)
    assert len(receiver.calls) == 1

    portal.admin("POST", "/webhook-faults", {"out_of_order": True, "delay_seconds": 1})
    first, second = portal.mvp.submitted(mvp_body()), portal.mvp.submitted(mvp_body())
    portal.advance(1 / 86400)
    got = [json.loads(c["body"])["data"]["id"] for c in receiver.calls[1:]]
    assert got == [second, first]


def test_isde_combined_measures_doubled_and_paid(portal: Portal) -> None:
    body = isde_body()
    body["categorieen"].append(
        {
            "categorie": "spouwmuurisolatie",
            "meldcode": "ISO-SPW-01",
            "hoeveelheid": 80,
            "uitvoeringsdatum": "2026-06-01",
            "facturen": [{"nummer": "NL-78", "datum": "2026-06-02", "bedrag_excl_btw": 2400, "btw_pct": 21}],
        }
    )
    aid = portal.isde.submitted(body)
    plan = portal.sb.aanvragen[aid].plan
    assert plan is not None and 7 <= (plan.decide_at - plan.processing_at).days + 1 <= 56
    portal.plan(aid, decision_days=20, pay_days=10)
    portal.advance(30)
    paid = portal.isde.call("GET", f"/aanvragen/{aid}").json()
    assert [c["beslissing"]["toegekend_bedrag"] for c in paid["categorieen"]] == [1950.0, 840.0]  # 2 × the rate
    assert paid["status"] == "uitbetaald" and paid["betaling"]["iban_masked"] == "NL91 **** **** 4300"
    assert paid["inkomenscategorie"] is None


def test_concurrent_retries_with_one_key_make_one_draft(portal: Portal) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = mvp_body()
    portal.mvp.login()
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: portal.mvp.create(body, key="race"), range(6)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1 and len(portal.sb.aanvragen) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 5
