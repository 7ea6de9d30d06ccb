"""Econobis' two outbound calls to Hoomdossier (contracts/econobis.md §2): register a resident and connect a
coach. Guzzle with no retries and no timeout of its own; Bearer `cooperations.hoom_key`; Hoom's status and
body are passed straight through to Econobis' caller (`abort(status, body)`).

The base URLs are the cooperation's settings, so tests point them at the hub or at the Hoomdossier sandbox."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

import requests

from connectors.econobis.sandbox.db import SandboxDB


@dataclass
class Cooperation:
    """The single `cooperations` row's Hoom settings (§1.10) and `cooperation_hoom_campaigns` (§1.4)."""

    # `.test` in hoom_link = Econobis' own test shortcut: no HTTP, a random account id 1–3000.
    hoom_link: str | None = "https://hoomdossier.test/api/v1/register"
    hoom_connect_coach_link: str | None = None
    hoom_key: str = "sandbox-hoom-key"
    hoom_group_id: int | None = None
    # (campaign_id, measure_id or None)
    hoom_campaigns: list[tuple[int, int | None]] = field(default_factory=list)
    # Outbound timeout: Guzzle has none; a finite one keeps a broken test from hanging forever.
    timeout_seconds: float = 300.0
    calls: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "hoom_link": self.hoom_link,
            "hoom_connect_coach_link": self.hoom_connect_coach_link,
            "hoom_campaigns": [{"campaign_id": c, "measure_id": m} for c, m in self.hoom_campaigns],
            "outbound_calls": len(self.calls),
        }


class HoomAbort(Exception):
    """`abort(<Hoom status>, <Hoom body>)`: Econobis answers its caller with Hoom's status and body."""

    def __init__(self, status: int, body: str, content_type: str = "application/json") -> None:
        super().__init__(f"Hoomdossier answered {status}")
        self.status = status
        self.body = body
        self.content_type = content_type


class HoomValidation(Exception):
    """Laravel ValidationException: 422 {"message": …, "errors": {"econobis": [...]}}."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(messages[0])
        self.messages = messages

    def body(self) -> dict[str, Any]:
        extra = len(self.messages) - 1
        message = self.messages[0] + (f" (and {extra} more error{'s' if extra > 1 else ''})" if extra else "")
        return {"message": message, "errors": {"econobis": self.messages}}


def _post(coop: Cooperation, url: str, body: dict[str, Any]) -> requests.Response:
    coop.calls.append({"url": url, "body": body})
    try:
        return requests.post(
            url,
            data=json.dumps(body),
            headers={
                "Authorization": f"Bearer {coop.hoom_key}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            timeout=coop.timeout_seconds,
        )
    except requests.RequestException as exc:
        # No response: Econobis aborts with the exception code (0 for a connection error) → a 500.
        raise HoomAbort(500, json.dumps({"message": "Server Error"})) from exc


def register_payload(db: SandboxDB, contact: dict[str, Any]) -> dict[str, Any]:
    """The body of §2.1, from the contact's primary rows (missing values become "")."""
    address = db.primary("addresses", contact["id"]) or {}
    email = db.primary("email_addresses", contact["id"]) or {}
    phone = db.primary("phone_numbers", contact["id"]) or {}
    files = [h for h in db.where("housing_files", address_id=address.get("id"))] if address else []
    residents = files[-1].get("number_of_residents") if files else 2
    last = " ".join(p for p in (contact.get("last_name_prefix"), contact.get("last_name")) if p)
    return {
        "extra": {"contact_id": contact["id"]},
        "email": email.get("email", ""),
        "first_name": contact.get("first_name") or "",
        "last_name": last,
        "postal_code": address.get("postal_code", ""),
        "number": address.get("number", ""),
        "house_number_extension": address.get("addition") or "",
        "street": address.get("street", ""),
        "city": address.get("city", ""),
        "phone_number": phone.get("number", ""),
        "tool_questions": {"resident-count": residents if residents is not None else 2},
        "roles": ["resident"],
    }


