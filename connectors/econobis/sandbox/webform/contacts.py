"""Contact matching and creation of the webform (§4.4): which contact a call is about (the NC, UPC, NET, NAT,
NCT, CCT, NCG, BCB table) and the contact, address, e-mail, phone, note and check task it adds or updates."""

from __future__ import annotations

from typing import Any

from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.seed import person_full_name
from connectors.econobis.sandbox.webform.call import Call, Row
from connectors.econobis.sandbox.webform.inputs import FormData
from connectors.econobis.sandbox.webforms import ApiError
from hub.sandbox.php import php_truthy

CHECK_ACTIONS = frozenset({"NAT", "NET", "BCB", "CCT", "NCG", "NCT"})


def update_or_create_contact(call: Call, data: FormData) -> None:
    """Match, then act on the match; sets the call's contact, its action and (when known) its address."""
    call.log(f"Eigenaar contact (default webformulier) : {call.webform.get('responsible_user_id')}")
    call.log(f"Forceer nieuw contact : {data.force_new_contact}")
    action, contact = match(call.db, data)
    call.action = action
    call.log(f"Actie: {action}")
    if contact is not None:
        call.log(f"Actie bij contact: {contact['id']}")
    if contact is None:
        contact = _add_contact(call, data)
        if action in CHECK_ACTIONS:
            call.check_task(contact, f"Nieuw contact ({action}) aangemaakt. Controleer contactgegevens")
    elif action in ("UPC", "BCB"):
        _update_contact(call, contact, data)
        call.address = _address_of(call, contact, data)
        if action == "BCB":
            call.check_task(contact, f"Contact 'bewoner' {contact['full_name']} bijgewerkt op adres 'bewoner'.")
    elif action == "NAT":
        call.address = _add_address(call, contact, data)
        _add_phone(call, contact, data)
        _add_note(call, contact, data)
        call.check_task(contact, f"Nieuw adres toegevoegd aan contact {contact['full_name']}.")
    elif action == "NET":
        _add_email(call, contact, data)
        _add_phone(call, contact, data)
        _add_note(call, contact, data)
        call.address = _address_of(call, contact, data)
        call.check_task(contact, f"Nieuw e-mailadres {data.email} toegevoegd aan contact.")
    elif action == "CCT":
        call.check_task(
            contact, f"Gegevens contact met emailadres {data.email} gevonden maar zonder goede match op NAW."
        )
    call.contact = contact
    call.out.contact_id = contact["id"]


# --- matching -----------------------------------------------------------------------------------------------


def match(db: SandboxDB, data: FormData) -> tuple[str, Row | None]:
    """The matching table's action and the contact it acts on (None: a new contact is made)."""
    kind = "organisation" if data.organisation_name else "person"
    email = data.email
    if data.force_new_contact == "1":
        return "NCG", None
    if data.number:
        found = [c for c in db.where("contacts") if f"C{c['created_at'].year}-{c['id']}" == data.number]
        if len(found) != 1:
            raise ApiError(f"Contact met nummer {data.number} niet (eenduidig) gevonden.")
        return "UPC", found[0]
    pc, number, addition = data.postal_code, data.address_number, data.addition
    if pc and number:
        at = _contacts_at(db, kind, pc, number, addition)
        if not at:
            by_email = _contacts_with_email(db, email, kind)
            if by_email:
                return "NAT", by_email[0]
            return "NC", None
        if kind == "person" and "bewoner" in (at[0].get("last_name") or "").lower():
            return "BCB", at[0]
        owners = _contacts_with_email(db, email)
        with_email = [c for c in at if c in owners]
        if not with_email:
            hit = _name_match(data, at, retry=True)
            if hit is not None:
                return ("NET" if email else "UPC"), hit
            return "NCT", None
        hit = _name_match(data, with_email, retry=True)
        if hit is not None:
            return "UPC", hit
        return "NCT", None
    persons = _contacts_with_email(db, email, "person")
    named = [
        c
        for c in persons
        if (c.get("last_name") or "").lower() == data.last_name.lower()
        and (_only_last_name(data) or (c.get("first_name") or "").lower() == data.first_name.lower())
    ]
    if email and data.last_name and named:
        return "UPC", named[0]
    if persons:
        return "CCT", persons[0]
    return "NC", None


def _contacts_with_email(db: SandboxDB, email: str, kind: str | None = None) -> list[Row]:
    if not email:
        return []
    owners = []
    for e in db.where("email_addresses"):
        if e["email"].lower() == email.lower():
            c = db.live("contacts", e["contact_id"])
            if c is not None and (kind is None or c["type_id"] == kind) and c not in owners:
                owners.append(c)
    return sorted(owners, key=lambda c: c["id"])


def _contacts_at(db: SandboxDB, kind: str, pc: str, number: int, addition: str) -> list[Row]:
    out: dict[int, Row] = {}
    for a in db.where("addresses", number=number):
        if a["postal_code"].upper() == pc and (a.get("addition") or "").lower() == addition.lower():
            c = db.live("contacts", a["contact_id"])
            if c is not None and c["type_id"] == kind:
                out[c["id"]] = c
    return [out[k] for k in sorted(out)]


