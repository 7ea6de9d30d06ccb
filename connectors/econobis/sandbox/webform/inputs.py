"""How the webform endpoint reads its request (§4.2): every input as a trimmed string, the normalisations
(postcode, "12a" house numbers, decimal separator, dates), the encrypted ids — into one typed `FormData`."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.econobis.sandbox.webforms import PhpError

# input name → kansactie column
KANSACTIE_DATES = {
    "kansactie_datum_afspraak": "date_planned",
    "kansactie_datum_afgehandeld": "date_recorded",
    "kansactie_datum_afspraakpoging_1": "date_planned_attempt1",
    "kansactie_datum_afspraakpoging_2": "date_planned_attempt2",
    "kansactie_datum_afspraakpoging_3": "date_planned_attempt3",
    "kansactie_datum_uitgebracht": "date_released",
    "kansactie_datum_akkoord_bewoner": "date_approved_client",
    "kansactie_datum_akkoord_projectleider": "date_approved_project_manager",
    "kansactie_datum_akkoord_toekenning": "date_approved_external",
    "kansactie_datum_toekenning_in_behandeling": "date_under_review",
    "kansactie_datum_uitgevoerd": "date_executed",
    "kansactie_datum_vaststelling_in_behandeling": "date_under_review_determination",
    "kansactie_datum_akkoord_vaststelling": "date_approved_determination",
}
HOUSING_FIELDS = (
    "woondossier_woningtype_id",
    "woondossier_bouwjaar",
    "woondossier_koophuis",
    "woondossier_monument",
    "woondossier_gebruiksoppervlakte",
    "woondossier_daktype_id",
    "woondossier_energielabel_id",
    "woondossier_aantal_bouwlagen",
    "woondossier_status_energielabel_id",
    "woondossier_aantal_bewoners",
    "woondossier_opbrengst_zonnepanelen",
    "woondossier_opmerking",
    "woondossier_opmerking_coach",
)


def encrypt_id(value: int) -> str:
    """The sandbox's stand-in for Laravel's Crypt::encrypt of an id ({intake_id_encrypted} in mails)."""
    raw = json.dumps({"iv": "sandbox", "value": str(value), "mac": "x"}).encode()
    return base64.b64encode(raw).decode()


def decrypt_id(value: str) -> int | None:
    try:
        data = json.loads(base64.b64decode(value.encode(), validate=True))
        return int(data["value"])
    except (ValueError, KeyError, TypeError):
        return None


@dataclass
class Input:
    """The request's fields as Econobis reads them: `s()` = trimmed string, default ''."""

    raw: Mapping[str, Any]

    def s(self, name: str) -> str:
        value = self.raw.get(name)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "1" if value else ""
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, str):
            # trim(array): TypeError outside the try block
            raise PhpError(f"trim(): Argument #1 ($string) must be of type string, {type(value).__name__}")
        return value.strip()

    def present(self, name: str) -> bool:
        """Housing-file inputs are not defaulted: absent or JSON null differs from empty."""
        return self.raw.get(name) is not None

    def ids(self, name: str) -> list[int]:
        return [int(p) for p in self.s(name).split(",") if p.strip().isdigit()]


def normalise_postcode(value: str) -> str:
    return value.upper().replace(" ", "")


def split_number(number: str, addition: str) -> tuple[int | None, str]:
    """ "12a" → (12, "a"); additions lose spaces and dashes. A non-numeric number is no number."""
    m = re.match(r"^\s*(\d+)\s*(.*)$", number)
    if not m:
        return None, re.sub(r"[\s-]", "", addition)
    rest = m.group(2)
    return int(m.group(1)), re.sub(r"[\s-]", "", addition or rest)


def parse_decimal(value: str, separator: str) -> float | None:
    if value == "":
        return None
    thousands = "." if separator == "," else ","
    try:
        return float(value.replace(thousands, "").replace(separator, "."))
    except ValueError:
        return None


def parse_date(value: str) -> datetime | None:
    """Carbon::make for the formats web forms send (Y-m-d, Y-m-d H:i[:s], d-m-Y)."""
    if not value:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise PhpError(f"Could not parse '{value}': Failed to parse time string")


