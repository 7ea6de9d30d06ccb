"""Contract tests of the sandbox's inbound Hoomdossier endpoints (contracts/econobis.md §3), over HTTP:
`account_related` validation and side effects, each endpoint, and the repeat behaviour of §3.3."""

from __future__ import annotations

import base64

import pytest
import requests

from tests.connectors.econobis.sandbox_helpers import edit, hoom, login, person, records, status_code, webform

BUILDING = 77001


@pytest.fixture
def sb(start_sandbox):
    [running] = start_sandbox(30, tenants=("coop-noord",), throttle_per_minute=10_000)
    return running


@pytest.fixture
def resident(sb):
    """A signed-up resident in the Hoom campaign with a visit kansactie of a coach, and a Hoom account."""
    db = sb.sandbox.db
    camp = db.ids["campaigns"][0]
    coach = db.tables["campaigns"][camp]["coach_ids"][0]
    floor = next(m["id"] for m in sb.sandbox.lookups.tables["measures"] if m["externalHoomId"] == "floor-insulation")
    resp = webform(
        sb,
        person(
            intake_campagne_id=camp,
            intake_status_id=1,
            intake_maatregel_ids=str(floor),
            kansactie_aanmaken="visit",
            kansactie_org_of_coach=coach,
        ),
    )
    assert resp.status_code == 200, resp.text
    [contact] = records(sb, "contacts", last_name="Zanten")
    edit(sb, "contacts", contact["id"], {"hoom_account_id": 4242})
    [intake] = records(sb, "intakes", contact_id=contact["id"])
    [kans] = records(sb, "opportunities", intake_id=intake["id"])
    [visit] = records(sb, "quotation_requests", opportunity_id=kans["id"])
    return {"contact": contact["id"], "coach": coach, "kans": kans["id"], "visit": visit["id"], "campaign": camp}


def related(resident, **over):
    body = {"building_id": BUILDING, "user_id": 9, "account_id": 4242, "contact_id": resident["contact"]}
    body.update(over)
    return body


def qr_status(sb, qid):
    return status_code(sb, "quotation_requests", records(sb, "quotation_requests", id=qid)[0]["status_id"])


def kans_status(sb, oid):
    return status_code(sb, "opportunities", records(sb, "opportunities", id=oid)[0]["status_id"])


# --- common contract (§3.1) ----------------------------------------------------------------------------------


def test_account_related_validation(sb, resident):
    ok = {"account_related": related(resident)}
    assert hoom(sb, "scan-status", ok, key="wrong").status_code == 404
    assert hoom(sb, "scan-status", None, raw=b"").json()[-3] == "Fout opgetreden: No payload found"
    assert hoom(sb, "scan-status", None, raw=b"{not json").status_code == 404
    assert hoom(sb, "scan-status", {"account_related": None}).status_code == 404  # falsy → 404
    missing = hoom(sb, "scan-status", {"something": 1})  # missing key → PHP warning → 500
    assert missing.status_code == 500 and "Onbekende fout opgetreden." in missing.json()
    assert hoom(sb, "scan-status", {"account_related": related(resident, building_id=None)}).status_code == 404
    assert hoom(sb, "scan-status", {"account_related": related(resident, contact_id=None)}).status_code == 404
    assert hoom(sb, "scan-status", {"account_related": related(resident, contact_id=999999)}).status_code == 404
    mismatch = hoom(sb, "scan-status", {"account_related": related(resident, account_id=1)})
    assert mismatch.status_code == 404 and any("Mismatch account_id 1" in line for line in mismatch.json())
    resp = hoom(sb, "scan-status", ok)
    assert resp.status_code == 200 and resp.json()[0] == "Start EndPointScanStatus"
    assert resp.json()[-2:] == ["Aanroep succesvol afgerond.", "Log is gelogd naar het applicatielog."]


def test_cooperation_without_hoom_link_answers_404(sb, resident):
    requests.post(f"{sb.server.base_url}/__sandbox/cooperation", json={"hoom_link": None}, timeout=5)
    resp = hoom(sb, "scan-status", {"account_related": related(resident)})
    assert resp.status_code == 404


