"""The one outbox/inbox worker: what happens to a queued item after an attempt, decided by one retry table.

A connector supplies only the send (an item in, a `Decision` out) and the classification of its partner's
errors into a `Failure` kind. Everything else is decided here, once, for every push and forward:
- how long to wait before the next attempt, and when to give up (`RETRY`: data, not code);
- what "waiting, not failing" means: a rate limit or a condition the partner has to meet first (consent, an
  account) is not a failed attempt and never parks the item;
- that an attempt whose outcome is unknown marks the item `uncertain`, so every later attempt looks first;
- that errors are redacted and cut to one length before they are stored, and that a parked item goes to
  quarantine with its reason (replayable).

Outbox idempotency keys are built by `outbox_key` and nowhere else."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from hub import progress
from hub.consent import ConsentNeed, check
from hub.logs import log_event
from hub.reports import RunReport
from hub.store import InboxRow, OutboxRow, Store, utcnow
from hub.store.base import ERROR_TEXT_LIMIT

log = logging.getLogger("hub.worker")


def outbox_key(partner: str, kind: str, *parts: object) -> str:
    """The idempotency key of an outbox item: one item per partner, kind of work and the work's own key.
    Every enqueue and every lookup of a planned item (the follow-up's `_planned`) builds it here."""
    return ":".join([partner, kind, *(str(p) for p in parts)])


class Failure(StrEnum):
    """Why an attempt did not finish the item; the retry table says what follows."""

    UNAVAILABLE = "unavailable"  # partner down, 5xx that rolled back, connection refused: nothing landed
    OUTCOME_UNKNOWN = "outcome-unknown"  # it may have landed: the next attempt looks before it writes
    NOT_YET = "not-yet"  # the partner has not caught up (a 404 for a record it is about to have)
    RATE_LIMITED = "rate-limited"  # waiting, not failing: try again when the partner says
    WAITING = "waiting"  # waiting for a condition (consent, an account), not failing


@dataclass(frozen=True)
class RetryRule:
    first_delay: float  # seconds before the first retry; doubled per counted attempt unless `exact`
    counts: bool  # True: a failed attempt (counts toward giving up); False: waiting
    exact: bool = False  # the delay is what the partner (Retry-After) or the connector said, no backoff
    max_attempts: int | None = None  # gives up sooner than the schedule for this failure


@dataclass(frozen=True)
class RetrySchedule:
    """Across-run retries (within one call, `hub.http.RetryPolicy` retries). The delay after the n-th counted
    attempt is `first_delay * factor ** min(n - 1, max_exponent)`, at most `cap` seconds; after
    `max_attempts` counted attempts the item is parked in quarantine."""

    rules: Mapping[Failure, RetryRule]
    max_attempts: int = 12
    factor: float = 2.0
    max_exponent: int = 8
    cap: float = 3600.0

    def rule(self, failure: Failure) -> RetryRule:
        return self.rules[failure]

    def gives_up(self, failure: Failure, attempts: int) -> bool:
        r = self.rule(failure)
        return r.counts and attempts >= (r.max_attempts or self.max_attempts)

    def delay(self, failure: Failure, attempts: int, hint: float | None = None) -> float:
        r = self.rule(failure)
        if r.exact or (hint is not None and not r.counts):
            return hint if hint is not None else r.first_delay
        first = hint if hint is not None else r.first_delay
        return min(self.cap, first * self.factor ** min(max(attempts, 1) - 1, self.max_exponent))

    def final(self, decision: Decision, attempts: int) -> Decision:
        """The decision as it stands after `attempts`: a retry past its last attempt parks the item."""
        if isinstance(decision, Retry) and self.gives_up(decision.failure, attempts):
            return Park(f"gave up after {attempts} attempts: {decision.reason}")
        return decision

    def later(self, retry: Retry, attempts: int, was_uncertain: bool) -> tuple[int, bool, datetime]:
        """(attempts to store, uncertain, next attempt) of an item to try again: waiting is not an attempt;
        once a call may have landed, every later attempt starts with a lookup."""
        if not self.rule(retry.failure).counts:
            attempts -= 1
        uncertain = retry.failure is Failure.OUTCOME_UNKNOWN or was_uncertain
        return attempts, uncertain, utcnow() + timedelta(seconds=self.delay(retry.failure, attempts, retry.delay))

    def scaled(self, first_delay: float | None) -> RetrySchedule:
        """The same schedule with every backed-off first delay set to `first_delay` (tests pass 0 to retry at
        once; None keeps this schedule); delays a partner or connector names exactly are kept."""
        if first_delay is None:
            return self
        rules = {f: r if r.exact else replace(r, first_delay=first_delay) for f, r in self.rules.items()}
        return replace(self, rules=rules)


RETRY = RetrySchedule(
    rules={
        Failure.UNAVAILABLE: RetryRule(first_delay=30.0, counts=True),
        Failure.OUTCOME_UNKNOWN: RetryRule(first_delay=3.0, counts=True),
        Failure.NOT_YET: RetryRule(first_delay=30.0, counts=True, max_attempts=10),
        Failure.RATE_LIMITED: RetryRule(first_delay=60.0, counts=False, exact=True),
        Failure.WAITING: RetryRule(first_delay=300.0, counts=False, exact=True),
    }
)


@dataclass(frozen=True)
class Sent:
    """Done: the partner has it (`found_by_lookup`: an earlier attempt had landed, nothing was written now)."""

    result: Any = None
    found_by_lookup: bool = False


@dataclass(frozen=True)
class Retry:
    """Not done yet. `delay`: seconds the partner or connector named (Retry-After, "wait a day for consent");
    `metric`: the run-metadata counter this wait adds to (e.g. `waiting_for_registration`)."""

    failure: Failure
    reason: str
    delay: float | None = None
    metric: str | None = None


@dataclass(frozen=True)
class Park:
    """Will not heal by waiting: to quarantine with the partner's reason, for a person (replayable)."""

    reason: str
    detail: Any = None


@dataclass(frozen=True)
class Withhold:
    """Not sent for want of the resident's consent (hub/consent.py): `withheld` until consent is recorded,
    then due again as it was. Not an attempt, never given up on. `hold`: purpose, partner and residents."""

    reason: str
    hold: Mapping[str, Any]


Decision = Sent | Retry | Park | Withhold

# A consented item whose residents the hub does not know yet looks again after this (not an attempt).
RESIDENT_UNKNOWN_WAIT_SECONDS = 300.0


class Quarantine(Exception):
    """Raised inside a send to park the item (a connector's shortcut for returning `Park`)."""

    def __init__(self, reason: str, detail: Any = None) -> None:
        super().__init__(reason)
        self.detail = detail

    def decision(self) -> Park:
        return Park(str(self), self.detail)


class RetryLater(Exception):
    """Raised inside a send to retry the item later (a connector's shortcut for returning `Retry`)."""

    def __init__(self, failure: Failure, reason: str, delay: float | None = None, metric: str | None = None) -> None:
        super().__init__(reason)
        self.retry = Retry(failure, reason, delay, metric)


@dataclass
class WorkReport(RunReport):
    """What one run of a worker did, for run metadata and the CLI."""

    tenant: str
    partner: str = ""
    claimed: int = 0
    sent: int = 0
    found_by_lookup: int = 0
    retry_later: int = 0
    uncertain: int = 0
    quarantined: int = 0
    withheld: int = 0
    seconds: float = 0.0
    by_operation: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)
    calls: dict[str, Any] = field(default_factory=dict)

    def count(self, decision: Decision, uncertain: bool = False) -> None:
        if isinstance(decision, Sent):
            self.sent += 1
            self.found_by_lookup += decision.found_by_lookup
        elif isinstance(decision, Park):
            self.quarantined += 1
        elif isinstance(decision, Withhold):
            self.withheld += 1
        else:
            self.retry_later += 1
            self.uncertain += uncertain
            if decision.metric:
                self.waiting[decision.metric] = self.waiting.get(decision.metric, 0) + 1

    def metadata(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "found_by_lookup": self.found_by_lookup,
            "retry_later": self.retry_later,
            "outcome_unknown": self.uncertain,
            "quarantined": self.quarantined,
            "withheld_without_consent": self.withheld,
            **self.waiting,
            **call_metadata(self.calls),
            "by_operation": dict(self.by_operation),
            "seconds": round(self.seconds, 2),
        }


