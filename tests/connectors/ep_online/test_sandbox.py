"""The sandbox EP-Online keeps the real API's contract (contracts §3.2 / §6.1): the raw key, arrays always, 400 in
ASP.NET's validation shape, 404 for nothing, the placeholder id, several registrations per object, classes
consistent with EP2 and validity ten years after the survey, a throttle with 429."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from connectors.bag.sandbox.register import BagRegister
from connectors.ep_online.mapping import plus_years
from connectors.ep_online.sandbox.registrations import PLACEHOLDER, energy_class
from connectors.ep_online.sandbox.server import sandbox_api_key, start_ep_online

ADDRESSES = [
    {"postcode": f"25{i % 90 + 10:02d}AN", "number": i + 1, "letter": "B" if i % 7 == 0 else "",
     "addition": "3" if i % 11 == 0 else "", "street": "Laan", "city": "Den Haag"}
    for i in range(300)
]  # fmt: skip


@pytest.fixture(scope="module")
def ep():
    objects = BagRegister(ADDRESSES).all_objects()
    works = [{"vbo_id": objects[5]["vbo_id"], "dossier_started": "2025-03-01", "works_done": "2025-09-15"}]
    running = start_ep_online(["t1"], objects, works, today=date(2026, 11, 1))
    yield running, objects
    running.stop()


def get(running, path, key="t1", **params):
    headers = {"Accept": "application/json"}
    if key is not None:
        headers["Authorization"] = sandbox_api_key(key) if key in ("t1", "t2") else key
    return requests.get(running.base_url + path, params=params, headers=headers, timeout=10)


def test_key_is_sent_raw_and_checked(ep):
    running, _ = ep
    assert get(running, "/Ping").status_code == 200
    for key in (None, "wrong", "Bearer " + sandbox_api_key("t1"), "t2"):
        r = get(running, "/Ping", key=key)
        assert r.status_code == 401, key
        assert r.json() == {
            "status": 401, "title": "Unauthorized", "detail": "Valid API key required in Authorization header."
        }  # fmt: skip


def test_answers_are_arrays_even_for_one_registration_and_404_for_none(ep):
    running, _ = ep
    cases = running.sandbox.register.cases()
    labelled = next(v for v, recs in running.sandbox.register.by_object.items() if len(recs) == 1)
    r = get(running, f"/PandEnergielabel/AdresseerbaarObject/{labelled}")
    assert r.status_code == 200 and isinstance(r.json(), list) and len(r.json()) == 1
    assert r.json()[0]["BAGVerblijfsobjectID"] == labelled
    missing = cases["no_label"][0]["vbo_id"]
    r = get(running, f"/PandEnergielabel/AdresseerbaarObject/{missing}")
    assert r.status_code == 404 and r.json()["status"] == 404
    assert get(running, "/PandEnergielabel/AdresseerbaarObject/0363019999999999").status_code == 404


def test_bad_parameters_are_400_with_errors_per_field(ep):
    running, _ = ep
    r = get(running, "/PandEnergielabel/AdresseerbaarObject/12345")
    assert r.status_code == 400 and "adresseerbaarObjectId" in r.json()["errors"]
    r = get(running, "/PandEnergielabel/Adres", postcode="25AN", huisnummer="x")
    body = r.json()
    assert r.status_code == 400 and body["title"] == "One or more validation errors occurred."
    assert set(body["errors"]) == {"postcode", "huisnummer"}
    r = get(running, "/PandEnergielabel/Adres", huisnummer="3")
    assert r.status_code == 400 and "postcode" in r.json()["errors"]


def test_placeholder_id_answers_several_unrelated_registrations(ep):
    running, _ = ep
    r = get(running, f"/PandEnergielabel/AdresseerbaarObject/{PLACEHOLDER}")
    assert r.status_code == 200 and len(r.json()) > 1
    assert all(rec["BAGVerblijfsobjectID"] != PLACEHOLDER for rec in r.json())


def test_several_registrations_and_renovated_home_before_and_after(ep):
    running, objects = ep
    reg = running.sandbox.register
    several = reg.cases()["several"]
    assert several, "the seed has objects with an old and a new registration"
    recs = get(running, f"/PandEnergielabel/AdresseerbaarObject/{several[0]['vbo_id']}").json()
    assert len(recs) == 2 and recs[0]["Registratiedatum"] < recs[1]["Registratiedatum"]
    renovated = reg.cases()["renovated"]
    assert [c["vbo_id"] for c in renovated] == [objects[5]["vbo_id"]]
    recs = get(running, f"/PandEnergielabel/AdresseerbaarObject/{objects[5]['vbo_id']}").json()
    assert recs[0]["Registratiedatum"][:10] < "2025-03-01" < "2025-09-15" < recs[-1]["Registratiedatum"][:10]
    assert recs[-1]["PrimaireFossieleEnergie"] < recs[0]["PrimaireFossieleEnergie"]


def test_records_carry_v5_names_consistent_classes_and_ten_year_validity(ep):
    running, _ = ep
    for recs in running.sandbox.register.by_object.values():
        for rec in recs:
            assert rec["Energieklasse"] == energy_class(rec["PrimaireFossieleEnergie"])
            surveyed = date.fromisoformat(rec["Opnamedatum"][:10])
            assert rec["Geldig_tot"][:10] == plus_years(surveyed, 10).isoformat()
            for name in ("Gebruiksoppervlakte_thermische_zone", "BAGPandIDs", "Soort_opname", "Gebouwklasse"):
                assert name in rec


def test_by_address_filters_only_on_what_is_given(ep):
    running, objects = ep
    o = next(o for o in objects if o["huisletter"] and running.sandbox.register.by_object.get(o["vbo_id"]))
    with_letter = get(running, "/PandEnergielabel/Adres", postcode=o["postcode"], huisnummer=o["huisnummer"],
                      huisletter=o["huisletter"]).json()  # fmt: skip
    assert {r["Huisletter"] for r in with_letter} == {o["huisletter"]}
    r = get(running, "/PandEnergielabel/Adres", postcode=o["postcode"].lower(), huisnummer=o["huisnummer"])
    assert r.status_code in (200, 404)


def test_throttle_answers_429_with_retry_after(ep):
    running, _ = ep
    running.sandbox.per_second = 3
    try:
        statuses = [get(running, "/Ping").status_code for _ in range(8)]
        assert 429 in statuses
        r = next(r for r in (get(running, "/Ping") for _ in range(8)) if r.status_code == 429)
        assert r.headers["Retry-After"] == "1"
    finally:
        running.sandbox.per_second = 20
