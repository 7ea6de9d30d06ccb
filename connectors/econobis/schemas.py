"""Econobis wire models, exactly as its SPA API sends them (camelCase keys, Dutch values, extra keys allowed).

Only the keys the hub reads are declared; Econobis adds and renames keys between releases, so unknown keys
are ignored rather than rejected. Timestamps are UTC ISO strings; plain date columns are raw strings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class IdName(Wire):
    """`{id, name}` as CampaignByIntake and lookups send it."""

    id: int | str
    name: str | None = None


class GenericStatus(Wire):
    """A status model rendered by GenericResource (all columns, camelCase): carries the codeRef."""

    id: int
    name: str
    code_ref: str | None = Field(default=None, alias="codeRef")
    opportunity_action_id: int | None = Field(default=None, alias="opportunityActionId")


class GridContact(Wire):
    """A row of GET /api/contact/grid (GridContact)."""

    id: int
    number: str | None = None
    type_id: str = Field(alias="typeId")
    full_name: str = Field(alias="fullName")
    street_and_number: str | None = Field(default=None, alias="streetAndNumber")
    postal_code: str | None = Field(default=None, alias="postalCode")
    city: str | None = None
    email_address: str | None = Field(default=None, alias="emailAddress")
    phone_number: str | None = Field(default=None, alias="phoneNumber")
    status_name: str | None = Field(default=None, alias="statusName")
    created_at: datetime = Field(alias="createdAt")


class GridIntake(Wire):
    """A row of GET /api/intake/grid (GridIntake): the status is a NAME, not a code_ref."""

    id: int
    created_at: datetime = Field(alias="createdAt")
    full_address: str | None = Field(default=None, alias="fullAddress")
    campaign: IdName | None = None
    measures_requested_names: list[str] = Field(default_factory=list, alias="measuresRequestedNames")
    sources_names: list[str] = Field(default_factory=list, alias="sourcesNames")
    status: str | None = None
    contact_id: int = Field(alias="contactId")


class Measure(Wire):
    id: int
    name: str


class GridOpportunity(Wire):
    """A row of GET /api/opportunity/grid (GridOpportunity): no intake id, status by name."""

    id: int
    number: str | None = None
    created_at: datetime = Field(alias="createdAt")
    desired_date: str | None = Field(default=None, alias="desiredDate")
    measure_category_name: str = Field(alias="measureCategoryName")
    measures: list[Measure] = Field(default_factory=list)
    campaign_name: str | None = Field(default=None, alias="campaignName")
    status_name: str | None = Field(default=None, alias="statusName")
    contact_id: int | None = Field(default=None, alias="contactId")


class IntakeRef(Wire):
    id: int


class OpportunityByQuotationRequest(Wire):
    """The opportunity nested in a kansactie grid row; its status is a GenericResource with codeRef."""

    id: int
    status: GenericStatus | None = None
    intake: IntakeRef | None = None


class ContactRef(Wire):
    id: int


class GridQuotationRequest(Wire):
    """A row of GET /api/quotation-request/grid (a kansactie)."""

    id: int
    date_planned: str | None = Field(default=None, alias="datePlanned")
    date_recorded: str | None = Field(default=None, alias="dateRecorded")
    date_released: str | None = Field(default=None, alias="dateReleased")
    organisation_or_coach: ContactRef | None = Field(default=None, alias="organisationOrCoach")
    opportunity: OpportunityByQuotationRequest
    status: GenericStatus
    opportunity_action: GenericStatus = Field(alias="opportunityAction")
    created_at: datetime = Field(alias="createdAt")


class GridHousingFile(Wire):
    """A row of GET /api/housing-file/grid: no address or contact id — only display strings."""

    id: int
    created_at: datetime = Field(alias="createdAt")
    full_address: str | None = Field(default=None, alias="fullAddress")
    postal_code: str | None = Field(default=None, alias="postalCode")
    city: str | None = None
    full_name: str | None = Field(default=None, alias="fullName")
    building_type: str | None = Field(default=None, alias="buildingType")
    energy_label: str | None = Field(default=None, alias="energyLabel")
    build_year: int | None = Field(default=None, alias="buildYear")
    is_house_for_sale: Any = Field(default=None, alias="isHouseForSale")


class FullOpportunity(Wire):
    """GET /api/opportunity/{id}: used only when a grid cannot tell the kans' intake or status code."""

    id: int
    status: GenericStatus
    intake: IntakeRef | None = None


class FullIntake(Wire):
    """GET /api/intake/{id}: used only to learn the code_ref of an intake status name."""

    id: int
    status: GenericStatus | None = None
