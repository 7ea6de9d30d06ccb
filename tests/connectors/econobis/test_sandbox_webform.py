"""Contract tests of the sandbox's webform API (contracts/econobis.md §4), over HTTP: the matching table of
§4.4 branch by branch, what gets created (§4.5), intake_id_extern's partial idempotency, tasks, the limits,
rollback and the post-commit 500."""

from __future__ import annotations

import pytest
import requests

from connectors.econobis.sandbox.webform import encrypt_id
from tests.connectors.econobis.sandbox_helpers import edit, person, records, status_code, webform


@pytest.fixture
def sb(start_sandbox):
    [running] = start_sandbox(40, tenants=("coop-noord",), throttle_per_minute=10_000)
    return running


def campaign(sb) -> int:
    return sb.sandbox.db.ids["campaigns"][0]


def measure(sb, hoom_id: str) -> int:
    return next(m["id"] for m in sb.sandbox.lookups.tables["measures"] if m["externalHoomId"] == hoom_id)


def counts(sb) -> dict[str, int]:
    return {t: len(records(sb, t)) for t in ("contacts", "intakes", "opportunities", "quotation_requests", "tasks")}


def action_of(resp: requests.Response) -> str:
    return next(line for line in resp.json() if line.startswith("Actie: ")).removeprefix("Actie: ")


def test_new_contact_with_intake_kansen_kansactie_and_housing_file(sb):
    coach = sb.sandbox.db.tables["campaigns"][campaign(sb)]["coach_ids"][0]
    fields = person(
        intake_campagne_id=campaign(sb),
        intake_status_id=1,
        intake_maatregel_ids=f"{measure(sb, 'floor-insulation')},{measure(sb, 'solar-panels-place-replace')}",
        intake_motivatie_ids="1,3",
        kansactie_aanmaken="visit",
        kansactie_org_of_coach=coach,
        kansactie_datum_afspraak="2026-11-20 10:00",
        woondossier_bouwjaar="1931",
        woondossier_koophuis="1",
        woondossier_monument="x",
    )
    before = counts(sb)
    resp = webform(sb, fields)
    assert resp.status_code == 200, resp.text
    logs = resp.json()
    assert isinstance(logs, list) and all(isinstance(line, str) for line in logs)
    assert action_of(resp) == "NC"
    after = counts(sb)
    assert after["contacts"] == before["contacts"] + 1
    assert after["intakes"] == before["intakes"] + 1
    assert after["opportunities"] == before["opportunities"] + 2  # one kans per measure
    assert after["quotation_requests"] == before["quotation_requests"] + 2  # a kansactie per kans
    assert after["tasks"] == before["tasks"] + 1  # the task on the contact, no check task for NC
    [contact] = records(sb, "contacts", last_name="Zanten")
    assert contact["status_id"] == "webform" and contact["created_with"] == "webform"
    [address] = records(sb, "addresses", contact_id=contact["id"])
    # normalised: postcode upper-cased without space, "12a" split into number and addition
    assert (address["postal_code"], address["number"], address["addition"]) == ("1681AB", 12, "a")
    [intake] = records(sb, "intakes", contact_id=contact["id"])
    assert intake["reason_ids"] == [1, 3] and intake["external_code"] is None
    for qr in records(sb, "quotation_requests"):
        if qr["opportunity_id"] in {o["id"] for o in records(sb, "opportunities", intake_id=intake["id"])}:
            # date_planned set on create → the observer makes the visit `made` → kans `in_progress`
            assert status_code(sb, "quotation_requests", qr["status_id"]) == "made"
            assert (
                status_code(sb, "opportunities", records(sb, "opportunities", id=qr["opportunity_id"])[0]["status_id"])
                == "in_progress"
            )
    [hf] = records(sb, "housing_files", address_id=address["id"])
    assert hf["build_year"] == 1931 and hf["is_house_for_sale"] == "1" and hf["is_monument"] == "2"


def test_form_encoded_body_and_query_string_work_too(sb):
    url = f"{sb.server.base_url}/api/webform/external/{sb.sandbox.webform_key}"
    resp = requests.post(
        url, params={"intake_campagne_id": campaign(sb)}, data=person(intake_status_id="1"), timeout=10
    )
    assert resp.status_code == 200, resp.text
    assert any("Intake met id" in line and "aangemaakt" in line for line in resp.json())


def test_intake_id_extern_reuses_the_intake_but_creates_kansen_again(sb):
    fields = person(
        intake_campagne_id=campaign(sb),
        intake_status_id=1,
        intake_id_extern="hub-intake-0001",
        intake_maatregel_ids=str(measure(sb, "floor-insulation")),
    )
    first = webform(sb, fields)
    before = counts(sb)
    second = webform(sb, fields)
    assert first.status_code == second.status_code == 200
    assert any("gevonden bij intake_id_extern (hub-intake-0001)" in line for line in second.json())
    after = counts(sb)
    assert after["intakes"] == before["intakes"]  # reused
    assert after["contacts"] == before["contacts"]  # matched (UPC)
    assert after["opportunities"] == before["opportunities"] + 1  # the kans again: not idempotent
    assert after["tasks"] == before["tasks"] + 1  # a task on every call
    assert action_of(second) == "UPC"


