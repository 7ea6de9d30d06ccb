"""Econobis wire rows → canonical entities.

Econobis' grids give status NAMES (admins may rename them) and system-data gives no code_ref for intake
and opportunity statuses, so names are resolved through `StatusNames`: fresh-install names, plus every
name→code_ref pair learned from richer resources (kansactie grid rows, detail calls). Keyed on code_ref."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.econobis.commands import SignUp
from connectors.econobis.schemas import (
    GridContact,
    GridHousingFile,
    GridIntake,
    GridOpportunity,
    GridQuotationRequest,
)
from hub.canonical import (
    Action,
    Campaign,
    Dwelling,
    DwellingFile,
    Intake,
    Opportunity,
    Resident,
    dwelling_key,
)
from hub.canonical.areas import area
from hub.canonical.models import Channel

AMS = ZoneInfo("Europe/Amsterdam")
SOURCE = "econobis"

# Fresh-install names (contracts/econobis.md §1.5, §1.7). Instances may rename; learned names extend these.
INTAKE_STATUS_NAMES = {
    "Open": "open",
    "Afgesloten met kans": "closed_with_opportunity",
    "Afgesloten zonder kans": "closed_without_opportunity",
    "In behandeling": "in_progress",
}
OPPORTUNITY_STATUS_NAMES = {
    "Actief": "active",
    "In afwachting": "pending",
    "Uitgevoerd": "executed",
    "Uitvoering, doe het zelf": "executed-do-it-yourself",
    "Geen uitvoering": "no_execution",
    "Opdracht": "mandate",
    "Inactief": "inactive",
    "Verwijderd in Hoomdossier": "deleted_in_hd",
    "In uitvoering": "in_progress",
    "Uitgevoerd zonder maatregel": "executed_without_measure",
    "Subsidie aanvaag in afwachting": "subsidy-request_pending",
    "Subsidie aanvraag toegekend": "subsidy-request_granted",
    "Subsidie aanvraag afgewezen": "subsidy-request_rejected",
}
ACTION_KINDS = {"visit", "quotation-request", "subsidy-request", "redirection"}
_STREET_NUMBER = re.compile(r"^(?P<street>.*\S)\s+(?P<number>\d+)(?:-(?P<addition>.+))?$")


class MappingError(ValueError):
    """A record that cannot be mapped; its message is the quarantine reason."""


class StatusNames:
    """Name → code_ref per status table, fresh-install defaults plus learned pairs (persisted by the sync)."""

    def __init__(self, learned: dict[str, dict[str, str]] | None = None) -> None:
        self.tables: dict[str, dict[str, str]] = {
            "intake": dict(INTAKE_STATUS_NAMES),
            "opportunity": dict(OPPORTUNITY_STATUS_NAMES),
        }
        self.learned: dict[str, dict[str, str]] = {"intake": {}, "opportunity": {}}
        for table, pairs in (learned or {}).items():
            self.tables.setdefault(table, {}).update(pairs)
            self.learned.setdefault(table, {}).update(pairs)

    def code(self, table: str, name: str | None) -> str | None:
        return self.tables[table].get(name or "")

    def learn(self, table: str, name: str, code: str | None) -> bool:
        """Record a pair seen on the wire; True when it is new (the caller persists it)."""
        if not code or self.tables[table].get(name) == code:
            return False
        self.tables[table][name] = code
        self.learned[table][name] = code
        return True


def parse_street_and_number(text: str | None) -> tuple[str | None, str | None, str | None]:
    """Econobis' "street number[-addition]" display string → (street, number, addition)."""
    if not text:
        return None, None, None
    m = _STREET_NUMBER.match(text.strip())
    if not m:
        return text.strip(), None, None
    return m.group("street"), m.group("number"), m.group("addition")


def local_datetime(raw: str | None) -> datetime | None:
    """Raw DATETIME columns are Amsterdam wall-clock time without zone."""
    if not raw:
        return None
    return datetime.fromisoformat(raw).replace(tzinfo=AMS)


def split_full_name(full_name: str) -> tuple[str | None, str | None, str | None]:
    """Econobis' person full_name "Last, First prefix" → (first, prefix, last)."""
    last, _, rest = full_name.partition(",")
    words = rest.split()
    if not words:
        return None, None, last.strip() or None
    return words[0], " ".join(words[1:]) or None, last.strip() or None