def call_metadata(calls: Mapping[str, Any]) -> dict[str, Any]:
    """A run's partner calls as every partner asset reports them (from `CallStats.as_dict()`)."""
    return {
        "partner_calls": calls.get("calls", 0),
        "partner_writes": calls.get("writes", 0),
        "partner_retries": calls.get("retries", 0),
    }


@dataclass
class PushOutcome:
    """A push run's report plus the partner's outbox by status afterwards, as run metadata."""

    report: WorkReport
    outbox: dict[str, int]

    def metadata(self) -> dict[str, Any]:
        return {**self.report.metadata(), "outbox_now": self.outbox}

    @classmethod
    def of(cls, store: Store, report: WorkReport) -> PushOutcome:
        with store.begin() as conn:
            return cls(report, store.outbox_counts(conn, report.tenant, report.partner))


Redact = Callable[[str], str]
Send = Callable[[OutboxRow], Decision]
OnSent = Callable[[Connection, OutboxRow, Any], None]
Ask = Callable[[OutboxRow], None]


def declared_consent(partner: str) -> Mapping[str, ConsentNeed]:
    """What the registered connector `partner` declares its push operations share (`Push.consent`)."""
    from hub.connector import REGISTRY

    if partner not in REGISTRY:
        return {}
    push = REGISTRY.get(partner).push
    return push.consent if push is not None else {}


