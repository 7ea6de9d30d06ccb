"""The sandbox Woningpas's routes behave as §6.3 says: data only under a mandate of a holder of a real right,
the pass as sections with `bron`/`status`/`opgehaald_op` (a source down is a 200 with that section
unavailable, all down a 503), an EPC as MAGDA's GeefEpc, a rate limit with Retry-After, problem+json errors."""

from __future__ import annotations

import base64
from datetime import date

import pytest

from connectors.woningpas.sandbox.seed import label_for
from connectors.woningpas.sandbox.views import SECTIONS, SOURCES
from tests.connectors.woningpas.wp_helpers import (
    admin,
    api,
    assert_problem,
    assertion,
    examples,
    mandate,
    token,
    token_request,
)

V1 = "/woningpas/v1"


@pytest.fixture
def bearer(wp, key):
    return token(wp, key)


def unit_path(unit):
    return f"{V1}/gebouweenheden/{unit['gebouweenheidId']}"


# --- mandates ---------------------------------------------------------------------------------------------------


def test_without_a_mandate_every_data_route_is_403_problem_json(wp, bearer):
    ex = examples(wp)
    unit = ex["two_epcs"]
    for path in (
        unit_path(unit),
        f"{V1}/adressen/{unit['adresObjectId']}",
        f"{V1}/epc/{unit['attestnummers'][0]}",
        unit_path(unit) + "/documenten",
        f"{V1}/eigendommen?insz={unit['holders'][0]}",
    ):
        body = assert_problem(api(wp, "GET", path, bearer), 403, "MANDAAT_ONTBREKEND")
        assert body["instance"] == path.split("?")[0]
        assert body["title"] and body["type"].startswith("https://")
    resp = api(wp, "POST", unit_path(unit) + "/deellinks", bearer, json={"geldig_tot": "2099-01-01"})
    assert_problem(resp, 403, "MANDAAT_ONTBREKEND")


def test_a_mandate_of_a_holder_opens_their_properties_and_passes(wp, bearer):
    ex = examples(wp)
    insz = ex["holder_of_several"]
    mandate(wp, insz)
    props = api(wp, "GET", f"{V1}/eigendommen", bearer, params={"insz": insz}).json()
    assert len(props) >= 2
    for p in props:
        assert set(p) == {"eigendom_id", "adresObjectId", "gebouweenheidId", "gebouwId", "volledigAdres", "rol"}
        assert p["rol"] in ("eigenaar", "vruchtgebruiker", "blote_eigenaar", "erfpachter")
        resp = api(wp, "GET", f"{V1}/gebouweenheden/{p['gebouweenheidId']}", bearer)
        assert resp.status_code == 200
        assert resp.json()["adresObjectId"] == p["adresObjectId"]
    # the mandate is the holder's: another holder's unit stays closed
    other = ex["no_epc"]
    if insz not in other["holders"]:
        assert_problem(api(wp, "GET", unit_path(other), bearer), 403, "MANDAAT_ONTBREKEND")


def test_a_mandate_for_some_units_covers_only_those(wp, bearer):
    insz = examples(wp)["holder_of_several"]
    props = wp.sandbox.world.holdings[insz]
    first, second = props[0][0], props[1][0]
    mandate(wp, insz, gebouweenheden=[first])
    listed = api(wp, "GET", f"{V1}/eigendommen", bearer, params={"insz": insz}).json()
    assert [p["gebouweenheidId"] for p in listed] == [first]
    assert api(wp, "GET", f"{V1}/gebouweenheden/{first}", bearer).status_code == 200
    assert_problem(api(wp, "GET", f"{V1}/gebouweenheden/{second}", bearer), 403, "MANDAAT_ONTBREKEND")


def test_a_revoked_or_expired_mandate_no_longer_opens_anything(wp, key, bearer):
    unit = examples(wp)["house"]
    m = mandate(wp, unit["holders"][0])
    assert api(wp, "GET", unit_path(unit), bearer).status_code == 200
    admin(wp, "DELETE", f"/mandates/{m['mandaat_id']}")
    assert_problem(api(wp, "GET", unit_path(unit), bearer), 403, "MANDAAT_ONTBREKEND")
    mandate(wp, unit["holders"][0], geldig_tot=wp.sandbox.now().date().isoformat())
    assert api(wp, "GET", unit_path(unit), bearer).status_code == 200
    admin(wp, "POST", "/clock", json={"advance_seconds": 2 * 86400})
    fresh = token(wp, key)
    assert_problem(api(wp, "GET", unit_path(unit), fresh), 403, "MANDAAT_ONTBREKEND")


def test_only_a_holder_of_a_real_right_can_give_a_mandate(wp):
    resp = api(wp, "POST", "/__sandbox/mandates", json={"client_id": "x", "insz": "85073003328"})
    assert resp.status_code == 400 and "holds no real right" in resp.json()["message"]


