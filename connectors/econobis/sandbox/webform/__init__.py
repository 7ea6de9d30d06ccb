"""`POST /api/webform/external/{apiKey}` of the sandbox Econobis (contracts/econobis.md §4): the controller's
phases in order; each phase is a module (inputs, contacts, dossier, after_commit) over one `Call`.

What is reproduced, in Econobis' order:
- input from the query string or the body (form or JSON), all values as trimmed strings, PHP truthiness;
  a non-scalar where a string is expected is a plain Laravel 500 BEFORE the transaction (§4.2.1);
- the normalisations of §4.2 (postcode, "12a" house numbers, additions, decimal separator);
- one DB transaction: the webform (404), its per-minute limit (422, counted only when the call commits),
  encrypted intake/kans/kansactie ids (update paths that skip contact matching), the contact-matching table
  of §4.4 (NC, UPC, NET, NAT, NCT, CCT, NCG, BCB) with its check tasks, intake (re)use by intake_id_extern —
  kansen and kansacties are created again on a repeat —, kansen per measure, kansacties through the status
  engine, the housing file; any error rolls everything back (auto-increment ids stay consumed);
- after commit: the task on the contact, Hoomdossier creation (errors only logged + a check task),
  `kansactie_update_afspraak_status` with its hard-coded status ids 7/8/9/14 — an exception here is a plain
  500 although the data is committed (§4.6);
- the answer: a JSON array of Dutch log lines (which echo the API key, as Econobis' do).

Not reproduced (no hub flow uses them; said in the README): energy, dongle, participation, order, groups,
free fields, attachments, LVBAG address lookup, IBAN checks, e-mails and workflows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.econobis.sandbox.state import SandboxState
from connectors.econobis.sandbox.webform.after_commit import (
    create_hoomdossier,
    task_to_contact,
    update_latest_visit_status,
)
from connectors.econobis.sandbox.webform.call import Call, Outcome
from connectors.econobis.sandbox.webform.contacts import update_or_create_contact
from connectors.econobis.sandbox.webform.dossier import (
    add_housing_file,
    add_intake,
    add_kansactie_to_opportunity,
    add_opportunities_to_intake,
    update_kansactie,
)
from connectors.econobis.sandbox.webform.inputs import FormData, Input, decrypt_id, encrypt_id, parse
from connectors.econobis.sandbox.webforms import (
    LOGGED,
    UNEXPECTED,
    ApiError,
    PhpError,
    check_max_requests,
    find_active,
    log_failure,
)
from hub.sandbox.php import php_truthy

__all__ = ["Outcome", "decrypt_id", "encrypt_id", "run_webform"]

SERVER_ERROR = {"message": "Server Error"}  # Laravel's plain 500 body


def run_webform(sb: SandboxState, api_key: str, fields: Mapping[str, Any]) -> Outcome:
    """One call, serialised with every other write to this sandbox."""
    with sb.write_lock:
        return _run(Call(sb, api_key, Input(fields)))


def _run(call: Call) -> Outcome:
    try:
        data = parse(call.inp, call.log)
    except PhpError:
        return Outcome(500, [], body=SERVER_ERROR)
    try:
        with call.db.transaction():
            _do_post(call, data)
    except (ApiError, *UNEXPECTED) as exc:
        return Outcome(log_failure(call.logs, exc), call.logs)
    # --- after commit: exceptions here are NOT caught by the log handler ---
    try:
        if call.contact is not None:
            call.log(
                "Aanroep succesvol afgerond tot nu toe. Eventueel verwerken van deelname, order, taak en "
                "aanmaak Hoomdossier volgen nog."
            )
            task_to_contact(call, data, call.contact)
        if php_truthy(data.create_hoom_dossier) and call.contact is not None:
            create_hoomdossier(call, call.contact)
        if data.visit_status:
            update_latest_visit_status(call, data)
    except UNEXPECTED:
        return Outcome(500, [], body=SERVER_ERROR)
    call.log(LOGGED)
    return call.out


def _do_post(call: Call, data: FormData) -> None:
    """The transaction: the webform and its limit, then the update paths of encrypted ids or the contact flow."""
    wf = find_active(call.db, call.api_key, call.now().date())
    if wf is None:
        call.log(f"Webform met code {call.api_key} is niet gevonden.")
        raise ApiError("Webform not found", 404)
    call.webform = wf
    call.log(f"Webform met id {wf['id']} gevonden bij code {call.api_key}.")
    check_max_requests(call.db, wf, call.now())
    call.db.acting_user = wf.get("responsible_user_id")
    if data.intake_id:
        add_opportunities_to_intake(call, data, data.intake_id)
    if data.opportunity_id:
        add_kansactie_to_opportunity(call, data, data.opportunity_id)
    if data.quotation_request_id:
        update_kansactie(call, data, data.quotation_request_id)
    if data.intake_id or data.opportunity_id or data.quotation_request_id:
        return
    update_or_create_contact(call, data)
    if call.address is not None:
        call.intake = add_intake(call, data, call.address)
        call.housing_file = add_housing_file(call, data, call.address)
