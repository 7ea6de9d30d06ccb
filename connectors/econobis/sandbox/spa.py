"""The SPA write calls the hub uses (contracts/econobis.md §2.1, §2.2):

- `POST /api/quotation-request` (create a kansactie; answers 201 with the FullQuotationRequest, then — when the
  coach is a coach — the outbound coach link of §2.2, whose error is returned although the kansactie stays);
- `POST /api/quotation-request/{id}` (update; the observer's date rules may override the status sent);
- `GET /api/contact/{id}/make-hoomdossier` (register at Hoomdossier; the account id is the answer body).

Laravel validation: 422 `{"message", "errors": {field: [..]}}`. Keys the controller reads as `$data['x']`
without isset() must be present in the body even when null, or PHP's "Undefined array key" is a 500 — the
SPA always sends them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.econobis.sandbox import serializers
from connectors.econobis.sandbox.outbound import HoomAbort, HoomValidation, connect_coach, register_resident
from connectors.econobis.sandbox.state import SandboxState
from connectors.econobis.sandbox.status_engine import apply_kansactie_write

READ_WITHOUT_ISSET = (
    "organisationOrCoachId",
    "projectManagerId",
    "externalPartyId",
    "dateRecorded",
    "dateReleased",
    "datePlanned",
    "dateApprovedClient",
    "dateApprovedProjectManager",
    "dateApprovedExternal",
)
# camelCase body key → column, for the plain date columns (no time part merged in)
PLAIN_DATES = {
    "datePlannedAttempt1": "date_planned_attempt1",
    "datePlannedAttempt2": "date_planned_attempt2",
    "datePlannedAttempt3": "date_planned_attempt3",
    "dateApprovedClient": "date_approved_client",
    "dateApprovedProjectManager": "date_approved_project_manager",
    "dateApprovedExternal": "date_approved_external",
    "dateUnderReview": "date_under_review",
    "dateExecuted": "date_executed",
    "dateUnderReviewDetermination": "date_under_review_determination",
    "dateApprovedDetermination": "date_approved_determination",
}
# date + time pairs merged as "Y-m-d H:i" (08:00 when no time is given)
MERGED_DATES = {
    "datePlanned": ("timePlanned", "date_planned"),
    "dateRecorded": ("timeRecorded", "date_recorded"),
    "dateReleased": ("timeReleased", "date_released"),
}
FLAGS = {
    "notApprovedClient": "not_approved_client",
    "notApprovedProjectManager": "not_approved_project_manager",
    "notApprovedExternal": "not_approved_external",
    "notApprovedDetermination": "not_approved_determination",
}


# camelCase body key → amount column (double, default 0)
AMOUNTS = {
    "quotationAmount": "quotation_amount",
    "costAdjustment": "cost_adjustment",
    "awardAmount": "award_amount",
    "amountDetermination": "amount_determination",
}


class Answer:
    def __init__(self, status: int, body: Any, content_type: str = "application/json") -> None:
        self.status = status
        self.body = body
        self.content_type = content_type


def _validation(errors: dict[str, list[str]]) -> Answer:
    first = next(iter(errors.values()))[0]
    extra = sum(len(v) for v in errors.values()) - 1
    message = first + (f" (and {extra} more error{'s' if extra > 1 else ''})" if extra else "")
    return Answer(422, {"message": message, "errors": errors})


def _date(value: Any) -> datetime | None:
    if not value:
        return None
    return (
        datetime.fromisoformat(str(value)[:19].replace("T", " "))
        if len(str(value)) > 10
        else datetime.fromisoformat(str(value)[:10])
    )


def _validate(sb: SandboxState, body: dict[str, Any], creating: bool) -> tuple[dict[str, Any] | None, Answer | None]:
    db, lk = sb.db, sb.lookups
    errors: dict[str, list[str]] = {}
    if not db.live("opportunities", _int(body.get("opportunityId"))):
        errors["opportunityId"] = [
            "Het opportunity id veld is verplicht."
            if body.get("opportunityId") in (None, "")
            else "Het geselecteerde opportunity id is ongeldig."
        ]
    status_ids = {r["id"] for r in lk.tables["quotationRequestStatus"]}
    if _int(body.get("statusId")) not in status_ids:
        errors["statusId"] = [
            "Het geselecteerde status id is ongeldig." if body.get("statusId") else "Het status id veld is verplicht."
        ]
    action_ids = {a["id"] for a in lk.tables["opportunityActions"]}
    if creating and "opportunityActionCodeRef" not in body and _int(body.get("opportunityActionId")) not in action_ids:
        errors["opportunityActionId"] = ["Het geselecteerde opportunity action id is ongeldig."]
    for key in ("organisationOrCoachId", "projectManagerId", "externalPartyId"):
        if body.get(key) not in (None, "") and not db.get("contacts", _int(body.get(key))):
            errors[key] = [f"Het geselecteerde {key} is ongeldig."]
    for key in (*PLAIN_DATES, *MERGED_DATES, "quotationText"):
        if key in body and body[key] is not None and not isinstance(body[key], str):
            errors.setdefault(key, []).append(f"{key} moet een tekst zijn.")
    if errors:
        return None, _validation(errors)
    if any(k not in body for k in READ_WITHOUT_ISSET):
        return None, Answer(500, {"message": "Server Error"})
    return body, None


def _changes(body: dict[str, Any], updating: bool) -> dict[str, Any]:
    change: dict[str, Any] = {}
    for key, (time_key, col) in MERGED_DATES.items():
        value = body.get(key)
        if value:
            day = str(value)[:10]
            clock = str(body.get(time_key) or "08:00")[:5]
            change[col] = datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M")
        elif updating and key in body:
            change[col] = None
    for key, col in PLAIN_DATES.items():
        if key in body:
            value = body[key]
            if value:
                change[col] = _date(value)
            elif updating or key == "datePlannedAttempt1":
                change[col] = None
    for key, col in FLAGS.items():
        if key in body or not updating:
            change[col] = bool(body.get(key, False))
    if body.get("organisationOrCoachId") not in (None, ""):
        change["contact_id"] = _int(body["organisationOrCoachId"])
    elif updating and "organisationOrCoachId" in body:
        change["contact_id"] = None
    if "quotationText" in body:
        change["quotation_text"] = body["quotationText"]
    # amounts: the real controller's store() saves all four; its update() validates only quotationAmount,
    # costAdjustment and awardAmount (`amountDetermination` is commented out there), so on an update the
    # determined amount is silently ignored — reproduced
    amounts = AMOUNTS if not updating else {k: v for k, v in AMOUNTS.items() if k != "amountDetermination"}
    for key, col in amounts.items():
        if key in body and body[key] is not None:
            change[col] = float(str(body[key]).strip() or 0)
    return change


def _status_change(sb: SandboxState, action_id: int, status_id: int) -> dict[str, Any]:
    row = sb.lookups.by_id("quotationRequestStatus", status_id)
    if row["opportunityActionId"] == action_id:
        return {"status": row["codeRef"]}
    return {"status_id": status_id}  # a status of another action type: stored as sent


def create_quotation_request(sb: SandboxState, body: dict[str, Any], user_id: int) -> Answer:
    data, error = _validate(sb, body, creating=True)
    if error is not None or data is None:
        return error or Answer(500, {"message": "Server Error"})
    db, lk = sb.db, sb.lookups
    if "opportunityActionCodeRef" in data:
        try:
            action_id = lk.action_id(str(data["opportunityActionCodeRef"]))
        except KeyError:
            return Answer(500, {"message": "Server Error"})  # firstWhere(...)->id on null
    else:
        action_id = int(data["opportunityActionId"])
    now = sb.clock.now()
    with sb.write_lock:
        with db.transaction():
            db.acting_user = user_id
            default = lk.qr_status(lk.by_id("opportunityActions", action_id)["codeRef"], "default") or next(
                r for r in lk.tables["quotationRequestStatus"] if r["opportunityActionId"] == action_id
            )
            qid = db.insert(
                "quotation_requests",
                {
                    "opportunity_id": int(data["opportunityId"]),
                    "opportunity_action_id": action_id,
                    "status_id": default["id"],
                    "contact_id": None,
                    "created_by_id": user_id,
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                },
            )
            change = {**_changes(data, updating=False), **_status_change(sb, action_id, int(data["statusId"]))}
            apply_kansactie_write(db, lk, qid, change, now, created=True)
        row = db.tables["quotation_requests"][qid]
        try:
            connect_coach(db, sb.cooperation, row)
        except HoomAbort as exc:
            return Answer(exc.status, exc.body, exc.content_type)  # the kansactie stays
    return Answer(201, {"data": serializers.full_quotation_request(row, db, lk)})


def update_quotation_request(sb: SandboxState, qid: int, body: dict[str, Any], user_id: int) -> Answer:
    db, lk = sb.db, sb.lookups
    row = db.live("quotation_requests", qid)
    if row is None:
        return Answer(
            404, {"message": f"No query results for model [App\\Eco\\QuotationRequest\\QuotationRequest] {qid}"}
        )
    data, error = _validate(sb, body, creating=False)
    if error is not None or data is None:
        return error or Answer(500, {"message": "Server Error"})
    with sb.write_lock:
        db.acting_user = user_id
        change = {
            **_changes(data, updating=True),
            **_status_change(sb, row["opportunity_action_id"], int(data["statusId"])),
        }
        if "status_id" in change:
            with db.transaction():
                db.update("quotation_requests", qid, {"status_id": change.pop("status_id")})
                apply_kansactie_write(db, lk, qid, change)
        else:
            apply_kansactie_write(db, lk, qid, change)
    return Answer(200, {"data": serializers.full_quotation_request(db.tables["quotation_requests"][qid], db, lk)})


def make_hoomdossier(sb: SandboxState, contact_id: int, user_id: int) -> Answer:
    db = sb.db
    if db.live("contacts", contact_id) is None:
        return Answer(404, {"message": f"No query results for model [App\\Eco\\Contact\\Contact] {contact_id}"})
    with sb.write_lock:
        db.acting_user = user_id
        try:
            account = register_resident(db, sb.cooperation, contact_id, sb.rng)
        except HoomValidation as exc:
            return Answer(422, exc.body())
        except HoomAbort as exc:
            return Answer(exc.status, exc.body, exc.content_type)
    return Answer(200, account)


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def create_opportunities_from_specs(
    sb: SandboxState, housing_file_id: int, campaign_id: int, spec_ids: list[int], user_id: int
) -> Answer:
    """`POST /api/housing-file/{id}/campaign/{campaign}/create-opportunities` (§1.9): per spec one intake
    (closed_with_opportunity, source housing_file), one kans (active, quotation_text = external_hoom_name),
    and the spec's status becomes opportunity_created."""
    db, lk = sb.db, sb.lookups
    hf = db.live("housing_files", housing_file_id)
    if hf is None or db.live("campaigns", campaign_id) is None:
        return Answer(404, {"message": "No query results for model"})
    address = db.tables["addresses"][hf["address_id"]]
    created: list[int] = []
    now = sb.clock.now()
    with sb.write_lock, db.transaction():
        db.acting_user = user_id
        for sid in spec_ids:
            spec = db.live("housing_file_specifications", sid)
            if spec is None or spec["housing_file_id"] != housing_file_id:
                continue
            measure = lk.by_id("measures", spec["measure_id"])
            iid = db.insert(
                "intakes",
                {
                    "external_code": None,
                    "contact_id": address["contact_id"],
                    "address_id": address["id"],
                    "intake_status_id": lk.by_code("intakeStatuses", "closed_with_opportunity")["id"],
                    "campaign_id": campaign_id,
                    "note": "",
                    "source_ids": [lk.by_code("intakeSources", "housing_file")["id"]],
                    "reason_ids": [],
                    "measure_category_ids": [measure["measureCategoryId"]],
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                },
            )
            oid = db.insert(
                "opportunities",
                {
                    "intake_id": iid,
                    "measure_category_id": measure["measureCategoryId"],
                    "measure_ids": [measure["id"]],
                    "status_id": lk.by_code("opportunityStatus", "active")["id"],
                    "quotation_text": spec.get("external_hoom_name") or "",
                    "housing_file_specification_id": sid,
                    "desired_date": None,
                    "amount": 0,
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                },
            )
            db.update("housing_file_specifications", sid, {"status_id": 5})  # opportunity_created
            created.append(oid)
    return Answer(200, {"data": created})
