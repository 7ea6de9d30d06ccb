"""What the webform makes for a contact (§4.5): the intake (reused by intake_id_extern), kansen per measure,
kansacties through the status engine, the housing file — and the update paths that encrypted ids take."""

from __future__ import annotations

from typing import Any

from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.lookups import Lookups
from connectors.econobis.sandbox.status_engine import apply_kansactie_write
from connectors.econobis.sandbox.webform.call import Call, Row
from connectors.econobis.sandbox.webform.inputs import FormData, parse_decimal
from connectors.econobis.sandbox.webforms import ApiError

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


def _lookup(lk: Lookups, table: str, raw_id: str) -> Row | None:
    if not raw_id.isdigit():
        return None
    return next((r for r in lk.tables[table] if r["id"] == int(raw_id)), None)


def _given(db: SandboxDB, table: str, row_id: int, field: str) -> Row:
    """The record an (encrypted) id field names; 422 when it does not exist."""
    row = db.live(table, row_id)
    if row is None:
        raise ApiError(f"Er is een ongeldige waarde voor {field} ({row_id}) meegegeven.")
    return row


# --- the intake and its kansen --------------------------------------------------------------------------------


def add_intake(call: Call, data: FormData, address: Row) -> Row | None:
    if not data.campaign_id:
        call.log("Er is intake_id meegegeven of geen campagne meegegeven, intake niet nieuw aanmaken.")
        return None
    db, lk = call.db, call.lk
    call.log(f"Intake verantwoordelijke gebruiker : {call.webform.get('responsible_user_id')}")
    call.log("Er is een campagne meegegeven, intake aanmaken.")
    campaign = db.live("campaigns", int(data.campaign_id) if data.campaign_id.isdigit() else None)
    if campaign is None:
        raise ApiError("Er is een ongeldige waarde voor campagne meegegeven.")
    status = _lookup(lk, "intakeStatuses", data.intake_status_id)
    if status is None:
        call.log('Er is geen bekende waarde voor intake status meegegeven, default naar "open"')
        status = _lookup(lk, "intakeStatuses", "1")  # IntakeStatus::find(1): hard-coded
        if status is None:
            raise AttributeError('Attempt to read property "id" on null')
    measures = [m for m in (_lookup(lk, "measures", str(i)) for i in data.measure_ids) if m]
    single = _lookup(lk, "measures", data.measure_id)
    if measures:
        categories = sorted({m["measureCategoryId"] for m in measures})
    elif single:
        categories = [single["measureCategoryId"]]
    else:
        categories = [c["id"] for c in lk.tables["measureCategories"] if c["id"] in data.interest_ids]
    intake: Row | None = None
    if data.external_code:
        found = db.where("intakes", external_code=data.external_code)
        if not found:
            call.log(f"Meegegeven intake_id_extern ({data.external_code}) nog niet bekend. Nieuwe intake aanmaken.")
        else:
            intake = found[0]
            call.log(
                f"Intake met id {intake['id']} gevonden bij intake_id_extern ({data.external_code}). "
                "Geen nieuwe intake aanmaken"
            )
    else:
        call.log("Geen external_code meegegeven")
    now = call.now()
    if intake is None:
        iid = db.insert(
            "intakes",
            {
                "external_code": data.external_code or None,
                "contact_id": address["contact_id"],
                "address_id": address["id"],
                "intake_status_id": status["id"],
                "campaign_id": campaign["id"],
                "note": data.intake_note,
                "source_ids": [],
                "reason_ids": [],
                "measure_category_ids": [],
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
            },
        )
        intake = db.tables["intakes"][iid]
        call.log(f"Intake met id {iid} aangemaakt en gekoppeld aan adres id {address['id']}.")
    valid_reasons = {r["id"] for r in lk.tables["intakeReasons"]}
    valid_sources = {r["id"] for r in lk.tables["intakeSources"]}
    # pivots: synced (replaced) on every call, and not revisioned
    db.raw_update(
        "intakes",
        intake["id"],
        {
            "reason_ids": [r for r in data.reason_ids if r in valid_reasons],
            "source_ids": [s for s in data.source_ids if s in valid_sources],
            "measure_category_ids": categories,
        },
    )
    call.out.intake_id = intake["id"]
    closed = lk.by_code("intakeStatuses", "closed_with_opportunity")["id"]
    for m in measures:
        call.log(
            "Intake maatregelen meegegeven. Kans voor intake maatregel specifiek "
            f"'{m['name']}' aanmaken (status Actief)"
        )
        _add_opportunity(call, m, intake, data)
    if single and status["id"] == closed:
        _add_opportunity(call, single, intake, data)
    return intake


def _add_opportunity(call: Call, measure: Row, intake: Row, data: FormData) -> None:
    now = call.now()
    oid = call.db.insert(
        "opportunities",
        {
            "opportunity_code": data.opportunity_code or None,
            "intake_id": intake["id"],
            "measure_category_id": measure["measureCategoryId"],
            "measure_ids": [measure["id"]],
            "status_id": call.lk.by_code("opportunityStatus", "active")["id"],
            "quotation_text": "",
            "desired_date": None,
            "amount": 0,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        },
    )
    category = call.lk.by_id("measureCategories", measure["measureCategoryId"])["name"]
    call.log(
        f"Kans met id {oid} aangemaakt met maatregel categorie '{category}' en maatregel specifiek "
        f"'{measure['name']}' en gekoppeld aan intake id {intake['id']}."
    )
    call.out.opportunity_ids.append(oid)
    _add_kansactie(call, call.db.tables["opportunities"][oid], data)


# --- kansacties -------------------------------------------------------------------------------------------------


