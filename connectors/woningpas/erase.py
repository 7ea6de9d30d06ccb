"""Erasure and Woningpas. The pass itself is the government's and stays; what the hub put there — the reports it
uploaded — it deletes (the client may delete its own uploads), through the outbox. The mandate lives in Woningpas:
the resident or the desk withdraws it there (the manual part). The resident's INSZ is a cross-reference, which the
core hashes away with the resident's other partner ids."""

from __future__ import annotations

from connectors.woningpas.settings import ERASE, HOLDER, PARTNER, UPLOAD_REPORT, UPLOADED
from hub.connector import ErasurePlan, ErasureSubject


def plan(subject: ErasureSubject) -> ErasurePlan | None:
    uploads = [ext.split("/", 1) for ext in subject.ids(PARTNER, UPLOADED) if "/" in ext]
    has_mandate = bool(subject.ids(PARTNER, HOLDER))
    if not uploads and not has_mandate:
        return None
    return ErasurePlan(
        payload={"uploads": uploads} if uploads else None,
        manual=(
            "trek in Woningpas het mandaat van de bewoner aan de organisatie in (Mijn Woningpas → Mandaten)"
            if has_mandate
            else None
        ),
        outbox=tuple((UPLOAD_REPORT, "resident_id", rid) for rid in (subject.resident_id,)),
    )


__all__ = ["ERASE", "plan"]
