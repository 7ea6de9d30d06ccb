"""What a web form posts: a Standard Webhooks envelope (`type`, `timestamp`, `data`) and, for `signup.created`,
the sign-up itself. The fields follow what a CRM intake needs (name or organisation, a way to reach the
resident, the dwelling's address, the campaign, the measures of interest, consent to the privacy policy).

The address is Dutch (`country` "NL", the default: postcode `1234 AB`, a numeric house number and an
`addition`) or Belgian (`country` "BE", a Flemish desk's form: street, huisnummer as the resident writes it
(`12`, `12A`, `12bis`), an optional `box` (busnummer), a 4-digit postcode and the gemeente).

The schema is strict (`extra="forbid"`): a form that sends fields the hub does not know has its sign-ups
quarantined with the field named, rather than personal data stored the hub was never meant to hold."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
POSTCODE = re.compile(r"^([1-9][0-9]{3})\s?([A-Za-z]{2})$")  # Dutch postcodes: 1234 AB
NUMBER = re.compile(r"^[1-9][0-9]{0,4}$")
BE_POSTCODE = re.compile(r"^(?:B-?\s?)?([1-9][0-9]{3})$", re.IGNORECASE)  # Belgian postcodes: 3000 (also "B-3000")
# A Belgian huisnummer: digits, optionally a letter or bis/ter/quater suffix as the Adressenregister writes them
# ("12", "12A", "12bis", "12 B"); the apartment goes in `box`.
BE_NUMBER = re.compile(r"^([1-9][0-9]{0,4})\s?(?:-?\s?([A-Za-z]|bis|ter|quater))?$", re.IGNORECASE)
# A busnummer: up to 8 letters, digits and . / - ("3", "0101", "A", "1.2", "b3"); a leading "bus"/"bte" is dropped.
BE_BOX = re.compile(r"^(?:(?:bus|bte|box)\.?\s*)?([A-Za-z0-9][A-Za-z0-9./-]{0,7})$", re.IGNORECASE)


class Event(BaseModel):
    """The Standard Webhooks payload around every event."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=64)
    timestamp: AwareDatetime | None = None
    data: dict[str, Any]


class Consent(BaseModel):
    """The resident's consent as the form recorded it."""

    model_config = ConfigDict(extra="forbid")

    privacy_policy: bool  # agreed to the cooperation's privacy policy (shared with the CRM as such)
    given_at: AwareDatetime | None = None
    text_version: Short | None = None  # which version of the consent text was shown


