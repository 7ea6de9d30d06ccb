"""Erasure in Econobis. Econobis gives the hub no delete (its API lets the hub write through the webform and
the SPA; deleting a contact is a coordinator's act), so the hub asks the coordinator: a task on the contact
through the webform (`contact_nummer` → the existing contact, `taak_opmerkingen` → the request), with the
instructions for partners the hub cannot tell itself. The request is tracked until a full pull no longer
lists the contact (hub.erasure.observe_listing)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from connectors.econobis.commands import KANSACTIE_CREATE, KANSACTIE_UPDATE, MAKE_HOOMDOSSIER
from connectors.econobis.settings import PARTNER
from hub.connector import ErasurePlan, ErasureSubject

ERASE = "erase-request"
TASK_TYPE_ID = ""  # empty: the webform's own task type (6 "Webformulier" on a fresh install)


class EraseRequest(BaseModel):
    """What the task asks (no personal data: Econobis' own contact number and ids)."""

    request_id: str
    contact_number: str = Field(min_length=1)
    contact_ids: list[int] = Field(default_factory=list)
    manual: list[dict[str, str]] = Field(default_factory=list)


def plan(subject: ErasureSubject) -> ErasurePlan | None:
    """The contacts behind the resident, by Econobis' contact number (what the webform matches on)."""
    contact_ids = [c for c in subject.ids(PARTNER, "contact") if c.isdigit()]
    numbers = [str(d["number"]) for d in subject.of("resident") if d.get("number")]
    if not contact_ids:
        return None
    return ErasurePlan(
        payload={"contact_number": numbers[0] if numbers else "", "contact_ids": [int(c) for c in contact_ids]},
        watch=tuple(("contact", c) for c in contact_ids),
        # queued work that names the resident only by Econobis ids: cancelled if unsent, blanked if sent
        outbox=(
            *((MAKE_HOOMDOSSIER, "contact_id", c) for c in contact_ids),
            *(
                (op, "opportunity_id", o)
                for op in (KANSACTIE_CREATE, KANSACTIE_UPDATE)  # an update found by its kans and marker, too
                for o in subject.ids(PARTNER, "opportunity")
                if o.isdigit()
            ),
            *(
                (KANSACTIE_UPDATE, "quotation_request_id", q)
                for q in subject.ids(PARTNER, "quotation-request")
                if q.isdigit()
            ),
        ),
    )


def task_fields(req: EraseRequest) -> dict[str, Any]:
    """The webform call: only the contact number (an update of nothing) and the task, in Dutch."""
    lines = [
        f"AVG-verwijderverzoek (hub-verzoek {req.request_id}).",
        "De bewoner heeft gevraagd om verwijdering van zijn persoonsgegevens. De hub heeft ze al gewist.",
        "Verwijder dit contact in Econobis (met intakes, kansen, kansacties en woondossiers). Zodra de hub het "
        "contact niet meer ziet, sluit de hub het verzoek.",
    ]
    for m in req.manual:
        lines.append(f"{m.get('partner', '')}: {m.get('instruction', '')}")
    fields: dict[str, Any] = {
        "contact_nummer": req.contact_number,
        "taak_opmerkingen": "\n".join(lines),
        "taak_dagen_einddatum": "5",
    }
    if TASK_TYPE_ID:
        fields["taak_type_id"] = TASK_TYPE_ID
    return fields