def _name_match(data: FormData, pool: list[Row], retry: bool) -> Row | None:
    def eq(a: Any, b: str) -> bool:
        return (a or "").lower() == b.lower()

    for c in pool:
        if data.organisation_name:
            if eq(c.get("organisation_name"), data.organisation_name):
                return c
        elif _only_last_name(data):
            if eq(c.get("last_name"), data.last_name):
                return c
        elif eq(c.get("first_name"), data.first_name) and eq(c.get("last_name"), data.last_name):
            return c
    if retry and not data.organisation_name:
        for c in pool:
            if not eq(c.get("last_name"), data.last_name):
                continue
            if data.initials and eq(c.get("initials"), data.initials):
                return c
            first = (c.get("first_name") or "")[:1]
            if data.first_name and first and eq(first, data.first_name[:1]):
                return c
    return None


def _only_last_name(data: FormData) -> bool:
    return bool(
        data.last_name and not (data.organisation_name or data.initials or data.first_name or data.last_name_prefix)
    )


# --- the contact and its parts ------------------------------------------------------------------------------


def _address_of(call: Call, contact: Row, data: FormData) -> Row | None:
    for a in call.db.children("addresses", contact["id"]):
        if (
            a["postal_code"].upper() == data.postal_code
            and a["number"] == data.address_number
            and (a.get("addition") or "").lower() == data.addition.lower()
        ):
            call.log(f"Adres gevonden bij meegegeven postcode/huisnummer: {data.postal_code} {a['number']}")
            return a
    primary = call.db.primary("addresses", contact["id"])
    if primary is not None:
        call.log("Geen adres postcode/huisnummer meegegeven of gevonden, verder met primair adres bij contact")
    return primary


def _add_contact(call: Call, data: FormData) -> Row:
    now = call.now()
    org = data.organisation_name
    first, prefix, last = data.first_name, data.last_name_prefix, data.last_name
    if not org and not first and not last:
        if data.email:
            last = data.email.split("@")[0]
            call.log(f"Achternaam overgenomen uit e-mailadres: {last}")
        else:
            raise ApiError("Geen voornaam of achternaam meegegeven, contact niet aangemaakt.")
    full = org or person_full_name(first, prefix, last)
    cid = call.db.insert(
        "contacts",
        {
            "type_id": "organisation" if org else "person",
            "status_id": "webform",
            "created_with": "webform",
            "owner_id": call.webform.get("responsible_user_id"),
            "full_name": full,
            "first_name": None if org else first,
            "last_name_prefix": None if org else prefix,
            "last_name": None if org else last,
            "organisation_name": org or None,
            "initials": data.initials or None,
            "did_agree_avg": php_truthy(data.did_agree_avg),
            "inspection_person_type_id": None,
            "hoom_account_id": None,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        },
    )
    contact = call.db.tables["contacts"][cid]
    call.log(f"Contact {full} ({cid}) aangemaakt.")
    if data.postal_code and data.address_number:
        call.address = _add_address(call, contact, data)
    _add_email(call, contact, data)
    _add_phone(call, contact, data)
    _add_note(call, contact, data)
    return contact


def _update_contact(call: Call, contact: Row, data: FormData) -> None:
    change: dict[str, Any] = {}
    if data.did_agree_avg != "":
        change["did_agree_avg"] = php_truthy(data.did_agree_avg)
    if contact["type_id"] == "person":
        if data.initials:
            change["initials"] = data.initials
        if data.first_name or data.last_name_prefix or data.last_name:
            # if any of the three is given, all three are overwritten
            change.update(
                first_name=data.first_name,
                last_name_prefix=data.last_name_prefix,
                last_name=data.last_name,
            )
            change["full_name"] = person_full_name(data.first_name, data.last_name_prefix, data.last_name)
    if change:
        call.db.update("contacts", contact["id"], change)
        call.log(f"Contact {contact['full_name']} bijgewerkt.")
    _add_email(call, contact, data)
    _add_phone(call, contact, data)
    _add_note(call, contact, data)


def _add_address(call: Call, contact: Row, data: FormData) -> Row:
    now = call.now()
    aid = call.db.insert(
        "addresses",
        {
            "contact_id": contact["id"],
            "type_id": data.address_type_id or "postal",
            "street": data.street,
            "number": data.address_number,
            "addition": data.addition,
            "postal_code": data.postal_code,
            "city": data.city,
            "country_id": data.country_id or "NL",
            "primary": not call.db.primary("addresses", contact["id"]),
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        },
    )
    call.log(f"Adres {data.postal_code} {data.address_number} toegevoegd aan contact {contact['id']}.")
    return call.db.tables["addresses"][aid]


def _add_email(call: Call, contact: Row, data: FormData) -> None:
    email = data.email
    if not email or any(
        e["email"].lower() == email.lower() for e in call.db.children("email_addresses", contact["id"])
    ):
        return
    call.db.insert(
        "email_addresses",
        {"contact_id": contact["id"], "type_id": "home", "email": email, "primary": False, "deleted_at": None},
    )
    call.log(f"E-mailadres {email} toegevoegd aan contact {contact['id']}.")


def _add_phone(call: Call, contact: Row, data: FormData) -> None:
    phone = data.phone
    if not phone or any(p["number"] == phone for p in call.db.children("phone_numbers", contact["id"])):
        return
    call.db.insert(
        "phone_numbers",
        {"contact_id": contact["id"], "type_id": "home", "number": phone, "primary": False, "deleted_at": None},
    )


def _add_note(call: Call, contact: Row, data: FormData) -> None:
    if data.note:
        call.db.insert(
            "notes",
            {"contact_id": contact["id"], "note": data.note, "created_at": call.now(), "deleted_at": None},
        )
