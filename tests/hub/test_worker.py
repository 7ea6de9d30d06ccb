"""The one outbox/inbox worker (hub/worker.py): its retry table decides delays, giving up and waiting; an
outcome-unknown attempt makes every later one look first; a parked item lands in quarantine, redacted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.store import Store, as_utc, utcnow
from hub.store import tables as t
from hub.worker import (
    ERROR_TEXT_LIMIT,
    RETRY,
    Failure,
    InboxForwarder,
    OutboxWorker,
    Park,
    Quarantine,
    Retry,
    RetryLater,
    Sent,
    outbox_key,
)

TENANT = "coop-a"


def test_the_table_backs_off_doubling_up_to_the_cap_and_names_exact_waits():
    assert [RETRY.delay(Failure.UNAVAILABLE, n) for n in (1, 2, 3)] == [30.0, 60.0, 120.0]
    assert RETRY.delay(Failure.UNAVAILABLE, 40) == RETRY.cap
    assert RETRY.delay(Failure.OUTCOME_UNKNOWN, 1) == 3.0
    assert RETRY.delay(Failure.RATE_LIMITED, 7, hint=12.0) == 12.0  # Retry-After, exactly, no backoff
    assert RETRY.delay(Failure.RATE_LIMITED, 7) == 60.0
    assert RETRY.delay(Failure.WAITING, 3, hint=86400.0) == 86400.0


def test_failures_give_up_after_their_attempts_waits_never_do():
    assert not RETRY.gives_up(Failure.UNAVAILABLE, 11) and RETRY.gives_up(Failure.UNAVAILABLE, 12)
    assert not RETRY.gives_up(Failure.NOT_YET, 9) and RETRY.gives_up(Failure.NOT_YET, 10)
    assert not RETRY.gives_up(Failure.RATE_LIMITED, 1000) and not RETRY.gives_up(Failure.WAITING, 1000)


def test_scaled_schedule_keeps_exact_waits_and_none_keeps_the_schedule():
    fast = RETRY.scaled(0.0)
    assert fast.delay(Failure.UNAVAILABLE, 5) == 0.0 and fast.delay(Failure.RATE_LIMITED, 1) == 60.0
    assert RETRY.scaled(None) is RETRY


def test_outbox_keys_are_built_in_one_format():
    assert outbox_key("econobis", "webform", "hub-1") == "econobis:webform:hub-1"
    assert outbox_key("hoomdossier", "coach-link", "coop-a", 7, 9) == "hoomdossier:coach-link:coop-a:7:9"


def _enqueue(store: Store, key: str) -> None:
    with store.begin() as conn:
        store.outbox_enqueue(conn, TENANT, "crm", "create", outbox_key("crm", "create", key), {"key": key})


def _row(store: Store, key: str) -> dict[str, Any]:
    with store.begin() as conn:
        r = conn.execute(select(t.outbox).where(t.outbox.c.idempotency_key == outbox_key("crm", "create", key)))
        return dict(r.mappings().one())


def _due_now(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(update(t.outbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_a_lost_answer_makes_every_later_attempt_look_first(any_store: Store):
    _enqueue(any_store, "a")
    seen: list[str] = []

    def send(item: Any) -> Any:
        seen.append(item["status"])
        if len(seen) == 1:
            return Retry(Failure.OUTCOME_UNKNOWN, "timeout after the request went out")
        if len(seen) == 2:
            # not uncertain by itself, but the earlier attempt may still have landed
            return Retry(Failure.UNAVAILABLE, "503")
        return Sent({"id": 1}, found_by_lookup=True)

    for _ in range(3):
        report = OutboxWorker(any_store, TENANT, "crm", send).run()
        _due_now(any_store)
    assert seen == ["pending", "uncertain", "uncertain"]
    row = _row(any_store, "a")
    assert row["status"] == "sent" and row["attempts"] == 3 and report.found_by_lookup == 1


def test_waiting_is_not_a_failed_attempt_and_counts_in_its_metric(any_store: Store):
    _enqueue(any_store, "w")
    worker = OutboxWorker(
        any_store,
        TENANT,
        "crm",
        lambda item: Retry(Failure.WAITING, "no account yet", 300.0, "waiting_for_account"),
        metrics=("waiting_for_account",),
    )
    report = worker.run()
    row = _row(any_store, "w")
    assert row["attempts"] == 0 and row["status"] == "retry"
    assert 290 < (as_utc(row["next_attempt_at"]) - utcnow()).total_seconds() <= 300
    assert report.metadata()["waiting_for_account"] == 1 and report.retry_later == 1


def test_giving_up_parks_the_item_in_quarantine_redacted(any_store: Store):
    _enqueue(any_store, "g")
    secret = "s3cr3t-key-value"

    def send(item: Any) -> Any:
        raise RetryLater(Failure.UNAVAILABLE, f"down at /api/{secret}/x " + "x" * 5000)

    def redact(text: str) -> str:
        return text.replace(secret, "***")

    for _ in range(RETRY.max_attempts):
        OutboxWorker(any_store, TENANT, "crm", send, redact=redact).run()
        _due_now(any_store)
    row = _row(any_store, "g")
    assert row["status"] == "failed" and row["attempts"] == RETRY.max_attempts
    with any_store.begin() as conn:
        [q] = any_store.open_quarantine(conn, TENANT)
    assert q["source"] == "outbox:crm" and q["reason"].startswith(f"gave up after {RETRY.max_attempts} attempts")
    assert secret not in q["reason"] and secret not in str(row["last_error"])
    assert len(row["last_error"] or "") <= ERROR_TEXT_LIMIT


def test_a_refusal_raised_inside_a_send_parks_at_once(any_store: Store):
    _enqueue(any_store, "r")

    def send(item: Any) -> Any:
        raise Quarantine("unknown campaign", ["Fout opgetreden: campagne"])

    report = OutboxWorker(any_store, TENANT, "crm", send).run()
    assert report.quarantined == 1 and _row(any_store, "r")["attempts"] == 1


@pytest.mark.parametrize(
    ("decision", "go_on", "status"),
    [
        (Sent({"ok": True}), True, "forwarded"),
        (Retry(Failure.UNAVAILABLE, "503"), False, "retry"),
        (Park("refused", ["Fout"]), True, "failed"),
    ],
)
def test_the_inbox_side_settles_by_the_same_table(any_store: Store, decision, go_on, status):
    with any_store.begin() as conn:
        any_store.inbox_receive(conn, "src", TENANT, "b1/afspraak", '{"a": 1}', {"endpoint": "afspraak"})
    [m] = any_store.inbox_open(TENANT, "src")
    forwarder = InboxForwarder(any_store, TENANT, "inbox:src")
    assert forwarder.settle(m, decision, "afspraak", {"building_id": "b1"}) is go_on
    counts = any_store.inbox_counts(TENANT, "src")
    assert counts.get(status) == 1
    with any_store.begin() as conn:
        open_q = any_store.open_quarantine(conn, TENANT)
    assert [q["source"] for q in open_q] == (["inbox:src"] if status == "failed" else [])
