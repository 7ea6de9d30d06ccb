"""The BAG answer's municipality area: the verblijfsobject id's first four digits are the gemeentecode."""

from __future__ import annotations

from connectors.bag.mapping import municipality_area, to_object
from connectors.bag.wire import AdresUitgebreid


def test_a_resolved_object_carries_its_gemeente_from_the_id_and_the_woonplaats():
    a = AdresUitgebreid.model_validate(
        {"huisnummer": 12, "postcode": "1621AA", "woonplaatsNaam": "Hoorn", "nummeraanduidingIdentificatie":
         "0441200000000012", "adresseerbaarObjectIdentificatie": "0441010000000012", "gebruiksdoelen": ["woonfunctie"]}
    )  # fmt: skip
    obj = to_object({"postcode": "1621AA", "huisnummer": 12}, a)
    assert obj.area is not None
    assert (obj.area["level"], obj.area["municipality_code"], obj.area["municipality_name"]) == (
        "municipality",
        "GM0441",
        "Hoorn",
    )
    assert obj.area["neighbourhood_code"] is None and obj.area["source"] == "bag"


def test_an_id_that_is_no_verblijfsobject_id_gives_no_area():
    assert municipality_area("123", "Hoorn") is None