@pytest.mark.parametrize(
    ("existing", "incoming", "expected", "check_task"),
    [
        # same address, same email, same name → update
        ({}, {}, "UPC", False),
        # same address, no email match, name matches, email given → new email + task
        ({}, {"emailadres": "other@example.org"}, "NET", True),
        # same address, no email given, name matches → update
        ({}, {"emailadres": ""}, "UPC", False),
        # same address, name differs, email differs → new contact + task
        ({}, {"voornaam": "Karel", "emailadres": "karel@example.org"}, "NCT", True),
        # same address, email matches but name differs → new contact + task
        ({}, {"voornaam": "Karel"}, "NCT", True),
        # retry by first letter of the first name + last name
        ({}, {"voornaam": "Marie", "emailadres": "x@example.org"}, "NET", True),
        # other address, known email → new address + task
        ({}, {"adres_huisnummer": "99", "adres_postcode": "1681 ZZ"}, "NAT", True),
        # no address given: person with this name and email → update
        ({}, {"adres_huisnummer": "", "adres_postcode": ""}, "UPC", False),
        # no address given: email known, name differs → only a check task
        ({}, {"adres_huisnummer": "", "adres_postcode": "", "voornaam": "Karel"}, "CCT", True),
        # forced
        ({}, {"forceer_nieuw_contact": "1"}, "NCG", True),
        # nothing known → new contact, no task
        ({}, {"emailadres": "new@example.org", "adres_postcode": "1682CD"}, "NC", False),
        # placeholder contact "bewoner" at the address is overwritten
        ({"last_name": "Bewoner", "first_name": "", "full_name": "Bewoner"}, {"voornaam": "Piet"}, "BCB", True),
    ],
)
def test_contact_matching_table(sb, existing, incoming, expected, check_task):
    first = webform(sb, person())
    assert first.status_code == 200 and action_of(first) == "NC"
    [contact] = records(sb, "contacts", last_name="Zanten")
    if existing:
        edit(sb, "contacts", contact["id"], existing)
    tasks_before = len(records(sb, "tasks"))
    contacts_before = len(records(sb, "contacts"))
    resp = webform(sb, person(**incoming))
    assert resp.status_code == 200, resp.text
    assert action_of(resp) == expected
    new_tasks = len(records(sb, "tasks")) - tasks_before
    assert new_tasks == (2 if check_task else 1)  # the task on the contact + a check task
    created = len(records(sb, "contacts")) - contacts_before
    assert created == (1 if expected in ("NC", "NCT", "NCG") else 0)
    if expected == "CCT":  # the contact is NOT updated
        assert records(sb, "contacts", id=contact["id"])[0]["first_name"] == "Marieke"


def test_contact_number_must_match_exactly_one(sb):
    resp = webform(sb, person(contact_nummer="C2026-999999"))
    assert resp.status_code == 422
    assert resp.json()[-3].startswith("Fout opgetreden:")


def test_errors_roll_back_everything_and_consume_ids(sb):
    before = counts(sb)
    next_contact = sb.sandbox.db._next["contacts"]
    resp = webform(sb, person(intake_campagne_id=99999))
    assert resp.status_code == 422
    assert "Fout opgetreden: Er is een ongeldige waarde voor campagne meegegeven." in resp.json()
    assert "Gehele API aanroep is ongedaan gemaakt!" in resp.json()
    assert counts(sb) == before  # the new contact, address and email are gone again
    assert sb.sandbox.db._next["contacts"] == next_contact + 1  # …but the auto-increment id is used up


def test_unknown_kansactie_type_and_foreign_coach_are_422(sb):
    m = str(measure(sb, "floor-insulation"))
    base = {"intake_campagne_id": campaign(sb), "intake_status_id": 1, "intake_maatregel_ids": m}
    assert webform(sb, person(**base, kansactie_aanmaken="bezoekje")).status_code == 422
    assert webform(sb, person(**base, kansactie_aanmaken="visit", kansactie_org_of_coach=1)).status_code == 422


def test_no_name_no_email_is_422_and_non_string_input_is_a_plain_500(sb):
    resp = webform(sb, {"adres_postcode": "1681AB", "adres_huisnummer": "3"})
    assert resp.status_code == 422
    resp = webform(sb, person(voornaam=["Marieke"]))
    assert resp.status_code == 500 and resp.json() == {"message": "Server Error"}


