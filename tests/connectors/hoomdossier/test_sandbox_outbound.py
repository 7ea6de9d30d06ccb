"""The sandbox Hoomdossier's calls to Econobis behave like the real jobs (contracts/hoomdossier.md §2): the event
gates, the scheduled commands and their windows, every payload shape, and the retry/drop semantics."""

from __future__ import annotations

import base64
import time

import pytest
import requests

from tests.connectors.hoomdossier.hoom_helpers import (
    API_KEY,
    COACH,
    NOORD,
    ZUID,
    admin,
    advance,
    link,
    register,
    resident,
    run_jobs,
    scenario,
    user,
)


def linked(hoom, contact_id: int = 2532) -> dict:
    """A registered resident with the sandbox coach connected (status in_progress)."""
    assert register(hoom, resident(contact_id)).status_code == 201
    assert link(hoom, COACH["contact_id"], contact_id).status_code == 200
    return user(hoom, contact_id)


def envelope(found: dict) -> dict:
    return {
        "building_id": found["building"]["id"],
        "user_id": found["user"]["id"],
        "account_id": found["account"]["id"],
        "contact_id": found["user"]["extra"].get("contact_id"),
    }


def coach_entry(hoom) -> dict:
    coach = user(hoom, COACH["contact_id"])
    return {
        "contact_id": COACH["contact_id"],
        "user_id": coach["user"]["id"],
        "building_id": coach["building"]["id"],
        "account_id": coach["account"]["id"],
    }


# --- event gates and payloads -----------------------------------------------------------------------------------


def test_afspraak_needs_a_contact_id_and_a_connected_coach(hoom, econobis):
    assert register(hoom, resident(2532)).status_code == 201
    assert scenario(hoom, "appointment", contact_id=2532, appointment_date="2026-11-12 14:30")["queued"] == []
    assert run_jobs(hoom) == [] and econobis.calls == []
    assert link(hoom, COACH["contact_id"], 2532).status_code == 200
    [job] = scenario(hoom, "appointment", contact_id=2532, appointment_date="2026-11-12 14:30")["queued"]
    assert job["endpoint"] == "afspraak"
    [attempt] = run_jobs(hoom)
    assert attempt["outcome"] == "delivered" and econobis.endpoints() == ["afspraak"]


def test_afspraak_payload_with_date_then_null_then_without_coaches_key(hoom, econobis):
    found = linked(hoom)
    scenario(hoom, "appointment", contact_id=2532, appointment_date="2026-11-12T14:30:00")
    scenario(hoom, "appointment", contact_id=2532, appointment_date=None)
    run_jobs(hoom)
    first, cleared = econobis.bodies("afspraak")
    # payloads are built when the job runs: both jobs see the latest status row
    assert (
        first
        == cleared
        == {"account_related": envelope(found), "appointment_date": None, "coaches": [coach_entry(hoom)]}
    )
    scenario(hoom, "appointment", contact_id=2532, appointment_date="2026-11-12 14:30")
    run_jobs(hoom)
    assert econobis.bodies("afspraak")[-1]["appointment_date"] == "2026-11-12 14:30:00"
    # a connected coach without contact id still opens the gate, but is left out: the key disappears
    hoom.sandbox.state.users[coach_entry(hoom)["user_id"]].extra = {}
    scenario(hoom, "appointment", contact_id=2532, appointment_date="2026-11-13 09:00")
    run_jobs(hoom)
    last = econobis.bodies("afspraak")[-1]
    assert last == {"account_related": envelope(found), "appointment_date": "2026-11-13 09:00:00"}


def test_woning_status_is_only_sent_for_executed(hoom, econobis):
    found = linked(hoom)
    for status in ("pending", "no_execution", "active"):
        assert scenario(hoom, "status", contact_id=2532, status=status)["queued"] == []
    [job] = scenario(hoom, "status", contact_id=2532, status="executed")["queued"]
    assert job["endpoint"] == "woning-status"
    run_jobs(hoom)
    [body] = econobis.bodies("woning-status")
    assert body == {
        "account_related": envelope(found),
        "status": {"id": 5, "short": "executed", "name": "Uitgevoerd"},
        "coaches": [coach_entry(hoom)],
    }
    # without a connected coach: nothing
    assert register(hoom, resident(3000)).status_code == 201
    assert scenario(hoom, "status", contact_id=3000, status="executed")["queued"] == []


