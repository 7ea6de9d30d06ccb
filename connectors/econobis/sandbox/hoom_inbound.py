"""The seven inbound Hoomdossier endpoints of the sandbox Econobis (contracts/econobis.md §3):
`POST /api/{apiKey}/hoomdossier/{woonplan|afspraak|gebruik|woning-status|scan-status|pdf|delete}`.

Reproduced: the API key in the path (webform rows with an active date window), the per-webform limit, the
`hoom_link` on/off switch, raw-JSON bodies whatever the Content-Type, `account_related` validation and its
housing-file side effects on EVERY endpoint, one transaction per call, the Dutch log-line answers, and each
endpoint's repeat behaviour (§3.3): woning-status 404 on repeat, duplicate PDFs, delete's 404/412 and phantom
housing file, 404 for a falsy but 500 for a missing `account_related` / `appointment_date`."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from connectors.econobis.sandbox.hoom_links import hoom_value
from connectors.econobis.sandbox.state import SandboxState
from connectors.econobis.sandbox.status_engine import apply_kansactie_write
from connectors.econobis.sandbox.webforms import (
    LOGGED,
    UNEXPECTED,
    ApiError,
    PhpError,
    check_max_requests,
    find_active,
    log_failure,
)

ENDPOINTS = {
    "gebruik": "EndPointGebruik",
    "woonplan": "EndPointWoonplan",
    "afspraak": "EndPointAfspraak",
    "woning-status": "EndPointWoningStatus",
    "scan-status": "EndPointScanStatus",
    "pdf": "EndPointPdf",
    "delete": "EndPointDeleteHoomDossier",
}


class HoomCall:
    """One call of an endpoint: the shared part (EndPointHoomDossierController), then the endpoint's own."""

    def __init__(self, sb: SandboxState, api_key: str, endpoint: str, body: bytes) -> None:
        self.sb = sb
        self.db = sb.db
        self.lk = sb.lookups
        self.api_key = api_key
        self.endpoint = endpoint
        self.body = body
        self.logs: list[str] = []
        self.contact: dict[str, Any] = {}
        self.housing_file: dict[str, Any] = {}

    def log(self, text: str) -> None:
        self.logs.append(text)

    def run(self) -> tuple[int, list[str]]:
        self.log(f"Start {ENDPOINTS[self.endpoint]}")
        try:
            with self.db.transaction():
                self._common()
                getattr(self, "_" + self.endpoint.replace("-", "_"))()
        except (ApiError, *UNEXPECTED) as exc:
            return log_failure(self.logs, exc), self.logs
        self.log("Aanroep succesvol afgerond.")
        self.log(LOGGED)
        return 200, self.logs

    # --- shared part (EndPointHoomDossierController) ------------------------------------------------------

    def _common(self) -> None:
        webform = find_active(self.db, self.api_key, self.sb.clock.now().date())
        if webform is None:
            self.log(f"Endpoint configuratie met code {self.api_key} is niet gevonden.")
            raise ApiError("Endpoint not found", 404)
        self.log(f"Endpoint met id {webform['id']} gevonden bij code {self.api_key}.")
        check_max_requests(self.db, webform, self.sb.clock.now())
        if not self.sb.cooperation.hoom_link:
            raise ApiError("Cooperation doesn't have Hoomdossier synchronisation", 404)
        self.db.acting_user = webform.get("responsible_user_id")
        self.log(f"Verantwoordelijke gebruiker : {webform.get('responsible_user_id')}")
        try:
            payload = json.loads(self.body) if self.body.strip() else None
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not payload or not isinstance(payload, dict):
            raise ApiError("No payload found", 404)
        self.payload = payload
        if "account_related" not in payload:
            raise PhpError('Undefined array key "account_related"')  # a PHP warning → 500
        related = payload["account_related"]
        if not related or not isinstance(related, dict):
            raise ApiError("No payload found", 404)
        building_id, account_id, contact_id = (
            related.get("building_id"),
            related.get("account_id"),
            related.get("contact_id"),
        )
        self.log(f"Building id: {building_id if building_id is not None else ''}")
        self.log(f"User id: {related.get('user_id', '')}")
        self.log(f"Account id: {account_id if account_id is not None else ''}")
        self.log(f"Contact id: {contact_id if contact_id is not None else ''}")
        if not building_id:
            raise ApiError("Building_id missing", 404)
        if not contact_id:
            raise ApiError("Contact_id missing", 404)
        contact = self.db.live("contacts", _int(contact_id))
        if contact is None:
            raise ApiError(f"Contact {contact_id} not found or removed in Econobis", 404)
        if not account_id:
            raise ApiError("Account_id missing", 404)
        if str(account_id) != str(contact.get("hoom_account_id") or ""):
            raise ApiError(
                f"Mismatch account_id {account_id} (Hoom account id for contact in Econobis: "
                f"{contact.get('hoom_account_id') or 'empty'})",
                404,
            )
        self.contact = contact
        self.building_id = building_id
        # 1. any live housing file with this building id — NOT checked to belong to this contact
        found = self.db.where("housing_files", hoom_building_id=_int(building_id))
        if found:
            self.housing_file = found[0]
            self.log(f"Woningdossier {found[0]['id']} gevonden bij building_id {building_id}")
            return
        address = self.db.primary("addresses", contact["id"])
        if address is None or address.get("deleted_at") is not None:
            raise ApiError(
                f"Geen woningdossier gevonden voor contact {contact['id']} {contact['full_name']}. Geen nieuwe "
                "woningdossier aangemaakt ivm ontbreken primair adres."
            )
        files = self.db.where("housing_files", address_id=address["id"])
        if files:
            hf = files[-1]
            self.db.update("housing_files", hf["id"], {"hoom_building_id": _int(building_id)})
            self.housing_file = hf
            self.log(
                f"Woningdossier {hf['id']} gevonden voor contact {contact['id']} {contact['full_name']}. "
                f"Koppeling met building id {building_id} vastgelegd."
            )
            return
        now = self.sb.clock.now()
        hid = self.db.insert(
            "housing_files",
            {
                "address_id": address["id"],
                "building_type_id": None,
                "build_year": None,
                "surface": None,
                "roof_type_id": None,
                "energy_label_id": None,
                "floors": None,
                "energy_label_status_id": None,
                "is_monument": "2",
                "is_house_for_sale": "2",
                "number_of_residents": 0,
                "revenue_solar_panels": 0,
                "hoom_building_id": _int(building_id),
                "remark": "",
                "remark_coach": "",
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
            },
        )
        self.housing_file = self.db.tables["housing_files"][hid]
        self.log(f"Nieuw woningdossier {hid} aangemaakt voor contact {contact['id']} {contact['full_name']}")

    # --- helpers ------------------------------------------------------------------------------------------

    def _hoom_campaign_visits(
        self, status_codes: tuple[str, ...] | None = None, coach_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Visit kansacties of this resident whose intake lies in a cooperation Hoom campaign (and has the
        configured measure, when one is set), newest (highest id) first."""
        visit = self.lk.action_id("visit")
        campaigns = self.sb.cooperation.hoom_campaigns
        out = []
        for q in self.db.where("quotation_requests", opportunity_action_id=visit):
            if coach_id is not None and q.get("contact_id") != coach_id:
                continue
            opp = self.db.live("opportunities", q["opportunity_id"])
            intake = self.db.live("intakes", (opp or {}).get("intake_id"))
            if not opp or not intake or intake["contact_id"] != self.contact["id"]:
                continue
            if not any(
                intake.get("campaign_id") == c and (m is None or m in opp.get("measure_ids", [])) for c, m in campaigns
            ):
                continue
            code = self.lk.by_id("quotationRequestStatus", q["status_id"])["codeRef"]
            if status_codes is None or code in status_codes:
                out.append(q)
        return sorted(out, key=lambda q: q["id"], reverse=True)

    # --- endpoints ----------------------------------------------------------------------------------------

    def _gebruik(self) -> None:
        change: dict[str, Any] = {}
        for block in ("current", "new"):  # `new` after `current`: new wins
            answers = self.payload.get(block) or {}
            if not isinstance(answers, dict):
                continue
            for short, entry in answers.items():
                links = self.db.where("housing_file_hoom_links", external_hoom_short_name=short)
                if not links:
                    self.db.insert(
                        "housing_file_hoom_links",
                        {
                            "external_hoom_short_name": short,
                            "econobis_field_name": short.replace("-", "_"),
                            "housing_file_data_type": "B",
                            "label": "?",
                            "import_from_hoom": False,
                            "visible_in_econobis": False,
                        },
                    )
                    self.db.insert(
                        "housing_file_logs",
                        {
                            "housing_file_id": self.housing_file["id"],
                            "message_text": f"Onbekende hoom short name {short}",
                            "message_type": "gebruik",
                            "is_error": True,
                        },
                    )
                    self.log(f"Onbekende hoom short name {short}, link toegevoegd (niet importeren).")
                    continue
                link = links[0]
                if not link["import_from_hoom"]:
                    continue
                answer = entry.get("answers") if isinstance(entry, dict) else None
                if isinstance(answer, list):
                    answer = answer[0] if answer else None
                value = answer.get("value") if isinstance(answer, dict) else None
                col = link["econobis_field_name"]
                kind = link["housing_file_data_type"]
                if kind == "W":
                    existing = self.db.where(
                        "housing_file_housing_statuses",
                        housing_file_id=self.housing_file["id"],
                        housing_file_hoom_links_id=link["id"],
                    )
                    if existing:
                        self.db.update("housing_file_housing_statuses", existing[0]["id"], {"status": value})
                    else:
                        self.db.insert(
                            "housing_file_housing_statuses",
                            {
                                "housing_file_id": self.housing_file["id"],
                                "housing_file_hoom_links_id": link["id"],
                                "status": value,
                                "number_or_m2": None,
                                "deleted_at": None,
                            },
                        )
                    continue
                change[col] = hoom_value(col, value, self.lk.id_shift)
        dirty = {k: v for k, v in change.items() if self.housing_file.get(k) != v}
        if dirty:
            self.db.update("housing_files", self.housing_file["id"], dirty)
            self.log(f"Woningdossier {self.housing_file['id']} bijgewerkt: {', '.join(sorted(dirty))}.")

    def _woonplan(self) -> None:
        advices = self.payload.get("user_action_plan_advices")
        hf = self.housing_file
        if advices is None:
            self.log("Geen user_action_plan_advices meegegeven.")
            return
        if isinstance(advices, list):
            items = [(str(i), a) for i, a in enumerate(advices) if i]  # index 0 counts as an empty key: dropped
        elif isinstance(advices, dict):
            items = [(k, a) for k, a in advices.items() if k]
        else:
            items = []
        other = next(m for m in self.lk.tables["measures"] if m["externalHoomId"] == "overig-uit-hoomdossier")
        kept: set[int] = set()
        now = self.sb.clock.now()
        for _key, advice in items:
            if not isinstance(advice, dict) or "measure_id" not in advice:
                raise PhpError('Undefined array key "measure_id"')
            measure = next(
                # PHP `==`: the string "4" equals the number 4
                (m for m in self.lk.tables["measures"] if str(m["externalHoomId"]) == str(advice["measure_id"])),
                other,
            )
            answer = advice.get("surface") if advice.get("surface") is not None else advice.get("count")
            values = {
                "answer": None if answer is None else str(answer),
                "external_hoom_name": advice.get("name"),
                "type_of_execution": "Z" if advice.get("execute_self") else "L",
                "savings_gas": advice.get("savings_gas") or 0,
                "savings_electricity": advice.get("savings_electricity") or 0,
                "co2_savings": advice.get("co2_savings") or 0,
            }
            existing = self.db.where("housing_file_specifications", housing_file_id=hf["id"], measure_id=measure["id"])
            if existing:
                self.db.update("housing_file_specifications", existing[0]["id"], values)
                kept.add(existing[0]["id"])
            else:
                sid = self.db.insert(
                    "housing_file_specifications",
                    {
                        "housing_file_id": hf["id"],
                        "measure_id": measure["id"],
                        "status_id": 1,  # desirable
                        "campaign_id": None,
                        "created_at": now,
                        "updated_at": now,
                        "deleted_at": None,
                        **values,
                    },
                )
                kept.add(sid)
            self.log(f"Maatregel {measure['name']} verwerkt.")
        inactive = self.lk.by_code("opportunityStatus", "inactive")["id"]
        deleted_in_hd = self.lk.by_code("opportunityStatus", "deleted_in_hd")["id"]
        for spec in self.db.where("housing_file_specifications", housing_file_id=hf["id"]):
            if spec["id"] in kept:
                continue
            for opp in self.db.where("opportunities", housing_file_specification_id=spec["id"]):
                if opp["status_id"] == inactive:
                    self.db.soft_delete("opportunities", opp["id"])  # even with kansacties: the error is ignored
                else:
                    self.db.update("opportunities", opp["id"], {"status_id": deleted_in_hd})
            if not self.db.where("opportunities", housing_file_specification_id=spec["id"]):
                self.db.soft_delete("housing_file_specifications", spec["id"])
        comments = self.payload.get("user_action_plan_advice_comments")
        if isinstance(comments, dict):
            self.db.update(
                "housing_files",
                hf["id"],
                {"remark": comments.get("resident") or "", "remark_coach": comments.get("coach") or ""},
            )

    def _afspraak(self) -> None:
        if "appointment_date" not in self.payload:
            raise PhpError('Undefined array key "appointment_date"')
        when = self.payload["appointment_date"]
        if not when:
            raise ApiError("Geen afspraakdatum meegegeven", 404)
        coaches = self.payload.get("coaches")
        if not coaches or not isinstance(coaches, list):
            raise ApiError("Geen coaches meegegeven", 404)
        first = coaches[0] if isinstance(coaches[0], dict) else {}
        coach = self.db.live("contacts", _int(first.get("contact_id")))
        if coach is None or coach.get("inspection_person_type_id") != "coach":
            raise ApiError(f"Coach met contact id {first.get('contact_id')} niet gevonden in Econobis", 404)
        visits = self._hoom_campaign_visits(coach_id=coach["id"])
        if not visits:
            raise ApiError("Afspraak niet gevonden in Econobis", 404)
        planned = _carbon(str(when))
        status, kans = apply_kansactie_write(self.db, self.lk, visits[0]["id"], {"date_planned": planned})
        self.log(f"Afspraak {planned} vastgelegd bij kansactie {visits[0]['id']} (status {status}, kans {kans}).")

    def _woning_status(self) -> None:
        status = self.payload.get("status")
        if not isinstance(status, dict) or not status.get("short"):
            raise ApiError("Geen status meegegeven", 404)
        visits = self._hoom_campaign_visits(("made",)) or self._hoom_campaign_visits(("default",))
        if not visits:
            raise ApiError("Geen kansactie bezoek (afspraak gemaakt of open) gevonden in Econobis", 404)
        visit = visits[0]
        if status["short"] != "executed":
            self.log(f"Woningstatus {status['short']} ontvangen, geen actie.")
            return
        today = self.sb.clock.now().replace(hour=0, minute=0, second=0)
        change: dict[str, Any] = {"status": "done"}
        if self.lk.by_id("quotationRequestStatus", visit["status_id"])["codeRef"] == "default":
            change["date_planned"] = today
        if not visit.get("date_recorded"):
            change["date_recorded"] = today
        final, kans = apply_kansactie_write(self.db, self.lk, visit["id"], change)
        self.log(f"Kansactie bezoek {visit['id']} uitgevoerd (status {final}, kans {kans}).")

    def _scan_status(self) -> None:
        self.log(f"Scan status ontvangen: {json.dumps(self.payload.get('scan_status', self.payload.get('status')))}")

    def _pdf(self) -> None:
        pdf = self.payload.get("pdf")
        contents = pdf.get("contents") if isinstance(pdf, dict) else None
        if not contents:
            raise ApiError("Geen pdf meegegeven", 404)
        try:
            size = len(base64.b64decode(str(contents), validate=False))
        except (binascii.Error, ValueError):
            raise PhpError("base64_decode failed") from None
        hf = self.housing_file
        now = self.sb.clock.now()
        did = self.db.insert(
            "documents",
            {
                "description": "Hoomdossier rapportage",
                "filename": f"Hoomdossier-rapportage-{hf['id']}.pdf",
                "file_path_and_name": f"general/{now.year}/{uuid.uuid4()}.pdf",
                "document_type": "upload",
                "document_group": "general",
                "document_created_from": "housingfile",
                "contact_id": self.contact["id"],
                "housing_file_id": hf["id"],
                "size": size,
                "created_at": now,
                "deleted_at": None,
            },
        )
        self.log(f"Document {did} aangemaakt.")

    def _delete(self) -> None:
        hf = self.housing_file
        inactive = self.lk.by_code("opportunityStatus", "inactive")["id"]
        specs = self.db.where("housing_file_specifications", housing_file_id=hf["id"])
        for spec in specs:
            if any(
                o["status_id"] != inactive
                for o in self.db.where("opportunities", housing_file_specification_id=spec["id"])
            ):
                raise ApiError(
                    "Woningdossier heeft kansen die in behandeling zijn. Woningdossier kan niet verwijderd worden.",
                    404,
                )
        errors: list[str] = []
        for spec in specs:
            for opp in self.db.where("opportunities", housing_file_specification_id=spec["id"]):
                if any(q.get("deleted_at") is None for q in self.db.kansacties_of(opp["id"])):
                    errors.append(f"Kans {opp['id']} heeft nog kansacties.")
                else:
                    self.db.soft_delete("opportunities", opp["id"])
            self.db.soft_delete("housing_file_specifications", spec["id"])
        for task in self.db.where("tasks", housing_file_id=hf["id"]):
            self.db.soft_delete("tasks", task["id"])
        for doc in self.db.where("documents", housing_file_id=hf["id"]):
            self.db.update("documents", doc["id"], {"housing_file_id": None})
        if errors:
            raise ApiError(";".join(errors), 412)
        self.db.soft_delete("housing_files", hf["id"])
        self.log(f"Woningdossier {hf['id']} verwijderd.")


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _carbon(value: str) -> datetime:
    """Carbon::parse, stored as the wall-clock part WITHOUT converting an offset to Europe/Amsterdam."""
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=None)
    except ValueError:
        raise PhpError(f"Could not parse '{value}': Failed to parse time string") from None


def run_hoom_endpoint(sb: SandboxState, api_key: str, endpoint: str, body: bytes) -> tuple[int, list[str]]:
    with sb.write_lock:
        return HoomCall(sb, api_key, endpoint, body).run()
