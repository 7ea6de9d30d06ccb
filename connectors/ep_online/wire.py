"""EP-Online v5's registration as it arrives (`PandEnergielabelV5`, contracts §3.2): the field names kept verbatim
(PascalCase and snake_case mixed, as RVO names them), every field nullable, unknown fields kept."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PandEnergielabel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    Registratiedatum: str | None = None
    Opnamedatum: str | None = None
    Geldig_tot: str | None = None
    Certificaathouder: str | None = None
    Soort_opname: str | None = None
    Status: str | None = None
    Berekeningstype: str | None = None
    IsVereenvoudigdLabel: bool | None = None
    Gebouwklasse: str | None = None
    Gebouwtype: str | None = None
    Gebouwsubtype: str | None = None
    Postcode: str | None = None
    Huisnummer: int | None = None
    Huisletter: str | None = None
    Huisnummertoevoeging: str | None = None
    Detailaanduiding: str | None = None
    BAGVerblijfsobjectID: str | None = None
    BAGLigplaatsID: str | None = None
    BAGStandplaatsID: str | None = None
    BAGPandIDs: list[str] | None = None
    Bouwjaar: int | None = None
    Gebruiksoppervlakte_thermische_zone: float | None = None
    Compactheid: float | None = None
    Energieklasse: str | None = None
    EnergieIndex: float | None = None
    Energiebehoefte: float | None = None
    PrimaireFossieleEnergie: float | None = None
    Aandeel_hernieuwbare_energie: float | None = None
    BerekendeCO2Emissie: float | None = None
    BerekendeEnergieverbruik: float | None = None