def validate_register(db: SandboxDB, contact: dict[str, Any]) -> None:
    """HoomdossierHelper's pre-validation; raises HoomValidation with Econobis' Dutch messages."""
    errors: list[str] = []
    if contact.get("hoom_account_id"):
        errors.append("Contact heeft al een Hoomdossier account.")
    email = db.primary("email_addresses", contact["id"])
    if not email:
        errors.append("Contact heeft geen primair e-mailadres.")
    if contact.get("type_id") != "person":
        errors.append("Hoomdossier kan alleen voor een persoon worden aangemaakt.")
    elif not contact.get("first_name") or not contact.get("last_name"):
        errors.append("Contact heeft geen voornaam en/of achternaam.")
    address = db.primary("addresses", contact["id"])
    if not address or not all(address.get(k) for k in ("postal_code", "street", "number", "city")):
        errors.append("Contact heeft geen volledig primair adres (postcode, straat, huisnummer en plaats).")
    if email:
        for other in db.where("email_addresses", primary=True):
            if other["contact_id"] == contact["id"] or other["email"].lower() != email["email"].lower():
                continue
            owner = db.live("contacts", other["contact_id"])
            if owner and owner.get("type_id") == "person" and owner.get("hoom_account_id"):
                errors.append(f"Er is al een ander contact met e-mailadres {email['email']} en een Hoomdossier.")
                break
    if errors:
        raise HoomValidation(errors)


def register_resident(db: SandboxDB, coop: Cooperation, contact_id: int, rng: random.Random) -> int:
    """§2.1 make(): validate, POST to hoom_link, store the account id. Raises HoomValidation / HoomAbort."""
    contact = db.tables["contacts"][contact_id]
    validate_register(db, contact)
    if not coop.hoom_link:
        raise HoomAbort(500, json.dumps({"message": "Server Error"}))
    payload = register_payload(db, contact)
    if ".test" in coop.hoom_link:
        coop.calls.append({"url": coop.hoom_link, "body": payload, "shortcut": True})
        account_id = rng.randint(1, 3000)
    else:
        resp = _post(coop, coop.hoom_link, payload)
        if resp.status_code >= 400:
            raise HoomAbort(resp.status_code, resp.text, resp.headers.get("content-type", "application/json"))
        try:
            account_id = int(resp.json()["account_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise HoomAbort(500, json.dumps({"message": "Server Error"})) from exc
    db.update("contacts", contact_id, {"hoom_account_id": account_id, "hoom_account_created_at": db.now()})
    return account_id


def connect_coach(db: SandboxDB, coop: Cooperation, quotation_request: dict[str, Any]) -> bool:
    """§2.2: POST the coach link when every precondition holds; a silent no-op otherwise. Returns whether a
    call was made. Raises HoomAbort on a Hoom error (the kansactie stays saved: no surrounding transaction)."""
    coach = db.live("contacts", quotation_request.get("contact_id"))
    if not coach or coach.get("inspection_person_type_id") != "coach":
        return False
    opp = db.get("opportunities", quotation_request["opportunity_id"]) or {}
    intake = db.get("intakes", opp.get("intake_id")) or {}
    resident = db.get("contacts", intake.get("contact_id")) or {}
    if not coop.hoom_connect_coach_link or not coach.get("hoom_account_id") or not resident.get("hoom_account_id"):
        return False
    if intake.get("campaign_id") not in {c for c, _ in coop.hoom_campaigns}:
        return False
    body = {"building_coach_statuses": {"coach_contact_id": coach["id"], "resident_contact_id": resident["id"]}}
    resp = _post(coop, coop.hoom_connect_coach_link, body)
    if resp.status_code >= 400:
        raise HoomAbort(resp.status_code, resp.text, resp.headers.get("content-type", "application/json"))
    return True
