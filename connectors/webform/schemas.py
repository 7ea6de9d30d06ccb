"""What a web form posts: a Standard Webhooks envelope (`type`, `timestamp`, `data`) and, for `signup.created`,
the sign-up itself. The fields follow what a CRM intake needs (name or organisation, a way to reach the
resident, the dwelling's address, the campaign, the measures of interest, consent to the privacy policy).

The address is Dutch (`country` "NL", the default: postcode `1234 AB`, a numeric house number and an
`addition`) or Belgian (`country` "BE", a Flemish desk's form: street, huisnummer as the resident writes it
(`12`, `12A`, `12bis`), an optional `box` (busnummer), a 4-digit postcode and the gemeente).

The schema is strict (`extra="forbid"`): a form that sends fields the hub does not know has its sign-ups
quarantined with the field named, rather than personal data stored the hub was never meant to hold."""

from __future__ import annotations

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
