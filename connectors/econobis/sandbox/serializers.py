"""Wire serialisers of the sandbox Econobis (Laravel's JsonResources): Grid* rows, Full* details, system-data
and client-version, with Econobis' keys, nesting and formats.

The formats: camelCase keys; timestamps as UTC ISO with microseconds; plain DATE/DATETIME columns as raw
strings; `measureCategory` as a raw snake_case model; status names, not code_refs, in the intake/opportunity
grids and system-data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from connectors.econobis.sandbox.areas import AREAS_BY_CODE, SharedArea
from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.lookups import CONTACT_STATUS, Lookups
from hub.sandbox.runtime import AMS

Row = dict[str, Any]


def iso(value: datetime | None) -> str | None:
    """Carbon's toJSON(): the Amsterdam wall-clock value converted to UTC, with microseconds."""
    if value is None:
        return None
    return value.replace(tzinfo=AMS).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def raw_datetime(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def raw_date(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def street_and_number(address: Row | None) -> str | None:
    if address is None:
        return None
    extra = f"-{address['addition']}" if address.get("addition") else ""
    return f"{address['street']} {address['number']}{extra}"


def contact_number(c: Row) -> str:
    return f"C{c['created_at'].year}-{c['id']}"


def opportunity_number(o: Row) -> str:
    return f"K{o['created_at'].year}-{o['id']}"


def _name(lk: Lookups, table: str, row_id: int | None) -> str | None:
    return lk.by_id(table, row_id)["name"] if row_id is not None else None


def _contact_status_name(status: str) -> str:
    return next((n for c, n in CONTACT_STATUS if c == status), "")


# --- nested resources --------------------------------------------------------------------------------------


def _district(a: Row) -> str | None:
    area = shared_area_of(a)
    return area.district_name if area else None


def shared_area_of(a: Row) -> SharedArea | None:
    """The shared area row an address's code points at (the sandbox's table is keyed by tenant-free codes)."""
    code = a.get("shared_area_code")
    return AREAS_BY_CODE.get(code) if code is not None else None


def full_address(a: Row | None) -> Row | None:
    if a is None:
        return None
    return {
        "id": a["id"],
        "contactId": a["contact_id"],
        "typeId": a["type_id"],
        "type": {"id": a["type_id"], "name": "Bezoek"},
        "endDate": None,
        "countryId": a.get("country_id"),
        "street": a["street"],
        "number": a["number"],
        "addition": a["addition"],
        "city": a["city"],
        "postalCode": a["postal_code"],
        # FullAddress: the address's shared_area_name and its shared area's district_name (no code)
        "areaName": a.get("shared_area_name", ""),
        "districtName": _district(a),
        "primary": a["primary"],
        "eanElectricity": None,
        "eanGas": None,
        "createdAt": iso(a["created_at"]),
        "updatedAt": iso(a["updated_at"]),
    }


def full_contact(c: Row | None, db: SandboxDB) -> Row | None:
    if c is None:
        return None
    email = db.primary("email_addresses", c["id"])
    phone = db.primary("phone_numbers", c["id"])
    person = None
    if c["type_id"] == "person":
        person = {
            "id": c["id"] + 50000,
            "contactId": c["id"],
            "initials": c.get("initials"),
            "firstName": c.get("first_name"),
            "lastNamePrefix": c.get("last_name_prefix") or None,
            "lastName": c.get("last_name"),
            "fullName": c["full_name"],
            "dateOfBirth": None,
        }
    return {
        "id": c["id"],
        "number": contact_number(c),
        "statusId": c["status_id"],
        "status": {"id": c["status_id"], "name": _contact_status_name(c["status_id"])},
        "typeId": c["type_id"],
        "type": {"id": c["type_id"], "name": "Persoon" if c["type_id"] == "person" else "Organisatie"},
        "person": person,
        "organisation": {"id": c["id"] + 60000, "name": c["organisation_name"]}
        if c["type_id"] == "organisation"
        else None,
        "fullName": c["full_name"],
        "didAgreeAvg": c.get("did_agree_avg"),
        "addresses": [full_address(db.primary("addresses", c["id"]))] if db.primary("addresses", c["id"]) else [],
        "emailAddresses": [
            {
                "id": email["id"],
                "contactId": c["id"],
                "typeId": email["type_id"],
                "email": email["email"],
                "primary": True,
            }
        ]
        if email
        else [],
        "phoneNumbers": [
            {
                "id": phone["id"],
                "contactId": c["id"],
                "typeId": phone["type_id"],
                "number": phone["number"],
                "primary": True,
            }
        ]
        if phone
        else [],
        "hoomAccountId": c.get("hoom_account_id"),
        "inspectionPersonTypeId": c.get("inspection_person_type_id"),
        "createdAt": iso(c["created_at"]),
        "updatedAt": iso(c["updated_at"]),
    }


def measure_category_raw(lk: Lookups, cat_id: int) -> Row:
    """Econobis returns the category model itself here: snake_case keys."""
    return {"id": cat_id, "name": _name(lk, "measureCategories", cat_id), "uses_wf_create_opportunity": 0}


def full_measure(lk: Lookups, measure_id: int) -> Row:
    m = lk.by_id("measures", measure_id)
    return {
        "id": m["id"],
        "number": f"M2018-{m['id']}",
        "name": m["name"],
        "nameDefault": m["name"],
        "nameCustom": None,
        "description": None,
        "visible": True,
        "faqs": [],
        "relatedDocuments": None,
        "documentCount": 0,
    }


def opportunity_status_generic(lk: Lookups, status_id: int) -> Row:
    s = lk.by_id("opportunityStatus", status_id)
    return {"id": s["id"], "name": s["name"], "active": True, "externalHoomId": None, "codeRef": s["codeRef"]}


def qr_status_generic(lk: Lookups, status_id: int) -> Row:
    s = lk.by_id("quotationRequestStatus", status_id)
    return {
        "id": s["id"],
        "name": s["name"],
        "codeRef": s["codeRef"],
        "opportunityActionId": s["opportunityActionId"],
    }


def campaign_by_intake(db: SandboxDB, campaign_id: int | None) -> Row | None:
    c = db.get("campaigns", campaign_id) if campaign_id else None
    return {"id": c["id"], "name": c["name"]} if c else None


def intake_by_opportunity(i: Row, db: SandboxDB) -> Row:
    contact = db.get("contacts", i["contact_id"])
    address = db.get("addresses", i["address_id"]) if i.get("address_id") else None
    return {
        "id": i["id"],
        "contact": full_contact(contact, db),
        "address": full_address(address),
        "name": f"Intake: {i['id']} voor {contact['full_name'] if contact else ''}",
        "fullAddress": street_and_number(address),
        "campaign": campaign_by_intake(db, i.get("campaign_id")),
        "note": i.get("note", ""),
        "createdAt": iso(i["created_at"]),
        "updatedAt": iso(i["updated_at"]),
    }


def opportunity_nested(o: Row, db: SandboxDB, lk: Lookups, with_intake: bool = True) -> Row:
    status = lk.by_id("opportunityStatus", o["status_id"])
    out: Row = {
        "id": o["id"],
        "name": f"{_name(lk, 'measureCategories', o['measure_category_id'])} - {status['name']}",
        "measureCategory": measure_category_raw(lk, o["measure_category_id"]),
        "measures": [full_measure(lk, m) for m in o.get("measure_ids", [])],
        "number": opportunity_number(o),
        "status": opportunity_status_generic(lk, o["status_id"]),
        "quotationText": None,
        "desiredDate": raw_date(o.get("desired_date")),
        "createdAt": iso(o["created_at"]),
        "updatedAt": iso(o["updated_at"]),
    }
    if with_intake:
        intake = db.get("intakes", o["intake_id"])
        out["intake"] = intake_by_opportunity(intake, db) if intake else None
    return out


# --- grid rows ---------------------------------------------------------------------------------------------


def grid_contact(c: Row, db: SandboxDB, lk: Lookups) -> Row:
    a = db.primary("addresses", c["id"])
    e = db.primary("email_addresses", c["id"])
    p = db.primary("phone_numbers", c["id"])
    return {
        "id": c["id"],
        "number": contact_number(c),
        "iban": None,
        "typeId": c["type_id"],
        "typeName": "Persoon" if c["type_id"] == "person" else "Organisatie",
        "fullName": c["full_name"],
        "streetAndNumber": street_and_number(a),
        "postalCode": a["postal_code"] if a else None,
        "city": a["city"] if a else None,
        "areaName": a.get("shared_area_name", "") if a else None,
        "emailAddress": e["email"] if e else None,
        "phoneNumber": p["number"] if p else None,
        "statusName": _contact_status_name(c["status_id"]),
        "createdAt": iso(c["created_at"]),
        "vatNumber": None,
        "chamberOfCommerceNumber": None,
    }


def grid_intake(i: Row, db: SandboxDB, lk: Lookups) -> Row:
    contact = db.get("contacts", i["contact_id"])
    address = db.get("addresses", i["address_id"]) if i.get("address_id") else None
    return {
        "id": i["id"],
        "createdAt": iso(i["created_at"]),
        "fullName": contact["full_name"] if contact else "",
        "fullAddress": street_and_number(address) or "",
        "areaName": address.get("shared_area_name", "") if address else None,
        "campaign": campaign_by_intake(db, i.get("campaign_id")),
        "measuresRequestedNames": [_name(lk, "measureCategories", c) for c in i.get("measure_category_ids", [])],
        "sourcesNames": [_name(lk, "intakeSources", s) for s in i.get("source_ids", [])],
        "status": _name(lk, "intakeStatuses", i["intake_status_id"]),
        "contactId": i["contact_id"],
    }


def grid_opportunity(o: Row, db: SandboxDB, lk: Lookups) -> Row:
    intake = db.get("intakes", o["intake_id"]) or {}
    contact = db.get("contacts", intake.get("contact_id", 0))
    address = db.get("addresses", intake["address_id"]) if intake.get("address_id") else None
    campaign = db.get("campaigns", intake["campaign_id"]) if intake.get("campaign_id") else None
    return {
        "id": o["id"],
        "number": opportunity_number(o),
        "address": street_and_number(address),
        "postalCode": address["postal_code"] if address else None,
        "createdAt": iso(o["created_at"]),
        "desiredDate": raw_date(o.get("desired_date")),
        "contactName": contact["full_name"] if contact else None,
        "measureCategoryName": _name(lk, "measureCategories", o["measure_category_id"]),
        "measures": [full_measure(lk, m) for m in o.get("measure_ids", [])],
        "campaignName": campaign["name"] if campaign else None,
        "statusName": _name(lk, "opportunityStatus", o["status_id"]),
        "amountQuotations": len(db.kansacties_of(o["id"])),
        "contactId": contact["id"] if contact else None,
        "areaName": address.get("shared_area_name", "") if address else None,
    }


def grid_quotation_request(q: Row, db: SandboxDB, lk: Lookups) -> Row:
    opp = db.get("opportunities", q["opportunity_id"])
    return {
        "id": q["id"],
        "datePlanned": raw_datetime(q.get("date_planned")),
        "dateRecorded": raw_datetime(q.get("date_recorded")),
        "dateReleased": raw_datetime(q.get("date_released")),
        "quotationText": q.get("quotation_text"),
        "organisationOrCoach": full_contact(db.get("contacts", q["contact_id"]), db) if q.get("contact_id") else None,
        "opportunity": opportunity_nested(opp, db, lk) if opp else None,
        "status": qr_status_generic(lk, q["status_id"]),
        "opportunityAction": dict(lk.by_id("opportunityActions", q["opportunity_action_id"])),
        "createdAt": iso(q["created_at"]),
    }


def grid_housing_file(h: Row, db: SandboxDB, lk: Lookups) -> Row:
    address = db.get("addresses", h["address_id"])
    contact = db.get("contacts", address["contact_id"]) if address else None
    return {
        "id": h["id"],
        "createdAt": iso(h["created_at"]),
        "fullAddress": street_and_number(address) or "",
        "postalCode": address["postal_code"] if address else "",
        "city": address["city"] if address else "",
        "fullName": contact["full_name"] if contact else "",
        "buildingType": _name(lk, "buildingTypes", h.get("building_type_id")),
        "energyLabel": _name(lk, "energyLabels", h.get("energy_label_id")),
        "buildYear": h.get("build_year"),
        "isHouseForSale": h.get("is_house_for_sale"),
    }


# --- details -----------------------------------------------------------------------------------------------


def full_intake(i: Row, db: SandboxDB, lk: Lookups) -> Row:
    status = lk.by_id("intakeStatuses", i["intake_status_id"])
    base = intake_by_opportunity(i, db)
    base.update(
        {
            "status": {"id": status["id"], "name": status["name"], "codeRef": status["codeRef"]},
            "sources": [{"id": s, "name": _name(lk, "intakeSources", s)} for s in i.get("source_ids", [])],
            "reasons": [{"id": r, "name": _name(lk, "intakeReasons", r)} for r in i.get("reason_ids", [])],
            "measuresRequested": [
                {"id": c, "name": _name(lk, "measureCategories", c)} for c in i.get("measure_category_ids", [])
            ],
            "opportunities": [
                opportunity_nested(o, db, lk, with_intake=False)
                for o in db.tables["opportunities"].values()
                if o["intake_id"] == i["id"] and o.get("deleted_at") is None
            ],
            "campaignsToSelect": [],
        }
    )
    return base


def full_quotation_request(q: Row, db: SandboxDB, lk: Lookups) -> Row:
    row = grid_quotation_request(q, db, lk)
    row.update(
        {
            "name": f"Offerteverzoek {q['id']}",
            "organisationOrCoachId": q.get("contact_id"),
            "datePlannedAttempt1": raw_date(q.get("date_planned_attempt1")),
            "datePlannedAttempt2": raw_date(q.get("date_planned_attempt2")),
            "datePlannedAttempt3": raw_date(q.get("date_planned_attempt3")),
            "dateApprovedProjectManager": raw_date(q.get("date_approved_project_manager")),
            "notApprovedProjectManager": bool(q.get("not_approved_project_manager")),
            "dateApprovedExternal": raw_date(q.get("date_approved_external")),
            "notApprovedExternal": bool(q.get("not_approved_external")),
            "coachOrOrganisationNote": q.get("coach_or_organisation_note"),
            "dateApprovedClient": raw_date(q.get("date_approved_client")),
            "notApprovedClient": bool(q.get("not_approved_client")),
            "dateUnderReview": raw_date(q.get("date_under_review")),
            "dateExecuted": raw_date(q.get("date_executed")),
            "dateUnderReviewDetermination": raw_date(q.get("date_under_review_determination")),
            "dateApprovedDetermination": raw_date(q.get("date_approved_determination")),
            "notApprovedDetermination": bool(q.get("not_approved_determination")),
            "quotationAmount": float(q.get("quotation_amount") or 0),
            "costAdjustment": float(q.get("cost_adjustment") or 0),
            "awardAmount": float(q.get("award_amount") or 0),
            "amountDetermination": float(q.get("amount_determination") or 0),
            "updatedAt": iso(q["updated_at"]),
        }
    )
    return row


def full_housing_file(h: Row, db: SandboxDB, lk: Lookups) -> Row:
    address = db.get("addresses", h["address_id"])
    fa = full_address(address)
    if fa is not None and address is not None:
        fa["contact"] = full_contact(db.get("contacts", address["contact_id"]), db)

    def generic(table: str, row_id: int | None) -> Row | None:
        return {"id": row_id, "name": _name(lk, table, row_id)} if row_id is not None else None

    return {
        "id": h["id"],
        "address": fa,
        "fullAddress": street_and_number(address),
        "postalCode": address["postal_code"] if address else None,
        "city": address["city"] if address else None,
        "buildingType": generic("buildingTypes", h.get("building_type_id")),
        "buildYear": h.get("build_year"),
        "isHouseForSale": h.get("is_house_for_sale"),
        "surface": h.get("surface"),
        "roofType": generic("roofTypes", h.get("roof_type_id")),
        "energyLabel": generic("energyLabels", h.get("energy_label_id")),
        "floors": h.get("floors"),
        "isMonument": h.get("is_monument"),
        "remark": h.get("remark"),
        "remarkCoach": h.get("remark_coach"),
        "hoomBuildingId": h.get("hoom_building_id"),
        "numberOfResidents": h.get("number_of_residents"),
        "createdAt": iso(h["created_at"]),
        "updatedAt": iso(h["updated_at"]),
        "housingFileSpecifications": [],
        "housingFileHousingStatuses": [],
    }


DETAIL_TABLES = {
    "contact": "contacts",
    "intake": "intakes",
    "opportunity": "opportunities",
    "quotation-request": "quotation_requests",
    "housing-file": "housing_files",
}


def detail(entity: str, row: Row, db: SandboxDB, lk: Lookups) -> Row | None:
    if entity == "contact":
        return full_contact(row, db)
    if entity == "intake":
        return full_intake(row, db, lk)
    if entity == "opportunity":
        out = opportunity_nested(row, db, lk)
        out["quotationRequests"] = [
            {
                "id": q["id"],
                "quotationText": q.get("quotation_text"),
                "organisationOrCoach": {"id": q["contact_id"]} if q.get("contact_id") else None,
                "status": qr_status_generic(lk, q["status_id"]),
                "opportunityAction": dict(lk.by_id("opportunityActions", q["opportunity_action_id"])),
                "createdAt": iso(q["created_at"]),
            }
            for q in db.kansacties_of(row["id"])
            if q.get("deleted_at") is None
        ]
        return out
    if entity == "quotation-request":
        return full_quotation_request(row, db, lk)
    return full_housing_file(row, db, lk)


# --- system data / version ---------------------------------------------------------------------------------


def system_data(lk: Lookups) -> Row:
    """`GET /api/system-data`: note intakeStatuses and opportunityStatus carry NO codeRef (as in Econobis)."""
    t = lk.tables
    action_names = {a["id"]: a["name"] for a in t["opportunityActions"]}
    return {
        "data": {
            "appName": "Econobis",
            "buildingTypes": [{"id": r["id"], "name": r["name"]} for r in t["buildingTypes"]],
            "campaignStatuses": [{"id": r["id"], "name": r["name"]} for r in t["campaignStatuses"]],
            "campaignTypes": sorted(
                ({"id": r["id"], "name": r["name"]} for r in t["campaignTypes"]), key=lambda r: r["name"]
            ),
            "contactStatuses": [{"id": r["id"], "name": r["name"]} for r in t["contactStatuses"]],
            "energyLabels": [{"id": r["id"], "name": r["name"]} for r in t["energyLabels"]],
            "intakeReasons": [{"id": r["id"], "name": r["name"]} for r in t["intakeReasons"]],
            "intakeSources": [{"id": r["id"], "name": r["name"]} for r in t["intakeSources"]],
            "intakeStatuses": [{"id": r["id"], "name": r["name"]} for r in t["intakeStatuses"]],
            "measureCategories": sorted(
                ({"id": r["id"], "name": r["name"]} for r in t["measureCategories"]), key=lambda r: r["name"]
            ),
            "measures": sorted(
                (
                    {
                        "id": r["id"],
                        "name": r["name"],
                        "measureCategoryId": r["measureCategoryId"],
                        "visible": True,
                    }
                    for r in t["measures"]
                ),
                key=lambda r: r["name"],
            ),
            "opportunityActions": [dict(r) for r in t["opportunityActions"]],
            "opportunityStatus": [{"id": r["id"], "name": r["name"], "active": True} for r in t["opportunityStatus"]],
            "quotationRequestStatus": [
                {**r, "opportunityActionName": action_names[r["opportunityActionId"]]}
                for r in sorted(t["quotationRequestStatus"], key=lambda r: r["opportunityActionId"])
            ],
            "roofTypes": [{"id": r["id"], "name": r["name"]} for r in t["roofTypes"]],
            "versionNumber": "Versie: 5.4.1.2",
        }
    }


def client_version(version: str) -> Row:
    return {"version": version}


def grid_audit_trail(r: Row, db: SandboxDB, lk: Lookups) -> Row:
    """GridAuditTrail: `model` is the class's last segment; `changedAt` is revisions.updated_at."""
    user = r.get("user_id")
    return {
        "id": r["id"],
        "model": r["revisionable_type"].rsplit("\\", 1)[-1],
        "revisionableId": r["revisionable_id"],
        "field": r["key"],
        "oldValue": r["old_value"],
        "newValue": r["new_value"],
        "valueChanged": r["old_value"] != r["new_value"],
        "changedBy": {"id": user, "fullName": f"Gebruiker {user}"} if user is not None else None,
        "changedAt": iso(r["updated_at"]),
    }
