"""The change feed pages with `updated_since` + cursor and never loses or repeats a change while changes keep
coming; documents upload as multipart with Idempotency-Key (413, 415, 409); share links (contract §5, §6.3)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests

from tests.connectors.woningpas.wp_helpers import READER, admin, api, assert_problem, examples, mandate, token

V1 = "/woningpas/v1"
PDF = b"%PDF-1.4\n% a renovation invoice\n%%EOF\n"


@pytest.fixture
def bearer(wp, key):
    return token(wp, key)


def mandate_all(wp):
    """Every holder mandates the test client (the feed then covers every unit)."""
    for insz in sorted(wp.sandbox.world.holdings):
        mandate(wp, insz)


def read_feed(wp, bearer, limit, between_pages=None, **start):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else start)}
        resp = api(wp, "GET", f"{V1}/wijzigingen", bearer, params=params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        seen += body["wijzigingen"]
        cursor, pages = body["cursor"], pages + 1
        if between_pages:
            between_pages(pages)
        if not body["meer"]:
            return seen, cursor, pages


# --- the change feed --------------------------------------------------------------------------------------------


def test_feed_pages_lose_and_double_nothing_while_changes_are_triggered(wp, bearer):
    mandate_all(wp)

    def trigger(page):
        if page <= 6:
            admin(wp, "POST", "/changes", json={"count": 3})

    seen, cursor, pages = read_feed(wp, bearer, 25, trigger)
    ids = [c["wijziging_id"] for c in seen]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    assert pages > 6
    # every change in the log is on a page, the triggered ones included
    everything = read_feed(wp, bearer, 1000)[0]
    assert ids == [c["wijziging_id"] for c in everything]
    assert len(ids) == len(wp.sandbox.changes)
    # resuming from the last cursor gives only what happened since
    admin(wp, "POST", "/changes", json={"count": 2})
    later = api(wp, "GET", f"{V1}/wijzigingen", bearer, params={"cursor": cursor}).json()
    assert later["wijzigingen"] and all(c["wijziging_id"] > ids[-1] for c in later["wijzigingen"])
    assert later["meer"] is False


def test_feed_items_name_the_unit_and_section(wp, bearer):
    mandate_all(wp)
    item = api(wp, "GET", f"{V1}/wijzigingen", bearer, params={"limit": 1}).json()["wijzigingen"][0]
    assert set(item) == {"wijziging_id", "gebouweenheidId", "adresObjectId", "sectie", "soort", "updated_at"}
    assert item["sectie"] in ("energie", "renovatieverplichting", "asbest", "bodem", "elektriciteit",
                              "woningkwaliteit", "vergunningen", "documenten")  # fmt: skip


def test_updated_since_filters_and_its_cursor_keeps_the_filter(wp, bearer):
    mandate_all(wp)
    since = "2025-01-01T00:00:00+01:00"
    seen, _, _ = read_feed(wp, bearer, 10, updated_since=since)
    assert seen and all(datetime.fromisoformat(c["updated_at"]) >= datetime.fromisoformat(since) for c in seen)
    expected = [c.seq for c in wp.sandbox.changes if c.updated_at >= datetime.fromisoformat(since)]
    assert [c["wijziging_id"] for c in seen] == expected
    # a change made now is after `since`: the next poll from the stored cursor sees it
    admin(wp, "POST", "/changes", json={"sectie": "elektriciteit", "count": 1})
    _, cursor, _ = read_feed(wp, bearer, 1000, updated_since=since)
    assert api(wp, "GET", f"{V1}/wijzigingen", bearer, params={"cursor": cursor}).json()["wijzigingen"] == []


def test_the_feed_shows_only_mandated_units(wp, bearer, key):
    unit = examples(wp)["two_epcs"]
    mandate(wp, unit["holders"][0])
    held = {u for u, _ in wp.sandbox.world.holdings[unit["holders"][0]]}
    seen, _, _ = read_feed(wp, bearer, 50)
    assert seen and {c["gebouweenheidId"] for c in seen} <= held
    # another client, without mandates, sees no change at all
    assert read_feed(wp, token(wp, key, READER), 50)[0] == []


def test_bad_cursor_since_or_limit_are_400(wp, bearer):
    for params in ({"cursor": "nonsense"}, {"updated_since": "gisteren"}, {"updated_since": "2025-01-01T00:00:00"},
                   {"limit": "0"}, {"limit": "5000"}):  # fmt: skip
        body = assert_problem(api(wp, "GET", f"{V1}/wijzigingen", bearer, params=params), 400, "ONGELDIGE_PARAMETER")
        assert body["invalid-params"]


def test_a_triggered_renovation_is_a_new_epc_on_the_pass_and_in_the_feed(wp, bearer):
    unit = examples(wp)["obligation"]
    mandate(wp, unit["holders"][0])
    before = api(wp, "GET", f"{V1}/gebouweenheden/{unit['gebouweenheidId']}", bearer).json()
    made = admin(wp, "POST", "/changes", json={"gebouweenheidId": unit["gebouweenheidId"], "sectie": "energie"})
    assert {c["sectie"] for c in made["changes"]} >= {"energie", "documenten"}
    after = api(wp, "GET", f"{V1}/gebouweenheden/{unit['gebouweenheidId']}", bearer).json()
    new, old = after["secties"]["energie"]["epcs"][0], before["secties"]["energie"]["epcs"][0]
    assert new["attestnummer"] != old["attestnummer"] and new["energiescore_kwh_m2"] <= old["energiescore_kwh_m2"]
    assert new["datum_ingediend"] == wp.sandbox.now().date().isoformat()


# --- documents --------------------------------------------------------------------------------------------------


def upload(wp, bearer, unit, content=PDF, media="application/pdf", key="k-1", kind="renovatiebewijs", name="f.pdf"):
    headers = {"Idempotency-Key": key} if key else {}
    files = {"bestand": (name, content, media)}
    return api(wp, "POST", f"{V1}/gebouweenheden/{unit}/documenten", bearer, files=files, data={"type": kind},
               headers=headers)  # fmt: skip


@pytest.fixture
def unit(wp):
    u = examples(wp)["house"]
    mandate(wp, u["holders"][0])
    return u["gebouweenheidId"]


def test_a_multipart_upload_is_201_and_listed(wp, bearer, unit):
    resp = upload(wp, bearer, unit)
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    assert doc["document_id"] and doc["type"] == "renovatiebewijs" and doc["grootte"] == len(PDF)
    assert doc["bron"] == "gebruiker" and doc["mediatype"] == "application/pdf"
    listed = api(wp, "GET", f"{V1}/gebouweenheden/{unit}/documenten", bearer).json()
    assert doc["document_id"] in [d["document_id"] for d in listed]


def test_the_same_key_and_body_answer_the_same_document_not_a_second(wp, bearer, unit):
    first = upload(wp, bearer, unit, key="same")
    again = upload(wp, bearer, unit, key="same")
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    listed = api(wp, "GET", f"{V1}/gebouweenheden/{unit}/documenten", bearer).json()
    assert sum(d["document_id"] == first.json()["document_id"] for d in listed) == 1
    assert sum(d["bron"] == "gebruiker" and d["toegevoegd_door"] != "eigenaar" for d in listed) == 1


def test_the_same_key_with_another_body_is_409(wp, bearer, unit):
    assert upload(wp, bearer, unit, key="k").status_code == 201
    assert_problem(upload(wp, bearer, unit, content=PDF + b"x", key="k"), 409, "IDEMPOTENCY_KEY_HERGEBRUIKT")
    assert_problem(upload(wp, bearer, unit, kind="plan", key="k"), 409, "IDEMPOTENCY_KEY_HERGEBRUIKT")


def test_too_large_is_413_and_a_wrong_type_is_415(start_wp, key):
    wp = start_wp(max_document_bytes=2000)
    u = examples(wp)["house"]
    mandate(wp, u["holders"][0])
    bearer = token(wp, key)
    unit = u["gebouweenheidId"]
    assert_problem(upload(wp, bearer, unit, content=b"%PDF" + b"0" * 3000), 413, "DOCUMENT_TE_GROOT")
    # refused before it is read when the body alone is far too large
    assert_problem(upload(wp, bearer, unit, content=b"0" * 200_000, key="big"), 413, "DOCUMENT_TE_GROOT")
    assert_problem(upload(wp, bearer, unit, media="text/plain", key="t"), 415, "MEDIATYPE_NIET_ONDERSTEUND")
    resp = api(wp, "POST", f"{V1}/gebouweenheden/{unit}/documenten", bearer, json={"type": "foto"})
    assert_problem(resp, 415, "MEDIATYPE_NIET_ONDERSTEUND")
    body = assert_problem(upload(wp, bearer, unit, kind="factuur", key="f"), 400, "ONGELDIGE_PARAMETER")
    assert body["invalid-params"][0]["name"] == "type"
    assert upload(wp, bearer, unit, content=b"%PDF small", key="ok").status_code == 201


def test_delete_own_upload_204_then_409_and_agency_documents_403(wp, bearer, unit, key):
    doc = upload(wp, bearer, unit).json()
    path = f"{V1}/gebouweenheden/{unit}/documenten/{doc['document_id']}"
    assert api(wp, "DELETE", path, bearer).status_code == 204
    assert_problem(api(wp, "DELETE", path, bearer), 409, "DOCUMENT_AL_VERWIJDERD")
    listed = api(wp, "GET", f"{V1}/gebouweenheden/{unit}/documenten", bearer).json()
    assert doc["document_id"] not in [d["document_id"] for d in listed]
    renovated = examples(wp)["two_epcs"]
    mandate(wp, renovated["holders"][0])
    other = renovated["gebouweenheidId"]
    docs = api(wp, "GET", f"{V1}/gebouweenheden/{other}/documenten", bearer).json()
    agency = next(d for d in docs if d["bron"] == "VEKA")  # the EPC's attest
    resp = api(wp, "DELETE", f"{V1}/gebouweenheden/{other}/documenten/{agency['document_id']}", bearer)
    assert_problem(resp, 403, "DOCUMENT_NIET_EIGEN")
    resp = api(wp, "DELETE", f"{V1}/gebouweenheden/{unit}/documenten/doc-99999999", bearer)
    assert_problem(resp, 404, "NIET_GEVONDEN")
    # a client that may only read cannot write documents
    reader = token(wp, key, READER)
    mandate(wp, examples(wp)["house"]["holders"][0], client_id=READER)
    assert_problem(upload(wp, reader, unit, key="r"), 403, "ONVOLDOENDE_SCOPE")


def test_uploads_and_deletes_are_in_the_feed(wp, bearer, unit):
    _, cursor, _ = read_feed(wp, bearer, 1000)
    doc = upload(wp, bearer, unit).json()
    api(wp, "DELETE", f"{V1}/gebouweenheden/{unit}/documenten/{doc['document_id']}", bearer)
    items = api(wp, "GET", f"{V1}/wijzigingen", bearer, params={"cursor": cursor}).json()["wijzigingen"]
    assert [(c["sectie"], c["soort"]) for c in items] == [("documenten", "toegevoegd"), ("documenten", "verwijderd")]


# --- share links ------------------------------------------------------------------------------------------------


def test_a_deellink_gives_public_read_access_until_geldig_tot(wp, bearer, unit):
    until = (wp.sandbox.now() + timedelta(days=7)).isoformat()
    resp = api(wp, "POST", f"{V1}/gebouweenheden/{unit}/deellinks", bearer, json={"geldig_tot": until})
    assert resp.status_code == 201, resp.text
    link = resp.json()
    assert set(link) >= {"url", "token", "geldig_tot"} and link["url"].endswith(link["token"])
    shared = requests.get(link["url"], timeout=10)  # no token: public
    assert shared.status_code == 200 and shared.json()["gebouweenheidId"] == unit
    admin(wp, "POST", "/clock", json={"advance_seconds": 8 * 86400})
    assert_problem(requests.get(link["url"], timeout=10), 410, "DEELLINK_VERLOPEN")
    assert_problem(requests.get(link["url"] + "x", timeout=10), 404, "NIET_GEVONDEN")


@pytest.mark.parametrize(
    "geldig_tot", [None, "morgen", "2020-01-01", "2030-01-01T00:00:00", "past", "too-far"], ids=str
)
def test_an_invalid_geldig_tot_is_422(wp, bearer, unit, geldig_tot):
    now = wp.sandbox.now()
    value = {"past": (now - timedelta(hours=1)).isoformat(), "too-far": (now + timedelta(days=91)).isoformat()}.get(
        geldig_tot, geldig_tot
    )
    body = {} if value is None else {"geldig_tot": value}
    resp = api(wp, "POST", f"{V1}/gebouweenheden/{unit}/deellinks", bearer, json=body)
    assert assert_problem(resp, 422, "ONGELDIGE_GELDIG_TOT")["invalid-params"][0]["name"] == "geldig_tot"
