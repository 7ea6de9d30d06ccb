"""The sandbox Hoomdossier's inbound API v1 behaves like the real one (contracts/hoomdossier.md §1): routing,
middleware order, Sanctum abilities, the throttle, register's validation and repeat behaviour, the coach link."""

from __future__ import annotations

import requests

from connectors.hoomdossier.sandbox.app import HoomdossierSandbox
from tests.connectors.hoomdossier.hoom_helpers import (
    COACH,
    NOORD,
    ZUID,
    admin,
    api,
    headers,
    link,
    register,
    resident,
    scenario,
    user,
)

NOT_FOUND = {"message": "No query results for model [App\\Models\\Cooperation]."}


def assert_422(resp: requests.Response, *keys: str) -> dict[str, list[str]]:
    """The flat map of ApiRequest::failedValidation: field → list of Dutch messages, nothing else."""
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert set(body) == set(keys), body
    assert all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in body.values())
    return body


# --- routing, auth, throttle ------------------------------------------------------------------------------------


def test_ping_is_200_empty_list_with_and_without_trailing_slash(hoom):
    for path in ("/api/v1", "/api/v1/"):
        resp = api(hoom, "GET", path)
        assert resp.status_code == 200 and resp.json() == []
        assert resp.headers["X-RateLimit-Limit"] == "60"


def test_cooperation_from_the_host_name_and_unknown_hosts(hoom):
    token = hoom.sandbox.token_for(NOORD)
    base = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
    ok = api(hoom, "GET", "/api/v1", headers={**base, "Host": "coop-noord.hoomdossier.nl"})
    assert ok.status_code == 200
    # not *.hoomdossier.nl and no header: no route matches at all
    resp = api(hoom, "GET", "/api/v1", headers=base)
    assert resp.status_code == 404 and "could not be found" in resp.json()["message"]


def test_unknown_slug_is_404_even_without_token(hoom):
    resp = api(hoom, "GET", "/api/v1", headers={"Accept": "application/json", "X-Cooperation-Slug": "nergens"})
    assert resp.status_code == 404 and resp.json() == NOT_FOUND
    resp = api(hoom, "POST", "/api/v1/register", headers={**headers(hoom), "X-Cooperation-Slug": "nergens"}, json={})
    assert resp.status_code == 404 and resp.json() == NOT_FOUND


def test_missing_or_bad_token_is_401_for_json_clients_and_302_otherwise(hoom):
    resp = api(hoom, "GET", "/api/v1", headers={"Accept": "application/json", "X-Cooperation-Slug": NOORD})
    assert resp.status_code == 401 and resp.json() == {"error": "Unauthenticated."}
    resp = api(hoom, "GET", "/api/v1", headers=headers(hoom, token="1|wrong-secret"))
    assert resp.status_code == 401 and resp.json() == {"error": "Unauthenticated."}
    resp = api(hoom, "GET", "/api/v1", headers={"X-Cooperation-Slug": NOORD})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/")


def test_token_of_another_cooperation_is_403(hoom):
    resp = api(hoom, "GET", "/api/v1", headers=headers(hoom, NOORD, token=hoom.sandbox.token_for(ZUID)))
    assert resp.status_code == 403 and resp.json() == {"message": "Unauthorized for current cooperation."}
    # validation never runs: the 403 comes first
    resp = api(hoom, "POST", "/api/v1/register", headers=headers(hoom, ZUID, token=hoom.sandbox.token_for(NOORD)))
    assert resp.status_code == 403


def test_default_tokens_and_the_wildcard_ability(start_hoom):
    assert HoomdossierSandbox.default_token(ZUID, 2) == "2|sandbox-hoom-token-coop-zuid"
    hoom = start_hoom(tokens={"7|all-cooperations": ["*"], "8|noord-only": ["access:coop-noord"]})
    for slug in (NOORD, ZUID):
        assert api(hoom, "GET", "/api/v1", headers=headers(hoom, slug, token="7|all-cooperations")).status_code == 200
    assert api(hoom, "GET", "/api/v1", headers=headers(hoom, ZUID, token="8|noord-only")).status_code == 403