def _default_status(lk: Lookups, action: str) -> Row:
    """The action type's `default` status (Econobis looks it up by code_ref; every action type has one)."""
    status = lk.qr_status(action, "default")
    if status is None:
        raise AttributeError('Attempt to read property "id" on null')
    return status


def _add_kansactie(call: Call, opp: Row, data: FormData) -> None:
    if not data.qr_action:
        call.log("Geen kansactie_aanmaken meegegeven.")
        return
    db, lk = call.db, call.lk
    coach = None
    if data.qr_coach:
        intake = db.get("intakes", opp["intake_id"]) or {}
        campaign = db.get("campaigns", intake.get("campaign_id")) or {}
        allowed = set(campaign.get("coach_ids", [])) | set(campaign.get("organisation_ids", []))
        if not data.qr_coach.isdigit() or int(data.qr_coach) not in allowed:
            raise ApiError(f"Er is een ongeldige waarde voor kansactie_org_of_coach ({data.qr_coach}) meegegeven.")
        coach = int(data.qr_coach)
    try:
        action_id = lk.action_id(data.qr_action)
    except KeyError:
        raise ApiError(f"Er is een ongeldige waarde voor kansactie_aanmaken ({data.qr_action}) meegegeven.") from None
    action = data.qr_action
    default = _default_status(lk, action)
    status = lk.qr_status(action, data.qr_status) if data.qr_status else None
    if status is None:
        status = default
        action_name = lk.by_id("opportunityActions", action_id)["name"]
        call.log(
            f"Er is geen bekende waarde voor kansactie_aanmaken status meegegeven bij kansactie_type "
            f"{action_name}, default naar: {status['name']}"
        )
    now = call.now()
    qid = db.insert(
        "quotation_requests",
        {
            "opportunity_id": opp["id"],
            "opportunity_action_id": action_id,
            "status_id": default["id"],
            "contact_id": coach,
            "quotation_text": data.qr_text or None,
            "coach_or_organisation_note": data.qr_coach_note or None,
            "quotation_amount": data.qr_amount or 0,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        },
    )
    change: dict[str, Any] = {
        col: value for col, value in data.qr_dates.items() if value is not None and col in ACTION_DATES[action]
    }
    change["status"] = status["codeRef"]
    final, kans = apply_kansactie_write(db, lk, qid, change, now, created=True)
    call.out.quotation_request_ids.append(qid)
    call.log(f"Kansactie met id {qid} aangemaakt (status {final}); kans status {kans}.")


# --- the update paths of encrypted ids ------------------------------------------------------------------------


def add_opportunities_to_intake(call: Call, data: FormData, intake_id: int) -> None:
    intake = _given(call.db, "intakes", intake_id, "intake_id")
    call.log(f"Intake met id {intake['id']} gevonden.")
    call.out.intake_id = intake["id"]
    measures = [m for m in (_lookup(call.lk, "measures", str(i)) for i in data.measure_ids) if m]
    cats = sorted(set(intake.get("measure_category_ids", [])) | {m["measureCategoryId"] for m in measures})
    call.db.raw_update("intakes", intake["id"], {"measure_category_ids": cats})
    for m in measures:
        _add_opportunity(call, m, intake, data)


def add_kansactie_to_opportunity(call: Call, data: FormData, opportunity_id: int) -> None:
    opp = _given(call.db, "opportunities", opportunity_id, "kans_id")
    call.log(f"Kans met id {opp['id']} gevonden.")
    if data.opportunity_code:
        call.db.update("opportunities", opp["id"], {"opportunity_code": data.opportunity_code})
    _add_kansactie(call, opp, data)


def update_kansactie(call: Call, data: FormData, quotation_request_id: int) -> None:
    qr = _given(call.db, "quotation_requests", quotation_request_id, "kansactie_id")
    # only non-empty fields overwrite; the observer may still override an explicit status
    change: dict[str, Any] = {col: v for col, v in data.qr_dates.items() if v is not None}
    if data.qr_coach_note:
        change["coach_or_organisation_note"] = data.qr_coach_note
    if data.qr_text:
        change["quotation_text"] = data.qr_text
    if data.qr_status:
        change["status"] = data.qr_status
    final, kans = apply_kansactie_write(call.db, call.lk, qr["id"], change, call.now())
    call.out.quotation_request_ids.append(qr["id"])
    call.log(f"Kansactie met id {qr['id']} bijgewerkt (status {final}); kans status {kans}.")


# --- the housing file -------------------------------------------------------------------------------------------


def add_housing_file(call: Call, data: FormData, address: Row) -> Row | None:
    given = data.housing
    if not given:
        return None
    s = call.inp.s
    change: dict[str, Any] = {}

    def lookup(name: str, table: str, col: str) -> None:
        if name in given:
            row = _lookup(call.lk, table, s(name))
            if row is None and s(name):
                call.log(f"Ongeldige waarde voor {name} ({s(name)}), niet opgeslagen.")
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
            value = parse_decimal(s(name), data.separator)
            change[col] = value if col == "surface" else (int(value) if value is not None else None)
    for name, col in (("woondossier_opmerking", "remark"), ("woondossier_opmerking_coach", "remark_coach")):
        if name in given:
            change[col] = s(name)
    files = call.db.where("housing_files", address_id=address["id"])
    if files:
        hf = files[-1]
        call.db.update("housing_files", hf["id"], change)
        call.log(f"Woondossier met id {hf['id']} bijgewerkt.")
        return hf
    now = call.now()
    row = {
        "address_id": address["id"],
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
    hid = call.db.insert("housing_files", row)
    call.log(f"Woondossier met id {hid} aangemaakt bij adres id {address['id']}.")
    return call.db.tables["housing_files"][hid]
