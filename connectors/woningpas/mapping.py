"""A Woningpas pass → canonical values: the dwelling's key, identifiers and official address, its building facts
(one canonical field per section, so a section reported unavailable leaves the hub's value alone), its energy
certificates (every EPC, the current one marked) and its renovation obligation.

Pure: ids and the store are the pull's (pull.py). Section names and Dutch values stay in schemas.py; what leaves
this module is the canonical model's English."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from connectors.woningpas.address import Address
from connectors.woningpas.schemas import (
    SECTION_MODELS,
    Asbest,
    Bodem,
    Elektriciteit,
    Energie,
    Gebouw,
    Pas,
    Percelen,
    Renovatieverplichting,
    Vergunningen,
    Wire,
    Woningkwaliteit,
)
from connectors.woningpas.settings import PARTNER
from hub.canonical.areas import flemish_area
from hub.canonical.keys import flemish_dwelling_key

# section → the dwelling-file fields it feeds
SECTION_FIELDS: dict[str, tuple[str, ...]] = {
    "gebouw": ("build_year", "building_type", "building_form", "surface_m2", "protected_volume_m3"),
    "percelen": ("parcels",),
    "energie": ("energy_label",),
    "renovatieverplichting": ("renovation_obligation",),
    "asbest": ("asbestos_inventory",),
    "bodem": ("soil_certificate",),
    "elektriciteit": ("electrical_inspection",),
    "woningkwaliteit": ("housing_quality",),
    "vergunningen": ("permits",),
}
STATUS = {"Geldig": "valid", "Vervangen": "replaced", "Verlopen": "expired"}


class MappingError(ValueError):
    """A pass that does not fit the contract: quarantined with this reason (field names, never values)."""


def _reason(where: str, exc: ValidationError) -> str:
    parts = [
        f"{where}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)
    ]
    return "; ".join(parts)[:900]


@dataclass
class Mapped:
    """What one pass says, in canonical words."""

    unit_id: int
    dwelling_key: str
    address_key: str
    keys: tuple[str, ...]  # every registry key the unit answers to
    address: Address
    dwelling: dict[str, Any]  # Dwelling fields (street, number, addition, postcode, city, identifiers…)
    file: dict[str, Any]  # DwellingFile fields of the sections that could be read
    certificates: list[dict[str, Any]] | None  # None: the energy section could not be read
    available: set[str] = field(default_factory=set)
    unavailable: set[str] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        return not self.unavailable


def parse_pass(raw: Any) -> tuple[Pas, dict[str, Wire | None]]:
    """The pass and each readable section parsed (None: `geen_gegevens`); raises MappingError."""
    try:
        pas = Pas.model_validate(raw)
    except ValidationError as exc:
        raise MappingError(_reason("pass", exc)) from None
    sections: dict[str, Wire | None] = {}
    for name, model in SECTION_MODELS.items():
        sec = pas.secties.get(name)
        if sec is None or not sec.available:
            continue
        if sec.status == "geen_gegevens":
            sections[name] = None
            continue
        try:
            sections[name] = model.model_validate(sec.data())
        except ValidationError as exc:
            raise MappingError(_reason(f"secties.{name}", exc)) from None
    return pas, sections


def map_pass(raw: Any) -> Mapped:
    pas, sections = parse_pass(raw)
    a = pas.adres
    address = Address.of(a.postcode, a.straatnaam, a.huisnummer, a.busnummer)
    identifiers = {"be:vl:geu": str(pas.gebouweenheidId), "be:vl:adr": str(pas.adresObjectId)}
    if pas.gebouwId:
        identifiers["be:vl:gbw"] = str(pas.gebouwId)
    if a.nisCode:
        identifiers["be:nis"] = a.nisCode
    file: dict[str, Any] = {}
    certificates: list[dict[str, Any]] | None = None
    for name, value in sections.items():
        file.update(dict.fromkeys(SECTION_FIELDS[name]))
        if name == "energie":
            certificates = _certificates(value) if isinstance(value, Energie) else []
            # the current EPC's label; else the newest one's (an expired EPC still tells the label best known)
            current = next((c for c in certificates if c["current"]), certificates[0] if certificates else None)
            file["energy_label"] = current["label"] if current else None
        elif name == "gebouw" and isinstance(value, Gebouw):
            file.update(
                build_year=value.bouwjaar,
                building_type=value.type,
                building_form=value.bouwvorm,
                surface_m2=value.bruto_vloeroppervlakte,
                protected_volume_m3=value.beschermd_volume,
            )
        elif name == "percelen":
            file["parcels"] = sorted(p.capakey for p in value.percelen) if isinstance(value, Percelen) else []
        elif name == "renovatieverplichting" and isinstance(value, Renovatieverplichting):
            file["renovation_obligation"] = {
                "deed_date": value.aktedatum.isoformat(),
                "label_at_deed": value.label_bij_akte,
                "required_label": value.vereist_label,
                "deadline": value.deadline.isoformat(),
                "met": value.voldaan,
                "met_on": value.voldaan_op.isoformat() if value.voldaan_op else None,
                "overdue": value.termijn_verstreken,
            }
        elif name == "asbest" and isinstance(value, Asbest):
            file["asbestos_inventory"] = {
                "reference": value.attestnummer,
                "date": value.datum.isoformat(),
                "safe": value.asbestveilig,
            }
        elif name == "bodem" and isinstance(value, Bodem):
            file["soil_certificate"] = {
                "reference": value.attest_id,
                "date": value.datum.isoformat(),
                "conclusion": value.conclusie,
            }
        elif name == "elektriciteit" and isinstance(value, Elektriciteit):
            file["electrical_inspection"] = {
                "date": value.keuringsdatum.isoformat(),
                "compliant": value.conform,
                "next_due": value.volgende_keuring.isoformat() if value.volgende_keuring else None,
            }
        elif name == "woningkwaliteit" and isinstance(value, Woningkwaliteit):
            c = value.conformiteitsattest
            file["housing_quality"] = {
                "conformity_certificate": (
                    {"date": c.datum.isoformat(), "valid_until": c.geldig_tot.isoformat() if c.geldig_tot else None}
                    if c
                    else None
                ),
                "decisions": [{"kind": b.soort, "date": b.datum.isoformat()} for b in value.besluiten],
            }
        elif name == "vergunningen":
            file["permits"] = (
                [
                    {"reference": v.omgevingsvergunning_nr, "date": v.datum.isoformat(), "subject": v.onderwerp}
                    for v in value.vergunningen
                ]
                if isinstance(value, Vergunningen)
                else []
            )
        if file.get("parcels") is None and "parcels" in file:
            file["parcels"] = []
        if file.get("permits") is None and "permits" in file:
            file["permits"] = []
    available = set(sections)
    unavailable = {n for n, s in pas.secties.items() if n in SECTION_MODELS and not s.available}
    geu_key = flemish_dwelling_key(str(pas.gebouweenheidId))
    return Mapped(
        unit_id=pas.gebouweenheidId,
        dwelling_key=geu_key,
        address_key=address.key,
        keys=(geu_key, flemish_dwelling_key(adres_object_id=str(pas.adresObjectId))),
        address=address,
        dwelling={
            "country": "BE",
            "street": a.straatnaam,
            "number": a.huisnummer,
            "addition": a.busnummer,
            "postcode": a.postcode,
            "city": a.gemeente,
            "identifiers": identifiers,
            # the municipality's NIS code and official name; the deelgemeente from the postcode
            "area": flemish_area(PARTNER, a.postcode, a.nisCode, a.gemeente),
        },
        file=file,
        certificates=certificates,
        available=available,
        unavailable=unavailable,
    )


def _certificates(energie: Energie) -> list[dict[str, Any]]:
    """Every EPC, newest first; the current one is the newest valid one."""
    epcs = sorted(energie.epcs, key=lambda e: (e.datum_ingediend, e.attestnummer), reverse=True)
    current = next((e.attestnummer for e in epcs if e.status == "Geldig"), None)
    return [
        {
            "certificate_number": e.attestnummer,
            "label": e.label,
            "score_kwh_m2_year": e.energiescore_kwh_m2,
            "issued_on": e.datum_ingediend,
            "valid_until": e.geldig_tot,
            "current": e.attestnummer == current,
            "status": STATUS[e.status],
            "label_after_recommendations": e.label_na_aanbevelingen,
        }
        for e in epcs
    ]