def test_scan_status_only_on_the_first_sub_step_of_a_scan(hoom, econobis):
    assert register(hoom, resident(2532)).status_code == 201
    assert len(scenario(hoom, "scan-progress", contact_id=2532, scan="quick-scan")["queued"]) == 1
    run_jobs(hoom)
    assert scenario(hoom, "scan-progress", contact_id=2532, scan="quick-scan")["queued"] == []
    [body] = econobis.bodies("scan-status")
    assert body["scans"] == {
        "quick-scan": {"id": 2, "name": "Uitgebreide variant", "short": "quick-scan", "has_made_progress": True},
        "lite-scan": {"id": 3, "name": "Eenvoudige variant", "short": "lite-scan", "has_made_progress": False},
    }
    # expert-scan progress is never reported; a cooperation without other scans sends []
    admin(hoom, "cooperation", {"slug": NOORD, "scans": ["expert-scan"]})
    assert len(scenario(hoom, "scan-progress", contact_id=2532, scan="expert-scan")["queued"]) == 1
    run_jobs(hoom)
    assert econobis.bodies("scan-status")[-1]["scans"] == []


def test_woonplan_is_sent_at_most_once_per_30_minutes_after_a_gebruik(hoom, econobis):
    assert register(hoom, resident(2532)).status_code == 201
    advice = {"measure_id": 4, "savings_gas": 412}
    scenario(hoom, "woonplan", contact_id=2532, advices=[advice])
    assert run_jobs(hoom) == []  # the command runs on its 5-minute tick, not on the change
    attempts = advance(hoom, 300)
    assert [(a["endpoint"], a["outcome"], a["at"]) for a in attempts] == [
        ("gebruik", "delivered", "2026-11-01 12:05:00"),
        ("woonplan", "delivered", "2026-11-01 12:05:00"),
    ]
    # an edit two minutes after the sync falls between the windows: never sent (contract §2.5, inferred)
    advance(hoom, 120)
    scenario(hoom, "woonplan", contact_id=2532, advices=[{**advice, "savings_gas": 500}])
    assert [a["endpoint"] for a in advance(hoom, 3600)] == []
    # the next change is picked up by the next tick
    scenario(hoom, "woonplan", contact_id=2532, advices=[{**advice, "savings_gas": 600}])
    attempts = advance(hoom, 300)
    assert [a["endpoint"] for a in attempts] == ["gebruik", "woonplan"]
    assert attempts[1]["at"] == "2026-11-01 13:10:00"
    sent = [next(iter(b["user_action_plan_advices"].values()))["savings_gas"] for b in econobis.bodies("woonplan")]
    assert sent == ["412.00", "600.00"]


def test_woonplan_payload_shape(hoom, econobis):
    found = linked(hoom)
    advices = [
        {"measure_id": 4, "savings_gas": 412, "savings_electricity": 0, "surface": 62.5, "execute_self": False},
        {"measure_id": 14, "savings_gas": "100.5"},
        {"measure_id": 18, "savings_electricity": 1800, "count": 10},
        {"measure_id": 11},
        {
            "measure_type": "custom",
            "measure_id": 17,
            "name": "Infraroodpanelen",
            "measure_category": "elektrische-verwarming",
        },
        {"measure_type": "cooperation", "measure_id": 3, "name": "Buurtactie zonder categorie"},
        {"measure_id": 1, "category": "later", "savings_gas": 90},
        {"measure_id": 2, "visible": False},
    ]
    comments = {"resident": "Liefst voor de winter.", "coach": "Eerst spouw."}
    scenario(hoom, "woonplan", contact_id=2532, advices=advices, comments=comments)
    advance(hoom, 300)
    [body] = econobis.bodies("woonplan")
    assert body["account_related"] == envelope(found)
    ids = [a["id"] for a in user(hoom, 2532)["advices"]]
    plan = body["user_action_plan_advices"]
    assert list(plan) == [str(i) for i in ids[:5]]  # keyed by advice id; later/invisible/uncategorised left out
    cavity, flat, solar, crack, custom = plan.values()
    assert cavity == {
        "name": "Spouwmuurisolatie",
        "savings_gas": "412.00",
        "savings_electricity": "0.00",
        "co2_savings": pytest.approx(774.56),
        "measure_id": 4,
        "measure_type": "App\\Models\\MeasureApplication",
        "surface": 62.5,
        "execute_self": False,
    }
    assert flat["savings_gas"] == "100.50" and "surface" not in flat and "execute_self" not in flat
    assert solar["count"] == 10 and solar["execute_self"] is True and solar["savings_gas"] is None
    assert solar["co2_savings"] == 0.0
    assert set(crack) == {"name", "savings_gas", "savings_electricity", "co2_savings", "measure_id", "measure_type"}
    assert custom["measure_type"] == "App\\Models\\CustomMeasureApplication" and custom["name"] == "Infraroodpanelen"
    assert custom["measure_category"] == {"id": 3, "short": "elektrische-verwarming", "name": "Elektrische verwarming"}
    assert "costs" not in str(body)
    assert body["user_action_plan_advice_comments"] == comments


