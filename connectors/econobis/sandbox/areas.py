"""The sandbox's `shared_postal_codes_house_number` → `shared_areas`: the buurt Econobis derives for an address
from its postcode and house number (AddressObserver: on save, when postal_code or number changed).

[MOD] Our modelling: Econobis' shared area code is the CBS buurtcode's digits as an int (gemeentecode 4 + wijk 2
+ buurt 2, leading zeros lost: 4410102 → BU04410102, wijk WK044101, gemeente GM0441). The table covers the
postcodes the seed uses (seed.TENANT_REGIONS): each 4-digit postcode belongs to one wijk of one gemeente, and
its low and high house numbers to two buurten; one postcode in nine is missing from the table, as addresses
Econobis' table misses (then: code null, name '')."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# tenant → (first 4-digit postcode, how many, [(gemeentecode, gemeente, [wijk names])]); the gemeenten are
# those of the seed's cities (Wognum lies in Medemblik)
_REGIONS: dict[str, tuple[int, int, list[tuple[str, str, list[str]]]]] = {
    "coop-noord": (
        1600,
        80,
        [
            ("0420", "Medemblik", ["Wognum", "Medemblik Centrum"]),
            ("0441", "Hoorn", ["Hoorn Binnenstad", "Kersenboogerd"]),
            ("0388", "Enkhuizen", ["Enkhuizen Centrum", "Enkhuizen Noord"]),
        ],
    ),
    "coop-zuid": (
        5200,
        90,
        [
            ("0757", "Boxtel", ["Boxtel Centrum", "Selissen"]),
            ("0865", "Vught", ["Vught Centrum", "Taalstraat"]),
            ("0824", "Oisterwijk", ["Oisterwijk Centrum", "Moergestel"]),
            ("0845", "Sint-Michielsgestel", ["Den Dungen", "Gemonde"]),
        ],
    ),
}
_BUURT_SUFFIX = ("Oud", "Nieuw")  # low numbers, high numbers
_SPLIT_AT = 120  # the seed's numbers run 1-240


@dataclass(frozen=True)
class SharedArea:
    """One row of `shared_areas` (the buurt) with its wijk and gemeente (econobis_shared database)."""

    area_code: int
    area_name: str
    district_name: str
    municipality_name: str

    @property
    def id(self) -> int:
        return self.area_code  # the row id of econobis_shared's shared_areas; any stable number does

    @property
    def cbs(self) -> str:
        return f"{self.area_code:08d}"


def shared_area(tenant: str, postal_code: str | None, number: Any) -> SharedArea | None:
    """The shared area of an address, or None when the table has no row for its postcode and number."""
    region = _REGIONS.get(tenant)
    pc = (postal_code or "").replace(" ", "")
    if region is None or len(pc) < 4 or not pc[:4].isdigit() or not str(number or "").isdigit():
        return None
    first, width, gemeenten = region
    offset = int(pc[:4]) - first
    if not 0 <= offset < width or int(pc[:4]) % 9 == 0:
        return None
    per = -(-width // len(gemeenten))
    gm_code, gm_name, wijken = gemeenten[min(offset // per, len(gemeenten) - 1)]
    wk = offset % len(wijken)
    bu = 0 if int(str(number)) <= _SPLIT_AT else 1
    return SharedArea(
        area_code=int(f"{gm_code}{wk + 1:02d}{bu + 1:02d}"),
        area_name=f"{wijken[wk]} {_BUURT_SUFFIX[bu]}",
        district_name=wijken[wk],
        municipality_name=gm_name,
    )


def area_columns(tenant: str, postal_code: str | None, number: Any) -> dict[str, Any]:
    """`shared_area_code`, `shared_area_name` as AddressObserver writes them (null and '' when not found)."""
    a = shared_area(tenant, postal_code, number)
    return {"shared_area_code": a.area_code if a else None, "shared_area_name": a.area_name if a else ""}


def _all_areas() -> dict[int, SharedArea]:
    out: dict[int, SharedArea] = {}
    for tenant, (first, width, _) in _REGIONS.items():
        for pc in range(first, first + width):
            for number in (1, _SPLIT_AT + 1):
                a = shared_area(tenant, f"{pc}AA", number)
                if a is not None:
                    out[a.area_code] = a
    return out


AREAS_BY_CODE: dict[int, SharedArea] = _all_areas()


def search_areas(search_term: str) -> list[dict[str, Any]]:
    """GET /api/shared-area/search: the shared areas whose buurt, wijk or gemeente name contains every word of
    the term, by area name; SharedAreaSearch's shape (the name carries gemeente and wijk)."""
    words = [w.lower() for w in search_term.split(" ")]
    found = [
        a
        for a in AREAS_BY_CODE.values()
        if all(any(w in n.lower() for n in (a.area_name, a.district_name, a.municipality_name)) for w in words)
    ]
    return [
        {
            "id": a.id,
            "areaCode": a.area_code,
            "areaName": f"{a.area_name} (gemeente: {a.municipality_name}, wijk: {a.district_name})",
        }
        for a in sorted(found, key=lambda a: a.area_name)
    ]


def area_details(tenant: str, postal_code: Any, number: Any) -> dict[str, str]:
    """POST /api/shared-area/shared-area-details: the buurt and wijk names of a postcode and number ('' when
    the table has none)."""
    a = shared_area(tenant, str(postal_code or ""), number)
    return {"areaName": a.area_name if a else "", "districtName": a.district_name if a else ""}