def test_webform_key_window_and_unknown_key(sb):
    assert webform(sb, person(), key="nope").status_code == 404
    requests.post(
        f"{sb.server.base_url}/__sandbox/webforms",
        json={"api_key": "expired", "date_end": "2026-01-01"},
        timeout=5,
    ).raise_for_status()
    resp = webform(sb, person(), key="expired")
    assert resp.status_code == 404 and "Fout opgetreden: Webform not found" in resp.json()


def test_per_webform_limit_is_422_and_counts_only_committed_calls(sb):
    requests.post(
        f"{sb.server.base_url}/__sandbox/webforms", json={"api_key": "slow", "max_requests_per_minute": 2}, timeout=5
    ).raise_for_status()
    # failing calls roll back their own timestamp: they do not use up the limit
    for _ in range(3):
        assert webform(sb, person(intake_campagne_id=99999), key="slow").status_code == 422
    assert webform(sb, person(), key="slow").status_code == 200
    assert webform(sb, person(), key="slow").status_code == 200
    resp = webform(sb, person(), key="slow")
    assert resp.status_code == 422
    assert "Fout opgetreden: Maximum aantal aanroepen per minuut is bereikt." in resp.json()
    requests.post(f"{sb.server.base_url}/__sandbox/clock", json={"advance_seconds": 61}, timeout=5)
    assert webform(sb, person(), key="slow").status_code == 200


def test_laravel_throttle_is_429_per_client(start_sandbox):
    [running] = start_sandbox(10, tenants=("coop-noord",), throttle_per_minute=3)
    codes = [webform(running, person(emailadres=f"t{i}@example.org")).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]


def test_encrypted_ids_take_the_update_paths_and_skip_matching(sb):
    resp = webform(
        sb,
        person(
            intake_campagne_id=campaign(sb),
            intake_status_id=1,
            intake_maatregel_ids=str(measure(sb, "floor-insulation")),
        ),
    )
    [contact] = records(sb, "contacts", last_name="Zanten")
    [intake] = records(sb, "intakes", contact_id=contact["id"])
    [kans] = records(sb, "opportunities", intake_id=intake["id"])
    tasks = len(records(sb, "tasks"))
    # a kansactie on an existing kans
    resp = webform(sb, {"kans_id": encrypt_id(kans["id"]), "kansactie_aanmaken": "quotation-request"})
    assert resp.status_code == 200, resp.text
    [qr] = records(sb, "quotation_requests", opportunity_id=kans["id"])
    assert status_code(sb, "quotation_requests", qr["status_id"]) == "default"
    # update it: a date drives the status, whatever status is sent explicitly
    resp = webform(
        sb,
        {
            "kansactie_id": encrypt_id(qr["id"]),
            "kansactie_status": "not-possible",
            "kansactie_datum_uitgebracht": "2026-11-03",
        },
    )
    assert resp.status_code == 200, resp.text
    assert status_code(sb, "quotation_requests", records(sb, "quotation_requests", id=qr["id"])[0]["status_id"]) == (
        "under-review-occupant"
    )
    assert len(records(sb, "tasks")) == tasks  # the update paths stop before contact matching: no task
    # an undecryptable id is logged and ignored: the call falls through to the contact flow (and a task)
    resp = webform(sb, person(kans_id="garbage"))
    assert "Veld kans_id bevat geen correcte waarde" in resp.json()
    assert len(records(sb, "tasks")) == tasks + 1


def test_post_commit_failure_is_a_plain_500_with_the_data_committed(start_sandbox):
    # kansactie_update_afspraak_status sets status ids 7/8/9/14 by NUMBER, after the commit: on an instance
    # whose ids are not fresh-install ids that status does not exist → an uncaught error → 500.
    [shifted] = start_sandbox(20, tenants=("coop-noord",), id_shift=100, throttle_per_minute=10_000)
    camp = shifted.sandbox.db.ids["campaigns"][0]
    status_open = shifted.sandbox.lookups.by_code("intakeStatuses", "open")["id"]
    before = len(records(shifted, "intakes"))
    resp = webform(
        shifted,
        person(
            intake_campagne_id=camp,
            intake_status_id=status_open,
            intake_maatregel_ids=str(shifted.sandbox.lookups.tables["measures"][0]["id"]),
            kansactie_aanmaken="visit",
            kansactie_update_afspraak_status="2",
        ),
    )
    assert resp.status_code == 500 and resp.json() == {"message": "Server Error"}
    assert len(records(shifted, "intakes")) == before + 1  # committed anyway: a blind retry duplicates


def test_hard_coded_intake_status_fallback_breaks_on_non_fresh_ids(start_sandbox):
    [shifted] = start_sandbox(20, tenants=("coop-noord",), id_shift=100, throttle_per_minute=10_000)
    camp = shifted.sandbox.db.ids["campaigns"][0]
    resp = webform(shifted, person(intake_campagne_id=camp))  # no status → IntakeStatus::find(1) → null
    assert resp.status_code == 500 and "Onbekende fout opgetreden." in resp.json()
