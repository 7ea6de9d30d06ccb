"""The state store on SQLite and PostgreSQL: migrations, idempotent upserts, and two writers at once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import inspect, select

from hub.store import Store
from hub.store import tables as t


def test_migration_creates_every_table_and_is_repeatable(any_store: Store):
    from hub.store.db import migrate

    migrate(any_store.engine)  # second run is a no-op
    names = set(inspect(any_store.engine).get_table_names())
    assert {
        "xref",
        "entities",
        "field_provenance",
        "journey_events",
        "sync_cursors",
        "inbox",
        "outbox",
        "quarantine",
        "request_budgets",
        "alembic_version",
    } <= names


def test_xref_gives_one_canonical_id_per_external_id(any_store: Store):
    with any_store.begin() as conn:
        first = any_store.resolve_ids(conn, "econobis", "coop-a", "contact", ["1", "2"])
    with any_store.begin() as conn:
        again = any_store.resolve_ids(conn, "econobis", "coop-a", "contact", ["2", "1", "3"])
        other_tenant = any_store.resolve_ids(conn, "econobis", "coop-b", "contact", ["1"])
    assert again["1"] == first["1"] and again["2"] == first["2"] and len(set(again.values())) == 3
    assert other_tenant["1"] != first["1"]


def test_inbox_stores_a_repeated_message_once(any_store: Store):
    with any_store.begin() as conn:
        a = any_store.inbox_put(conn, "hoomdossier", "coop-a", '{"x":1}', {"endpoint": "afspraak"})
        b = any_store.inbox_put(conn, "hoomdossier", "coop-a", '{"x":1}', {"endpoint": "afspraak"})
        c = any_store.inbox_put(conn, "hoomdossier", "coop-a", '{"x":2}', {}, message_id="msg-2")
    assert a.created and not b.created and a.id == b.id and c.created
    assert any_store.count(t.inbox) == 2


def test_outbox_queues_an_idempotency_key_once(any_store: Store):
    with any_store.begin() as conn:
        a = any_store.outbox_enqueue(conn, "coop-a", "econobis", "webform", "intake:abc", {"a": 1})
        b = any_store.outbox_enqueue(conn, "coop-a", "econobis", "webform", "intake:abc", {"a": 2})
    assert a.created and not b.created and a.id == b.id
    with any_store.engine.connect() as conn:
        assert conn.execute(select(t.outbox.c.payload)).scalar_one() == {"a": 1}


def test_quarantine_counts_repeats_and_reopens_resolved_records(any_store: Store):
    with any_store.begin() as conn:
        any_store.quarantine_put(conn, "coop-a", "econobis", "intake", "7", "missing contact", {"id": 7})
        any_store.quarantine_put(conn, "coop-a", "econobis", "intake", "7", "missing contact", {"id": 7})
    with any_store.begin() as conn:
        [row] = any_store.open_quarantine(conn, "coop-a")
        assert row["occurrences"] == 2 and row["reason"] == "missing contact"
        assert any_store.quarantine_resolve(conn, "coop-a", "econobis", "intake", ["7"]) == 1
        assert any_store.open_quarantine(conn, "coop-a") == []
        any_store.quarantine_put(conn, "coop-a", "econobis", "intake", "7", "again", None)
        assert len(any_store.open_quarantine(conn, "coop-a")) == 1


def test_entity_upsert_only_bumps_version_when_content_changes(any_store: Store):
    from hub.store import utcnow

    now = utcnow()
    row = {
        "canonical_id": "c-1",
        "tenant": "coop-a",
        "entity": "resident",
        "parent_id": None,
        "natural_key": None,
        "data": {"first_name": "Jan"},
        "data_hash": "h1",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }
    with any_store.begin() as conn:
        any_store.upsert_entities(conn, [row])
        any_store.upsert_entities(conn, [row])
        any_store.upsert_entities(conn, [{**row, "data": {"first_name": "Joop"}, "data_hash": "h2"}])
        stored = any_store.load_entities(conn, ["c-1"], tenant=row["tenant"])["c-1"]
    assert stored["version"] == 2 and stored["data"] == {"first_name": "Joop"}


def test_cursor_round_trip(any_store: Store):
    with any_store.begin() as conn:
        assert any_store.get_cursor(conn, "econobis", "coop-a", "intake") is None
        any_store.set_cursor(conn, "econobis", "coop-a", "intake", "10")
        any_store.set_cursor(conn, "econobis", "coop-a", "intake", "12")
        assert any_store.get_cursor(conn, "econobis", "coop-a", "intake") == "12"


def _run_concurrently(fns):
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(fns))

    def wrap(fn):
        def run():
            try:
                barrier.wait()
                fn()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        return run

    threads = [threading.Thread(target=wrap(f)) for f in fns]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors


@pytest.mark.postgres
def test_two_writers_resolving_the_same_ids_agree_on_postgresql(pg_store: Store):
    _two_writers(pg_store)


def test_two_writers_resolving_the_same_ids_agree_on_sqlite(store: Store):
    _two_writers(store)


def _two_writers(s: Store) -> None:
    ids = [str(i) for i in range(400)]
    results: list[dict[str, str]] = []

    def writer(order):
        def run():
            for _ in range(3):
                with s.begin() as conn:
                    results.append(s.resolve_ids(conn, "econobis", "coop-a", "contact", order))
                    s.inbox_put(conn, "hoomdossier", "coop-a", '{"same": true}', {})
                    s.outbox_enqueue(conn, "coop-a", "econobis", "op", "same-key", {})
                    s.quarantine_put(conn, "coop-a", "econobis", "intake", "1", "r")

        return run

    _run_concurrently([writer(ids), writer(list(reversed(ids)))])
    assert all(r == results[0] for r in results)
    assert s.count(t.xref) == 400
    assert s.count(t.inbox) == 1 and s.count(t.outbox) == 1 and s.count(t.quarantine) == 1
    with s.engine.connect() as conn:
        assert conn.execute(select(t.quarantine.c.occurrences)).scalar_one() == 6


@pytest.mark.postgres
def test_shared_budget_never_over_issues_tokens_with_concurrent_callers_on_postgresql(pg_store: Store):
    _budget_race(pg_store)


def test_shared_budget_never_over_issues_tokens_with_concurrent_callers_on_sqlite(store: Store):
    _budget_race(store)


def _budget_race(s: Store) -> None:
    granted: list[int] = []
    lock = threading.Lock()

    def caller():
        n = 0
        for _ in range(20):
            if s.budget_try_acquire("econobis", "coop-a", capacity=10, refill_per_second=0.0001, now=1000.0) == 0:
                n += 1
        with lock:
            granted.append(n)

    _run_concurrently([caller, caller])
    assert sum(granted) == 10
