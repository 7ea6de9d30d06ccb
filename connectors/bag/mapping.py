"""BAG's adressen → the core's `RegisterObject`s (hub/identity/types.py): the verblijfsobject's key, its official
address, its ids (nummeraanduiding, panden, woonplaats), residential or not, side address or not, exact or not
(letter and addition equal the ones asked), and the building facts — the first `oorspronkelijkBouwjaar` or none
(never Hoomdossier's 1930 default) and `oppervlakte`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from connectors.bag.settings import PARTNER
from connectors.bag.wire import AdresUitgebreid
from hub.canonical.areas import area
from hub.canonical.keys import bag_dwelling_key
from hub.identity.types import RegisterObject


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").strip().upper() == (b or "").strip().upper()


def municipality_area(vbo_id: str, woonplaats: str) -> dict[str, Any] | None:
    """The gemeente a verblijfsobject lies in: its id's first 4 digits are the gemeentecode (GM + 4 digits); the
    name is the woonplaats (the sandbox and BAG's address give no gemeente name). Only the municipality level: a
    buurt Econobis knows outranks it (hub/canonical/survivorship.py)."""
    if len(vbo_id) != 16 or not vbo_id[:4].isdigit():
        return None
    return area("NL", "municipality", PARTNER, municipality_code=f"GM{vbo_id[:4]}", municipality_name=woonplaats)


def to_object(query: Mapping[str, Any], a: AdresUitgebreid) -> RegisterObject:
    build = next((int(y) for y in a.oorspronkelijkBouwjaar if str(y).isdigit() and int(y) > 1000), None)
    by_id = "nummeraanduidingIdentificatie" in query
    exact = by_id or (
        _same(a.huisletter, query.get("huisletter"))
        and _same(a.huisnummertoevoeging, query.get("huisnummertoevoeging"))
    )
    facts: dict[str, Any] = {}
    if build is not None:
        facts["build_year"] = build
    if a.oppervlakte:
        facts["surface_m2"] = float(a.oppervlakte)
    return RegisterObject(
        key=bag_dwelling_key(a.adresseerbaarObjectIdentificatie),
        address={
            "street": a.openbareRuimteNaam,
            "number": str(a.huisnummer),
            "letter": a.huisletter.upper(),
            "addition": a.huisnummertoevoeging.upper(),
            "postcode": a.postcode.replace(" ", "").upper(),
            "city": a.woonplaatsNaam,
        },
        identifiers={
            "nl:bag:num": a.nummeraanduidingIdentificatie,
            "nl:bag:pnd": sorted(a.pandIdentificaties),
            "nl:bag:wpl": a.woonplaatsIdentificatie,
        },
        residential="woonfunctie" in a.gebruiksdoelen,
        side_address=a.indicatieNevenadres,
        exact=exact,
        facts=facts,
        area=municipality_area(a.adresseerbaarObjectIdentificatie, a.woonplaatsNaam),
    )


def to_objects(query: Mapping[str, Any], adressen: Iterable[Mapping[str, Any]]) -> tuple[RegisterObject, ...]:
    """One object per address BAG returned (an object listed under its main and a side address comes twice, as
    BAG returns it); unparseable entries are skipped by the caller's validation."""
    return tuple(to_object(query, AdresUitgebreid.model_validate(a)) for a in adressen)
