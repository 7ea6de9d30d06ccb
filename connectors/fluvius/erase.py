"""Erasure and the premium portal. A submitted application is the portal's legal record (a subsidy decision and
payment the administration must keep): the hub cannot delete it and does not try; the resident asks the
portal (the manual part). What the hub holds of it is erased with the resident (the core tombstones the
canonical applications, keeping only scheme and status for the counts, and hashes the portal's ids away);
unsent applications are cancelled, and the national id and bank account the desk's form gave mark the
payloads the core blanks."""

from __future__ import annotations

from connectors.fluvius.settings import APPLICATION_CATEGORY, APPLY, ERASE, PARTNER
from hub.connector import ErasurePlan, ErasureSubject


def plan(subject: ErasureSubject) -> ErasurePlan | None:
    files = subject.of("premium_file")
    applied = subject.ids(PARTNER, APPLICATION_CATEGORY)
    if not files and not applied and not subject.of("premium_application"):
        return None
    needles = tuple(
        str(v).replace(" ", "")
        for f in files
        for v in (f.get("national_id"), f.get("iban"), f.get("ean"))
        if v and len(str(v)) >= 6
    ) + tuple(
        # the portal's dossier numbers and the hub's references name the resident's applications in other
        # partners' queued work too (the CRM's Budgetaanvraag text)
        str(v)
        for a in subject.of("premium_application")
        for v in (a.get("dossier_number"), a.get("reference"), a.get("portal_id"))
        if v and len(str(v)) >= 6
    )
    return ErasurePlan(
        manual=(
            "de ingediende premieaanvragen blijven bij het premieportaal (Mijn VerbouwPremie / RVO): de bewoner "
            "vraagt daar zelf inzage of verwijdering"
            if applied
            else None
        ),
        outbox=((APPLY, "resident_id", subject.resident_id),),
        needles=needles,
    )


__all__ = ["ERASE", "plan"]