def test_bad_ids_are_400_with_invalid_params_and_unknown_units_404(wp, bearer):
    body = assert_problem(api(wp, "GET", f"{V1}/gebouweenheden/abc", bearer), 400, "ONGELDIGE_PARAMETER")
    assert body["invalid-params"][0]["name"] == "gebouweenheidId"
    assert_problem(api(wp, "GET", f"{V1}/gebouweenheden/1", bearer), 404, "NIET_GEVONDEN")
    assert_problem(api(wp, "GET", f"{V1}/epc/2017-1", bearer), 400, "ONGELDIGE_PARAMETER")
    assert_problem(api(wp, "GET", f"{V1}/epc/20170401-0000000001-1", bearer), 404, "NIET_GEVONDEN")
    body = assert_problem(api(wp, "GET", f"{V1}/eigendommen?insz=12345678901", bearer), 400, "ONGELDIGE_PARAMETER")
    assert body["invalid-params"][0]["code"] == "ONGELDIG_INSZ"
    assert_problem(api(wp, "GET", f"{V1}/nergens", bearer), 404, "ROUTE_ONBEKEND")


# --- the pass ---------------------------------------------------------------------------------------------------


def test_the_pass_has_every_section_with_bron_status_and_opgehaald_op(wp, bearer):
    unit = examples(wp)["obligation"]
    mandate(wp, unit["holders"][0])
    body = api(wp, "GET", unit_path(unit), bearer).json()
    assert body["gebouweenheidId"] == unit["gebouweenheidId"] and body["adresObjectId"] == unit["adresObjectId"]
    assert set(body["secties"]) == set(SECTIONS)
    for name, section in body["secties"].items():
        assert section["bron"] == SECTIONS[name]
        assert section["status"] in ("ok", "geen_gegevens")
        assert section["opgehaald_op"] == body["opgehaald_op"]
    assert body["secties"]["gebouw"]["status"] == body["secties"]["percelen"]["status"] == "ok"
    capakey = body["secties"]["percelen"]["percelen"][0]["capakey"]
    assert len(capakey) == 17 and capakey[10] == "/"
    # the address alias answers the same pass
    same = api(wp, "GET", f"{V1}/adressen/{unit['adresObjectId']}", bearer).json()
    assert same["secties"] == body["secties"]


def test_a_unit_renovated_has_its_old_and_new_epc_newest_first_and_labels_match_scores(wp, bearer):
    unit = examples(wp)["two_epcs"]
    mandate(wp, unit["holders"][0])
    energie = api(wp, "GET", unit_path(unit), bearer).json()["secties"]["energie"]
    epcs = energie["epcs"]
    assert [e["attestnummer"] for e in epcs] == unit["attestnummers"][::-1]
    assert epcs[0]["status"] in ("Geldig", "Verlopen") and epcs[1]["status"] == "Vervangen"
    assert epcs[0]["energiescore_kwh_m2"] < epcs[1]["energiescore_kwh_m2"]
    kind = api(wp, "GET", unit_path(unit), bearer).json()["secties"]["gebouw"]["type"]
    for e in epcs:
        assert label_for(e["energiescore_kwh_m2"], kind) == e["label"]
        ingediend = date.fromisoformat(e["datum_ingediend"])
        assert e["geldig_tot"] == ingediend.replace(year=ingediend.year + 10).isoformat()


def test_the_renovation_obligation_names_the_deed_label_d_and_a_deadline_five_years_on(wp, bearer):
    unit = examples(wp)["obligation"]
    mandate(wp, unit["holders"][0])
    section = api(wp, "GET", unit_path(unit), bearer).json()["secties"]["renovatieverplichting"]
    assert section["status"] == "ok" and section["bron"] == "VEKA"
    assert section["label_bij_akte"] in ("E", "F") and section["vereist_label"] == "D"
    akte = date.fromisoformat(section["aktedatum"])
    assert section["deadline"] == akte.replace(year=akte.year + 5).isoformat()
    assert isinstance(section["voldaan"], bool)


def test_a_source_down_is_bron_onbeschikbaar_inside_a_200(wp, bearer):
    unit = examples(wp)["two_epcs"]
    mandate(wp, unit["holders"][0])
    admin(wp, "POST", "/sources", json={"down": ["VEKA"]})
    resp = api(wp, "GET", unit_path(unit), bearer)
    assert resp.status_code == 200
    sections = resp.json()["secties"]
    for name in ("energie", "renovatieverplichting"):
        assert sections[name] == {"bron": "VEKA", "status": "bron_onbeschikbaar", "opgehaald_op": None}
    assert sections["gebouw"]["status"] == "ok"
    # the EPC route has only that source: a 503
    assert_problem(api(wp, "GET", f"{V1}/epc/{unit['attestnummers'][0]}", bearer), 503, "BRON_ONBESCHIKBAAR")
    admin(wp, "POST", "/sources", json={"down": []})
    assert api(wp, "GET", unit_path(unit), bearer).json()["secties"]["energie"]["status"] == "ok"


