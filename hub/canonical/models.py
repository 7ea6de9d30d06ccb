"""Canonical entities: the partner-neutral model in the middle of the hub (English names, code_ref statuses).

Ids are the hub's own UUIDs (xref maps partner ids to them). Every model names its `entity` type, the key
under which it is stored; relations are canonical ids."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.canonical.phases import Phase

Country = Literal["NL", "BE"]


# the canonical fields that say a resident / a dwelling file is known to the online dwelling dossier (the mart's
# "registered" and "active"), named once here with the model
ONLINE_ACCOUNT_FIELD = "hoomdossier_account_id"
ONLINE_BUILDING_FIELD = "hoomdossier_building_id"


class CanonicalModel(BaseModel):
    """Base for canonical entities: strict fields, JSON-ready, one `entity` name per class."""

    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=False)
    entity: ClassVar[str]

    id: str
    tenant: str

    def payload(self) -> dict[str, Any]:
        """The stored form: JSON-compatible, without id/tenant (those are columns)."""
        return self.model_dump(mode="json", exclude={"id", "tenant"})

    # Fields that relate to a parent entity (for dossier recomputation and the mart).
    parent_field: ClassVar[str | None] = None
    # the field whose surviving value is the entity's natural key (a register's key beats an address key a form
    # made, so the key follows survivorship instead of whichever source wrote last)
    natural_key_field: ClassVar[str | None] = None

    @property
    def parent_id(self) -> str | None:
        return getattr(self, self.parent_field) if self.parent_field else None


class Campaign(CanonicalModel):
    """A neighbourhood or theme campaign that groups intakes (campagne)."""

    entity: ClassVar[str] = "campaign"
    name: str
    number: str | None = None
    status: str | None = None
    kind: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    hoomdossier_campaign: bool = False


class Resident(CanonicalModel):
    """A person or organisation being coached (contact/bewoner). Personal data: never log it."""

    entity: ClassVar[str] = "resident"
    kind: Literal["person", "organisation"] = "person"
    number: str | None = None
    initials: str | None = None
    first_name: str | None = None
    last_name_prefix: str | None = None
    last_name: str | None = None
    organisation_name: str | None = None
    email: str | None = None
    phone: str | None = None
    status: str | None = None
    is_coach: bool = False
    consent_privacy: bool | None = None
    hoomdossier_account_id: int | None = None
    created_at: datetime | None = None


class Dwelling(CanonicalModel):
    """One home, keyed naturally by BAG / Flemish registry id or a normalised address (woning)."""

    entity: ClassVar[str] = "dwelling"
    parent_field: ClassVar[str | None] = "resident_id"
    natural_key_field: ClassVar[str | None] = "dwelling_key"
    dwelling_key: str | None
    country: Country = "NL"
    street: str | None = None
    number: str | None = None
    addition: str | None = None  # NL: huisletter and toevoeging as one
    box: str | None = None  # BE: the busnummer (an apartment)
    postcode: str | None = None
    city: str | None = None
    resident_id: str | None = None
    identifiers: dict[str, Any] = Field(default_factory=dict)  # scheme → id (or a list: a dwelling's panden)
    # The neighbourhood the home lies in, for funnels per area (a 4-digit postcode is not one): {country,
    # level ("buurt" | "deelgemeente" | "municipality": the finest level known), neighbourhood_code,
    # neighbourhood_name, district_code, district_name, municipality_code, municipality_name, source}
    area: dict[str, Any] | None = None


class DwellingFile(CanonicalModel):
    """The dwelling's data as collected by coach or resident (woningdossier)."""

    entity: ClassVar[str] = "dwelling_file"
    parent_field: ClassVar[str | None] = "dwelling_id"
    dwelling_id: str | None = None
    building_type: str | None = None
    build_year: int | None = None
    surface_m2: float | None = None
    roof_type: str | None = None
    energy_label: str | None = None
    floors: int | None = None
    is_monument: bool | None = None
    owner_occupied: bool | None = None
    residents: int | None = None
    hoomdossier_building_id: int | None = None
    # Hoomdossier's building status short (active, in_progress, executed, …) and scan progress per scan
    hoomdossier_status: str | None = None
    scans: dict[str, bool] = Field(default_factory=dict)
    # facts an authentic register holds about the building (one field per register section, so a section
    # that could not be read leaves the others, and what the hub knew of it, alone)
    building_form: str | None = None  # detached, semi-detached, terraced… as the register words it
    protected_volume_m3: float | None = None
    parcels: list[str] = Field(default_factory=list)  # cadastral parcel ids
    # {reference, date, safe}: an asbestos inventory certificate
    asbestos_inventory: dict[str, Any] | None = None
    # {reference, date, conclusion}: a soil certificate
    soil_certificate: dict[str, Any] | None = None
    # {date, compliant, next_due}: the electrical installation's inspection
    electrical_inspection: dict[str, Any] | None = None
    # {conformity_certificate: {date, valid_until} | None, decisions: [{kind, date}]}: housing quality
    housing_quality: dict[str, Any] | None = None
    # [{reference, date, subject}]: building / environment permits
    permits: list[dict[str, Any]] = Field(default_factory=list)
    # a buyer's legal duty to renovate (e.g. Flanders since 2023: label E/F at the deed → D within 5 years):
    # {deed_date, label_at_deed, required_label, deadline, met, met_on, overdue}
    renovation_obligation: dict[str, Any] | None = None
    created_at: datetime | None = None


