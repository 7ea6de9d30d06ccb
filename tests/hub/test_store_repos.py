"""The store's repository methods that replace raw SQL on the tables elsewhere: each gives what the query it
replaces gives, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.store import (
    INBOX_OPEN,
    OUTBOX_DUE,
    IdempotencyStatus,
    InboxStatus,
    OutboxStatus,
    QueuedItem,
    Store,
    as_utc,
    chunks,
    stable_hash,
    utcnow,
)
from hub.store import tables as t


def _entity(cid: str, entity: str, parent: str | None = None, *, tenant: str = "coop-a", deleted=False, **data):
    now = utcnow()
    return {
        "canonical_id": cid,
        "tenant": tenant,
        "entity": entity,
        "parent_id": parent,
        "natural_key": data.pop("natural_key", None),
        "data": data,
        "data_hash": stable_hash([data, deleted]),
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "deleted_at": now if deleted else None,
    }


def test_the_facade_keeps_its_names_and_statuses_equal_their_strings():
    assert QueuedItem(1, True).created and as_utc(None) is None
    assert [list(c) for c in chunks([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    assert InboxStatus.RETRY == "retry" and OutboxStatus.UNCERTAIN == "uncertain"
    assert IdempotencyStatus.IN_FLIGHT == "in_flight" and f"{IdempotencyStatus.DONE}" == "done"
    assert set(INBOX_OPEN) == {"received", "retry"} and set(OUTBOX_DUE) == {"pending", "retry", "uncertain"}
    for name in ("resolve_ids", "load_entities", "set_cursor", "inbox_put", "outbox_claim", "quarantine_put"):
        assert callable(getattr(Store, name))
    for name in ("idempotency_begin", "budget_try_acquire", "count", "outbox_due", "open"):
        assert callable(getattr(Store, name))


def test_inbox_and_outbox_counts_in_the_callers_transaction_or_their_own(any_store: Store):
    s = any_store
    with s.begin() as conn:
        s.inbox_put(conn, "hoomdossier", "coop-a", "1", {})
        s.inbox_put(conn, "hoomdossier", "coop-a", "2", {})
        s.outbox_enqueue(conn, "coop-a", "econobis", "op", "k1", {})
        assert s.inbox_counts(conn, "coop-a", "hoomdossier") == {"received": 2}
        assert s.outbox_counts(conn, "coop-a", "econobis") == {"pending": 1}
    assert s.inbox_counts("coop-a", "hoomdossier") == {"received": 2}
    assert s.inbox_counts(tenant="coop-a", source="hoomdossier") == {"received": 2}
    assert s.outbox_counts("coop-a", "econobis") == {"pending": 1}


def test_replay_requeues_return_the_rows_they_changed(any_store: Store):
    s = any_store
    with s.begin() as conn:
        failed = s.outbox_enqueue(conn, "coop-a", "econobis", "op", "k-failed", {})
        sent = s.outbox_enqueue(conn, "coop-a", "econobis", "op", "k-sent", {})
        s.outbox_update(conn, "coop-a", failed.id, status="failed", attempts=7)
        s.outbox_update(conn, "coop-a", sent.id, status="sent", attempts=1)
        msg = s.inbox_put(conn, "hoomdossier", "coop-a", "{}", {})
        s.inbox_update(conn, "coop-a", msg.id, status="failed", attempts=9, applied_at=utcnow())
    now = utcnow()
    with s.begin() as conn:
        assert s.outbox_requeue(conn, "coop-a", "k-failed", now) == 1
        assert s.outbox_requeue(conn, "coop-a", "k-sent", now) == 0
        assert s.outbox_requeue(conn, "coop-b", "k-failed", now) == 0
        assert s.outbox_requeue(conn, "coop-a", "k-gone", now) == 0
        assert s.inbox_requeue_forward(conn, "coop-a", msg.id, now) == 1
        assert s.inbox_requeue_apply(conn, "coop-a", msg.id) == 1
        assert s.inbox_requeue_apply(conn, "coop-a", msg.id + 1000) == 0
        out = {r.idempotency_key: r for r in conn.execute(select(t.outbox))}
        inbox = conn.execute(select(t.inbox)).one()
    assert (out["k-failed"].status, out["k-failed"].attempts) == ("uncertain", 0)
    assert as_utc(out["k-failed"].next_attempt_at) == now and out["k-sent"].status == "sent"
    assert (inbox.status, inbox.attempts, inbox.applied_at) == ("retry", 0, None)
    assert as_utc(inbox.next_attempt_at) == now


def test_planned_follow_up_lookups(any_store: Store):
    s = any_store
    with s.begin() as conn:
        s.outbox_enqueue(conn, "coop-a", "econobis", "op", "k1", {})
        s.quarantine_put(conn, "coop-a", "hub:follow-up", "dossier", "q-open", "r")
        s.quarantine_put(conn, "coop-a", "hub:follow-up", "dossier", "q-done", "r")
        s.quarantine_put(conn, "coop-a", "econobis", "dossier", "q-other", "r")
        s.quarantine_resolve(conn, "coop-a", "hub:follow-up", "dossier", ["q-done"])
    with s.begin() as conn:
        assert s.outbox_keys_present(conn, "coop-a", ["k1", "k2"]) == {"k1"}
        assert s.outbox_keys_present(conn, "coop-b", ["k1", "k2"]) == set()
        assert s.outbox_keys_present(conn, "coop-a", []) == set()
        wanted = ["q-open", "q-done", "q-other", "q-none"]
        assert s.quarantine_open_ids(conn, "coop-a", "hub:follow-up", wanted) == {"q-open"}
        assert s.quarantine_open_ids(conn, "coop-b", "hub:follow-up", wanted) == set()
        assert s.quarantine_open_counts(conn, "coop-a") == {"hub:follow-up": 1, "econobis": 1}


def test_journey_last_progress_finds_dossiers_whose_latest_event_lies_in_the_window(any_store: Store):
    s = any_store
    now = utcnow().replace(microsecond=0)

    def events(did: str, *phases_days: tuple[str, int]) -> list[dict]:
        return [
            {
                "tenant": "coop-a",
                "dossier_id": did,
                "phase": p,
                "source": "test",
                "occurred_at": now - timedelta(days=d),
                "recorded_at": now,
            }
            for p, d in phases_days
        ]

    with s.begin() as conn:
        s.add_journey_events(
            conn,
            events("d-old", ("interest", 30), ("contact", 20))
            + events("d-older", ("interest", 25))
            + events("d-recent", ("interest", 30), ("contact", 2))
            + events("d-done", ("interest", 30), ("done", 20))
            + events("d-ancient", ("interest", 400)),
        )
        found = s.journey_last_progress(
            conn,
            "coop-a",
            before=now - timedelta(days=7),
            since=now - timedelta(days=90),
            excluding=["done", "stopped"],
        )
        assert s.count_journey_events(conn, "coop-a") == 8 and s.count_journey_events(conn, "coop-b") == 0
    assert list(found) == ["d-older", "d-old"]
    assert found["d-old"] == now - timedelta(days=20) and found["d-old"].tzinfo is not None
    # the same dossiers, in the same order, as the follow-up's own query
    from couplings.follow_up import stalled_dossiers
    from hub.config import FollowUpConfig

    with s.begin() as conn:
        s.upsert_entities(conn, [_entity(d, "dossier", phase="contact") for d in ("d-old", "d-older", "d-recent")])
        stalled = stalled_dossiers(s, conn, "coop-a", FollowUpConfig(look_back_days=90), now)
    assert [(x.dossier_id, x.last_progress) for x in stalled] == list(found.items())


def test_entity_reads_match_the_callers_queries(any_store: Store):
    from assets.canonical import canonical_counts, xref_duplicates

    s = any_store
    rows = [
        _entity("r1", "resident"),
        _entity("r2", "resident", deleted=True),
        _entity("w1", "dwelling", "r1", street="Dorpsstraat", natural_key="1000AA-1"),
        _entity("w2", "dwelling", "r1", deleted=True),
        _entity("w3", "dwelling", "r2"),
        _entity("d1", "dossier", phase="contact"),
        _entity("d2", "dossier", phase="contact"),
        _entity("d3", "dossier", phase="advice"),
        _entity("d4", "dossier", phase="advice", deleted=True),
        _entity("x1", "dossier", tenant="coop-b", phase="interest"),
    ]
    with s.begin() as conn:
        s.upsert_entities(conn, rows)
        s.link_ids(conn, "econobis", "coop-a", "intake", {"1": "d1", "2": "d1", "3": "d2"})
        s.link_ids(conn, "econobis", "coop-a", "opportunity", {"1": "d1"})
    with s.begin() as conn:
        by_id = {
            r["canonical_id"]: r
            for r in s.entities_of(conn, "dwelling", tenant="coop-a", ids=["w1", "w2", "r1", "nope"])
        }
        assert sorted(by_id) == ["w1", "w2"] and by_id["w1"]["data"] == {"street": "Dorpsstraat"}
        assert by_id["w2"]["deleted_at"] is not None and by_id["w1"]["parent_id"] == "r1"
        assert sorted(
            r["canonical_id"] for r in s.entities_of(conn, "dwelling", tenant="coop-a", parents=["r1", "r2"])
        ) == [
            "w1",
            "w2",
            "w3",
        ]
        assert [
            r["canonical_id"] for r in s.entities_of(conn, "dwelling", tenant="coop-a", parents=["r1"], live=True)
        ] == ["w1"]
        assert s.entities_of(conn, "dwelling", tenant="coop-a", parents=[]) == []
        live = s.live_entities(conn, "dossier", "coop-a")
        assert sorted(r["canonical_id"] for r in live) == ["d1", "d2", "d3"]
        assert sorted(r["canonical_id"] for r in s.live_entities(conn, "dossier", ["coop-a", "coop-b"])) == [
            "d1",
            "d2",
            "d3",
            "x1",
        ]
        assert sorted((r["canonical_id"], r["data"]["phase"]) for r in live) == [
            ("d1", "contact"),
            ("d2", "contact"),
            ("d3", "advice"),
        ]
        assert s.ids_by_natural_key(conn, "coop-a", "dwelling", ["1000AA-1", "9999ZZ-9"]) == {"1000AA-1": "w1"}
        entities = s.count_live_entities(conn, "coop-a")
        phases = s.count_live_by_data(conn, "coop-a", "dossier", "phase")
        assert entities == {"resident": 1, "dwelling": 2, "dossier": 3}
        assert phases == {"contact": 2, "advice": 1}
        assert s.xref_shared_canonical_ids(conn, "coop-a", "econobis", "intake") == 1
        assert s.xref_shared_canonical_ids(conn, "coop-a", "econobis", "opportunity") == 0
        assert s.xref_external_ids_mapped_twice(conn, "coop-a") == 0
    assert canonical_counts(s, "coop-a") == {"entities": entities, "dossiers_by_phase": phases, "journey_events": 0}
    assert xref_duplicates(s, "coop-a") == {"econobis/intake": 1}


def test_imported_rows_are_due_as_the_sensors_see_them(any_store: Store):
    s = any_store
    now = utcnow()
    inbox = [
        {
            "source": "hoomdossier",
            "tenant": "coop-a",
            "message_id": f"m{i}",
            "content_hash": f"h{i}",
            "payload": "{}",
            "meta": {},
            "status": status,
            "attempts": 1,
            "received_at": now,
            "next_attempt_at": due,
            "applied_at": applied,
        }
        for i, (status, due, applied) in enumerate(
            [
                ("retry", now - timedelta(seconds=5), now),  # due to forward
                ("retry", now + timedelta(hours=1), now),  # waiting for its retry
                ("forwarded", None, None),  # still to apply
                ("forwarded", None, now),  # done
            ]
        )
    ]
    outbox = [
        {
            "tenant": "coop-a",
            "partner": "econobis",
            "operation": "op",
            "idempotency_key": f"k{i}",
            "payload": {},
            "status": status,
            "attempts": 0,
            "next_attempt_at": now - timedelta(seconds=5),
            "created_at": now,
            "updated_at": now,
        }
        for i, status in enumerate(["pending", "sent", "uncertain"])
    ]
    with s.begin() as conn:
        s.inbox_import(conn, inbox)
        s.outbox_import(conn, outbox)
    with s.begin() as conn:
        due_in = s.inbox_due_versions(conn, "coop-a", "hoomdossier", now)
        due_out = s.outbox_due_versions(conn, "coop-a", "econobis", now)
    assert [(r[1], r[3] is None) for r in due_in] == [(1, False), (1, True)]
    assert [r[3] for r in due_out] == ["pending", "uncertain"]
