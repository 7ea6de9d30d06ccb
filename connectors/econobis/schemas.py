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
    # the primary address's shared_area_name (the buurt Econobis derived; '' when its table has none)
    area_name: str | None = Field(default=None, alias="areaName")
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


class NamedRef(Wire):
    id: int | str | None = None
    name: str | None = None


class FullAddress(Wire):
    id: int
    contact_id: int | None = Field(default=None, alias="contactId")
    street: str | None = None
    number: int | str | None = None
    addition: str | None = None
    postal_code: str | None = Field(default=None, alias="postalCode")
    city: str | None = None
    primary: bool = False
    # the address's shared_area_name (the buurt; '' when Econobis' table has none) and its wijk's name
    area_name: str | None = Field(default=None, alias="areaName")
    district_name: str | None = Field(default=None, alias="districtName")


class Channel(Wire):
    id: int
    email: str | None = None
    number: str | None = None
    primary: bool = False


class PersonRef(Wire):
    id: int


class FullContact(Wire):
    """GET /api/contact/{id}: the contact with its addresses, e-mail addresses and phone numbers."""

    id: int
    number: str | None = None
    type_id: str = Field(alias="typeId")
    full_name: str = Field(alias="fullName")
    status: NamedRef | None = None
    person: PersonRef | None = None
    addresses: list[FullAddress] = Field(default_factory=list)
    email_addresses: list[Channel] = Field(default_factory=list, alias="emailAddresses")
    phone_numbers: list[Channel] = Field(default_factory=list, alias="phoneNumbers")
    created_at: datetime = Field(alias="createdAt")
    # the resident's privacy agreement (contacts.did_agree_avg): the grid does not carry it, the detail does
    did_agree_avg: bool | None = Field(default=None, alias="didAgreeAvg")

    def primary_address(self) -> FullAddress | None:
        return next((a for a in self.addresses if a.primary), self.addresses[0] if self.addresses else None)

    def to_grid(self) -> GridContact:
        """The same facts as a contact grid row carries (primary address, e-mail and phone)."""
        address = self.primary_address()
        email = next((e for e in self.email_addresses if e.primary), None)
        phone = next((p for p in self.phone_numbers if p.primary), None)
        street = None
        if address is not None and address.street:
            street = f"{address.street} {address.number}" + (f"-{address.addition}" if address.addition else "")
        return GridContact.model_validate(
            {
                "id": self.id,
                "number": self.number,
                "typeId": self.type_id,
                "fullName": self.full_name,
                "streetAndNumber": street,
                "postalCode": address.postal_code if address else None,
                "city": address.city if address else None,
                "areaName": address.area_name if address else None,
                "emailAddress": email.email if email else None,
                "phoneNumber": phone.number if phone else None,
                "statusName": self.status.name if self.status else None,
                "createdAt": self.created_at,
            }
        )


class OpportunityIntake(Wire):
    id: int
    contact: ContactRef | None = None
    campaign: NamedRef | None = None


class MeasureCategoryRaw(Wire):
    id: int | None = None
    name: str


class FullOpportunity(Wire):
    """GET /api/opportunity/{id}: status with codeRef, and the intake it belongs to."""

    id: int
    number: str | None = None
    status: GenericStatus
    intake: OpportunityIntake | None = None
    measure_category: MeasureCategoryRaw | None = Field(default=None, alias="measureCategory")
    measures: list[Measure] = Field(default_factory=list)
    desired_date: str | None = Field(default=None, alias="desiredDate")
    created_at: datetime | None = Field(default=None, alias="createdAt")

    def to_grid(self) -> GridOpportunity:
        return GridOpportunity.model_validate(
            {
                "id": self.id,
                "number": self.number,
                "createdAt": self.created_at,
                "desiredDate": self.desired_date,
                "measureCategoryName": self.measure_category.name if self.measure_category else "",
                "measures": [m.model_dump() for m in self.measures],
                "campaignName": self.intake.campaign.name if self.intake and self.intake.campaign else None,
                "statusName": self.status.name,
                "contactId": self.intake.contact.id if self.intake and self.intake.contact else None,
            }
        )


class FullIntake(Wire):
    """GET /api/intake/{id}: the status with its codeRef, sources, interests, contact and address."""

    id: int
    status: GenericStatus | None = None
    created_at: datetime | None = Field(default=None, alias="createdAt")
    full_address: str | None = Field(default=None, alias="fullAddress")
    campaign: IdName | None = None
    sources: list[NamedRef] = Field(default_factory=list)
    measures_requested: list[NamedRef] = Field(default_factory=list, alias="measuresRequested")
    contact: FullContact | None = None
    address: FullAddress | None = None

    def to_grid(self) -> GridIntake:
        return GridIntake.model_validate(
            {
                "id": self.id,
                "createdAt": self.created_at,
                "fullAddress": self.full_address,
                "campaign": self.campaign.model_dump() if self.campaign else None,
                "measuresRequestedNames": [m.name for m in self.measures_requested if m.name],
                "sourcesNames": [x.name for x in self.sources if x.name],
                "status": self.status.name if self.status else None,
                "contactId": self.contact.id if self.contact else None,
            }
        )


class HousingFileAddress(Wire):
    id: int | None = None
    contact: FullContact | None = None


class FullHousingFile(Wire):
    """GET /api/housing-file/{id}."""

    id: int
    created_at: datetime = Field(alias="createdAt")
    full_address: str | None = Field(default=None, alias="fullAddress")
    postal_code: str | None = Field(default=None, alias="postalCode")
    city: str | None = None
    address: HousingFileAddress | None = None
    building_type: NamedRef | None = Field(default=None, alias="buildingType")
    energy_label: NamedRef | None = Field(default=None, alias="energyLabel")
    build_year: int | None = Field(default=None, alias="buildYear")
    is_house_for_sale: Any = Field(default=None, alias="isHouseForSale")

    def to_grid(self) -> GridHousingFile:
        return GridHousingFile.model_validate(
            {
                "id": self.id,
                "createdAt": self.created_at,
                "fullAddress": self.full_address,
                "postalCode": self.postal_code,
                "city": self.city,
                "fullName": self.address.contact.full_name if self.address and self.address.contact else None,
                "buildingType": self.building_type.name if self.building_type else None,
                "energyLabel": self.energy_label.name if self.energy_label else None,
                "buildYear": self.build_year,
                "isHouseForSale": self.is_house_for_sale,
            }
        )


class AuditRow(Wire):
    """A row of GET /api/audit-trail/grid (GridAuditTrail): one changed column of one model."""

    id: int
    model: str
    revisionable_id: int = Field(alias="revisionableId")
    field: str
    old_value: str | None = Field(default=None, alias="oldValue")
    new_value: str | None = Field(default=None, alias="newValue")
    changed_at: datetime = Field(alias="changedAt")


class SharedAreaSearch(Wire):
    """A row of GET /api/shared-area/search (SharedAreaSearch): `areaName` is "buurt (gemeente: G, wijk: W)"."""

    id: int
    area_code: int = Field(alias="areaCode")
    area_name: str = Field(alias="areaName")

    def parts(self) -> tuple[str, str | None, str | None]:
        """(buurt, gemeente, wijk) from the display name."""
        name, sep, rest = self.area_name.rpartition(" (gemeente: ")
        if not sep or not rest.endswith(")"):
            return self.area_name, None, None
        gemeente, _, wijk = rest[:-1].partition(", wijk: ")
        return name, gemeente or None, wijk or None
