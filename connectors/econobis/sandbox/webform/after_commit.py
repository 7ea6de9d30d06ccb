"""What the webform does after its transaction committed (§4.6): the task on the contact, Hoomdossier creation
and `kansactie_update_afspraak_status`. An exception here is not logged: a plain 500, the data stays."""

from __future__ import annotations

from datetime import date, timedelta

from connectors.econobis.sandbox.outbound import HoomAbort, HoomValidation, register_resident
from connectors.econobis.sandbox.status_engine import apply_kansactie_write
from connectors.econobis.sandbox.webform.call import CHECK_TASK_TYPE, Call, Row
from connectors.econobis.sandbox.webform.inputs import FormData

VISIT_STATUS_IDS = {"1": 7, "2": 8, "3": 9, "4": 14}  # kansactie_update_afspraak_status, by numeric id


def task_to_contact(call: Call, data: FormData, contact: Row) -> None:
    wf = call.webform
    type_id = int(data.task_type_id) if data.task_type_id.isdigit() else CHECK_TASK_TYPE + call.lk.id_shift
    due: date | None = None
    if data.task_days.isdigit():
        due = max(call.now().date() + timedelta(days=int(data.task_days)), call.now().date() + timedelta(days=1))
        while due.isoweekday() > 5:
            due += timedelta(days=1)
    with call.db.transaction():
        tid = call.db.insert(
            "tasks",
            {
                "type_id": type_id,
                "note": f"Webformulier {wf.get('name')}.\n\n{data.task_note}".strip(),
                "contact_id": contact["id"],
                "intake_id": call.intake["id"] if call.intake else None,
                "opportunity_id": call.out.opportunity_ids[0] if len(call.out.opportunity_ids) == 1 else None,
                "housing_file_id": call.housing_file["id"] if call.housing_file else None,
                "responsible_user_id": wf.get("responsible_user_id"),
                "date_planned_finish": due,
                "finished": False,
                "created_at": call.now(),
                "deleted_at": None,
            },
        )
    call.log(f"Taak met id {tid} aangemaakt.")


def create_hoomdossier(call: Call, contact: Row) -> None:
    """Register the contact at Hoomdossier; Hoom's refusal is only logged, with a check task."""
    try:
        account = register_resident(call.db, call.sb.cooperation, contact["id"], call.sb.rng)
        call.log(f"Hoomdossier aangemaakt voor contact {contact['id']} (account {account}).")
    except (HoomValidation, HoomAbort) as exc:
        call.log(f"Fout bij aanmaken hoomdossier contact: {exc}")
        call.check_task(contact, f"Fout bij aanmaken hoomdossier contact: {exc}")


def update_latest_visit_status(call: Call, data: FormData) -> None:
    db, lk = call.db, call.lk
    if call.contact is None:
        raise AttributeError('Attempt to read property "id" on null')
    contact_id = call.contact["id"]
    visit_action = lk.action_id("visit")
    candidates = []
    for q in db.where("quotation_requests", opportunity_action_id=visit_action):
        opp = db.get("opportunities", q["opportunity_id"]) or {}
        intake = db.get("intakes", opp.get("intake_id")) or {}
        if intake.get("contact_id") != contact_id:
            continue
        if data.visit_coach and str(q.get("contact_id")) != data.visit_coach:
            continue
        if data.visit_campaign and str(intake.get("campaign_id")) != data.visit_campaign:
            continue
        candidates.append(q)
    if not candidates:
        call.log("Geen kansactie bezoek gevonden voor contact, coach en campagne, status kan niet worden bijgewerkt.")
        return
    latest = max(candidates, key=lambda q: (q["created_at"], q["id"]))
    old = lk.by_id("quotationRequestStatus", latest["status_id"])["name"]
    raw_id = VISIT_STATUS_IDS.get(data.visit_status)
    if raw_id is None:
        return
    # status_id is set by NUMBER (fresh-install ids): on an instance with other ids this is another status
    # or none at all — then `status()->first()->name` fails after the commit: a plain 500.
    row = next((r for r in lk.tables["quotationRequestStatus"] if r["id"] == raw_id), None)
    if row is None:
        raise AttributeError('Attempt to read property "name" on null')
    if row["opportunityActionId"] == visit_action:
        apply_kansactie_write(db, lk, latest["id"], {"status": row["codeRef"]}, call.now())
    else:  # another action type's status: Econobis stores it anyway
        db.update("quotation_requests", latest["id"], {"status_id": raw_id})
    call.log(
        f"Kansactie bezoek gevonden voor contact, coach en campagne. Status bijgewerkt van {old} naar {row['name']}"
    )
