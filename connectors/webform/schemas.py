"""What a web form posts: a Standard Webhooks envelope (`type`, `timestamp`, `data`) and, for `signup.created`,
the sign-up itself. The fields follow what a CRM intake needs (name or organisation, a way to reach the
resident, the dwelling's address, the campaign, the measures of interest, consent to the privacy policy).

The schema is strict (`extra="forbid"`): a form that sends fields the hub does not know has its sign-ups
quarantined with the field named, rather than personal data stored the hub was never meant to hold."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
POSTCODE = re.compile(r"^([1-9][0-9]{3})\s?([A-Za-z]{2})$")  # Dutch postcodes: 1234 AB
NUMBER = re.compile(r"^[1-9][0-9]{0,4}$")


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
    street: Text | None = None
    number: str
    addition: Short | None = None
    postcode: str
    city: Text | None = None
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

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str) -> str:
        m = POSTCODE.match(value.strip())
        if m is None:
            raise ValueError("not a Dutch postcode (1234 AB)")
        return m.group(1) + m.group(2).upper()

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        if not NUMBER.match(value.strip()):
            raise ValueError("a house number is digits only (the addition goes in `addition`)")
        return value.strip()

    @model_validator(mode="after")
    def _who(self) -> SignUpForm:
        if not (self.last_name or self.organisation_name):
            raise ValueError("a sign-up needs last_name or organisation_name")
        if not (self.email or self.phone):
            raise ValueError("a sign-up needs email or phone")
        return self
