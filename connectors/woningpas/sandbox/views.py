"""What the sandbox Woningpas answers, built from the seeded world: the pass as sections (each with `bron`,
`status`, `opgehaald_op`), an EPC as a JSON mirror of MAGDA GeefEpc 02.01, a holder's properties and a
document row (contracts/woningpas_premiums.md §1.4, §6.3)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Collection
from datetime import date, datetime
from typing import Any

from connectors.woningpas.sandbox.seed import COLOURS, PROVINCES, REQUIRED_LABEL, Document, Epc, Unit, World

# section → the agency it is pulled from at view time (the pull model: §1.1-1.2); `bron` ids are [MOD]
SECTIONS: dict[str, str] = {
    "gebouw": "GEBOUWENREGISTER",
    "percelen": "KADASTER",
    "energie": "VEKA",
    "renovatieverplichting": "VEKA",
    "asbest": "OVAM",
    "bodem": "OVAM",
    "elektriciteit": "KEURINGEN",
    "woningkwaliteit": "WONEN",
    "vergunningen": "OMGEVING",
}
SOURCES = tuple(dict.fromkeys(SECTIONS.values()))
# the ownership (real rights) of a holder comes from the cadastre
OWNERSHIP_SOURCE = "KADASTER"


def iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def epc_status(epc: Epc, unit: Unit, today: date) -> str:
    """`Geldig`, `Vervangen` (a newer EPC exists) or `Verlopen` (past its 10 years)."""
    if unit.epcs and unit.epcs[-1] is not epc:
        return "Vervangen"
    return "Verlopen" if epc.geldig_tot < today else "Geldig"


def address(unit: Unit) -> dict[str, Any]:
    a = unit.address
    return {
        "adresObjectId": a.adres_object_id,
        "straatnaam": a.straat,
        "huisnummer": a.huisnummer,
        "busnummer": a.busnummer,
        "postcode": a.postcode,
        "gemeente": a.gemeente,
        "nisCode": a.nis,
        "adresStatus": a.status,
    }


def passport(
    unit: Unit, now: datetime, down: Collection[str], sections: Collection[str] | None = None
) -> dict[str, Any]:
    """The full pass of one unit as fetched now, with the sources in `down` unavailable."""
    today = now.date()
    out: dict[str, Any] = {}
    for name, source in SECTIONS.items():
        if sections is not None and name not in sections:
            continue
        if source in down:
            out[name] = {"bron": source, "status": "bron_onbeschikbaar", "opgehaald_op": None}
            continue
        data = _SECTION[name](unit, today)
        section: dict[str, Any] = {
            "bron": source,
            "status": "ok" if data else "geen_gegevens",
            "opgehaald_op": iso(now),
        }
        out[name] = {**section, **(data or {})}
    return {
        "gebouweenheidId": unit.gebouweenheid_id,
        "gebouwId": unit.gebouw_id,
        "adresObjectId": unit.address.adres_object_id,
        "volledigAdres": unit.address.volledig,
        "adres": address(unit),
        "opgehaald_op": iso(now),
        "secties": out,
    }


def _gebouw(unit: Unit, today: date) -> dict[str, Any]:
    return {
        "bouwjaar": unit.bouwjaar,
        "type": unit.building_type,
        "bouwvorm": unit.bouwvorm,
        "bruto_vloeroppervlakte": unit.bruto_vloeroppervlakte,
        "beschermd_volume": unit.beschermd_volume,
    }


def _percelen(unit: Unit, today: date) -> dict[str, Any]:
    return {"percelen": [{"capakey": _slash(c), "perceel_id": c} for c in unit.percelen]}


def _energie(unit: Unit, today: date) -> dict[str, Any] | None:
    if not unit.epcs:
        return None
    return {
        "epcs": [
            {
                "attestnummer": e.attestnummer,
                "label": e.label,
                "energiescore_kwh_m2": e.score,
                "datum_ingediend": e.datum_ingediend.isoformat(),
                "geldig_tot": e.geldig_tot.isoformat(),
                "status": epc_status(e, unit, today),
                "label_na_aanbevelingen": e.label_na_aanbevelingen,
                "aanbevelingen": [
                    {
                        "type": r.type,
                        "subtype": r.subtype,
                        "prioriteit": r.prioriteit,
                        "energiescore_na": r.energiescore,
                    }
                    for r in e.aanbevelingen
                ],
            }
            for e in reversed(unit.epcs)  # newest first
        ]
    }


def _renovatieverplichting(unit: Unit, today: date) -> dict[str, Any] | None:
    purchase = unit.purchase
    if purchase is None or not purchase.obligation:
        return None
    met, met_on = unit.obligation_met()
    return {
        "aktedatum": purchase.aktedatum.isoformat(),
        "label_bij_akte": purchase.label_bij_akte,
        "vereist_label": REQUIRED_LABEL,
        "deadline": purchase.deadline.isoformat(),
        "voldaan": met,
        "voldaan_op": met_on.isoformat() if met_on else None,
        "termijn_verstreken": not met and purchase.deadline < today,
    }


def _copy(attr: str) -> Callable[[Unit, date], dict[str, Any] | None]:
    def read(unit: Unit, today: date) -> dict[str, Any] | None:
        value = getattr(unit, attr)
        return dict(value) if value else None

    return read


def _vergunningen(unit: Unit, today: date) -> dict[str, Any] | None:
    return {"vergunningen": [dict(v) for v in unit.vergunningen]} if unit.vergunningen else None


_SECTION: dict[str, Callable[[Unit, date], dict[str, Any] | None]] = {
    "gebouw": _gebouw,
    "percelen": _percelen,
    "energie": _energie,
    "renovatieverplichting": _renovatieverplichting,
    "asbest": _copy("asbest"),
    "bodem": _copy("bodem"),
    "elektriciteit": _copy("elektriciteit"),
    "woningkwaliteit": _copy("woningkwaliteit"),
    "vergunningen": _vergunningen,
}


def _slash(perceel_id: str) -> str:
    """A parcel's objectId (`11001B0009-00H004`) as its CaPaKey (`11001B0009/00H004`)."""
    return perceel_id.replace("-", "/", 1)