def dwelling_key_for(postal_code: str | None, street_and_number: str | None) -> str | None:
    _, number, addition = parse_street_and_number(street_and_number)
    if not postal_code or not number:
        return None
    return dwelling_key(country="NL", postcode=postal_code, number=number, addition=addition)


def map_area(
    code: int | None, name: str | None, district: str | None = None, municipality: str | None = None
) -> dict[str, Any] | None:
    """An address's shared area → `Dwelling.area` at buurt level. [MOD] The shared area code is the CBS
    buurtcode's digits (gemeente 4 + wijk 2 + buurt 2; 3630001 → BU03630001, WK036300, GM0363). A name without a
    code (not found by the search) is a buurt without codes; no name ('' when Econobis' table has none) is no
    area."""
    if code is not None and 0 < code < 10**8:
        digits = f"{code:08d}"
        return area(
            "NL",
            "buurt",
            SOURCE,
            neighbourhood_code=f"BU{digits}",
            neighbourhood_name=name,
            district_code=f"WK{digits[:6]}",
            district_name=district,
            municipality_code=f"GM{digits[:4]}",
            municipality_name=municipality,
        )
    if name:
        return area("NL", "buurt", SOURCE, neighbourhood_name=name)
    return None


def map_contact(
    row: GridContact,
    tenant: str,
    resident_id: str,
    dwelling_id: str | None,
    area: dict[str, Any] | None = None,
) -> tuple[Resident, Dwelling | None]:
    """`area`: the dwelling's area, the row's `areaName` with its code looked up (sync/areas.py)."""
    first, prefix, last = split_full_name(row.full_name) if row.type_id == "person" else (None, None, None)
    resident = Resident(
        id=resident_id,
        tenant=tenant,
        kind="organisation" if row.type_id == "organisation" else "person",
        number=row.number,
        first_name=first,
        last_name_prefix=prefix,
        last_name=last,
        organisation_name=row.full_name if row.type_id == "organisation" else None,
        email=row.email_address,
        phone=row.phone_number,
        status=row.status_name,
        created_at=row.created_at,
    )
    dwelling = None
    if dwelling_id is not None:
        street, number, addition = parse_street_and_number(row.street_and_number)
        dwelling = Dwelling(
            id=dwelling_id,
            tenant=tenant,
            dwelling_key=dwelling_key_for(row.postal_code, row.street_and_number),
            street=street,
            number=number,
            addition=addition,
            postcode=row.postal_code,
            city=row.city,
            resident_id=resident_id,
            area=area if area is not None else map_area(None, row.area_name),
        )
    return resident, dwelling


def map_campaign(tenant: str, campaign_id: str, name: str | None) -> Campaign:
    return Campaign(id=campaign_id, tenant=tenant, name=name or "(zonder naam)")


# Econobis' intake sources (intake_sources, names as the cooperations keep them) → the sign-up channel [MOD]:
# matched without regard to case or spacing (admins type them by hand); the first source with a channel decides;
# a source not listed is `other`.
SOURCE_CHANNELS: dict[str, Channel] = {
    "Website": "web_form",
    "Online": "web_form",
    "Woningdossier": "web_form",
    "Evenement": "event",
    "Bewonersavond": "event",
    "Telefoon": "phone",
    "Energieloket": "energy_desk",
    "Digitaal energieloket": "energy_desk",
    "Mobiel Energieloket": "energy_desk",
    "Gemeente": "campaign_letter",
    "Enquete": "campaign_letter",
}


def _source_key(name: object) -> str:
    """A source name as it is matched: case folded, runs of whitespace one space, ends stripped."""
    return " ".join(str(name).split()).casefold() if name is not None else ""


_CHANNEL_BY_KEY: dict[str, Channel] = {_source_key(k): v for k, v in SOURCE_CHANNELS.items()}


def channel_of(sources: list[str]) -> Channel | None:
    """The sign-up channel of an intake's sources: None without (non-blank) sources, `other` for sources none
    of which is listed."""
    keys = [k for k in (_source_key(s) for s in sources or []) if k]
    if not keys:
        return None
    return next((_CHANNEL_BY_KEY[k] for k in keys if k in _CHANNEL_BY_KEY), "other")


def map_intake(
    row: GridIntake,
    tenant: str,
    ids: dict[str, str | None],
    status: str,
) -> Intake:
    return Intake(
        id=str(ids["intake"]),
        tenant=tenant,
        resident_id=ids.get("resident"),
        dwelling_id=ids.get("dwelling"),
        campaign_id=ids.get("campaign"),
        status=status,
        sources=list(row.sources_names),
        channel=channel_of(list(row.sources_names)),
        interests=list(row.measures_requested_names),
        created_at=row.created_at,
    )