def test_raw_json_body_is_read_whatever_the_content_type(sb, resident):
    import json

    body = json.dumps({"account_related": related(resident)}).encode()
    assert hoom(sb, "scan-status", None, raw=body).status_code == 200  # sent as form content-type


def test_every_endpoint_creates_or_stamps_a_housing_file(sb, resident):
    contact = resident["contact"]
    [address] = records(sb, "addresses", contact_id=contact)
    assert records(sb, "housing_files", address_id=address["id"]) == []
    assert hoom(sb, "scan-status", {"account_related": related(resident)}).status_code == 200
    [hf] = records(sb, "housing_files", address_id=address["id"])
    assert hf["hoom_building_id"] == BUILDING and hf["is_house_for_sale"] == "2" and hf["number_of_residents"] == 0
    # a second call finds it by building id (and would find it for ANY contact: ownership is not checked)
    assert hoom(sb, "scan-status", {"account_related": related(resident)}).status_code == 200
    assert len(records(sb, "housing_files", address_id=address["id"])) == 1


# --- per endpoint (§3.2) and repeats (§3.3) ------------------------------------------------------------------


def test_gebruik_maps_b_g_w_answers_and_is_idempotent(sb, resident):
    body = {
        "account_related": related(resident),
        "current": {
            "build-year": {"answers": {"value": 1931}},
            "building-type-category": {"answers": [{"value": 5}, {"value": 3}]},  # only the first answer is used
            "monument": {"answers": {"value": 2}},
            "building-contract-type": {"answers": {"value": "rented"}},
            "resident-count": {"answers": {"value": 2}},
            "current-wall-insulation": {"answers": {"value": 11}},
            "brand-new-question": {"answers": {"value": "x"}},
        },
        "new": {"resident-count": {"answers": {"value": 4}}},  # new wins
    }
    assert hoom(sb, "gebruik", body).status_code == 200
    [hf] = records(sb, "housing_files", hoom_building_id=BUILDING)
    assert hf["build_year"] == 1931
    assert hf["building_type_id"] == 3  # Hoom 5 → Tussenwoning
    assert (hf["is_monument"], hf["is_house_for_sale"], hf["number_of_residents"]) == ("0", "0", 4)
    [status] = records(sb, "housing_file_housing_statuses", housing_file_id=hf["id"])
    assert status["status"] == 11
    [link] = records(sb, "housing_file_hoom_links", external_hoom_short_name="brand-new-question")
    assert link["import_from_hoom"] is False and link["label"] == "?"

    def housing_revisions():
        # every call also writes a Webform `last_requests` revision: the limit's bookkeeping is audited too
        return [r for r in records(sb, "revisions") if not r["revisionable_type"].endswith("Webform")]

    revisions = len(housing_revisions())
    assert hoom(sb, "gebruik", body).status_code == 200
    assert records(sb, "housing_files", id=hf["id"])[0] == {
        **hf,
        "updated_at": records(sb, "housing_files", id=hf["id"])[0]["updated_at"],
    }
    assert len(housing_revisions()) == revisions  # nothing changed the second time
    bad = hoom(
        sb,
        "gebruik",
        {"account_related": related(resident), "current": {"build-year": {"answers": {"value": "onbekend"}}}},
    )
    assert bad.status_code == 500 and "Gehele API aanroep is ongedaan gemaakt!" in bad.json()


