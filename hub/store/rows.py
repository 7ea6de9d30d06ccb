"""The rows the store hands back, as TypedDicts mirroring `tables.py`: dict access, keys checked by mypy.

Datetimes are as the driver returns them (naive on SQLite: use `as_utc`); statuses are the stored strings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NotRequired, TypedDict, TypeVar, cast

R = TypeVar("R")


class EntityRow(TypedDict, total=False):
    """Every column is always there; `total=False` only so that a caller's `rows.get(id, {})` type-checks."""

    canonical_id: str
    tenant: str
    entity: str
    parent_id: str | None
    natural_key: str | None
    data: dict[str, Any]
    data_hash: str
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class Provenance(TypedDict):
    """Who last set one field of an entity (`Store.load_provenance`)."""

    source: str
    source_ref: str
    observed_at: datetime


class JourneyEventRow(TypedDict):
    id: int
    tenant: str
    dossier_id: str
    phase: str
    source: str
    occurred_at: datetime
    recorded_at: datetime


class InboxRow(TypedDict):
    id: int
    source: str
    tenant: str
    message_id: str
    content_hash: str
    payload: str
    meta: dict[str, Any]
    status: str  # InboxStatus
    attempts: int
    received_at: datetime
    processed_at: datetime | None
    last_error: str | None
    stream: str | None
    next_attempt_at: datetime | None
    forwarded_at: datetime | None
    applied_at: datetime | None
    result: Any


class OutboxRow(TypedDict):
    id: int
    tenant: str
    partner: str
    operation: str
    idempotency_key: str
    payload: dict[str, Any]
    status: str  # OutboxStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    last_error: str | None
    result: Any


class QuarantineRow(TypedDict):
    id: int
    tenant: str
    source: str
    entity: str
    external_id: str
    reason: str
    payload: Any
    payload_bytes: bytes | None
    occurrences: int
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None


class IdempotencyRecord(TypedDict):
    id: int
    tenant: str
    scope: str
    key: str
    request_hash: str
    status: str  # IdempotencyStatus
    response_status: int | None
    response_body: Any
    attempts: int
    created_at: datetime
    updated_at: datetime


class IdempotencyClaim(IdempotencyRecord):
    """`Store.idempotency_begin`'s answer: the record, whether this caller claimed it, and if so how many
    attempts came before (whose outcome is unknown)."""

    claimed: bool
    earlier_attempts: NotRequired[int]


class ConsentRow(TypedDict):
    """One consent statement: a row of `consent_log`, or the one that stands (`consents`, with its `log_id`)."""

    tenant: str
    resident_id: str
    purpose: str
    partner: str
    granted: bool
    source: str
    source_ref: str
    observed_at: datetime
    recorded_at: datetime
    id: NotRequired[int]  # consent_log
    last_seen_at: NotRequired[datetime | None]  # consent_log: the source last seen still saying it
    said_after: NotRequired[datetime | None]  # consent_log: the earliest it can have been said (None: unknown)
    log_id: NotRequired[int]  # consents


def row_as(_kind: type[R], row: Mapping[Any, Any]) -> R:
    """One result mapping as the TypedDict `_kind` (a plain dict at run time)."""
    return cast(R, dict(row))


def rows_as(_kind: type[R], rows: Iterable[Mapping[Any, Any]]) -> list[R]:
    return [cast(R, dict(r)) for r in rows]


__all__ = [
    "ConsentRow",
    "EntityRow",
    "IdempotencyClaim",
    "IdempotencyRecord",
    "InboxRow",
    "JourneyEventRow",
    "OutboxRow",
    "Provenance",
    "QuarantineRow",
]