class OutboxWorker:
    """Claims a tenant's due outbox items of one partner and settles each by the connector's decision.

    Consent is checked here, before every send of an operation that shares a resident's data (`consent`:
    operation → need; by default what the registered connector declares in `Push.consent`). Without consent
    the item is withheld. `consent_ask(item)`, when given, is called once for an item whose residents have no
    statement yet, to read what the system holding the consent says now and record it; it may raise
    `RetryLater` or `Quarantine` like a send."""

    def __init__(
        self,
        store: Store,
        tenant: str,
        partner: str,
        send: Send,
        *,
        redact: Redact = str,
        schedule: RetrySchedule = RETRY,
        on_sent: OnSent | None = None,
        metrics: Iterable[str] = (),
        consent: Mapping[str, ConsentNeed] | None = None,
        consent_ask: Ask | None = None,
    ) -> None:
        self.store = store
        self.tenant = tenant
        self.partner = partner
        self.send = send
        self.redact = redact
        self.schedule = schedule
        self.on_sent = on_sent
        self.consent = declared_consent(partner) if consent is None else consent
        self.consent_ask = consent_ask
        self.report = WorkReport(tenant, partner, waiting={m: 0 for m in metrics})

    def run(self, limit: int = 1000, calls: Callable[[], dict[str, Any]] | None = None) -> WorkReport:
        started = time.monotonic()
        items = self.store.outbox_claim(self.tenant, self.partner, limit=limit)
        self.report.claimed = len(items)
        with progress.task(f"push {self.partner}", total=len(items)) as shown:
            for item in items:
                op = str(item["operation"])
                self.report.by_operation[op] = self.report.by_operation.get(op, 0) + 1
                self.settle(item, self._attempt(item))
                shown.advance()
        self.report.seconds = time.monotonic() - started
        if calls is not None:
            self.report.calls = calls()
        log_event(
            log,
            "push finished",
            tenant=self.tenant,
            partner=self.partner,
            sent=self.report.sent,
            found_by_lookup=self.report.found_by_lookup,
            retry_later=self.report.retry_later,
            quarantined=self.report.quarantined,
            withheld=self.report.withheld,
        )
        return self.report

    def _attempt(self, item: OutboxRow) -> Decision:
        try:
            return self.consent_gate(item) or self.send(item)
        except Quarantine as exc:
            return exc.decision()
        except RetryLater as exc:
            return exc.retry

    def consent_gate(self, item: OutboxRow) -> Decision | None:
        """None when the item may be sent: its operation shares nothing, or every resident it names has
        consented (hub.consent.check); else why not (withheld, or waiting for the hub to know them)."""
        need = self.consent.get(str(item["operation"]))
        if need is None:
            return None
        for asked in (False, True):
            with self.store.begin() as conn:
                residents = need.subjects(self.store, conn, self.tenant, item["payload"])
                if residents is None:
                    return Retry(
                        Failure.WAITING, "waiting for the hub to know the resident", RESIDENT_UNKNOWN_WAIT_SECONDS
                    )
                verdict = check(self.store, conn, self.tenant, residents, need.purpose, need.partner)
            if verdict.allowed:
                return None
            if asked or self.consent_ask is None or not verdict.unknown or verdict.withdrawn:
                break
            self.consent_ask(item)
        return Withhold(verdict.reason(), verdict.hold())

    def settle(self, item: OutboxRow, decision: Decision) -> None:
        attempts = int(item["attempts"]) + 1
        decision = self.schedule.final(decision, attempts)
        uncertain = False
        with self.store.begin() as conn:
            if isinstance(decision, Sent):
                self.store.outbox_update(
                    conn,
                    item["tenant"],
                    item["id"],
                    status="sent",
                    attempts=attempts,
                    sent_at=utcnow(),
                    result=decision.result,
                    last_error=None,
                )
                if self.on_sent is not None:
                    self.on_sent(conn, item, decision.result)
            elif isinstance(decision, Park):
                self.store.outbox_park(conn, item, attempts, self.redact(decision.reason), decision.detail)
            elif isinstance(decision, Withhold):
                self.store.outbox_withhold(conn, item, self.redact(decision.reason), decision.hold)
            else:
                attempts, uncertain, due = self.schedule.later(decision, attempts, item["status"] == "uncertain")
                self.store.outbox_update(
                    conn,
                    item["tenant"],
                    item["id"],
                    status="uncertain" if uncertain else "retry",
                    attempts=attempts,
                    next_attempt_at=due,
                    last_error=self.redact(decision.reason)[:ERROR_TEXT_LIMIT],
                )
        self.report.count(decision, uncertain)