# sign-up channels (the mart's question 4): each connector that makes intakes maps its sources onto these
Channel = Literal["web_form", "event", "phone", "energy_desk", "campaign_letter", "other"]
CHANNELS: tuple[str, ...] = ("web_form", "event", "phone", "energy_desk", "campaign_letter", "other")


class Intake(CanonicalModel):
    """A sign-up in a campaign: source, motivations, interests."""

    entity: ClassVar[str] = "intake"
    parent_field: ClassVar[str | None] = "resident_id"
    resident_id: str | None
    dwelling_id: str | None = None
    campaign_id: str | None = None
    status: str
    sources: list[str] = Field(default_factory=list)
    # how the resident signed up (the connector maps its sources onto one of CHANNELS)
    channel: Channel | None = None
    reasons: list[str] = Field(default_factory=list)
    interests: list[str] = Field(default_factory=list)
    external_code: str | None = None
    created_at: datetime | None = None


class Opportunity(CanonicalModel):
    """One measure category for one resident, with a status (kans)."""

    entity: ClassVar[str] = "opportunity"
    parent_field: ClassVar[str | None] = "intake_id"
    intake_id: str | None
    number: str | None = None
    measure_category: str | None = None
    measures: list[str] = Field(default_factory=list)
    status: str
    desired_date: date | None = None
    created_at: datetime | None = None


ActionKind = Literal["visit", "quotation-request", "subsidy-request", "redirection"]


class Action(CanonicalModel):
    """A follow-up step on an opportunity: visit, quotation, subsidy/budget request or redirection (kansactie)."""

    entity: ClassVar[str] = "action"
    parent_field: ClassVar[str | None] = "opportunity_id"
    opportunity_id: str | None
    kind: ActionKind
    status: str
    coach_or_organisation_id: str | None = None
    date_planned: datetime | None = None
    date_recorded: datetime | None = None
    date_released: datetime | None = None
    date_executed: date | None = None
    date_approved_client: date | None = None
    created_at: datetime | None = None


class Appointment(CanonicalModel):
    """The coach's visit appointment for a dwelling file (afspraak); `planned_at` is naive local time
    (Europe/Amsterdam), as the partners send it. Cleared in the partner → status `cleared`."""

    entity: ClassVar[str] = "appointment"
    parent_field: ClassVar[str | None] = "dwelling_file_id"
    dwelling_file_id: str | None = None
    resident_id: str | None = None
    coach_ids: list[str] = Field(default_factory=list)
    planned_at: datetime | None = None
    status: str = "planned"


class Advice(CanonicalModel):
    """An advised measure from the woonplan, with its savings (Hoomdossier sends no costs)."""

    entity: ClassVar[str] = "advice"
    parent_field: ClassVar[str | None] = "dwelling_file_id"
    dwelling_file_id: str
    measure: str
    name: str | None = None
    category: str | None = None
    execute_self: bool | None = None
    quantity: float | None = None
    quantity_unit: str | None = None
    savings_gas_m3: float | None = None
    savings_electricity_kwh: float | None = None
    savings_co2_kg: float | None = None


class Document(CanonicalModel):
    """A document a partner produced (e.g. Hoomdossier's PDF report): a reference, not the bytes. The bytes
    stay in the message that carried them (`inbox_id`)."""

    entity: ClassVar[str] = "document"
    parent_field: ClassVar[str | None] = "dwelling_file_id"
    dwelling_file_id: str | None
    kind: str
    sha256: str | None = None
    size_bytes: int | None = None
    inbox_id: int | None = None
    received_at: datetime | None = None


class EnergyCertificate(CanonicalModel):
    """An energy performance certificate (EPC / energielabel)."""

    entity: ClassVar[str] = "energy_certificate"
    parent_field: ClassVar[str | None] = "dwelling_id"
    dwelling_id: str
    label: str
    score_kwh_m2_year: float | None = None
    certificate_number: str | None = None
    issued_on: date | None = None
    valid_until: date | None = None
    # the one that stands now (the newest valid one); older ones are kept, replaced or expired
    current: bool = False
    status: str | None = None  # valid | replaced | expired
    label_after_recommendations: str | None = None


class Invoice(CanonicalModel):
    """An invoice for executed works, as the resident gave it (through the desk's form): what a premium
    application proves the works with. Amounts in euro; `category` is the canonical measure category (the
    CRM's, e.g. "Dakisolatie"), `meldcode` the ISDE measure code when the invoice names one."""

    entity: ClassVar[str] = "invoice"
    parent_field: ClassVar[str | None] = "intake_id"
    intake_id: str | None
    dwelling_id: str | None = None
    number: str | None = None
    issued_on: date | None = None
    is_advance: bool = False
    amount_excl_vat: float | None = None
    vat_pct: float | None = None
    contractor_kbo: str | None = None
    category: str | None = None
    measure: str | None = None
    meldcode: str | None = None
    quantity: float | None = None
    unit: str | None = None
    executed_on: date | None = None
    # {brand, type, rd, ug, u}: the product as the invoice describes it
    material: dict[str, Any] = Field(default_factory=dict)
    document_id: str | None = None  # the canonical document of the invoice's scan