def test_woonplan_without_to_do_advices_has_no_advices_key(hoom, econobis):
    assert register(hoom, resident(2532)).status_code == 201
    scenario(hoom, "woonplan", contact_id=2532, advices=[{"measure_id": 4, "category": "complete"}])
    advance(hoom, 300)
    [body] = econobis.bodies("woonplan")
    assert "user_action_plan_advices" not in body
    assert body["user_action_plan_advice_comments"] == []


def test_gebruik_carries_every_answer_form(hoom, econobis):
    found = linked(hoom)
    answers = {
        "build-year": 1932,
        "surface": 120.5,
        "building-type-category": 2,
        "energy-label": 5,
        "building-contract-type": "bought",
        "monument": "1",
        "heat-source": ["hr-boiler", "sun-boiler"],
        "cook-type": "induction",
        "new-heat-source": ["heat-pump"],
        "desired-solar-panel-count": 10,
        "solar-panel-orientation": 7,
    }
    scenario(hoom, "answers", contact_id=2532, answers=answers)
    # nightly at 01:00 for tools changed in the last 24 hours
    attempts = admin(hoom, "clock", {"set": "2026-11-02T01:00:30"})["attempts"]
    assert [(a["endpoint"], a["at"]) for a in attempts] == [("gebruik", "2026-11-02 01:00:00")]
    [body] = econobis.bodies("gebruik")
    assert body["account_related"] == envelope(found)
    current, new = body["current"], body["new"]
    assert len(current) >= 20 and len(new) >= 5
    assert current["build-year"] == {
        "id": 5,
        "short": "build-year",
        "name": "Wat is het bouwjaar?",
        "answers": {"value": 1932, "short": None, "name": None},
    }
    assert current["surface"]["answers"] == {"value": 120.5, "short": None, "name": None}
    assert current["building-type-category"]["answers"] == {"value": 2, "name": "Hoekwoning", "short": "corner-house"}
    assert current["energy-label"]["answers"] == {"value": 5, "name": "C", "short": None}
    assert current["building-contract-type"]["answers"] == {"value": "bought", "name": "Koopwoning", "short": "bought"}
    assert current["monument"]["answers"] == {"value": "1", "name": "Ja", "short": "1"}
    assert current["resident-count"]["answers"] == {"value": "2", "name": "Twee", "short": "2"}
    assert current["amount-gas"]["answers"] == {"value": 1450, "short": None, "name": None}
    assert current["heat-source"]["answers"] == [
        {"value": "hr-boiler", "name": "Gasketel", "short": "hr-boiler"},
        {"value": "sun-boiler", "name": "Zonneboiler", "short": "sun-boiler"},
    ]
    assert current["roof-type"]["answers"] == [] and current["building-type"]["name"] == "Wat voor soort :name heeft u"
    assert new["new-heat-source"]["answers"] == [{"value": "heat-pump", "name": "Warmtepomp", "short": "heat-pump"}]
    assert new["desired-solar-panel-count"]["answers"] == {"value": 10, "short": None, "name": None}
    assert new["solar-panel-orientation"]["answers"] == {"value": 7, "name": "zuid", "short": "z"}
    assert new["insulation-wall-surface"]["answers"] == []
    # the next night: nothing changed in the last 24 hours
    assert [a["endpoint"] for a in advance(hoom, 24 * 3600)] == []


def test_an_answer_outside_the_options_breaks_the_gebruik_payload(hoom, econobis):
    """`$values->where('value', $answer)->first()` is null → Arr::only(null) → TypeError inside wrapCall."""
    assert register(hoom, resident(2532)).status_code == 201
    scenario(hoom, "answers", contact_id=2532, answers={"energy-label": 42})
    [attempt] = admin(hoom, "clock", {"set": "2026-11-02T01:00:30"})["attempts"]
    assert attempt["endpoint"] == "gebruik" and attempt["outcome"] == "dropped" and attempt["status"] is None
    assert "TypeError" in attempt["reason"] and econobis.calls == []