class InboxForwarder:
    """Settles received messages that are sent on to a partner (the inbox side of the worker): the same
    retry table, with `uncertain` kept in the message's result."""

    def __init__(
        self,
        store: Store,
        tenant: str,
        quarantine_source: str,
        *,
        redact: Redact = str,
        schedule: RetrySchedule = RETRY,
    ) -> None:
        self.store = store
        self.tenant = tenant
        self.quarantine_source = quarantine_source
        self.redact = redact
        self.schedule = schedule

    def settle(self, m: InboxRow, decision: Decision, entity: str = "", detail: Any = None) -> bool:
        """Store the outcome of an attempt; True when the messages behind this one may go on."""
        attempts = int(m["attempts"]) + 1
        previous = m.get("result") or {}
        decision = self.schedule.final(decision, attempts)
        if isinstance(decision, Sent):
            self.finish(m, "forwarded", decision.result, attempts)
            return True
        if isinstance(decision, Park):
            reason = self.redact(decision.reason)
            with self.store.begin() as conn:
                self.store.inbox_update(
                    conn, m["tenant"], m["id"], status="failed", attempts=attempts, last_error=reason[:ERROR_TEXT_LIMIT]
                )
                self.store.quarantine_put(
                    conn,
                    self.tenant,
                    self.quarantine_source,
                    entity,
                    str(m["id"]),
                    reason,
                    {**(detail or {}), "inbox_id": m["id"], "partner_answer": decision.detail},
                )
            return True
        if isinstance(decision, Withhold):
            raise TypeError("a forwarded message is not withheld for consent: the partner that sent it decided")
        attempts, uncertain, due = self.schedule.later(decision, attempts, bool(previous.get("uncertain")))
        with self.store.begin() as conn:
            self.store.inbox_update(
                conn,
                m["tenant"],
                m["id"],
                status="retry",
                attempts=attempts,
                next_attempt_at=due,
                last_error=self.redact(decision.reason)[:ERROR_TEXT_LIMIT],
                result={**previous, "uncertain": uncertain},
            )
        return False

    def finish(self, m: InboxRow, status: str, result: Any, attempts: int | None = None) -> None:
        """Close a message: forwarded, or not to be sent (superseded by a newer one, nothing to send)."""
        values: dict[str, Any] = {"status": status, "result": result, "last_error": None}
        if status == "forwarded":
            values["forwarded_at"] = utcnow()
        if attempts is not None:
            values["attempts"] = attempts
        with self.store.begin() as conn:
            self.store.inbox_update(conn, m["tenant"], m["id"], **values)
