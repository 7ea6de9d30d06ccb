"""The statuses of the inbox, the outbox and idempotency records, as StrEnums.

A member equals its string (`InboxStatus.RETRY == "retry"`): rows read back and callers writing strings agree."""

from __future__ import annotations

from enum import StrEnum


class InboxStatus(StrEnum):
    """Where a received message is on its way to the partner it is forwarded to."""

    RECEIVED = "received"  # stored, not yet forwarded
    RETRY = "retry"  # a forward failed in a way worth another attempt (at next_attempt_at)
    FORWARDED = "forwarded"
    SUPERSEDED = "superseded"  # a later snapshot of the same stream is forwarded instead
    SKIPPED = "skipped"  # not forwarded: the partner would refuse it for good (e.g. no contact id)
    FAILED = "failed"  # given up on; the reason is in quarantine
    KEPT = "kept"  # no partner takes it on: the hub keeps it in its own model (e.g. a dossier it opened itself)


INBOX_OPEN: tuple[InboxStatus, ...] = (InboxStatus.RECEIVED, InboxStatus.RETRY)
"""Messages still to forward."""


class OutboxStatus(StrEnum):
    """Where a queued push is."""

    PENDING = "pending"
    RETRY = "retry"
    UNCERTAIN = "uncertain"  # an attempt may have landed: the push looks before it sends again
    SENT = "sent"
    FAILED = "failed"  # given up on; the reason is in quarantine
    KEPT = "kept"  # no partner takes it on: the hub keeps it in its own model (e.g. a dossier it opened itself)
    # not sent: the resident's consent for what it shares is missing or withdrawn (hub/consent.py); resumes
    # (as it was before: pending, retry or uncertain) when consent is recorded, not an attempt
    WITHHELD = "withheld"


OUTBOX_DUE: tuple[OutboxStatus, ...] = (OutboxStatus.PENDING, OutboxStatus.RETRY, OutboxStatus.UNCERTAIN)
"""Items a push claims once their next_attempt_at has come."""


class IdempotencyStatus(StrEnum):
    """The state of one proxied synchronous call (`Store.idempotency_begin`)."""

    IN_FLIGHT = "in_flight"  # claimed by a caller that is making the call
    OPEN = "open"  # released without an answer to keep: the next caller calls again
    DONE = "done"  # the answer is stored; repeats get it


__all__ = ["INBOX_OPEN", "OUTBOX_DUE", "IdempotencyStatus", "InboxStatus", "OutboxStatus"]