def eigendom(unit: Unit, rol: str) -> dict[str, Any]:
    return {
        "eigendom_id": f"{unit.gebouweenheid_id}-{rol}",
        "adresObjectId": unit.address.adres_object_id,
        "gebouweenheidId": unit.gebouweenheid_id,
        "gebouwId": unit.gebouw_id,
        "volledigAdres": unit.address.volledig,
        "rol": rol,
    }


def document(doc: Document) -> dict[str, Any]:
    return {
        "document_id": doc.document_id,
        "gebouweenheidId": doc.gebouweenheid_id,
        "type": doc.type,
        "titel": doc.titel,
        "bestandsnaam": doc.bestandsnaam,
        "mediatype": doc.mediatype,
        "grootte": doc.grootte,
        "bron": doc.bron,
        "toegevoegd_door": doc.toegevoegd_door,
        "toegevoegd_op": doc.toegevoegd_op,
        "sha256": doc.sha256 or None,
    }


def magda_epc(world: World, epc: Epc, unit: Unit, today: date, with_attest: bool = False) -> dict[str, Any]:
    """One EPC in the element names of MAGDA GeefEpc 02.01 (`EnergieEenheid/Epc`), as JSON (§1.4)."""
    a = unit.address
    house = unit.building_type == "eengezinswoning"
    status = epc_status(epc, unit, today)
    score = {
        "type": "primaireEnergieVerbruikPerVierkanteMeter",
        "Waarde": epc.score,
        "Label": epc.label,
        "LabelNaAanbevelingen": epc.label_na_aanbevelingen,
        "EnergiescoreNaAanbevelingen": epc.score_na_aanbevelingen,
        "Streefdoel": 100 if house else 50,
        "Kleurcode": COLOURS[epc.label],
        "Volgorde": 1,
        "GemiddeldeWaardeGemeente": world.averages.get(f"gemeente:{a.nis}"),
        "GemiddeldeWaardeProvincie": world.averages.get(f"provincie:{a.nis[0]}"),
        "GemiddeldeWaardeVlaanderen": world.averages.get("vlaanderen"),
    }
    total = {
        "type": "totaalPrimaireEnergieverbruik",
        "Waarde": epc.score * unit.bruto_vloeroppervlakte,
        "Volgorde": 2,
    }
    u_value = {"type": "gemiddeldeUwaardeSchil", "Waarde": epc.u_schil, "Volgorde": 3}
    ep_code, org, kbo = epc.expert
    body: dict[str, Any] = {
        "id": int(epc.attestnummer.split("-")[1]),
        "Identificatie": {"Attestnummer": epc.attestnummer},
        "BouwjaarVolgensEPC": unit.bouwjaar,
        "BouwjaarGekend": True,
        "DatumModificatie": epc.datum_ingediend.isoformat(),
        "Actief": status == "Geldig",
        "Status": status,
        "DatumIngediend": epc.datum_ingediend.isoformat(),
        "DatumGeldigheid": epc.geldig_tot.isoformat(),
        "Scores": [score, total, u_value],
        "ScoreKleur": {"Code": COLOURS[epc.label]},
        "TypeAangifte": "EPC bestaand",
        "EpcEenheidType": "Wooneenheid" if house else "Appartement",
        "Ligging": {
            "Adres": {
                "arId": a.adres_object_id,
                "Straat": a.straat,
                "Huisnummer": a.huisnummer,
                "Busnummer": a.busnummer,
                "Postcode": a.postcode,
                "Gemeente": a.gemeente,
                "Gebouweenheden": [{"id": unit.gebouweenheid_id, "Gebouwen": [{"id": unit.gebouw_id}]}],
            },
            "Kadasters": [
                {"GemeenteNummer": a.nis, "Afdeling": c[:5], "Sectie": c[5], "Nummers": c[6:]} for c in unit.percelen
            ],
        },
        "Personen": [
            {
                "EpCode": ep_code,
                "Rol": "Energiedeskundige",
                "Organisatie": {"Naam": org, "KboNummer": kbo},
            }
        ],
        "Details": {
            "BeschermdVolume": unit.beschermd_volume,
            "Bestemming": "Wonen",
            "Bouwvorm": unit.bouwvorm,
            "BrutoVloerOppervlakte": unit.bruto_vloeroppervlakte,
            "GebouwType": unit.building_type,
            "Installaties": {"Ruimteverwarming": [{"Type": epc.installatie}]},
        },
        "NieuweAanbevelingen": [
            {
                "Type": r.type,
                "Subtype": r.subtype,
                "HuidigeSituatie": r.huidige_situatie,
                "Uitvoeringsmethodes": [
                    {"Omschrijving": r.omschrijving, "Volgorde": 1, "PrijsEen": r.prijs_een, "PrijsTwee": r.prijs_twee}
                ],
                "Prioriteit": {"Waarde": r.prioriteit},
                "VolgordeEnergieschaal": r.prioriteit,
                "Energiescore": r.energiescore,
            }
            for r in epc.aanbevelingen
        ],
        "provincie": PROVINCES.get(a.nis[0]),
    }
    if with_attest:
        pdf = f"%PDF-1.4\n% SANDBOX EPC {epc.attestnummer} (not a real attest)\n%%EOF\n".encode()
        body["Documenten"] = [
            {"Type": "Attest", "MimeType": "application/pdf", "Inhoud": base64.b64encode(pdf).decode()}
        ]
    return body