@dataclass(frozen=True)
class FormData:
    """The inputs after reading: trimmed strings ('' when absent) unless a type says otherwise."""

    separator: str
    number: str
    force_new_contact: str
    title_id: str
    initials: str
    first_name: str
    last_name_prefix: str
    last_name: str
    organisation_name: str
    address_type_id: str
    street: str
    address_number: int | None
    addition: str
    postal_code: str
    city: str
    country_id: str
    phone: str
    email: str
    note: str
    did_agree_avg: str
    create_hoom_dossier: str
    # the decrypted intake_id / kans_id / kansactie_id: any of them takes an update path (no contact matching)
    intake_id: int | None
    opportunity_id: int | None
    quotation_request_id: int | None
    external_code: str
    campaign_id: str
    intake_status_id: str
    reason_ids: list[int]
    source_ids: list[int]
    measure_id: str
    measure_ids: list[int]
    interest_ids: list[int]
    intake_note: str
    opportunity_code: str
    qr_action: str
    qr_coach: str
    qr_text: str
    qr_status: str
    qr_dates: dict[str, datetime | None]  # by kansactie column
    qr_coach_note: str
    qr_amount: float | None
    visit_status: str
    visit_campaign: str
    visit_coach: str
    task_type_id: str
    task_note: str
    task_days: str
    # the housing-file inputs that were sent, raw: absent or null leaves a column as it is; any other value,
    # '' too, is written
    housing: dict[str, Any]


def parse(inp: Input, log: Callable[[str], None]) -> FormData:
    """Read every input, in the controller's order; a non-scalar where a string is expected raises PhpError."""
    s = inp.s
    separator = s("decimaal_scheidingsteken") or ","
    number, addition = split_number(s("adres_huisnummer"), s("adres_toevoeging"))
    data = FormData(
        separator=separator,
        number=s("contact_nummer"),
        force_new_contact=s("forceer_nieuw_contact"),
        title_id=s("titel_id"),
        initials=s("voorletters"),
        first_name=s("voornaam"),
        last_name_prefix=s("tussenvoegsel"),
        last_name=s("achternaam"),
        organisation_name=s("organisatienaam"),
        address_type_id=s("adres_type_id"),
        street=s("adres_straat"),
        address_number=number,
        addition=addition,
        postal_code=normalise_postcode(s("adres_postcode")),
        city=s("adres_plaats"),
        country_id=s("adres_land_id"),
        phone=s("telefoonnummer"),
        email=s("emailadres"),
        note=s("contact_opmerkingen"),
        did_agree_avg=s("akkoord_privacybeleid"),
        create_hoom_dossier=s("hoomdossier_aanmaken"),
        intake_id=_decrypt(inp, "intake_id", log),
        opportunity_id=_decrypt(inp, "kans_id", log),
        quotation_request_id=_decrypt(inp, "kansactie_id", log),
        external_code=s("intake_id_extern"),
        campaign_id=s("intake_campagne_id"),
        intake_status_id=s("intake_status_id"),
        reason_ids=inp.ids("intake_motivatie_ids"),
        source_ids=inp.ids("intake_aanmeldingsbron_ids"),
        measure_id=s("intake_maatregel_id"),
        measure_ids=inp.ids("intake_maatregel_ids"),
        interest_ids=inp.ids("intake_interesse_ids"),
        intake_note=s("intake_opmerkingen_bewoner"),
        opportunity_code=s("kans_code"),
        qr_action=s("kansactie_aanmaken"),
        qr_coach=s("kansactie_org_of_coach"),
        qr_text=s("kansactie_omschrijving"),
        qr_status=s("kansactie_status"),
        qr_dates={col: parse_date(s(name)) for name, col in KANSACTIE_DATES.items()},
        qr_coach_note=s("kansactie_opmerking_coach"),
        qr_amount=parse_decimal(s("kansactie_budgetaanvraag_bedrag"), separator),
        visit_status=s("kansactie_update_afspraak_status"),
        visit_campaign=s("kansactie_update_afspraak_campagne"),
        visit_coach=s("kansactie_update_afspraak_coach"),
        task_type_id=s("taak_type_id"),
        task_note=s("taak_opmerkingen"),
        task_days=s("taak_dagen_einddatum"),
        housing={name: inp.raw.get(name) for name in HOUSING_FIELDS if inp.present(name)},
    )
    for name in HOUSING_FIELDS:
        if name in data.housing:
            s(name)  # same type check as the other inputs
    return data


def _decrypt(inp: Input, name: str, log: Callable[[str], None]) -> int | None:
    value = inp.s(name)
    if not value:
        return None
    decrypted = decrypt_id(value)
    if decrypted is None:
        # Logged, then treated as empty: the request falls through to the normal contact flow.
        log(f"Veld {name} bevat geen correcte waarde")
    return decrypted