def test_pdf_is_sent_30_minutes_after_the_last_change_and_only_once(hoom, econobis):
    found = linked(hoom)
    data = b"%PDF-1.4 rapport ???"
    scenario(hoom, "pdf", contact_id=2532, contents=data.decode())
    assert [a["endpoint"] for a in advance(hoom, 25 * 60)] == []
    attempts = advance(hoom, 5 * 60)
    assert [(a["endpoint"], a["outcome"], a["at"]) for a in attempts] == [("pdf", "delivered", "2026-11-01 12:30:00")]
    [call] = [c for c in econobis.calls if c["path"].endswith("/pdf")]
    assert call["body"] == {"account_related": envelope(found), "pdf": {"contents": base64.b64encode(data).decode()}}
    assert b"\\/" in call["raw"]  # json_encode escapes the slashes of base64
    assert [a["endpoint"] for a in advance(hoom, 3600)] == []
    # a new version whose file is gone from disk: the envelope only
    scenario(hoom, "pdf", contact_id=2532, missing_on_disk=True)
    advance(hoom, 35 * 60)
    assert econobis.bodies("pdf")[-1] == {"account_related": envelope(found)}


def test_delete_is_sent_for_a_user_without_contact_id(hoom, econobis):
    resp = register(hoom, resident(None, email="zonder.contact@example.org"))
    assert resp.status_code == 201
    ids = resp.json()
    found = requests.get(
        f"{hoom.base_url}/__sandbox/users", params={"slug": NOORD, "user_id": ids["user_id"]}, timeout=5
    ).json()
    [job] = scenario(hoom, "delete-user", user_id=ids["user_id"])["queued"]
    assert job["endpoint"] == "delete"
    [attempt] = run_jobs(hoom)
    assert attempt["outcome"] == "delivered"
    [body] = econobis.bodies("delete")
    assert body == {"account_related": {**envelope(found), "contact_id": None}}
    # gone: no user any more, and nothing recorded for a deleted user
    resp = requests.get(
        f"{hoom.base_url}/__sandbox/users", params={"slug": NOORD, "user_id": ids["user_id"]}, timeout=5
    )
    assert resp.status_code == 404


def test_jobs_of_a_deleted_user_fail_and_the_delete_still_goes_out(hoom, econobis):
    assert register(hoom, resident(2532)).status_code == 201
    scenario(hoom, "reset", contact_id=2532)
    scenario(hoom, "delete-user", contact_id=2532)
    attempts = run_jobs(hoom)
    outcomes = [(a["endpoint"], a["outcome"]) for a in attempts]
    assert outcomes.count(("scan-status", "failed")) == 1 and outcomes.count(("gebruik", "failed")) == 1
    assert ("delete", "delivered") in outcomes and econobis.endpoints() == ["delete"]


def test_a_cooperation_without_econobis_link_drops_jobs_silently(hoom, econobis):
    body = resident(77, postal_code="9000", phone_number=None)
    assert register(hoom, body, slug=ZUID).status_code == 201
    assert (
        len(admin(hoom, "scenario/scan-progress", {"slug": ZUID, "contact_id": 77, "scan": "lite-scan"})["queued"]) == 1
    )
    [attempt] = run_jobs(hoom)
    assert attempt["outcome"] == "dropped" and "EnsureCooperationHasEconobisLink" in attempt["reason"]
    assert econobis.calls == []
    admin(hoom, "cooperation", {"slug": ZUID, "econobis_base_url": econobis.url, "econobis_api_key": "key-zuid"})
    admin(hoom, "scenario/scan-progress", {"slug": ZUID, "contact_id": 77, "scan": "quick-scan"})
    [attempt] = run_jobs(hoom)
    assert attempt["outcome"] == "delivered" and econobis.calls[0]["path"] == "/api/key-zuid/hoomdossier/scan-status"


