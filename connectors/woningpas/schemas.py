"""The Woningpas pass as it comes over the wire, in the (modelled) API's own Dutch words (§6.3): parsed before
anything is stored, so a pass that does not fit is quarantined with its reason and never half-merged."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SectionStatus = Literal["ok", "geen_gegevens", "bron_onbeschikbaar"]
Label = Literal["A+", "A", "B", "C", "D", "E", "F"]


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Adres(Wire):
    adresObjectId: int
    straatnaam: str
    huisnummer: str
    busnummer: str | None = None
    postcode: str = Field(pattern=r"^\d{4}$")
    gemeente: str
    nisCode: str | None = None


class Eigendom(Wire):
    eigendom_id: str
    adresObjectId: int
    gebouweenheidId: int
    gebouwId: int | None = None
    volledigAdres: str | None = None
    rol: str


class Sectie(Wire):
    model_config = ConfigDict(extra="allow", frozen=True)
    bron: str
    status: SectionStatus
    opgehaald_op: str | None = None

    @property
    def available(self) -> bool:
        return self.status != "bron_onbeschikbaar"

    def data(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Gebouw(Wire):
    bouwjaar: int | None = Field(default=None, ge=1000, le=2100)
    type: str | None = None
    bouwvorm: str | None = None
    bruto_vloeroppervlakte: float | None = Field(default=None, ge=0)
    beschermd_volume: float | None = Field(default=None, ge=0)


class Perceel(Wire):
    capakey: str
    perceel_id: str | None = None


class Percelen(Wire):
    percelen: list[Perceel] = Field(default_factory=list)


class Epc(Wire):
    attestnummer: str = Field(pattern=r"^\d{8}-\d{10}-\d{1,2}$")
    label: Label
    energiescore_kwh_m2: float
    datum_ingediend: date
    geldig_tot: date
    status: Literal["Geldig", "Vervangen", "Verlopen"]
    label_na_aanbevelingen: Label | None = None


class Energie(Wire):
    epcs: list[Epc] = Field(default_factory=list)


class Renovatieverplichting(Wire):
    aktedatum: date
    label_bij_akte: Label | None = None
    vereist_label: Label
    deadline: date
    voldaan: bool
    voldaan_op: date | None = None
    termijn_verstreken: bool = False


class Asbest(Wire):
    attestnummer: str
    datum: date
    asbestveilig: bool | None = None


class Bodem(Wire):
    attest_id: str
    datum: date
    conclusie: str | None = None


class Elektriciteit(Wire):
    keuringsdatum: date
    conform: bool | None = None
    volgende_keuring: date | None = None


class Conformiteitsattest(Wire):
    datum: date
    geldig_tot: date | None = None


class Besluit(Wire):
    model_config = ConfigDict(extra="allow", frozen=True)
    datum: date
    soort: str | None = None


class Woningkwaliteit(Wire):
    conformiteitsattest: Conformiteitsattest | None = None
    besluiten: list[Besluit] = Field(default_factory=list)


class Vergunning(Wire):
    omgevingsvergunning_nr: str
    datum: date
    onderwerp: str | None = None


class Vergunningen(Wire):
    vergunningen: list[Vergunning] = Field(default_factory=list)


class Pas(Wire):
    """GET /gebouweenheden/{id}: the pass, its sections each with its own status."""

    gebouweenheidId: int
    gebouwId: int | None = None
    adresObjectId: int
    adres: Adres
    secties: dict[str, Sectie]


SECTION_MODELS: dict[str, type[Wire]] = {
    "gebouw": Gebouw,
    "percelen": Percelen,
    "energie": Energie,
    "renovatieverplichting": Renovatieverplichting,
    "asbest": Asbest,
    "bodem": Bodem,
    "elektriciteit": Elektriciteit,
    "woningkwaliteit": Woningkwaliteit,
    "vergunningen": Vergunningen,
}