def test_woonplan_upserts_specs_and_handles_dropped_ones(sb, resident):
    advices = {
        "a1": {
            "measure_id": "floor-insulation",
            "name": "Vloer",
            "surface": 40,
            "execute_self": False,
            "savings_gas": "120.5",
        },
        "a2": {"measure_id": "unknown-measure", "name": "Iets", "count": 2, "execute_self": True},
    }
    body = {
        "account_related": related(resident),
        "user_action_plan_advices": advices,
        "user_action_plan_advice_comments": {"resident": "graag snel"},
    }
    assert hoom(sb, "woonplan", body).status_code == 200
    [hf] = records(sb, "housing_files", hoom_building_id=BUILDING)
    specs = records(sb, "housing_file_specifications", housing_file_id=hf["id"])
    assert {s["external_hoom_name"] for s in specs} == {"Vloer", "Iets"}
    other = next(s for s in specs if s["external_hoom_name"] == "Iets")
    assert sb.sandbox.lookups.by_id("measures", other["measure_id"])["name"] == "Overig uit Hoomdossier"
    assert other["type_of_execution"] == "Z" and other["answer"] == "2"
    assert hf["remark"] == "graag snel" and hf["remark_coach"] == ""
    assert hoom(sb, "woonplan", body).status_code == 200  # same payload → same state
    assert len(records(sb, "housing_file_specifications", housing_file_id=hf["id"])) == 2
    # the coordinator makes a kans of the "Overig" spec; the next plan drops it → kans deleted_in_hd
    headers = login(sb)
    resp = requests.post(
        f"{sb.server.base_url}/api/housing-file/{hf['id']}/campaign/{resident['campaign']}/create-opportunities",
        json={"ids": [other["id"]]},
        headers=headers,
        timeout=5,
    )
    [kans_id] = resp.json()["data"]
    del advices["a2"]
    assert hoom(sb, "woonplan", body).status_code == 200
    assert kans_status(sb, kans_id) == "deleted_in_hd"
    assert records(sb, "housing_file_specifications", id=other["id"])  # kept: it still has a kans


def test_woonplan_list_drops_element_zero_and_missing_measure_is_500(sb, resident):
    body = {
        "account_related": related(resident),
        "user_action_plan_advices": [
            {"measure_id": "floor-insulation", "name": "Vloer"},
            {"measure_id": "crack-sealing", "name": "Kieren"},
        ],
    }
    assert hoom(sb, "woonplan", body).status_code == 200
    [hf] = records(sb, "housing_files", hoom_building_id=BUILDING)
    assert [s["external_hoom_name"] for s in records(sb, "housing_file_specifications", housing_file_id=hf["id"])] == [
        "Kieren"
    ]
    bad = {"account_related": related(resident), "user_action_plan_advices": {"x": {"name": "zonder maatregel"}}}
    assert hoom(sb, "woonplan", bad).status_code == 500


def test_afspraak_plans_the_visit_and_is_idempotent(sb, resident):
    assert hoom(sb, "afspraak", {"account_related": related(resident), "coaches": []}).status_code == 500  # no date key
    assert (
        hoom(sb, "afspraak", {"account_related": related(resident), "appointment_date": "", "coaches": [1]}).status_code
        == 404
    )
    no_coach = {"account_related": related(resident), "appointment_date": "2026-12-01 10:00", "coaches": []}
    assert hoom(sb, "afspraak", no_coach).status_code == 404
    other = {**no_coach, "coaches": [{"contact_id": resident["contact"]}]}  # not a coach
    assert hoom(sb, "afspraak", other).status_code == 404
    body = {**no_coach, "coaches": [{"contact_id": resident["coach"]}]}
    assert hoom(sb, "afspraak", body).status_code == 200
    assert qr_status(sb, resident["visit"]) == "made" and kans_status(sb, resident["kans"]) == "in_progress"
    assert records(sb, "quotation_requests", id=resident["visit"])[0]["date_planned"] == "2026-12-01 10:00:00"
    assert hoom(sb, "afspraak", body).status_code == 200  # same state
    assert qr_status(sb, resident["visit"]) == "made"
    # an offset is stored as wall-clock, not converted
    body["appointment_date"] = "2026-12-02T09:00:00+00:00"
    assert hoom(sb, "afspraak", body).status_code == 200
    assert records(sb, "quotation_requests", id=resident["visit"])[0]["date_planned"] == "2026-12-02 09:00:00"


def test_woning_status_executed_then_404_on_repeat(sb, resident):
    body = {"account_related": related(resident), "status": {"short": "executed", "name": "Uitgevoerd"}}
    assert hoom(sb, "woning-status", {"account_related": related(resident)}).status_code == 404
    assert hoom(sb, "woning-status", {**body, "status": {"short": "in-progress"}}).status_code == 200  # logged only
    assert qr_status(sb, resident["visit"]) == "default"
    assert hoom(sb, "woning-status", body).status_code == 200
    visit = records(sb, "quotation_requests", id=resident["visit"])[0]
    assert qr_status(sb, resident["visit"]) == "done"
    assert visit["date_planned"].endswith("00:00:00") and visit["date_recorded"].endswith("00:00:00")
    assert kans_status(sb, resident["kans"]) == "executed"
    repeat = hoom(sb, "woning-status", body)
    assert repeat.status_code == 404  # not idempotent