def test_request_shape_and_sync_bookkeeping(hoom, econobis):
    assert register(hoom, resident(2532)).status_code == 201
    scenario(hoom, "scan-progress", contact_id=2532, scan="quick-scan")
    [attempt] = run_jobs(hoom)
    [call] = econobis.calls
    assert call["path"] == f"/api/{API_KEY}/hoomdossier/scan-status"
    assert call["headers"]["accept"] == "application/json"
    assert call["headers"]["content-type"] == "application/json"
    assert "authorization" not in call["headers"]
    assert attempt["body"] == call["body"] and attempt["status"] == 200
    assert user(hoom, 2532)["synced_at"] == {"scan-status": attempt["at"]}
    assert admin(hoom, "outbound")[-1]["job_id"] == attempt["job_id"]


# --- retries and drops ------------------------------------------------------------------------------------------


def test_with_the_contracts_reading_server_errors_are_released_120_s_three_attempts_then_failed(start_hoom, econobis):
    """contracts/hoomdossier.md §2.6 as intended (not as coded: see the next test)."""
    hoom = start_hoom(retry_server_errors=True)
    econobis.default = ("json", 500, {"message": "Server Error"})
    assert register(hoom, resident(2532)).status_code == 201
    scenario(hoom, "scan-progress", contact_id=2532, scan="quick-scan")
    [first] = run_jobs(hoom)
    assert (first["outcome"], first["status"], first["attempt"]) == ("released", 500, 1)
    assert advance(hoom, 60) == []
    [second] = advance(hoom, 60)
    assert (second["outcome"], second["attempt"], second["job_id"]) == ("released", 2, first["job_id"])
    [third] = advance(hoom, 120)
    assert (third["outcome"], third["attempt"]) == ("failed", 3)
    assert advance(hoom, 600) == [] and len(econobis.calls) == 3
    assert user(hoom, 2532)["synced_at"] == {}
    # the next attempt succeeds when Econobis recovers within the tries
    econobis.script = [("json", 503, {"message": "Service Unavailable"})]
    econobis.default = ("json", 200, [])
    scenario(hoom, "scan-progress", contact_id=2532, scan="lite-scan")
    assert [a["outcome"] for a in run_jobs(hoom) + advance(hoom, 120)] == ["released", "delivered"]


@pytest.mark.parametrize(
    ("answer", "exception"),
    [
        (("json", 404, ["Endpoint not found"]), "GuzzleHttp\\Exception\\ClientException"),
        (("json", 422, ["Maximum aantal verzoeken per minuut bereikt."]), "GuzzleHttp\\Exception\\ClientException"),
        (("hang", 1.5), "GuzzleHttp\\Exception\\ConnectException"),
        (("text", 200, "<html>OK</html>"), "TypeError"),
        (("json", 200, "ok"), "TypeError"),
    ],
    ids=["404", "422", "timeout", "non-json", "scalar-json"],
)
def test_client_errors_timeouts_and_non_json_answers_are_dropped_never_retried(hoom, econobis, answer, exception):
    econobis.script = [answer]
    assert register(hoom, resident(2532)).status_code == 201
    scenario(hoom, "scan-progress", contact_id=2532, scan="quick-scan")
    [attempt] = run_jobs(hoom)
    assert attempt["outcome"] == "dropped" and attempt["exception"] == exception
    assert advance(hoom, 900) == [] and len(econobis.calls) == 1
    assert user(hoom, 2532)["synced_at"] == {}
    assert [a["job_id"] for a in admin(hoom, "outbound?outcome=dropped")] == [attempt["job_id"]]


def test_as_coded_server_errors_are_not_retried_either(hoom, econobis):
    """CallsEconobisApi checks Predis' ServerException, not Guzzle's: by default (as coded) a 5xx is swallowed
    like a 4xx."""
    econobis.default = ("json", 500, {"message": "Server Error"})
    assert register(hoom, resident(2532)).status_code == 201
    scenario(hoom, "scan-progress", contact_id=2532, scan="quick-scan")
    [attempt] = run_jobs(hoom)
    assert attempt["outcome"] == "dropped" and attempt["exception"] == "GuzzleHttp\\Exception\\ServerException"
    assert advance(hoom, 600) == []


def test_the_worker_sends_jobs_in_the_background(start_hoom, econobis):
    hoom = start_hoom(worker_interval=0.05)
    assert register(hoom, resident(2532)).status_code == 201
    scenario(hoom, "scan-progress", contact_id=2532, scan="quick-scan")
    deadline = time.monotonic() + 5
    while not econobis.calls and time.monotonic() < deadline:
        time.sleep(0.02)
    assert econobis.endpoints() == ["scan-status"]