def test_all_sources_down_is_a_503_with_retry_after(wp, bearer):
    unit = examples(wp)["house"]
    mandate(wp, unit["holders"][0])
    assert admin(wp, "POST", "/sources", json={"down": "*"})["down"] == sorted(SOURCES)
    resp = api(wp, "GET", unit_path(unit), bearer)
    assert_problem(resp, 503, "ALLE_BRONNEN_ONBESCHIKBAAR")
    assert int(resp.headers["retry-after"]) > 0
    # documents are the Woningpas's own: still there
    assert api(wp, "GET", unit_path(unit) + "/documenten", bearer).status_code == 200


def test_the_epc_mirrors_magda_geefepc_and_can_carry_the_attest(wp, bearer):
    unit = examples(wp)["two_epcs"]
    mandate(wp, unit["holders"][0])
    number = unit["attestnummers"][-1]
    body = api(wp, "GET", f"{V1}/epc/{number}", bearer).json()
    assert body["Identificatie"] == {"Attestnummer": number}
    assert (body["Status"] == "Geldig" and body["Actief"] is True) or body["Status"] == "Verlopen"
    ingediend = date.fromisoformat(body["DatumIngediend"])
    assert body["DatumGeldigheid"] == ingediend.replace(year=ingediend.year + 10).isoformat()
    adres = body["Ligging"]["Adres"]
    assert adres["arId"] == unit["adresObjectId"]
    assert adres["Gebouweenheden"][0]["id"] == unit["gebouweenheidId"]
    score = next(s for s in body["Scores"] if s["type"] == "primaireEnergieVerbruikPerVierkanteMeter")
    assert {"Waarde", "Label", "LabelNaAanbevelingen", "GemiddeldeWaardeVlaanderen"} <= set(score)
    assert body["Personen"][0]["Rol"] == "Energiedeskundige" and body["Personen"][0]["EpCode"].startswith("EP")
    assert "Documenten" not in body
    old = api(wp, "GET", f"{V1}/epc/{unit['attestnummers'][0]}", bearer).json()
    assert old["Status"] == "Vervangen" and old["Actief"] is False
    with_pdf = api(wp, "GET", f"{V1}/epc/{number}?attest=true", bearer).json()
    assert base64.b64decode(with_pdf["Documenten"][0]["Inhoud"]).startswith(b"%PDF")


# --- rate limit and faults --------------------------------------------------------------------------------------


def test_the_clients_rate_limit_is_a_429_problem_with_retry_after(start_wp, key):
    wp = start_wp(throttle_per_minute=3)
    bearer = token(wp, key)
    codes = [api(wp, "GET", f"{V1}/wijzigingen", bearer).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    resp = api(wp, "GET", f"{V1}/wijzigingen", bearer)
    assert_problem(resp, 429, "TE_VEEL_VERZOEKEN")
    assert 1 <= int(resp.headers["retry-after"]) <= 60
    admin(wp, "POST", "/throttle/reset")
    assert api(wp, "GET", f"{V1}/wijzigingen", bearer).status_code == 200


def test_fault_rules_per_route_answer_problem_json(wp, key, bearer):
    admin(
        wp,
        "POST",
        "/faults",
        json={"rules": [{"route": f"{V1}/wijzigingen", "throttle_rate": 1.0, "retry_after": 7}]},
    )
    resp = api(wp, "GET", f"{V1}/wijzigingen", bearer)
    assert_problem(resp, 429, "TE_VEEL_VERZOEKEN")
    assert resp.headers["retry-after"] == "7"
    admin(wp, "POST", "/faults", json={"rules": [{"route": f"{V1}/*", "error_rate": 1.0, "error_status": 503}]})
    assert_problem(api(wp, "GET", f"{V1}/wijzigingen", bearer), 503, "DIENST_ONBESCHIKBAAR")
    # the token endpoint is another route: untouched; faulted, it answers in OAuth2's shape
    assert token(wp, key)
    admin(wp, "POST", "/faults", json={"rules": [{"route": "/op/v1/token", "error_rate": 1.0, "error_status": 503}]})
    resp = token_request(wp, assertion(wp, key))
    assert resp.status_code == 503 and resp.json()["error"] == "temporarily_unavailable"
    admin(wp, "POST", "/faults", json={"rules": []})
    assert api(wp, "GET", f"{V1}/wijzigingen", bearer).status_code == 200
