"""`POST /api/webform/external/{apiKey}` of the sandbox Econobis (contracts/econobis.md §4).

What is reproduced, in Econobis' order:
- input from the query string or the body (form or JSON), all values as trimmed strings, PHP truthiness;
  a non-scalar where a string is expected is a plain Laravel 500 BEFORE the transaction (§4.2.1);
- the normalisations of §4.2 (postcode, "12a" house numbers, additions, decimal separator);
- one DB transaction: the webform (404), its per-minute limit (422, counted only when the call commits),
  encrypted intake/kans/kansactie ids (update paths that skip contact matching), the contact-matching table
  of §4.4 (NC, UPC, NET, NAT, NCT, CCT, NCG, BCB) with its check tasks, intake (re)use by intake_id_extern —
  kansen and kansacties are created again on a repeat —, kansen per measure, kansacties through the status
  engine, the housing file; any error rolls everything back (auto-increment ids stay consumed);
- after commit: the task on the contact, Hoomdossier creation (errors only logged + a check task),
  `kansactie_update_afspraak_status` with its hard-coded status ids 7/8/9/14 — an exception here is a plain
  500 although the data is committed (§4.6);
- the answer: a JSON array of Dutch log lines (which echo the API key, as Econobis' do).

Not reproduced (no hub flow uses them; said in the README): energy, dongle, participation, order, groups,
free fields, attachments, LVBAG address lookup, IBAN checks, e-mails and workflows."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connectors.econobis.sandbox.outbound import HoomAbort, HoomValidation, register_resident
from connectors.econobis.sandbox.seed import apply_kansactie_write, person_full_name
from connectors.econobis.sandbox.webforms import (
    LOGGED,
    UNEXPECTED,
    ApiError,
    PhpError,
    check_max_requests,
    find_active,
    log_failure,
)

if TYPE_CHECKING:
    from connectors.econobis.sandbox.app import EconobisSandbox

CHECK_TASK_TYPE = 6  # "Webformulier": hard-coded check-contact and fallback task type
CHECK_ACTIONS = frozenset({"NAT", "NET", "BCB", "CCT", "NCG", "NCT"})
VISIT_STATUS_IDS = {"1": 7, "2": 8, "3": 9, "4": 14}  # kansactie_update_afspraak_status, by numeric id
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
# On create, only the columns relevant to the action type are copied (addQuotationRequestToOpportunity).
ACTION_DATES = {
    "visit": {
        "date_planned_attempt1",
        "date_planned_attempt2",
        "date_planned_attempt3",
        "date_planned",
        "date_recorded",
    },
    "quotation-request": {
        "date_planned",
        "date_recorded",
        "date_released",
        "date_approved_client",
        "date_approved_project_manager",
        "date_executed",
    },
    "subsidy-request": {
        "date_planned",
        "date_recorded",
        "date_released",
        "date_approved_client",
        "date_approved_project_manager",
        "date_approved_external",
        "date_under_review",
        "date_executed",
        "date_under_review_determination",
        "date_approved_determination",
    },
    "redirection": {"date_planned_attempt1", "date_planned_attempt2", "date_planned_attempt3", "date_executed"},
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


def php_bool(value: str) -> bool:
    return value not in ("", "0")


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


@dataclass
class Outcome:
    status: int
    logs: list[str]
    body: Any = None  # when set, the raw answer (a plain Laravel 500)
    contact_id: int | None = None
    intake_id: int | None = None
    opportunity_ids: list[int] = field(default_factory=list)
    quotation_request_ids: list[int] = field(default_factory=list)


class WebformCall:
    """One call of the webform endpoint against a sandbox's state."""

    def __init__(self, sb: EconobisSandbox, api_key: str, fields: Mapping[str, Any]) -> None:
        self.sb = sb
        self.db = sb.db
        self.lk = sb.lookups
        self.api_key = api_key
        self.inp = Input(fields)
        self.logs: list[str] = []
        self.webform: dict[str, Any] | None = None
        self.contact: dict[str, Any] | None = None
        self.address: dict[str, Any] | None = None
        self.intake: dict[str, Any] | None = None
        self.housing_file: dict[str, Any] | None = None
        self.action = "???"
        self.new_contact = False
        self.out = Outcome(200, self.logs)

    def log(self, text: str) -> None:
        self.logs.append(text)

    def error(self, message: str, status: int = 422) -> None:
        raise ApiError(message, status)

    # --- entry --------------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        try:
            data = self._parse()
        except PhpError:
            return Outcome(500, [], body={"message": "Server Error"})
        try:
            with self.db.transaction():
                self._do_post(data)
        except (ApiError, *UNEXPECTED) as exc:
            return Outcome(log_failure(self.logs, exc), self.logs)
        # --- after commit: exceptions here are NOT caught by the log handler ---
        try:
            if self.contact is not None:
                self.log(
                    "Aanroep succesvol afgerond tot nu toe. Eventueel verwerken van deelname, order, taak en "
                    "aanmaak Hoomdossier volgen nog."
                )
                self._task_to_contact(data)
            if php_bool(data["create_hoom_dossier"]) and self.contact is not None:
                self._create_hoomdossier()
            if data["visit_status"]:
                self._update_latest_visit_status(data)
        except UNEXPECTED:
            return Outcome(500, [], body={"message": "Server Error"})
        self.log(LOGGED)
        self.out.logs = self.logs
        return self.out

    # --- parsing ------------------------------------------------------------------------------------------

    def _parse(self) -> dict[str, Any]:
        s = self.inp.s
        separator = s("decimaal_scheidingsteken") or ","
        number, addition = split_number(s("adres_huisnummer"), s("adres_toevoeging"))
        data: dict[str, Any] = {
            "separator": separator,
            "number": s("contact_nummer"),
            "force_new_contact": s("forceer_nieuw_contact"),
            "title_id": s("titel_id"),
            "initials": s("voorletters"),
            "first_name": s("voornaam"),
            "last_name_prefix": s("tussenvoegsel"),
            "last_name": s("achternaam"),
            "organisation_name": s("organisatienaam"),
            "address_type_id": s("adres_type_id"),
            "street": s("adres_straat"),
            "address_number": number,
            "addition": addition,
            "postal_code": normalise_postcode(s("adres_postcode")),
            "city": s("adres_plaats"),
            "country_id": s("adres_land_id"),
            "phone": s("telefoonnummer"),
            "email": s("emailadres"),
            "note": s("contact_opmerkingen"),
            "did_agree_avg": s("akkoord_privacybeleid"),
            "create_hoom_dossier": s("hoomdossier_aanmaken"),
            "intake_id": self._decrypt("intake_id"),
            "opportunity_id": self._decrypt("kans_id"),
            "quotation_request_id": self._decrypt("kansactie_id"),
            "external_code": s("intake_id_extern"),
            "campaign_id": s("intake_campagne_id"),
            "intake_status_id": s("intake_status_id"),
            "reason_ids": self.inp.ids("intake_motivatie_ids"),
            "source_ids": self.inp.ids("intake_aanmeldingsbron_ids"),
            "measure_id": s("intake_maatregel_id"),
            "measure_ids": self.inp.ids("intake_maatregel_ids"),
            "interest_ids": self.inp.ids("intake_interesse_ids"),
            "intake_note": s("intake_opmerkingen_bewoner"),
            "opportunity_code": s("kans_code"),
            "qr_action": s("kansactie_aanmaken"),
            "qr_coach": s("kansactie_org_of_coach"),
            "qr_text": s("kansactie_omschrijving"),
            "qr_status": s("kansactie_status"),
            "qr_dates": {col: parse_date(s(name)) for name, col in KANSACTIE_DATES.items()},
            "qr_coach_note": s("kansactie_opmerking_coach"),
            "qr_amount": parse_decimal(s("kansactie_budgetaanvraag_bedrag"), separator),
            "visit_status": s("kansactie_update_afspraak_status"),
            "visit_campaign": s("kansactie_update_afspraak_campagne"),
            "visit_coach": s("kansactie_update_afspraak_coach"),
            "task_type_id": s("taak_type_id"),
            "task_note": s("taak_opmerkingen"),
            "task_days": s("taak_dagen_einddatum"),
            "housing": {name: self.inp.raw.get(name) for name in HOUSING_FIELDS if self.inp.present(name)},
        }
        for name in HOUSING_FIELDS:
            if name in data["housing"]:
                s(name)  # same type check as the other inputs
        return data

    def _decrypt(self, name: str) -> int | None:
        value = self.inp.s(name)
        if not value:
            return None
        decrypted = decrypt_id(value)
        if decrypted is None:
            # Logged, then treated as empty: the request falls through to the normal contact flow.
            self.log(f"Veld {name} bevat geen correcte waarde")
        return decrypted

    # --- the transaction ------------------------------------------------------------------------------------

    def _do_post(self, data: dict[str, Any]) -> None:
        wf = find_active(self.db, self.api_key, self.sb.clock.now().date())
        if wf is None:
            self.log(f"Webform met code {self.api_key} is niet gevonden.")
            raise ApiError("Webform not found", 404)
        self.webform = wf
        self.log(f"Webform met id {wf['id']} gevonden bij code {self.api_key}.")
        check_max_requests(self.db, wf, self.sb.clock.now())
        self.db.acting_user = wf.get("responsible_user_id")
        if data["intake_id"]:
            self._add_opportunities_to_intake(data)
        if data["opportunity_id"]:
            self._add_kansactie_to_opportunity(data)
        if data["quotation_request_id"]:
            self._update_kansactie(data)
        if data["intake_id"] or data["opportunity_id"] or data["quotation_request_id"]:
            return
        self._update_or_create_contact(data)
        if self.address is not None:
            self.intake = self._add_intake(data)
            self.housing_file = self._add_housing_file(data)

    # --- contact matching (§4.4) ----------------------------------------------------------------------------

    def _contacts_with_email(self, email: str, kind: str | None = None) -> list[dict[str, Any]]:
        if not email:
            return []
        owners = []
        for e in self.db.where("email_addresses"):
            if e["email"].lower() == email.lower():
                c = self.db.live("contacts", e["contact_id"])
                if c is not None and (kind is None or c["type_id"] == kind) and c not in owners:
                    owners.append(c)
        return sorted(owners, key=lambda c: c["id"])

    def _contacts_at(self, kind: str, pc: str, number: int, addition: str) -> list[dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for a in self.db.where("addresses", number=number):
            if a["postal_code"].upper() == pc and (a.get("addition") or "").lower() == addition.lower():
                c = self.db.live("contacts", a["contact_id"])
                if c is not None and c["type_id"] == kind:
                    out[c["id"]] = c
        return [out[k] for k in sorted(out)]

    def _name_match(self, data: dict[str, Any], pool: list[dict[str, Any]], retry: bool) -> dict[str, Any] | None:
        def eq(a: Any, b: str) -> bool:
            return (a or "").lower() == b.lower()

        for c in pool:
            if data["organisation_name"]:
                if eq(c.get("organisation_name"), data["organisation_name"]):
                    return c
            elif self._only_last_name(data):
                if eq(c.get("last_name"), data["last_name"]):
                    return c
            elif eq(c.get("first_name"), data["first_name"]) and eq(c.get("last_name"), data["last_name"]):
                return c
        if retry and not data["organisation_name"]:
            for c in pool:
                if not eq(c.get("last_name"), data["last_name"]):
                    continue
                if data["initials"] and eq(c.get("initials"), data["initials"]):
                    return c
                first = (c.get("first_name") or "")[:1]
                if data["first_name"] and first and eq(first, data["first_name"][:1]):
                    return c
        return None

    @staticmethod
    def _only_last_name(data: dict[str, Any]) -> bool:
        return bool(
            data["last_name"]
            and not (data["organisation_name"] or data["initials"] or data["first_name"] or data["last_name_prefix"])
        )

    def _match(self, data: dict[str, Any]) -> dict[str, Any] | None:
        kind = "organisation" if data["organisation_name"] else "person"
        email = data["email"]
        if data["force_new_contact"] == "1":
            self.action = "NCG"
            return None
        if data["number"]:
            found = [c for c in self.db.where("contacts") if f"C{c['created_at'].year}-{c['id']}" == data["number"]]
            if len(found) != 1:
                self.error(f"Contact met nummer {data['number']} niet (eenduidig) gevonden.")
            self.action = "UPC"
            return found[0]
        pc, number, addition = data["postal_code"], data["address_number"], data["addition"]
        if pc and number:
            at = self._contacts_at(kind, pc, number, addition)
            if not at:
                by_email = self._contacts_with_email(email, kind)
                if by_email:
                    self.action = "NAT"
                    return by_email[0]
                self.action = "NC"
                return None
            if kind == "person" and "bewoner" in (at[0].get("last_name") or "").lower():
                self.action = "BCB"
                return at[0]
            owners = self._contacts_with_email(email)
            with_email = [c for c in at if c in owners]
            if not with_email:
                hit = self._name_match(data, at, retry=True)
                if hit is not None:
                    self.action = "NET" if email else "UPC"
                    return hit
                self.action = "NCT"
                return None
            hit = self._name_match(data, with_email, retry=True)
            if hit is not None:
                self.action = "UPC"
                return hit
            self.action = "NCT"
            return None
        persons = self._contacts_with_email(email, "person")
        named = [
            c
            for c in persons
            if (c.get("last_name") or "").lower() == data["last_name"].lower()
            and (self._only_last_name(data) or (c.get("first_name") or "").lower() == data["first_name"].lower())
        ]
        if email and data["last_name"] and named:
            self.action = "UPC"
            return named[0]
        if persons:
            self.action = "CCT"
            return persons[0]
        self.action = "NC"
        return None

    def _update_or_create_contact(self, data: dict[str, Any]) -> None:
        wf = self.webform or {}
        self.log(f"Eigenaar contact (default webformulier) : {wf.get('responsible_user_id')}")
        self.log(f"Forceer nieuw contact : {data['force_new_contact']}")
        contact = self._match(data)
        self.log(f"Actie: {self.action}")
        if contact is not None:
            self.log(f"Actie bij contact: {contact['id']}")
        if contact is None:
            contact = self._add_contact(data)
            if self.action in CHECK_ACTIONS:
                self._check_task(contact, f"Nieuw contact ({self.action}) aangemaakt. Controleer contactgegevens")
        elif self.action in ("UPC", "BCB"):
            self._update_contact(contact, data)
            self.address = self._address_of(contact, data)
            if self.action == "BCB":
                self._check_task(contact, f"Contact 'bewoner' {contact['full_name']} bijgewerkt op adres 'bewoner'.")
        elif self.action == "NAT":
            self.address = self._add_address(contact, data)
            self._add_phone(contact, data)
            self._add_note(contact, data)
            self._check_task(contact, f"Nieuw adres toegevoegd aan contact {contact['full_name']}.")
        elif self.action == "NET":
            self._add_email(contact, data)
            self._add_phone(contact, data)
            self._add_note(contact, data)
            self.address = self._address_of(contact, data)
            self._check_task(contact, f"Nieuw e-mailadres {data['email']} toegevoegd aan contact.")
        elif self.action == "CCT":
            self._check_task(
                contact, f"Gegevens contact met emailadres {data['email']} gevonden maar zonder goede match op NAW."
            )
        self.contact = contact
        self.out.contact_id = contact["id"]

    def _address_of(self, contact: dict[str, Any], data: dict[str, Any]) -> dict[str, Any] | None:
        for a in self.db.children("addresses", contact["id"]):
            if (
                a["postal_code"].upper() == data["postal_code"]
                and a["number"] == data["address_number"]
                and (a.get("addition") or "").lower() == data["addition"].lower()
            ):
                self.log(f"Adres gevonden bij meegegeven postcode/huisnummer: {data['postal_code']} {a['number']}")
                return a
        primary = self.db.primary("addresses", contact["id"])
        if primary is not None:
            self.log("Geen adres postcode/huisnummer meegegeven of gevonden, verder met primair adres bij contact")
        return primary

    def _add_contact(self, data: dict[str, Any]) -> dict[str, Any]:
        now = self.sb.clock.now()
        org = data["organisation_name"]
        first, prefix, last = data["first_name"], data["last_name_prefix"], data["last_name"]
        if not org and not first and not last:
            if data["email"]:
                last = data["email"].split("@")[0]
                self.log(f"Achternaam overgenomen uit e-mailadres: {last}")
            else:
                self.error("Geen voornaam of achternaam meegegeven, contact niet aangemaakt.")
        full = org or person_full_name(first, prefix, last)
        cid = self.db.insert(
            "contacts",
            {
                "type_id": "organisation" if org else "person",
                "status_id": "webform",
                "created_with": "webform",
                "owner_id": (self.webform or {}).get("responsible_user_id"),
                "full_name": full,
                "first_name": None if org else first,
                "last_name_prefix": None if org else prefix,
                "last_name": None if org else last,
                "organisation_name": org or None,
                "initials": data["initials"] or None,
                "did_agree_avg": php_bool(data["did_agree_avg"]),
                "inspection_person_type_id": None,
                "hoom_account_id": None,
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
            },
        )
        contact = self.db.tables["contacts"][cid]
        self.new_contact = True
        self.log(f"Contact {full} ({cid}) aangemaakt.")
        if data["postal_code"] and data["address_number"]:
            self.address = self._add_address(contact, data)
        self._add_email(contact, data)
        self._add_phone(contact, data)
        self._add_note(contact, data)
        return contact

    def _update_contact(self, contact: dict[str, Any], data: dict[str, Any]) -> None:
        change: dict[str, Any] = {}
        if data["did_agree_avg"] != "":
            change["did_agree_avg"] = php_bool(data["did_agree_avg"])
        if contact["type_id"] == "person":
            if data["initials"]:
                change["initials"] = data["initials"]
            if data["first_name"] or data["last_name_prefix"] or data["last_name"]:
                # if any of the three is given, all three are overwritten
                change.update(
                    first_name=data["first_name"],
                    last_name_prefix=data["last_name_prefix"],
                    last_name=data["last_name"],
                )
                change["full_name"] = person_full_name(data["first_name"], data["last_name_prefix"], data["last_name"])
        if change:
            self.db.update("contacts", contact["id"], change)
            self.log(f"Contact {contact['full_name']} bijgewerkt.")
        self._add_email(contact, data)
        self._add_phone(contact, data)
        self._add_note(contact, data)

    def _add_address(self, contact: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        now = self.sb.clock.now()
        aid = self.db.insert(
            "addresses",
            {
                "contact_id": contact["id"],
                "type_id": data["address_type_id"] or "postal",
                "street": data["street"],
                "number": data["address_number"],
                "addition": data["addition"],
                "postal_code": data["postal_code"],
                "city": data["city"],
                "country_id": data["country_id"] or "NL",
                "primary": not self.db.primary("addresses", contact["id"]),
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
            },
        )
        self.log(f"Adres {data['postal_code']} {data['address_number']} toegevoegd aan contact {contact['id']}.")
        return self.db.tables["addresses"][aid]

    def _add_email(self, contact: dict[str, Any], data: dict[str, Any]) -> None:
        email = data["email"]
        if not email or any(
            e["email"].lower() == email.lower() for e in self.db.children("email_addresses", contact["id"])
        ):
            return
        self.db.insert(
            "email_addresses",
            {"contact_id": contact["id"], "type_id": "home", "email": email, "primary": False, "deleted_at": None},
        )
        self.log(f"E-mailadres {email} toegevoegd aan contact {contact['id']}.")

    def _add_phone(self, contact: dict[str, Any], data: dict[str, Any]) -> None:
        phone = data["phone"]
        if not phone or any(p["number"] == phone for p in self.db.children("phone_numbers", contact["id"])):
            return
        self.db.insert(
            "phone_numbers",
            {"contact_id": contact["id"], "type_id": "home", "number": phone, "primary": False, "deleted_at": None},
        )

    def _add_note(self, contact: dict[str, Any], data: dict[str, Any]) -> None:
        if data["note"]:
            self.db.insert(
                "notes",
                {
                    "contact_id": contact["id"],
                    "note": data["note"],
                    "created_at": self.sb.clock.now(),
                    "deleted_at": None,
                },
            )

    def _check_task(self, contact: dict[str, Any], note: str) -> None:
        wf = self.webform or {}
        self.db.insert(
            "tasks",
            {
                "type_id": CHECK_TASK_TYPE + self.lk.id_shift,
                "note": f"Webformulier {wf.get('name')}.\n\n{note}",
                "contact_id": contact["id"],
                "responsible_user_id": wf.get("responsible_user_id"),
                "finished": False,
                "created_at": self.sb.clock.now(),
                "deleted_at": None,
            },
        )
        self.log(f"Taak 'controle contact' aangemaakt ({self.action}).")

    # --- intake, kansen, kansacties (§4.5) --------------------------------------------------------------------

    def _add_intake(self, data: dict[str, Any]) -> dict[str, Any] | None:
        if not data["campaign_id"]:
            self.log("Er is intake_id meegegeven of geen campagne meegegeven, intake niet nieuw aanmaken.")
            return None
        assert self.address is not None
        self.log(f"Intake verantwoordelijke gebruiker : {(self.webform or {}).get('responsible_user_id')}")
        self.log("Er is een campagne meegegeven, intake aanmaken.")
        campaign = self.db.live("campaigns", int(data["campaign_id"]) if data["campaign_id"].isdigit() else None)
        if campaign is None:
            self.error("Er is een ongeldige waarde voor campagne meegegeven.")
        assert campaign is not None
        status = self._lookup("intakeStatuses", data["intake_status_id"])
        if status is None:
            self.log('Er is geen bekende waarde voor intake status meegegeven, default naar "open"')
            status = self._lookup("intakeStatuses", "1")  # IntakeStatus::find(1): hard-coded
            if status is None:
                raise AttributeError('Attempt to read property "id" on null')
        measures = [m for m in (self._lookup("measures", str(i)) for i in data["measure_ids"]) if m]
        single = self._lookup("measures", data["measure_id"])
        if measures:
            categories = sorted({m["measureCategoryId"] for m in measures})
        elif single:
            categories = [single["measureCategoryId"]]
        else:
            categories = [c["id"] for c in self.lk.tables["measureCategories"] if c["id"] in data["interest_ids"]]
        intake: dict[str, Any] | None = None
        if data["external_code"]:
            found = self.db.where("intakes", external_code=data["external_code"])
            if not found:
                self.log(
                    f"Meegegeven intake_id_extern ({data['external_code']}) nog niet bekend. Nieuwe intake aanmaken."
                )
            else:
                intake = found[0]
                self.log(
                    f"Intake met id {intake['id']} gevonden bij intake_id_extern ({data['external_code']}). "
                    "Geen nieuwe intake aanmaken"
                )
        else:
            self.log("Geen external_code meegegeven")
        now = self.sb.clock.now()
        if intake is None:
            iid = self.db.insert(
                "intakes",
                {
                    "external_code": data["external_code"] or None,
                    "contact_id": self.address["contact_id"],
                    "address_id": self.address["id"],
                    "intake_status_id": status["id"],
                    "campaign_id": campaign["id"],
                    "note": data["intake_note"],
                    "source_ids": [],
                    "reason_ids": [],
                    "measure_category_ids": [],
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                },
            )
            intake = self.db.tables["intakes"][iid]
            self.log(f"Intake met id {iid} aangemaakt en gekoppeld aan adres id {self.address['id']}.")
        valid_reasons = {r["id"] for r in self.lk.tables["intakeReasons"]}
        valid_sources = {r["id"] for r in self.lk.tables["intakeSources"]}
        # pivots: synced (replaced) on every call, and not revisioned
        self.db.raw_update(
            "intakes",
            intake["id"],
            {
                "reason_ids": [r for r in data["reason_ids"] if r in valid_reasons],
                "source_ids": [s for s in data["source_ids"] if s in valid_sources],
                "measure_category_ids": categories,
            },
        )
        self.out.intake_id = intake["id"]
        closed = self.lk.by_code("intakeStatuses", "closed_with_opportunity")["id"]
        for m in measures:
            self.log(
                "Intake maatregelen meegegeven. Kans voor intake maatregel specifiek "
                f"'{m['name']}' aanmaken (status Actief)"
            )
            self._add_opportunity(m, intake, data)
        if single and status["id"] == closed:
            self._add_opportunity(single, intake, data)
        return intake

    def _lookup(self, table: str, raw_id: str) -> dict[str, Any] | None:
        if not raw_id.isdigit():
            return None
        return next((r for r in self.lk.tables[table] if r["id"] == int(raw_id)), None)

    def _add_opportunity(self, measure: dict[str, Any], intake: dict[str, Any], data: dict[str, Any]) -> None:
        now = self.sb.clock.now()
        oid = self.db.insert(
            "opportunities",
            {
                "opportunity_code": data["opportunity_code"] or None,
                "intake_id": intake["id"],
                "measure_category_id": measure["measureCategoryId"],
                "measure_ids": [measure["id"]],
                "status_id": self.lk.by_code("opportunityStatus", "active")["id"],
                "quotation_text": "",
                "desired_date": None,
                "amount": 0,
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
            },
        )
        category = self.lk.by_id("measureCategories", measure["measureCategoryId"])["name"]
        self.log(
            f"Kans met id {oid} aangemaakt met maatregel categorie '{category}' en maatregel specifiek "
            f"'{measure['name']}' en gekoppeld aan intake id {intake['id']}."
        )
        self.out.opportunity_ids.append(oid)
        self._add_kansactie(self.db.tables["opportunities"][oid], data)

    def _add_kansactie(self, opp: dict[str, Any], data: dict[str, Any]) -> None:
        if not data["qr_action"]:
            self.log("Geen kansactie_aanmaken meegegeven.")
            return
        coach = None
        if data["qr_coach"]:
            intake = self.db.get("intakes", opp["intake_id"]) or {}
            campaign = self.db.get("campaigns", intake.get("campaign_id")) or {}
            allowed = set(campaign.get("coach_ids", [])) | set(campaign.get("organisation_ids", []))
            if not data["qr_coach"].isdigit() or int(data["qr_coach"]) not in allowed:
                self.error(f"Er is een ongeldige waarde voor kansactie_org_of_coach ({data['qr_coach']}) meegegeven.")
            coach = int(data["qr_coach"])
        try:
            action_id = self.lk.action_id(data["qr_action"])
        except KeyError:
            self.error(f"Er is een ongeldige waarde voor kansactie_aanmaken ({data['qr_action']}) meegegeven.")
            raise
        action = data["qr_action"]
        status = self.lk.qr_status(action, data["qr_status"]) if data["qr_status"] else None
        if status is None:
            status = self.lk.qr_status(action, "default")
            assert status is not None
            action_name = self.lk.by_id("opportunityActions", action_id)["name"]
            self.log(
                f"Er is geen bekende waarde voor kansactie_aanmaken status meegegeven bij kansactie_type "
                f"{action_name}, default naar: {status['name']}"
            )
        now = self.sb.clock.now()
        default = self.lk.qr_status(action, "default")
        assert default is not None
        qid = self.db.insert(
            "quotation_requests",
            {
                "opportunity_id": opp["id"],
                "opportunity_action_id": action_id,
                "status_id": default["id"],
                "contact_id": coach,
                "quotation_text": data["qr_text"] or None,
                "coach_or_organisation_note": data["qr_coach_note"] or None,
                "quotation_amount": data["qr_amount"] or 0,
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
            },
        )
        change: dict[str, Any] = {
            col: value for col, value in data["qr_dates"].items() if value is not None and col in ACTION_DATES[action]
        }
        change["status"] = status["codeRef"]
        final, kans = apply_kansactie_write(self.db, self.lk, qid, change, now, created=True)
        self.out.quotation_request_ids.append(qid)
        self.log(f"Kansactie met id {qid} aangemaakt (status {final}); kans status {kans}.")

    def _given(self, table: str, row_id: int, field: str) -> dict[str, Any]:
        """The record an (encrypted) id field names; 422 when it does not exist."""
        row = self.db.live(table, row_id)
        if row is None:
            raise ApiError(f"Er is een ongeldige waarde voor {field} ({row_id}) meegegeven.")
        return row

    def _add_opportunities_to_intake(self, data: dict[str, Any]) -> None:
        intake = self._given("intakes", data["intake_id"], "intake_id")
        self.log(f"Intake met id {intake['id']} gevonden.")
        self.out.intake_id = intake["id"]
        measures = [m for m in (self._lookup("measures", str(i)) for i in data["measure_ids"]) if m]
        cats = sorted(set(intake.get("measure_category_ids", [])) | {m["measureCategoryId"] for m in measures})
        self.db.raw_update("intakes", intake["id"], {"measure_category_ids": cats})
        for m in measures:
            self._add_opportunity(m, intake, data)

    def _add_kansactie_to_opportunity(self, data: dict[str, Any]) -> None:
        opp = self._given("opportunities", data["opportunity_id"], "kans_id")
        self.log(f"Kans met id {opp['id']} gevonden.")
        if data["opportunity_code"]:
            self.db.update("opportunities", opp["id"], {"opportunity_code": data["opportunity_code"]})
        self._add_kansactie(opp, data)

    def _update_kansactie(self, data: dict[str, Any]) -> None:
        qr = self._given("quotation_requests", data["quotation_request_id"], "kansactie_id")
        # only non-empty fields overwrite; the observer may still override an explicit status
        change: dict[str, Any] = {col: v for col, v in data["qr_dates"].items() if v is not None}
        if data["qr_coach_note"]:
            change["coach_or_organisation_note"] = data["qr_coach_note"]
        if data["qr_text"]:
            change["quotation_text"] = data["qr_text"]
        if data["qr_status"]:
            change["status"] = data["qr_status"]
        final, kans = apply_kansactie_write(self.db, self.lk, qr["id"], change, self.sb.clock.now())
        self.out.quotation_request_ids.append(qr["id"])
        self.log(f"Kansactie met id {qr['id']} bijgewerkt (status {final}); kans status {kans}.")

    # --- housing file ---------------------------------------------------------------------------------------

    def _add_housing_file(self, data: dict[str, Any]) -> dict[str, Any] | None:
        given = data["housing"]
        if not given:
            return None
        assert self.address is not None
        s = self.inp.s
        change: dict[str, Any] = {}

        def lookup(name: str, table: str, col: str) -> None:
            if name in given:
                row = self._lookup(table, s(name))
                if row is None and s(name):
                    self.log(f"Ongeldige waarde voor {name} ({s(name)}), niet opgeslagen.")
                change[col] = row["id"] if row else None

        lookup("woondossier_woningtype_id", "buildingTypes", "building_type_id")
        lookup("woondossier_daktype_id", "roofTypes", "roof_type_id")
        lookup("woondossier_energielabel_id", "energyLabels", "energy_label_id")
        if "woondossier_bouwjaar" in given:
            year = int(s("woondossier_bouwjaar")) if s("woondossier_bouwjaar").isdigit() else None
            change["build_year"] = year if year is not None and 1000 <= year <= 3000 else None
        for name, col in (("woondossier_koophuis", "is_house_for_sale"), ("woondossier_monument", "is_monument")):
            if name in given:
                v = s(name)
                change[col] = "0" if v == "" else (v if v in ("0", "1", "2") else "2")
        for name, col in (
            ("woondossier_gebruiksoppervlakte", "surface"),
            ("woondossier_aantal_bouwlagen", "floors"),
            ("woondossier_aantal_bewoners", "number_of_residents"),
            ("woondossier_opbrengst_zonnepanelen", "revenue_solar_panels"),
        ):
            if name in given:
                value = parse_decimal(s(name), data["separator"])
                change[col] = value if col == "surface" else (int(value) if value is not None else None)
        for name, col in (("woondossier_opmerking", "remark"), ("woondossier_opmerking_coach", "remark_coach")):
            if name in given:
                change[col] = s(name)
        files = self.db.where("housing_files", address_id=self.address["id"])
        if files:
            hf = files[-1]
            self.db.update("housing_files", hf["id"], change)
            self.log(f"Woondossier met id {hf['id']} bijgewerkt.")
            return hf
        now = self.sb.clock.now()
        row = {
            "address_id": self.address["id"],
            "building_type_id": None,
            "build_year": None,
            "surface": None,
            "roof_type_id": None,
            "energy_label_id": None,
            "floors": None,
            "energy_label_status_id": None,
            "is_monument": "0",
            "is_house_for_sale": "0",
            "number_of_residents": 0,
            "revenue_solar_panels": 0,
            "hoom_building_id": None,
            "remark": "",
            "remark_coach": "",
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        row.update(change)
        hid = self.db.insert("housing_files", row)
        self.log(f"Woondossier met id {hid} aangemaakt bij adres id {self.address['id']}.")
        return self.db.tables["housing_files"][hid]

    # --- after commit ---------------------------------------------------------------------------------------

    def _task_to_contact(self, data: dict[str, Any]) -> None:
        assert self.contact is not None
        wf = self.webform or {}
        type_id = int(data["task_type_id"]) if data["task_type_id"].isdigit() else CHECK_TASK_TYPE + self.lk.id_shift
        due = None
        if data["task_days"].isdigit():
            due = max(self.sb.clock.now().date() + timedelta(days=int(data["task_days"])), self._tomorrow())
            while due.isoweekday() > 5:
                due += timedelta(days=1)
        with self.db.transaction():
            tid = self.db.insert(
                "tasks",
                {
                    "type_id": type_id,
                    "note": f"Webformulier {wf.get('name')}.\n\n{data['task_note']}".strip(),
                    "contact_id": self.contact["id"],
                    "intake_id": self.intake["id"] if self.intake else None,
                    "opportunity_id": self.out.opportunity_ids[0] if len(self.out.opportunity_ids) == 1 else None,
                    "housing_file_id": self.housing_file["id"] if self.housing_file else None,
                    "responsible_user_id": wf.get("responsible_user_id"),
                    "date_planned_finish": due,
                    "finished": False,
                    "created_at": self.sb.clock.now(),
                    "deleted_at": None,
                },
            )
        self.log(f"Taak met id {tid} aangemaakt.")

    def _tomorrow(self) -> date:
        return self.sb.clock.now().date() + timedelta(days=1)

    def _create_hoomdossier(self) -> None:
        assert self.contact is not None
        try:
            account = register_resident(self.db, self.sb.cooperation, self.contact["id"], self.sb.rng)
            self.log(f"Hoomdossier aangemaakt voor contact {self.contact['id']} (account {account}).")
        except (HoomValidation, HoomAbort) as exc:
            self.log(f"Fout bij aanmaken hoomdossier contact: {exc}")
            self._check_task(self.contact, f"Fout bij aanmaken hoomdossier contact: {exc}")

    def _update_latest_visit_status(self, data: dict[str, Any]) -> None:
        if self.contact is None:
            raise AttributeError('Attempt to read property "id" on null')
        visit_action = self.lk.action_id("visit")
        candidates = []
        for q in self.db.where("quotation_requests", opportunity_action_id=visit_action):
            opp = self.db.get("opportunities", q["opportunity_id"]) or {}
            intake = self.db.get("intakes", opp.get("intake_id")) or {}
            if intake.get("contact_id") != self.contact["id"]:
                continue
            if data["visit_coach"] and str(q.get("contact_id")) != data["visit_coach"]:
                continue
            if data["visit_campaign"] and str(intake.get("campaign_id")) != data["visit_campaign"]:
                continue
            candidates.append(q)
        if not candidates:
            self.log(
                "Geen kansactie bezoek gevonden voor contact, coach en campagne, status kan niet worden bijgewerkt."
            )
            return
        latest = max(candidates, key=lambda q: (q["created_at"], q["id"]))
        old = self.lk.by_id("quotationRequestStatus", latest["status_id"])["name"]
        raw_id = VISIT_STATUS_IDS.get(data["visit_status"])
        if raw_id is None:
            return
        # status_id is set by NUMBER (fresh-install ids): on an instance with other ids this is another status
        # or none at all — then `status()->first()->name` fails after the commit: a plain 500.
        row = next((r for r in self.lk.tables["quotationRequestStatus"] if r["id"] == raw_id), None)
        if row is None:
            raise AttributeError('Attempt to read property "name" on null')
        if row["opportunityActionId"] == visit_action:
            apply_kansactie_write(self.db, self.lk, latest["id"], {"status": row["codeRef"]}, self.sb.clock.now())
        else:  # another action type's status: Econobis stores it anyway
            self.db.update("quotation_requests", latest["id"], {"status_id": raw_id})
        self.log(
            f"Kansactie bezoek gevonden voor contact, coach en campagne. Status bijgewerkt van {old} naar {row['name']}"
        )


def run_webform(sb: EconobisSandbox, api_key: str, fields: Mapping[str, Any]) -> Outcome:
    with sb.write_lock:
        return WebformCall(sb, api_key, fields).run()