def test_61st_request_in_a_minute_is_429_with_retry_after(hoom):
    for i in range(60):
        resp = api(hoom, "GET", "/api/v1")
        assert resp.status_code == 200, i
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    resp = api(hoom, "GET", "/api/v1")
    assert resp.status_code == 429 and resp.json() == {"message": "Too Many Attempts."}
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    assert resp.headers["X-RateLimit-Remaining"] == "0" and "X-RateLimit-Reset" in resp.headers
    # the bucket is the caller's IP: another cooperation's token does not help
    assert api(hoom, "GET", "/api/v1", headers=headers(hoom, ZUID)).status_code == 429
    admin(hoom, "throttle/reset", {})
    assert api(hoom, "GET", "/api/v1").status_code == 200


# --- register ---------------------------------------------------------------------------------------------------


def test_register_is_201_with_ids_and_creates_an_active_dossier_with_consent(hoom):
    resp = register(hoom, resident(2532, house_number_extension=" A-1 "))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert set(body) == {"account_id", "user_id"} and all(isinstance(v, int) for v in body.values())
    found = user(hoom, 2532)
    assert found["user"]["id"] == body["user_id"] and found["account"]["id"] == body["account_id"]
    assert found["user"]["allow_access"] is True and found["user"]["extra"] == {"contact_id": 2532}
    assert found["status"]["short"] == "active"
    assert found["building"]["extension"] == "a1" and found["building"]["number"] == "12"
    assert found["answers"] == {"resident-count": 2, "amount-gas": 1450, "amount-electricity": 2900}


def test_register_repeat_is_422_on_email_and_contact_id_without_ids(hoom):
    assert register(hoom, resident(2532)).status_code == 201
    resp = register(hoom, resident(2532))
    body = assert_422(resp, "email", "extra.contact_id")
    assert body["email"] == ["Het e-mailadres is al geregistreerd."]
    assert "account_id" not in resp.text and "user_id" not in resp.text
    # the e-mail check is case-insensitive (MySQL collation)
    assert_422(register(hoom, resident(2532, email="BEWONER2532@example.org")), "email", "extra.contact_id")


def test_same_email_in_another_cooperation_reuses_the_account(hoom):
    first = register(hoom, resident(2532)).json()
    second = register(hoom, resident(2532, postal_code="2000", phone_number="0471234567"), slug=ZUID)
    assert second.status_code == 201, second.text
    assert second.json()["account_id"] == first["account_id"]
    assert second.json()["user_id"] != first["user_id"]


def test_contact_id_taken_with_a_new_email_is_422_with_the_lookup_hint(hoom):
    assert register(hoom, resident(2532)).status_code == 201
    body = assert_422(register(hoom, resident(2532, email="ander@example.org")), "extra.contact_id")
    [message] = body["extra.contact_id"]
    assert message.startswith("De contact ID is al geregistreerd. Zoek in het Hoomdossier dit contact op")
    assert "Hoomaccount ID" in message


def test_every_failing_field_is_reported_at_once(hoom):
    body = assert_422(
        register(hoom, {"extra": {"contact_id": "abc"}, "roles": ["admin"]}),
        "email",
        "first_name",
        "last_name",
        "postal_code",
        "number",
        "street",
        "city",
        "extra.contact_id",
        "roles.0",
    )
    assert body["email"] == ["E-mailadres veld is verplicht."]
    assert body["first_name"] == ["Voornaam veld is verplicht."]
    assert body["extra.contact_id"] == [
        "Contact ID moet een getal bevatten",
        "De contact ID moet een afgerond getal zijn.",
        "De contact ID moet groter zijn dan 0.",
    ]
    assert body["roles.0"] == ["De geselecteerde roles.0 is ongeldig."]


def test_dutch_postcodes(hoom):
    for bad in ("0123 AB", "1234 SA", "1234 ss", "12345", "1234 A"):
        body = assert_422(register(hoom, resident(2532, postal_code=bad)), "postal_code")
        assert body["postal_code"] == ["Postcode is een ongeldige postcode."]
    assert register(hoom, resident(2532, postal_code="1234ab")).status_code == 201


