"""Dwelling areas: the one shape, the Flemish deelgemeente from the reference table, and who wins the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.canonical.areas import KEYS, area, flemish_area
from hub.canonical.survivorship import Observation, new_value_wins

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_an_area_has_every_key_and_empty_strings_become_none():
    a = area("NL", "buurt", "econobis", neighbourhood_name="", municipality_code="GM0441")
    assert tuple(a) == KEYS
    assert a["neighbourhood_name"] is None and a["municipality_code"] == "GM0441"


def test_a_leuven_deelgemeente_is_keyed_by_nis_and_postcode():
    a = flemish_area("webform", "3001")
    assert a is not None
    assert (a["level"], a["neighbourhood_code"], a["neighbourhood_name"]) == ("deelgemeente", "24062-3001", "Heverlee")
    assert (a["municipality_code"], a["municipality_name"]) == ("24062", "Leuven")


def test_a_flemish_postcode_without_a_nis_code_has_no_area():
    assert flemish_area("webform", "9999") is None
    assert flemish_area("woningpas", "9000", "44021", "Gent")["neighbourhood_name"] == "Gent"  # type: ignore[index]


def test_a_building_registers_municipality_never_overwrites_a_crm_buurt_but_fills_an_empty_area():
    buurt = area("NL", "buurt", "econobis", neighbourhood_code="BU04410102")
    gemeente = area("NL", "municipality", "bag", municipality_code="GM0441")
    crm, register = Observation("econobis", "c:1", T0), Observation("bag", "b:1", T0 + timedelta(days=1))
    assert not new_value_wins("dwelling", "area", buurt, crm, gemeente, register)
    assert new_value_wins("dwelling", "area", gemeente, register, buurt, crm)
    assert new_value_wins("dwelling", "area", None, crm, gemeente, register)


def test_the_flemish_register_beats_the_crm_for_the_area():
    wp = area("BE", "deelgemeente", "woningpas", neighbourhood_code="24062-3001")
    crm = area("BE", "buurt", "econobis", neighbourhood_name="x")
    assert new_value_wins(
        "dwelling", "area", crm, Observation("econobis", "c", T0), wp, Observation("woningpas", "w", T0)
    )
