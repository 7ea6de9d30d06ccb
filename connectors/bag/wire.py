"""BAG's adressenuitgebreid as it comes over the wire (contracts §3.3): HAL, ids as 16-digit strings, optional
fields absent rather than null, an empty search without `_embedded`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AdresUitgebreid(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    openbareRuimteNaam: str = ""
    huisnummer: int
    huisletter: str = ""
    huisnummertoevoeging: str = ""
    postcode: str
    woonplaatsNaam: str = ""
    nummeraanduidingIdentificatie: str
    woonplaatsIdentificatie: str = ""
    adresseerbaarObjectIdentificatie: str
    pandIdentificaties: list[str] = Field(default_factory=list)
    indicatieNevenadres: bool = False
    typeAdresseerbaarObject: str = "Verblijfsobject"
    gebruiksdoelen: list[str] = Field(default_factory=list)
    oppervlakte: int | None = None
    oorspronkelijkBouwjaar: list[str] = Field(default_factory=list)