def test_belgian_postcodes(hoom):
    for bad in ("1234 AB", "0123", "12345"):
        assert_422(register(hoom, resident(77, postal_code=bad, phone_number=None), slug=ZUID), "postal_code")
    assert register(hoom, resident(77, postal_code="9000", phone_number=None), slug=ZUID).status_code == 201


def test_house_number_must_be_an_integer(hoom):
    body = assert_422(register(hoom, resident(2532, number="12a")), "number")
    assert body["number"] == ["De Huisnummer moet een afgerond getal zijn."]
    assert_422(register(hoom, resident(2532, number="012")), "number")
    body = assert_422(register(hoom, resident(2532, number=0)), "number")
    assert body["number"] == ["Huisnummer is een ongeldig huisnummer."]


def test_extension_is_normalised_then_limited_to_five_characters_or_beneden(hoom):
    assert register(hoom, resident(1, house_number_extension="Bis - 2")).status_code == 201
    assert user(hoom, 1)["building"]["extension"] == "bis2"
    assert register(hoom, resident(2, house_number_extension="BENEDEN")).status_code == 201
    body = assert_422(register(hoom, resident(3, house_number_extension="achterhuis")), "house_number_extension")
    assert body["house_number_extension"] == ["Toevoeging is een ongeldige huisnummer toevoeging."]
    assert_422(register(hoom, resident(3, house_number_extension="a+b")), "house_number_extension")


def test_phone_numbers_nl_forms_and_belgian_mobiles_only(hoom):
    for ok, cid in (("06-12345678", 1), ("+31 6 12345678", 2), ("0031612345678", 3), ("(0229) 123456", 4)):
        assert register(hoom, resident(cid, phone_number=ok)).status_code == 201, ok
    body = assert_422(register(hoom, resident(5, phone_number="12345")), "phone_number")
    assert body["phone_number"] == ["Telefoonnummer is een ongeldig telefoonnummer."]
    # the regex's (0xx) form wants two digits 1-9: Amsterdam's (020) is rejected
    assert_422(register(hoom, resident(5, phone_number="(020) 1234567")), "phone_number")
    # Belgium: a landline is rejected, mobiles pass
    be = {"postal_code": "9000"}
    assert_422(register(hoom, resident(6, phone_number="092345678", **be), slug=ZUID), "phone_number")
    assert register(hoom, resident(6, phone_number="+32 470 12 34 56", **be), slug=ZUID).status_code == 201


def test_empty_strings_become_null_before_validation(hoom):
    resp = register(hoom, resident(2532, phone_number="", house_number_extension="", roles=None))
    assert resp.status_code == 201, resp.text
    found = user(hoom, 2532)
    assert found["user"]["phone_number"] == "" and found["user"]["roles"] == ["resident"]
    # trimmed too: a blank first name is missing
    assert_422(register(hoom, resident(9, first_name="   ")), "first_name")


def test_tool_questions_are_validated_and_unknown_ones_ignored(hoom):
    bad = {"amount-gas": -5, "amount-electricity": "veel", "resident-count": 12, "woz-value": "x"}
    body = assert_422(
        register(hoom, resident(2532, tool_questions=bad)),
        "tool_questions.amount-gas",
        "tool_questions.amount-electricity",
        "tool_questions.resident-count",
    )
    assert body["tool_questions.amount-gas"] == ["Tool questions.amount-gas moet tenminste 0 zijn."]
    assert body["tool_questions.resident-count"] == ["De geselecteerde waarde is ongeldig."]
    # a supported key sent as null fails `required`
    body = assert_422(register(hoom, resident(2532, tool_questions={"amount-gas": None})), "tool_questions.amount-gas")
    assert body["tool_questions.amount-gas"] == ["Tool questions.amount-gas veld is verplicht."]
    resp = register(hoom, resident(2532, tool_questions={"resident-count": "3", "woz-value": "x"}))
    assert resp.status_code == 201
    assert user(hoom, 2532)["answers"] == {"resident-count": "3"}


