"""The neighbourhood a dwelling lies in (`Dwelling.area`), in one shape whatever the partner: which keys it has
and which levels there are. Connectors fill it from their partner's codes; the core never derives one."""

from __future__ import annotations

from typing import Any, Literal

AreaLevel = Literal["buurt", "deelgemeente", "municipality"]
LEVELS: tuple[str, ...] = ("buurt", "deelgemeente", "municipality")  # finest first
KEYS = (
    "country",
    "level",
    "neighbourhood_code",
    "neighbourhood_name",
    "district_code",
    "district_name",
    "municipality_code",
    "municipality_name",
    "source",
)


def area(
    country: str,
    level: AreaLevel,
    source: str,
    *,
    neighbourhood_code: str | None = None,
    neighbourhood_name: str | None = None,
    district_code: str | None = None,
    district_name: str | None = None,
    municipality_code: str | None = None,
    municipality_name: str | None = None,
) -> dict[str, Any]:
    """A `Dwelling.area`: every key present (None when the partner does not know it), empty strings as None."""
    values = {
        "country": country,
        "level": level,
        "neighbourhood_code": neighbourhood_code,
        "neighbourhood_name": neighbourhood_name,
        "district_code": district_code,
        "district_name": district_name,
        "municipality_code": municipality_code,
        "municipality_name": municipality_name,
        "source": source,
    }
    return {k: (v if v not in ("", None) else None) for k, v in values.items()}


# Flemish postcodes → (NIS code of the municipality, official municipality, deelgemeente): reference data (bpost,
# Statbel), only the few the sandbox tenants use. A deelgemeente is keyed f"{nis}-{postcode}" [MOD: our key].
BE_POSTCODES: dict[str, tuple[str, str, str]] = {
    "3000": ("24062", "Leuven", "Leuven"),
    "3001": ("24062", "Leuven", "Heverlee"),
    "3010": ("24062", "Leuven", "Kessel-Lo"),
    "3012": ("24062", "Leuven", "Wilsele"),
    "3018": ("24062", "Leuven", "Wijgmaal"),
}


def flemish_area(
    source: str, postcode: str | None, nis: str | None = None, municipality: str | None = None
) -> dict[str, Any] | None:
    """A Flemish dwelling's area at deelgemeente level (code f"{nis}-{postcode}") from its postcode and, when the
    partner gives them, the municipality's NIS code and official name; None when neither the partner nor the
    reference table gives a NIS code."""
    known = BE_POSTCODES.get((postcode or "").strip())
    nis = nis or (known[0] if known else None)
    if not nis or not postcode:
        return None
    municipality = municipality or (known[1] if known else None)
    name = known[2] if known and known[0] == nis else municipality
    return area(
        "BE",
        "deelgemeente",
        source,
        neighbourhood_code=f"{nis}-{postcode.strip()}",
        neighbourhood_name=name,
        municipality_code=nis,
        municipality_name=municipality,
    )
