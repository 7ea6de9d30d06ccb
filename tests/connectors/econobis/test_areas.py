"""Econobis' shared area (buurt) on addresses: the sandbox derives it from postcode + number like its
AddressObserver, the grids and details expose it, and the connector maps it to `Dwelling.area`."""

from __future__ import annotations

from connectors.econobis.mapping import map_area
from connectors.econobis.sandbox.areas import area_columns, search_areas, shared_area
from connectors.econobis.sandbox.instance import EconobisSandbox
from connectors.econobis.sandbox.serializers import full_address, grid_contact
from connectors.econobis.schemas import GridContact, SharedAreaSearch
from connectors.econobis.sync import EconobisPull
from tests.conftest import sandbox_hub_config
from tests.e2e.test_pull_flow import _client


def _sandbox() -> EconobisSandbox:
    return EconobisSandbox(tenant="coop-noord", residents=60, username="u", password="p")


def test_the_code_is_the_cbs_buurtcode_and_gives_wijk_and_gemeente():
    a = map_area(3630001, "Burgwallen-Oude Zijde", "Burgwallen")
    assert a is not None
    assert (a["neighbourhood_code"], a["district_code"], a["municipality_code"]) == ("BU03630001", "WK036300", "GM0363")
    assert (a["level"], a["country"], a["source"]) == ("buurt", "NL", "econobis")


def test_no_code_and_an_empty_name_is_no_area_and_a_name_alone_is_a_buurt_without_code():
    assert map_area(None, "") is None
    only = map_area(None, "Wognum Oud")
    assert only is not None and only["neighbourhood_code"] is None and only["neighbourhood_name"] == "Wognum Oud"


def test_the_sandbox_table_splits_a_postcode_by_number_and_misses_some_postcodes():
    low, high = shared_area("coop-noord", "1622 AB", 3), shared_area("coop-noord", "1622AB", 200)
    assert low is not None and high is not None and low.area_code != high.area_code
    assert low.district_name == high.district_name
    assert area_columns("coop-noord", "1602 AB", 3) == {"shared_area_code": None, "shared_area_name": ""}  # 1602 % 9


def test_seeded_addresses_carry_their_area_and_some_have_none():
    sb = _sandbox()
    rows = [a for a in sb.db.tables["addresses"].values()]
    with_area = [a for a in rows if a["shared_area_code"] is not None]
    assert with_area and len(with_area) < len(rows)
    assert all(a["shared_area_name"] == "" for a in rows if a["shared_area_code"] is None)
    assert len({a["shared_area_code"] for a in with_area}) >= 4


def test_an_address_whose_postcode_changes_gets_its_area_again():
    sb = _sandbox()
    aid = next(i for i, a in sb.db.tables["addresses"].items() if a["shared_area_code"] is not None)
    sb.db.update("addresses", aid, {"postal_code": "1602 AB"})
    assert sb.db.tables["addresses"][aid]["shared_area_code"] is None
    assert sb.db.tables["addresses"][aid]["shared_area_name"] == ""


def test_grid_rows_carry_the_area_name_and_details_its_wijk_but_not_the_code():
    sb = _sandbox()
    address = next(a for a in sb.db.tables["addresses"].values() if a["shared_area_code"] is not None)
    grid = GridContact.model_validate(grid_contact(sb.db.tables["contacts"][address["contact_id"]], sb.db, sb.lookups))
    assert grid.area_name == address["shared_area_name"]
    full = full_address(address)
    assert full is not None and full["areaName"] == address["shared_area_name"] and full["districtName"]
    assert "sharedAreaCode" not in full


def test_the_shared_area_search_gives_the_code_with_gemeente_and_wijk_in_the_name():
    a = shared_area("coop-noord", "1622AB", 3)
    assert a is not None
    [row] = [r for r in search_areas(a.area_name) if SharedAreaSearch.model_validate(r).parts()[0] == a.area_name]
    parsed = SharedAreaSearch.model_validate(row)
    assert parsed.area_code == a.area_code
    assert parsed.parts() == (a.area_name, a.municipality_name, a.district_name)
    assert search_areas("geen-buurt-zo") == []


def test_a_pull_gives_dwellings_their_buurt_with_cbs_codes_and_searches_by_city_once(store, start_sandbox):
    [sb] = start_sandbox(80, tenants=("coop-noord",), throttle_per_minute=100000)
    config = sandbox_hub_config([sb])
    report = EconobisPull(store, _client(config, store, "coop-noord"), "coop-noord").run()
    truth = {
        (a["postal_code"].replace(" ", ""), str(a["number"])): a["shared_area_code"]
        for a in sb.sandbox.db.tables["addresses"].values()
    }
    with store.engine.connect() as conn:
        dwellings = [r["data"] for r in store.live_entities(conn, "dwelling", "coop-noord")]
    assert 0 < report.area_searches <= 4  # by the sandbox's four cities: every buurt of their gemeenten
    with_code = [d for d in dwellings if (d.get("area") or {}).get("neighbourhood_code")]
    assert with_code and any(d.get("area") is None for d in dwellings)
    for d in with_code:
        code = truth.get(((d["postcode"] or "").replace(" ", ""), d["number"]))
        if code is not None:
            assert d["area"]["neighbourhood_code"] == f"BU{code:08d}"
            assert d["area"]["municipality_code"] == f"GM{code:08d}"[:6]
            assert d["area"]["municipality_name"] and d["area"]["district_name"]
    again = EconobisPull(store, _client(config, store, "coop-noord"), "coop-noord").run()
    assert again.area_searches == 0  # the names the hub already holds with their code are not searched again