def test_form_bodies_with_php_brackets_are_accepted(hoom):
    form = {k: v for k, v in resident(2532).items() if not isinstance(v, dict | list)}
    form.update({"extra[contact_id]": "2532", "roles[]": "coach", "tool_questions[amount-gas]": "900"})
    resp = api(hoom, "POST", "/api/v1/register", data=form)
    assert resp.status_code == 201, resp.text
    found = user(hoom, 2532)
    assert found["user"]["roles"] == ["coach"] and found["user"]["extra"] == {"contact_id": 2532}


# --- building-coach-status --------------------------------------------------------------------------------------


def test_coach_link_checks_run_in_the_documented_order(hoom):
    key_c, key_r = "building_coach_statuses.coach_contact_id", "building_coach_statuses.resident_contact_id"
    assert register(hoom, resident(2532)).status_code == 201
    assert register(hoom, resident(3000)).status_code == 201
    # 1. coach contact id unknown
    body = assert_422(link(hoom, 999, 2532), key_c)
    assert body[key_c] == [
        "Opgegeven contact ID voor coach contact ID is niet bekend als gebruiker in het Hoomdossier."
    ]
    # 2. that user is not a coach
    body = assert_422(link(hoom, 3000, 2532), key_c)
    assert body[key_c] == ["Gevonden gebruiker voor coach contact ID heeft niet de verwachte rol (coach)."]
    # 3. already linked
    assert link(hoom, COACH["contact_id"], 2532).status_code == 200
    body = assert_422(link(hoom, COACH["contact_id"], 2532), key_c)
    assert body[key_c] == ["De opgegeven coach is al gekoppeld aan de gegeven woning."]
    # 4. resident contact id unknown
    body = assert_422(link(hoom, COACH["contact_id"], 4444), key_r)
    assert body[key_r] == [
        "Opgegeven contact ID voor bewoner contact ID is niet bekend als gebruiker in het Hoomdossier."
    ]
    # 5. resident withdrew consent
    scenario(hoom, "revoke-access", contact_id=3000)
    body = assert_422(link(hoom, COACH["contact_id"], 3000), key_r)
    assert body[key_r] == ["Bewoner heeft geen toestemming gegeven om gegevens te delen."]
    # both chains report at once
    assert_422(link(hoom, 999, 4444), key_c, key_r)
    # rules: the plural wrapper is required (the OpenAPI's singular name is not what the code reads)
    resp = api(
        hoom,
        "POST",
        "/api/v1/building-coach-status",
        json={"building_coach_status": {"coach_contact_id": COACH["contact_id"], "resident_contact_id": 2532}},
    )
    body = assert_422(resp, key_c, key_r)
    assert body[key_c] == ["Coach contact ID veld is verplicht."]


def test_coach_link_succeeds_with_empty_list_and_sets_in_progress(hoom):
    assert register(hoom, resident(2532)).status_code == 201
    resp = link(hoom, COACH["contact_id"], 2532)
    assert resp.status_code == 200 and resp.json() == []
    found = user(hoom, 2532)
    assert found["status"]["short"] == "in_progress"
    assert [c["contact_id"] for c in found["connected_coaches"]] == [COACH["contact_id"]]


def test_coach_can_be_linked_again_after_removal(hoom):
    assert register(hoom, resident(2532)).status_code == 201
    assert link(hoom, COACH["contact_id"], 2532).status_code == 200
    assert link(hoom, COACH["contact_id"], 2532).status_code == 422
    scenario(hoom, "remove-coach", coach_contact_id=COACH["contact_id"], resident_contact_id=2532)
    assert user(hoom, 2532)["connected_coaches"] == []
    assert link(hoom, COACH["contact_id"], 2532).status_code == 200


def test_admin_can_create_coaches_and_scenario_errors_are_404(hoom):
    made = admin(
        hoom,
        "users",
        {
            "slug": NOORD,
            "contact_id": 555,
            "email": "co@example.org",
            "first_name": "Co",
            "last_name": "Ach",
            "roles": ["coach"],
        },
    )
    assert made["user"]["roles"] == ["coach"] and made["user"]["allow_access"] is True
    resp = requests.post(
        f"{hoom.base_url}/__sandbox/scenario/status",
        json={"slug": NOORD, "contact_id": 1, "status": "executed"},
        timeout=5,
    )
    assert resp.status_code == 404 and "message" in resp.json()
