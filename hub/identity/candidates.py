"""Match candidates: what the hub could not decide alone, with the evidence of each side, until a person decides
(hub/identity/decide.py). Kinds: `dwelling` (one dwelling the register answered doubtfully about, or two dwellings
that may be one home) and `resident` (two residents that may be one person)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from hub.store import Store

DWELLING = "dwelling"
RESIDENT = "resident"

# why a candidate was raised: what a coordinator reads
REASONS: dict[str, str] = {
    "same_register_object": "two dwellings resolve to the same register object: one home written two ways?",
    "several_objects": "the register lists several objects for this address: which one is it?",
    "inexact": "the register has the number but not with this letter or addition",
    "side_address": "the address is a side address of an object whose main address is another",
    "not_residential": "the register's object has no residential use",
    "not_in_register": "the register does not know the address (a typo, or a new build)",
    "address_unusable": "the address has no valid postcode or house number to ask the register",
    "several_residents": "two residents share this dwelling while the register lists several homes at the number",
    "register_changed": "the register now answers with another object than the dwelling's key",
    "likely_same_person": "two residents that look like one person",
}


def raise_candidate(
    store: Store,
    conn: Connection,
    tenant: str,
    kind: str,
    subjects: tuple[str, ...],
    reason: str,
    evidence: Mapping[str, Any],
    score: float | None = None,
    suggestion: Mapping[str, Any] | None = None,
) -> int:
    """Record a candidate (idempotent: an open one gets the fresh evidence; one a person decided is never reopened
    by the hub); returns its id."""
    if reason not in REASONS:
        raise ValueError(f"unknown match reason {reason!r}; known: {sorted(REASONS)}")
    cid, _ = store.candidate_upsert(conn, tenant, kind, subjects, reason, evidence, score, suggestion)
    return cid


def open_candidates(store: Store, conn: Connection, tenant: str, kind: str | None = None) -> list[dict[str, Any]]:
    return store.candidates(conn, tenant, kind=kind)


def get(store: Store, conn: Connection, tenant: str, candidate_id: int) -> dict[str, Any] | None:
    return store.candidate(conn, tenant, candidate_id)


def describe(c: Mapping[str, Any]) -> str:
    """One line a coordinator reads."""
    return f"#{c['id']} {c['kind']} {c['reason']}: {REASONS.get(c['reason'], '')}"