def map_opportunity(
    row: GridOpportunity, tenant: str, opportunity_id: str, intake_id: str | None, status: str
) -> Opportunity:
    return Opportunity(
        id=opportunity_id,
        tenant=tenant,
        intake_id=intake_id,
        number=row.number,
        measure_category=row.measure_category_name,
        measures=[m.name for m in row.measures],
        status=status,
        desired_date=datetime.fromisoformat(row.desired_date).date() if row.desired_date else None,
        created_at=row.created_at,
    )


def map_action(
    row: GridQuotationRequest, tenant: str, action_id: str, opportunity_id: str, coach_id: str | None
) -> Action:
    kind = row.opportunity_action.code_ref
    if kind not in ACTION_KINDS:
        raise MappingError(
            f"unknown kansactie type code_ref {kind!r} (opportunityAction {row.opportunity_action.name!r})"
        )
    if not row.status.code_ref:
        raise MappingError(f"kansactie status {row.status.name!r} has no codeRef")
    return Action(
        id=action_id,
        tenant=tenant,
        opportunity_id=opportunity_id,
        kind=kind,  # type: ignore[arg-type]
        status=row.status.code_ref,
        coach_or_organisation_id=coach_id,
        date_planned=local_datetime(row.date_planned),
        date_recorded=local_datetime(row.date_recorded),
        date_released=local_datetime(row.date_released),
        created_at=row.created_at,
    )


_UNKNOWN = {"Onbekend", ""}


def map_housing_file(row: GridHousingFile, tenant: str, file_id: str, dwelling_id: str | None) -> DwellingFile:
    sale: Any = str(row.is_house_for_sale) if row.is_house_for_sale is not None else None
    return DwellingFile(
        id=file_id,
        tenant=tenant,
        dwelling_id=dwelling_id,
        building_type=None if (row.building_type or "") in _UNKNOWN else row.building_type,
        energy_label=None if (row.energy_label or "") in _UNKNOWN else row.energy_label,
        build_year=row.build_year,
        # is_house_for_sale: '1' koopwoning, '0' huur, '2' onbekend (a string since 2025-06)
        owner_occupied={"1": True, "0": False}.get(sale) if sale is not None else None,
        created_at=row.created_at,
    )


def webform_fields(s: SignUp, ids: dict[str, dict[str, int]]) -> dict[str, Any]:
    """A sign-up as the webform fields Econobis reads (contracts/econobis.md §4), with this instance's ids
    (`ids`: table → name → id, from its system-data). Raises ValueError for what this Econobis cannot take."""
    open_names = [n for n, code in INTAKE_STATUS_NAMES.items() if code == "open"]
    status_id = next((ids["intakeStatuses"][n] for n in open_names if n in ids["intakeStatuses"]), None)
    if status_id is None:
        raise ValueError("no intake status 'open' in this Econobis' system-data")
    unknown = [m for m in s.measures if m not in ids["measures"]]
    if unknown:
        raise ValueError(f"measure(s) not known in this Econobis: {', '.join(unknown)}")
    fields: dict[str, Any] = {
        "voornaam": s.first_name or "",
        "tussenvoegsel": s.last_name_prefix or "",
        "achternaam": s.last_name or "",
        "organisatienaam": s.organisation_name or "",
        "emailadres": s.email or "",
        "telefoonnummer": s.phone or "",
        "adres_straat": s.street or "",
        "adres_huisnummer": s.number,
        "adres_toevoeging": s.addition or "",
        "adres_postcode": s.postcode,
        "adres_plaats": s.city or "",
        "akkoord_privacybeleid": "1" if s.consent else "0",
        "intake_campagne_id": str(s.campaign_id),
        "intake_status_id": str(status_id),
        "intake_id_extern": s.key,
        "intake_maatregel_ids": ",".join(str(ids["measures"][m]) for m in s.measures),
        "intake_aanmeldingsbron_ids": ",".join(
            str(ids["intakeSources"][x]) for x in s.sources if x in ids["intakeSources"]
        ),
        "contact_opmerkingen": s.note or "",
    }
    if s.visit_coach_id is not None:
        fields["kansactie_aanmaken"] = "visit"
        fields["kansactie_org_of_coach"] = str(s.visit_coach_id)
    return fields