class SignUpForm(BaseModel):
    """`signup.created`'s data: one resident's sign-up for a campaign."""

    model_config = ConfigDict(extra="forbid")

    # the form's own submission id: the same sign-up posted again (any webhook-id) is one sign-up
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{1,40}$")
    first_name: Text | None = None
    last_name_prefix: Short | None = None
    last_name: Text | None = None
    organisation_name: Text | None = None
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)
    country: Literal["NL", "BE"] = "NL"
    street: Text | None = None
    number: str
    addition: Short | None = None  # NL only: huisletter and toevoeging ("A", "bis", "2 hoog")
    box: Short | None = None  # BE only: the busnummer of an apartment
    postcode: str
    city: Text | None = None  # NL: woonplaats; BE: the gemeente (or deelgemeente as the resident writes it)
    # the campaign: the CRM's campaign id, or a code the tenant maps to one (settings.campaigns)
    campaign: int | Short
    measures: list[Text] = Field(default_factory=list, max_length=20)
    sources: list[Text] = Field(default_factory=list, max_length=10)  # how the resident heard of it
    consent: Consent
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value.strip()):
            raise ValueError("not an e-mail address")
        return None if value is None else value.strip().lower()

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not PHONE.match(value.strip()):
            raise ValueError("not a phone number")
        return None if value is None else value.strip()

    # the address by its country's rules (`country` is validated first: fields are validated in order)
    @field_validator("number")
    @classmethod
    def _number(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("country") == "BE":
            return belgian_number(value)
        if not NUMBER.match(value.strip()):
            raise ValueError("a house number is digits only (the addition goes in `addition`)")
        return value.strip()

    @field_validator("addition")
    @classmethod
    def _addition(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("country") == "BE":
            raise ValueError(
                "a Belgian address has no addition (a letter belongs to `number`: 12A; an apartment goes in `box`)"
            )
        return value

    @field_validator("box")
    @classmethod
    def _box(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.data.get("country") != "BE":
            raise ValueError("a Dutch address has no busnummer (a toevoeging goes in `addition`)")
        return belgian_box(value)

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str, info: ValidationInfo) -> str:
        return belgian_postcode(value) if info.data.get("country") == "BE" else dutch_postcode(value)

    @model_validator(mode="after")
    def _belgian_address(self) -> SignUpForm:
        if self.country == "BE" and not (self.street and self.city):
            raise ValueError("a Belgian address needs street and city (the gemeente): a postcode covers a gemeente")
        return self

    @model_validator(mode="after")
    def _who(self) -> SignUpForm:
        if not (self.last_name or self.organisation_name):
            raise ValueError("a sign-up needs last_name or organisation_name")
        if not (self.email or self.phone):
            raise ValueError("a sign-up needs email or phone")
        return self


def dutch_postcode(value: str) -> str:
    """`1234 ab` → `1234AB`; ValueError for anything else."""
    m = POSTCODE.match(value.strip())
    if m is None:
        raise ValueError("not a Dutch postcode (1234 AB)")
    return m.group(1) + m.group(2).upper()


def belgian_postcode(value: str) -> str:
    """`3000`, `B-3000` → `3000`; ValueError for anything else (a Dutch `1234 AB` included)."""
    m = BE_POSTCODE.match(value.strip())
    if m is None:
        raise ValueError("not a Belgian postcode (4 digits, 1000-9999)")
    return m.group(1)


def belgian_number(value: str) -> str:
    """A huisnummer as the Adressenregister writes it: `12`, `12A`, `12bis` (`12 a`, `12-B` normalised)."""
    m = BE_NUMBER.match(value.strip())
    if m is None:
        raise ValueError("not a Belgian huisnummer (digits, optionally a letter or bis: 12, 12A, 12bis)")
    suffix = m.group(2) or ""
    return m.group(1) + (suffix.upper() if len(suffix) == 1 else suffix.lower())


def belgian_box(value: str) -> str:
    """A busnummer: `bus 3` → `3`, `0101`, `A`, `1.2`; ValueError for anything else."""
    m = BE_BOX.match(value.strip())
    if m is None or m.group(1).lower() in ("bus", "bte", "box"):
        raise ValueError("not a busnummer (up to 8 letters, digits, . / -: 3, 0101, A, 1.2)")
    return m.group(1).upper()


# --- works.completed: what the resident supplies for premium applications ------------------------------------

Capacity = Literal["eigenaar_bewoner", "verhuurder_svk", "verhuurder", "investeerder", "vme", "onderneming"]
DocumentKind = Literal[
    "factuur", "voorschotfactuur", "aannemersattest", "foto", "aanslagbiljet", "betaalbewijs", "productinfo"
]
MediaType = Literal["application/pdf", "image/jpeg", "image/png"]
SEPARATORS = re.compile(r"[\s.\-/]")
IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$")
KBO = re.compile(r"^[01][0-9]{9}$")
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024


def insz_valid(digits: str) -> bool:
    """A Belgian rijksregisternummer / INSZ (11 digits): 97 minus the first nine mod 97 is the last two, with a
    leading 2 for those born from 2000 on."""
    if not (len(digits) == 11 and digits.isdigit()):
        return False
    body, check = digits[:9], int(digits[9:])
    return check in (97 - int(body) % 97, 97 - int("2" + body) % 97)


def bsn_valid(digits: str) -> bool:
    """A Dutch BSN (9 digits) by the elfproef: 9·d1 + 8·d2 + … + 2·d8 − d9 is a multiple of 11 (and not 0)."""
    if not (len(digits) == 9 and digits.isdigit()) or int(digits) == 0:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
    return total % 11 == 0


def iban_valid(value: str) -> bool:
    """ISO 13616: the country and check digits moved to the end, letters as 10-35, the number mod 97 is 1."""
    if not IBAN.match(value):
        return False
    moved = value[4:] + value[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def national_id(value: str) -> str:
    """An INSZ (11 digits, BE) or a BSN (9 digits, NL), separators dropped; ValueError (without the value)."""
    digits = SEPARATORS.sub("", value)
    if len(digits) == 11:
        if not insz_valid(digits):
            raise ValueError("not a valid INSZ (11 digits, checksum mod 97)")
        return digits
    if len(digits) == 9:
        if not bsn_valid(digits):
            raise ValueError("not a valid BSN (9 digits, elfproef)")
        return digits
    raise ValueError("a national id is an INSZ (11 digits) or a BSN (9 digits)")


class Income(BaseModel):
    """The most recent tax assessment's figures (Mijn VerbouwPremie's income category; not for ISDE)."""

    model_config = ConfigDict(extra="forbid")

    tax_year: int = Field(ge=2000, le=2100)
    taxable_income: float = Field(ge=0, le=10_000_000)
    dependants: int = Field(default=0, ge=0, le=20)
    household_type: Literal["alleenstaande", "koppel"]


class Material(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brand: Text | None = None
    type: Text | None = None
    rd: float | None = Field(default=None, ge=0, le=50)  # thermal resistance m²K/W
    ug: float | None = Field(default=None, ge=0, le=10)  # glass U-value W/m²K
    u: float | None = Field(default=None, ge=0, le=10)  # window/door U-value W/m²K


class InvoiceLine(BaseModel):
    """One invoice for the executed works, as the resident copies it from the contractor's invoice."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    number: str = Field(pattern=r"^[A-Za-z0-9._:/ -]{1,40}$")
    issued_on: dt.date | None = Field(default=None, alias="date")
    is_advance: bool = False
    amount_excl_vat: float | None = Field(default=None, ge=0, le=10_000_000)
    vat_pct: float | None = Field(default=None, ge=0, le=100)
    contractor_kbo: str | None = None
    category: Text | None = None  # the canonical measure category (the CRM's name, e.g. "Dakisolatie")
    measure: Text | None = None
    meldcode: Short | None = None
    quantity: float | None = Field(default=None, ge=0, le=100_000)
    unit: Literal["m2", "stuk", "forfait"] | None = None
    executed_on: dt.date | None = None
    material: Material | None = None

    @field_validator("contractor_kbo")
    @classmethod
    def _kbo(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = SEPARATORS.sub("", value).upper().removeprefix("BE")
        if not KBO.match(digits) or 97 - int(digits[:8]) % 97 != int(digits[8:]):
            raise ValueError("not a KBO number (10 digits, checksum mod 97)")
        return digits


class DocumentUpload(BaseModel):
    """A document the resident attaches (a scan or photo); the bytes stay in the inbox message."""

    model_config = ConfigDict(extra="forbid")

    kind: DocumentKind
    filename: str = Field(pattern=r"^[^/\\\x00-\x1f]{1,120}$")
    media_type: MediaType
    content_base64: str = Field(min_length=4, max_length=(MAX_DOCUMENT_BYTES * 4) // 3 + 8)
    invoice_number: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:/ -]{1,40}$")

    @field_validator("content_base64")
    @classmethod
    def _content(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not base64") from None
        if not raw:
            raise ValueError("empty document")
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise ValueError(f"larger than {MAX_DOCUMENT_BYTES} bytes")
        return value

    def content(self) -> bytes:
        return base64.b64decode(self.content_base64, validate=True)


class PremiumConsent(BaseModel):
    """The resident's consent to the desk applying for premiums in their name, and the mandate's reference."""

    model_config = ConfigDict(extra="forbid")

    apply_for_premium: bool
    mandate_reference: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:/-]{1,64}$")
    given_at: AwareDatetime | None = None


class WorksCompleted(BaseModel):
    """`works.completed`'s data: what the resident supplies for premiums once the works are done, for the dossier
    named by `signup` (the form's own submission id of the earlier sign-up) or `dossier` (the hub's dossier id the
    coordinator gave the resident). Everything but the link and consent is optional: what is missing the hub
    lists as still needed (connectors' premium application)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{1,40}$")  # the form's submission id
    signup: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{1,40}$")
    dossier: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{8,64}$")
    capacity: Capacity | None = None
    national_id: str | None = Field(default=None, max_length=20)
    iban: str | None = Field(default=None, max_length=42)
    ean: str | None = Field(default=None, max_length=24)
    income: Income | None = None
    grid_connection_year: int | None = Field(default=None, ge=1900, le=2100)
    # the kind of building, as the resident says (used when no register or partner holds it)
    building_type: Literal["woning", "appartement", "gebouw"] | None = None
    permit_date: dt.date | None = None
    energy_loan: bool | None = None
    invoices: list[InvoiceLine] = Field(default_factory=list, max_length=40)
    documents: list[DocumentUpload] = Field(default_factory=list, max_length=20)
    consent: PremiumConsent

    @field_validator("national_id")
    @classmethod
    def _national_id(cls, value: str | None) -> str | None:
        return None if value is None else national_id(value)

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str | None) -> str | None:
        if value is None:
            return None
        compact = re.sub(r"\s", "", value).upper()
        if not iban_valid(compact):
            raise ValueError("not a valid IBAN (checksum mod 97)")
        return compact

    @field_validator("ean")
    @classmethod
    def _ean(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = re.sub(r"\s", "", value)
        if not (len(digits) == 18 and digits.isdigit() and digits.startswith(("54", "871"))):
            raise ValueError("not an EAN connection code (18 digits, starting 54 in Belgium or 871 in the Netherlands)")
        return digits

    @model_validator(mode="after")
    def _link(self) -> WorksCompleted:
        if (self.signup is None) == (self.dossier is None):
            raise ValueError("name the dossier by exactly one of `signup` (the sign-up's id) or `dossier`")
        numbers = [i.number for i in self.invoices]
        if len(numbers) != len(set(numbers)):
            raise ValueError("invoices: each invoice number once")
        return self
