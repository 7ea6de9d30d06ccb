"""The sandbox BAG keeps the real API's contract (contracts §3.3 / §6.2): `X-Api-Key`, HAL with `Accept-Crs`,
problem+json with BAG's stable codes, quotas and 429 with Kadaster's headers, HAL paging, the seed cases, and the
same register for the same addresses and seed."""

from __future__ import annotations

import pytest
import requests

from connectors.bag.sandbox.register import BagRegister
from connectors.bag.sandbox.server import sandbox_api_key, start_bag
from connectors.bag.settings import CRS, HAL_JSON

ADDRESSES = [
    {"postcode": f"25{i % 90 + 10:02d}AN", "number": i % 40 + 1, "letter": "B" if i % 7 == 0 else "",
     "addition": "3" if i % 11 == 0 else "", "street": f"Laan {i % 5}", "city": "Den Haag"}
    for i in range(600)
]  # fmt: skip
# a block of flats: 25 homes at one number, more than a page
FLATS = [{"postcode": "2511AA", "number": 100, "letter": "", "addition": str(n), "street": "Plein", "city": "Den Haag"}
         for n in range(1, 26)]  # fmt: skip


@pytest.fixture(scope="module")
def bag():
    running = start_bag(["t1"], ADDRESSES + FLATS)
    yield running
    running.stop()


def get(bag, path, key="t1", accept=HAL_JSON, crs=CRS, **params):
    headers = {}
    if key:
        headers["X-Api-Key"] = sandbox_api_key(key) if key == "t1" else key
    if accept:
        headers["Accept"] = accept
    if crs:
        headers["Accept-Crs"] = crs
    return requests.get(bag.base_url + path, params=params, headers=headers, timeout=10)


def problem(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["code"] == code and body["title"] and "instance" in body
    return body


def test_key_accept_and_crs_are_checked_in_the_gateways_order(bag):
    a = bag.sandbox.register.index[0]
    params = {"postcode": a.postcode, "huisnummer": a.huisnummer}
    problem(get(bag, "/adressenuitgebreid", key=None, **params), 401, "authentication")
    problem(get(bag, "/adressenuitgebreid", key="nope", accept="text/csv", **params), 401, "authentication")
    problem(get(bag, "/adressenuitgebreid", accept="text/csv", **params), 406, "notAcceptable")
    problem(get(bag, "/adressenuitgebreid", crs=None, **params), 412, "acceptCrsMissing")
    problem(get(bag, "/adressenuitgebreid", crs="epsg:4326", **params), 406, "crsNotAcceptable")
    r = get(bag, "/adressenuitgebreid", **params)
    assert r.status_code == 200 and r.headers["content-type"].startswith(HAL_JSON)
    for h in ("Kadaster-RateLimit-DayLimit", "Kadaster-RateLimit-DayLimit-Remaining", "X-Rate-Limit-Limit",
              "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"):  # fmt: skip
        assert h in r.headers


def test_parameter_errors_carry_invalid_params(bag):
    problem(get(bag, "/adressenuitgebreid"), 400, "paramsRequired")
    body = problem(get(bag, "/adressenuitgebreid", postcode="2594AN"), 400, "unsupportedCombination")
    assert body["invalid-params"][0]["name"] == "huisnummer"
    body = problem(get(bag, "/adressenuitgebreid", postcode="0594AN", huisnummer="x", huisletter="AB"), 400,
                   "paramsValidation")  # fmt: skip
    assert {p["name"] for p in body["invalid-params"]} == {"postcode", "huisnummer", "huisletter"}
    body = problem(get(bag, "/adressenuitgebreid", postcode="2594AN", huisnummer="1", colour="red"), 400,
                   "paramsValidation")  # fmt: skip
    assert body["invalid-params"][0]["code"] == "unknownParam"
    problem(get(bag, "/adressenuitgebreid/123"), 400, "paramsValidation")
    problem(get(bag, "/adressenuitgebreid/0518209999999999"), 404, "notFound")


def test_an_empty_search_has_no_embedded_and_paging_follows_hal(bag):
    r = get(bag, "/adressenuitgebreid", postcode="9999ZZ", huisnummer="1")
    assert r.status_code == 200 and "_embedded" not in r.json() and "next" not in r.json()["_links"]
    # the block of flats, read at the smallest page size: three pages
    pc, nr = "2511AA", 100
    homes = bag.sandbox.register.search(pc, nr, None, None, False)
    assert len(homes) >= 25
    seen, page = [], 1
    while True:
        body = get(bag, "/adressenuitgebreid", postcode=pc, huisnummer=str(nr), pageSize="10", page=str(page)).json()
        seen += [a["nummeraanduidingIdentificatie"] for a in body.get("_embedded", {}).get("adressen", [])]
        if "next" not in body["_links"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == len(homes) and page == 3


def test_by_number_id_answers_the_address_with_its_object_and_panden(bag):
    a = bag.sandbox.register.index[3]
    body = get(bag, f"/adressenuitgebreid/{a.nummeraanduiding_id}").json()
    assert body["nummeraanduidingIdentificatie"] == a.nummeraanduiding_id
    assert (
        body["adresseerbaarObjectIdentificatie"] == a.obj.vbo_id
        and body["adresseerbaarObjectIdentificatie"][4:6] == "01"
    )
    assert body["nummeraanduidingIdentificatie"][4:6] == "20" and body["pandIdentificaties"][0][4:6] == "10"


def test_quota_and_rate_answer_429_with_kadasters_headers(bag):
    sb = bag.sandbox
    sb.per_second, sb.day_quota = 3, 10**6
    try:
        statuses = [get(bag, "/info").status_code for _ in range(8)]
        assert 429 in statuses
    finally:
        sb.per_second = 50
    sb.usage.clear()
    sb.day_quota = 2
    try:
        get(bag, "/info"), get(bag, "/info")
        r = get(bag, "/info")
        body = problem(r, 429, "tooManyRequests")
        assert r.headers["Kadaster-RateLimit-DayLimit-Remaining"] == "0" and r.headers["Retry-After"]
        assert "Daglimiet" in body["detail"]
    finally:
        sb.day_quota = 50_000
        sb.usage.clear()


def test_seed_cases_are_present_and_behave(bag):
    reg = bag.sandbox.register
    cases = reg.cases()
    for kind in ("letters", "side_address", "shared_pand", "no_build_year", "non_residential"):
        assert cases[kind], kind
    side = cases["side_address"][0]
    found = [a for a in reg.search(side["postcode"], side["huisnummer"], side["huisletter"], None, False) if a.side]
    assert found and found[0].obj.huisnummer == side["main_huisnummer"]
    letters = cases["letters"][0]
    assert len(reg.search(letters["postcode"], letters["huisnummer"], None, None, False)) > 1
    no_year = next(o for o in reg.all_objects() if o["vbo_id"] == cases["no_build_year"][0]["vbo_id"])
    assert no_year["bouwjaar"] is None
    shop = next(o for o in reg.all_objects() if o["vbo_id"] == cases["non_residential"][0]["vbo_id"])
    assert "woonfunctie" not in shop["gebruiksdoelen"]
    shared = cases["shared_pand"][0]
    assert len(shared["vbo_ids"]) > 1


def test_same_addresses_and_seed_give_the_same_register():
    a, b = BagRegister(ADDRESSES, seed=3), BagRegister(ADDRESSES, seed=3)
    assert a.all_objects() == b.all_objects() and a.cases() == b.cases()
    assert BagRegister(ADDRESSES, seed=4).cases() != a.cases()