def test_pdf_creates_a_document_every_time(sb, resident):
    body = {"account_related": related(resident), "pdf": {"contents": base64.b64encode(b"%PDF-1.4 test").decode()}}
    assert hoom(sb, "pdf", {"account_related": related(resident), "pdf": {}}).status_code == 404
    assert hoom(sb, "pdf", body).status_code == 200
    assert hoom(sb, "pdf", body).status_code == 200
    docs = records(sb, "documents", contact_id=resident["contact"])
    assert len(docs) == 2 and {d["description"] for d in docs} == {"Hoomdossier rapportage"}


def test_delete_404_with_kansen_in_progress_then_clean_delete_and_phantom_on_repeat(sb, resident):
    body = {"account_related": related(resident)}
    plan = {**body, "user_action_plan_advices": {"a": {"measure_id": "floor-insulation", "name": "Vloer"}}}
    assert hoom(sb, "woonplan", plan).status_code == 200
    [hf] = records(sb, "housing_files", hoom_building_id=BUILDING)
    [spec] = records(sb, "housing_file_specifications", housing_file_id=hf["id"])
    resp = requests.post(
        f"{sb.server.base_url}/api/housing-file/{hf['id']}/campaign/{resident['campaign']}/create-opportunities",
        json={"ids": [spec["id"]]},
        headers=login(sb),
        timeout=5,
    )
    [kans_id] = resp.json()["data"]
    blocked = hoom(sb, "delete", body)
    assert blocked.status_code == 404 and any("kansen die in behandeling zijn" in line for line in blocked.json())
    inactive = sb.sandbox.lookups.by_code("opportunityStatus", "inactive")["id"]
    edit(sb, "opportunities", kans_id, {"status_id": inactive})
    assert hoom(sb, "delete", body).status_code == 200
    assert records(sb, "housing_files", id=hf["id"]) == []  # soft-deleted
    contact = records(sb, "contacts", id=resident["contact"])[0]
    assert contact["hoom_account_id"] == 4242  # not cleared
    before = len(records(sb, "housing_files", with_deleted=1))
    assert hoom(sb, "delete", body).status_code == 200  # repeat: a phantom housing file, created and deleted
    assert len(records(sb, "housing_files", with_deleted=1)) == before + 1


def test_delete_412_when_an_inactive_kans_still_has_kansacties(sb, resident):
    body = {"account_related": related(resident)}
    assert (
        hoom(
            sb, "woonplan", {**body, "user_action_plan_advices": {"a": {"measure_id": "floor-insulation"}}}
        ).status_code
        == 200
    )
    [hf] = records(sb, "housing_files", hoom_building_id=BUILDING)
    [spec] = records(sb, "housing_file_specifications", housing_file_id=hf["id"])
    headers = login(sb)
    [kans_id] = requests.post(
        f"{sb.server.base_url}/api/housing-file/{hf['id']}/campaign/{resident['campaign']}/create-opportunities",
        json={"ids": [spec["id"]]},
        headers=headers,
        timeout=5,
    ).json()["data"]
    edit(sb, "opportunities", kans_id, {"status_id": sb.sandbox.lookups.by_code("opportunityStatus", "inactive")["id"]})
    sb.sandbox.db.insert(
        "quotation_requests",
        {
            "opportunity_id": kans_id,
            "opportunity_action_id": sb.sandbox.lookups.action_id("redirection"),
            "status_id": sb.sandbox.lookups.qr_status("redirection", "default")["id"],
            "created_at": sb.sandbox.clock.now(),
            "updated_at": sb.sandbox.clock.now(),
            "deleted_at": None,
        },
    )
    resp = hoom(sb, "delete", body)
    assert resp.status_code == 412
    assert records(sb, "housing_files", id=hf["id"])  # rolled back: still there
    assert records(sb, "housing_file_specifications", id=spec["id"])