class PremiumFile(CanonicalModel):
    """What the resident supplied for premium applications (through the desk): capacity, the national id
    (INSZ or BSN), bank account, EAN, the tax assessment's figures, and the facts only they know. Personal
    data: never logged, never in the mart."""

    entity: ClassVar[str] = "premium_file"
    parent_field: ClassVar[str | None] = "intake_id"
    intake_id: str | None
    dwelling_id: str | None = None
    # eigenaar_bewoner | verhuurder_svk | verhuurder | investeerder | vme | onderneming
    capacity: str | None = None
    national_id: str | None = None
    iban: str | None = None
    ean: str | None = None
    # {tax_year, taxable_income, dependants, household_type}
    income: dict[str, Any] | None = None
    grid_connection_year: int | None = None
    permit_date: date | None = None
    energy_loan: bool | None = None
    # woning | appartement | gebouw, as the resident says (when no register or partner holds the building type)
    building_type: str | None = None
    # [{id, kind}]: canonical documents the resident gave (tax assessment, attests, photos, proof of payment)
    documents: list[dict[str, Any]] = Field(default_factory=list)
    submitted_at: datetime | None = None


class PremiumApplication(CanonicalModel):
    """An application for a renovation premium or subsidy for one category of works, with its decision and
    payment: one per dossier and portal category (`scheme` MVP_VL or ISDE_NL). Statuses: planned (the hub
    will apply), refused_by_hub (a refusal the hub foresaw: never sent), draft, submitted, in_review,
    more_documents_requested, approved, partly_approved, rejected, appeal_lodged, paid, withdrawn."""

    entity: ClassVar[str] = "premium_application"
    parent_field: ClassVar[str | None] = "dwelling_id"
    dwelling_id: str | None
    resident_id: str | None = None
    dossier_id: str | None = None
    intake_id: str | None = None
    scheme: str
    category: str | None = None
    status: str
    reference: str | None = None  # the hub's key of the portal application (its `referentie`)
    portal_id: str | None = None
    dossier_number: str | None = None
    amount_requested: float | None = None
    amount_granted: float | None = None
    amount_paid: float | None = None
    reason_codes: list[str] = Field(default_factory=list)
    more_documents: list[str] = Field(default_factory=list)
    submitted_on: date | None = None
    decided_on: date | None = None
    paid_on: date | None = None
    appeal_until: date | None = None
    # the share of the application's fields the hub filled from what partners and the resident's earlier
    # sign-up already held (the rest the resident supplied for this application)
    prefilled_share: float | None = None
    # the canonical opportunities (the CRM's kansen) whose executed works this category claims, when known
    opportunity_ids: list[str] = Field(default_factory=list)
    status_at: datetime | None = None  # when the portal's status last changed (orders webhooks and polls)


class Dossier(CanonicalModel):
    """A resident's journey for one dwelling in one campaign, anchored on the intake; carries the phase."""

    entity: ClassVar[str] = "dossier"
    parent_field: ClassVar[str | None] = "intake_id"
    intake_id: str
    resident_id: str | None = None
    dwelling_id: str | None = None
    campaign_id: str | None = None
    phase: Phase
    phase_since: datetime | None = None
    opened_at: datetime | None = None
    # why a stopped dossier stopped, where the hub knows: `deleted_in_source` (its intake was deleted at the
    # partner; the mart leaves such a dossier out)
    stop_reason: str | None = None
    # the renovation obligation of the dossier's dwelling (DwellingFile.renovation_obligation), when it has one
    renovation_obligation: dict[str, Any] | None = None


class FollowUp(CanonicalModel):
    """A task in the hub's own follow-up list for the coordinator (the mart's `follow_ups`): for what no
    partner's task list carries — a renovation deadline that nears while the dossier is still early, a
    doubtful address join to confirm. Raised once per `key` (its xref); `status` done once handled."""

    entity: ClassVar[str] = "follow_up"
    parent_field: ClassVar[str | None] = "dossier_id"
    dossier_id: str | None = None
    dwelling_id: str | None = None
    kind: str
    reason: str  # for the coordinator; no personal data
    due_on: date | None = None
    status: Literal["open", "done"] = "open"
    raised_at: datetime | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


ENTITY_MODELS: dict[str, type[CanonicalModel]] = {
    m.entity: m
    for m in (
        Campaign,
        Resident,
        Dwelling,
        DwellingFile,
        Intake,
        Opportunity,
        Action,
        Appointment,
        Advice,
        Document,
        EnergyCertificate,
        Invoice,
        PremiumFile,
        PremiumApplication,
        Dossier,
        FollowUp,
    )
}
