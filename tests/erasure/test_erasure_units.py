"""Erasure without sandboxes: Hoomdossier's confirmation by its own delete message, the retention purge, and
the mart's refusal to publish without HUB_MART_PSEUDONYM_KEY outside the sandbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from connectors.hoomdossier.inbox import apply_inbox
from hub.config import HubConfig, PartnerConfig, TenantConfig, sandbox_config
from hub.erasure import ErasureError, confirm, erase, progress, purge_retention
from hub.mart import build_mart
from hub.pseudonym import PseudonymKeyMissing
from hub.store import stable_hash, utcnow
from hub.store import tables as t

TENANT = "coop-noord"


def _entity(cid: str, entity: str, data: dict, parent: str | None = None) -> dict:
    now = utcnow()
    return {
        "canonical_id": cid,
        "tenant": TENANT,
        "entity": entity,
        "parent_id": parent,
        "natural_key": None,
        "data": data,
        "data_hash": stable_hash(data),
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }


def test_hoomdossier_is_told_through_the_coordinator_task_and_confirmed_by_its_delete_message(any_store):
    store = any_store
    config = sandbox_config()
    with store.begin() as conn:
        store.upsert_entities(
            conn,
            [
                _entity(
                    "r-1",
                    "resident",
                    {
                        "email": "hanna@example.org",
                        "last_name": "Hoomtest",
                        "number": "C2026-501",
                        "hoomdossier_account_id": 640,
                    },
                ),
                _entity("d-1", "dwelling", {"street": "Hoomlaan", "resident_id": "r-1"}, "r-1"),
                _entity("f-1", "dwelling_file", {"dwelling_id": "d-1", "hoomdossier_building_id": 77}, "d-1"),
            ],
        )
        store.link_ids(conn, "econobis", TENANT, "contact", {"501": "r-1"})
        store.link_ids(conn, "hoomdossier", TENANT, "account", {"640": "r-1"})
        store.link_ids(conn, "hoomdossier", TENANT, "building", {"77": "f-1"})
        store.inbox_receive(conn, "hoomdossier", TENANT, "77/gebruik", json.dumps({"x": "hanna@example.org"}), {})
    report = erase(store, config, TENANT, "r-1", "coordinator:1")
    steps = progress(store, report.tenant, report.request_id)["steps"]["partners"]
    assert steps["econobis"]["status"] == "queued" and steps["hoomdossier"]["status"] == "needs-coordinator"
    with store.begin() as conn:
        [item] = conn.execute(select(t.outbox)).mappings().all()
    assert item["operation"] == "erase-request" and "Hoomdossier" in item["payload"]["manual"][0]["partner"]
    assert "hanna" not in json.dumps(item["payload"]) and "640" in item["payload"]["manual"][0]["instruction"]
    with store.begin() as conn:  # the webform task was created (the push)
        conn.execute(update(t.outbox).values(status="sent", sent_at=utcnow()))
    steps = progress(store, report.tenant, report.request_id)["steps"]["partners"]
    assert steps["econobis"]["status"] == "told" and steps["hoomdossier"]["status"] == "told"
    with store.begin() as conn:  # the sent notice keeps no partner ids
        assert conn.execute(select(t.outbox.c.payload)).scalar_one() == {"erased": report.request_id}
    # the coordinator deletes the user in Hoomdossier; Hoomdossier posts delete to the hub's receiver
    body = {"account_related": {"building_id": 77, "user_id": 5, "account_id": 640, "contact_id": 501}}
    with store.begin() as conn:
        store.inbox_receive(conn, "hoomdossier", TENANT, "77/delete", json.dumps(body), {"endpoint": "delete"})
    out = apply_inbox(store, TENANT)
    assert out.erasures_confirmed >= 1
    assert (
        progress(store, report.tenant, report.request_id)["steps"]["partners"]["hoomdossier"]["status"] == "confirmed"
    )
    with store.begin() as conn:  # not re-created from the message: no raw id, tombstone untouched
        assert conn.execute(select(t.xref).where(t.xref.c.external_id.in_(["640", "77", "501"]))).all() == []
        assert store.load_entities(conn, ["r-1"], tenant=TENANT)["r-1"]["data"] == {"erased": report.request_id}


def test_retention_purge_blanks_old_processed_payloads_only(any_store):
    store = any_store
    config = sandbox_config()
    old = utcnow() - timedelta(days=40)
    with store.begin() as conn:
        a = store.inbox_put(conn, "hoomdossier", TENANT, '{"email": "old@example.org"}', {"endpoint": "gebruik"})
        b = store.inbox_put(conn, "hoomdossier", TENANT, '{"email": "new@example.org"}', {"endpoint": "gebruik"})
        store.inbox_update(conn, TENANT, a.id, status="forwarded", applied_at=old)
        store.inbox_update(conn, TENANT, b.id, status="forwarded", applied_at=utcnow())
        o = store.outbox_enqueue(conn, TENANT, "econobis", "webform-signup", "k1", {"email": "old@example.org"})
        store.outbox_update(conn, TENANT, o.id, status="sent", sent_at=old)
        store.quarantine_put(conn, TENANT, "econobis", "contact", "9", "bad", {"email": "old@example.org"})
        conn.execute(update(t.quarantine).values(resolved_at=old))
    rec = store.idempotency_begin(TENANT, "hoomdossier:register", "email:old@example.org", "h")
    store.idempotency_finish(rec, "done", 201, {"account_id": 1, "user_id": 2, "email": "old@example.org"})
    with store.begin() as conn:
        conn.execute(update(t.idempotency_records).values(updated_at=old))
    purged = purge_retention(store, config)[TENANT]
    assert purged == {"inbox": 1, "outbox": 1, "quarantine": 1, "idempotency_records": 1}
    with store.engine.connect() as conn:
        text = json.dumps(
            [
                list(map(str, r))
                for tb in (t.inbox, t.outbox, t.quarantine, t.idempotency_records)
                for r in conn.execute(
                    select(tb.c[tb.c.keys()[0]], *[c for c in tb.c if c.name in ("payload", "response_body")])
                ).all()
            ]
        )
        assert "new@example.org" in text and text.count("old@example.org") == 0
        body = conn.execute(select(t.idempotency_records.c.response_body)).scalar_one()
    assert body["account_id"] == 1 and body["purged"] == "retention"  # ids kept for a repeat of the call
    assert store.count(t.inbox, tenant=TENANT) == 2  # rows and counts stay
    assert sum(purge_retention(store, config)[TENANT].values()) == 0  # nothing more the second time


def test_the_mart_refuses_to_publish_without_the_key_outside_the_sandbox(store, tmp_path, monkeypatch):
    monkeypatch.delenv("HUB_MART_PSEUDONYM_KEY", raising=False)
    real = HubConfig(
        tenants=[
            TenantConfig(
                id="coop-echt",
                name="Echt",
                partners={
                    "econobis": PartnerConfig(
                        base_url="https://crm.coop.example.nl",
                        settings={"username": "hub"},
                        secrets={
                            "password": "HUB_ECHT_PASSWORD",
                            "client_secret": "HUB_ECHT_SECRET",
                            "webform_key": "HUB_ECHT_WEBFORM",
                        },
                    )
                },
            )
        ]
    )
    with pytest.raises(PseudonymKeyMissing, match="HUB_MART_PSEUDONYM_KEY"):
        build_mart(store, real, tmp_path / "mart")
    with pytest.raises(PseudonymKeyMissing):
        erase(store, real, "coop-echt", "r-x", "coordinator:1")
    build_mart(store, sandbox_config(), tmp_path / "sandbox-mart")  # the sandbox runs on its labelled key
    monkeypatch.setenv("HUB_MART_PSEUDONYM_KEY", "a-long-random-test-key-1234567890")
    assert build_mart(store, real, tmp_path / "mart").rows["dossiers"] == 0


def test_a_coordinator_confirms_a_partner_the_hub_cannot_watch_and_the_audit_says_who(store, tmp_path):
    config = sandbox_config()
    with store.begin() as conn:
        store.upsert_entities(conn, [_entity("r-2", "resident", {"email": "kees@example.org", "last_name": "Hand"})])
        store.link_ids(conn, "hoomdossier", TENANT, "account", {"641": "r-2"})
    report = erase(store, config, TENANT, "r-2", "coordinator:1")
    with pytest.raises(ErasureError, match="no step for 'woningpas'"):
        confirm(store, TENANT, report.request_id, "woningpas", "coordinator:2")
    with pytest.raises(ErasureError, match="role or staff id"):
        confirm(store, TENANT, report.request_id, "hoomdossier", "kees@example.org")
    with pytest.raises(ErasureError, match="no erasure request"):
        confirm(store, "coop-zuid", report.request_id, "hoomdossier", "coordinator:2")  # another tenant's id
    out = confirm(store, TENANT, report.request_id, "hoomdossier", "coordinator:2")
    step = out["steps"]["partners"]["hoomdossier"]
    assert step["status"] == "confirmed" and step["confirmed_by"] == "coordinator:2"
    again = confirm(store, TENANT, report.request_id, "hoomdossier", "coordinator:3")  # idempotent
    assert again["steps"]["partners"]["hoomdossier"]["confirmed_by"] == "coordinator:2"


def _everything(store) -> str:
    """Every column of every table, as lower-case text (bytes decoded leniently)."""
    out = []
    with store.engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            for row in conn.execute(select(table)).all():
                for v in row:
                    out.append(v.decode("utf-8", "replace") if isinstance(v, bytes) else json.dumps(v, default=str))
    return "\n".join(out).lower()


def test_the_retention_purge_blanks_every_column_an_erasure_blanks_and_leaves_held_work_whole(any_store):
    """Old finished work keeps no personal data in any column (payload, meta, result, error, reason, bytes,
    keys, content hashes), while work an open quarantine entry holds stays whole for its replay; a redelivery
    of a purged message and a repeat of a purged proxied call are still recognised."""
    import hashlib

    store = any_store
    config = sandbox_config()
    old = utcnow() - timedelta(days=40)
    mail = "old.resident@example.org"
    body = json.dumps({"email": mail})
    with store.begin() as conn:
        a = store.inbox_put(conn, "webform", TENANT, body, {"endpoint": "signup", "from": mail})
        store.inbox_update(conn, TENANT, a.id, status="forwarded", applied_at=old, result={"signup": {"email": mail}})
        f = store.inbox_put(
            conn, "hoomdossier", TENANT, json.dumps({"why": "held@example.org", "n": 2}), {"endpoint": "gebruik"}
        )
        store.inbox_update(conn, TENANT, f.id, status="failed", applied_at=old, last_error="bad field held@example.org")
        store.quarantine_put(conn, TENANT, "hoomdossier-apply", "gebruik", str(f.id), "held", {"inbox_id": f.id})
        w = store.inbox_put(conn, "webform", TENANT, body + " ", {"endpoint": "signup"}, message_id="webhook:msg_1")
        store.inbox_update(conn, TENANT, w.id, status="forwarded", applied_at=old)
        s = store.outbox_enqueue(conn, TENANT, "econobis", "webform-signup", "k-sent", {"email": mail})
        store.outbox_update(conn, TENANT, s.id, status="sent", sent_at=old, result={"contact_id": 9, "echo": mail})
        x = store.outbox_enqueue(conn, TENANT, "econobis", "webform-signup", "k-failed", {"email": mail})
        store.outbox_update(conn, TENANT, x.id, status="failed", last_error=f"refused {mail}")
        y = store.outbox_enqueue(conn, TENANT, "econobis", "webform-signup", "k-held", {"email": "held@example.org"})
        store.outbox_update(conn, TENANT, y.id, status="failed")
        store.quarantine_put(conn, TENANT, "outbox:econobis", "webform-signup", "k-held", "held", {})
        store.quarantine_put(
            conn,
            TENANT,
            "receiver:econobis",
            "body",
            "req-7",
            f"refused: {mail}",
            {"n": 1},
            payload_bytes=b"\xff" + mail.encode(),
        )
        conn.execute(update(t.quarantine).where(t.quarantine.c.external_id == "req-7").values(resolved_at=old))
        conn.execute(update(t.outbox).where(t.outbox.c.status == "failed").values(updated_at=old))
    rec = store.idempotency_begin(TENANT, "hoomdossier:register", f"email:{mail}", "h" * 64)
    store.idempotency_finish(rec, "done", 201, {"account_id": 11, "user_id": 12, "email": mail})
    with store.begin() as conn:
        conn.execute(update(t.idempotency_records).values(updated_at=old))

    purged = purge_retention(store, config)[TENANT]
    assert purged == {"inbox": 2, "outbox": 2, "quarantine": 1, "idempotency_records": 1}
    dump = _everything(store)
    assert mail not in dump and hashlib.sha256(body.encode()).hexdigest() not in dump
    assert dump.count("held@example.org") == 3  # what open quarantine entries hold is left whole for a replay
    with store.begin() as conn:
        assert "bad field" in conn.execute(select(t.inbox.c.last_error).where(t.inbox.c.id == f.id)).scalar_one()
        # a redelivery of a purged message is recognised, not stored again (content-addressed and by id)
        assert not store.inbox_put(conn, "webform", TENANT, body, {"endpoint": "signup"}).created
        again = store.inbox_put(conn, "webform", TENANT, body + " ", {}, message_id="webhook:msg_1")
        assert not again.created and again.id == w.id
        assert store.inbox_same_content(conn, TENANT, w.id, body + " ")
        assert not store.inbox_same_content(conn, TENANT, w.id, body)
    repeat = store.idempotency_begin(TENANT, "hoomdossier:register", f"email:{mail}", "h" * 64)
    assert not repeat["claimed"] and repeat["response_body"]["account_id"] == 11  # no second registration
    assert sum(purge_retention(store, config)[TENANT].values()) == 0


def test_an_erasure_finds_refused_bodies_and_work_that_names_the_resident_only_by_partner_ids(any_store):
    """A body the receiver refused (kept byte-exact, form-encoded, invalid UTF-8) is blanked; queued work that
    carries only Econobis' contact id (a registration, a coach link waiting for consent) is cancelled and
    blanked; another resident's work is untouched; the sent notice keeps neither payload nor answer."""
    store = any_store
    config = sandbox_config()
    with store.begin() as conn:
        store.upsert_entities(
            conn, [_entity("r-3", "resident", {"email": "Anne.Vos@example.org", "number": "C2026-503"})]
        )
        store.link_ids(conn, "econobis", TENANT, "contact", {"503": "r-3"})
        store.link_ids(conn, "hoomdossier", TENANT, "account", {"650": "r-3"})
        store.quarantine_put(
            conn,
            TENANT,
            "receiver:hoomdossier",
            "body",
            "req-9",
            "the body is not UTF-8",
            {"content_type": "application/x-www-form-urlencoded"},
            payload_bytes=b"email=anne.vos%40example.org&naam=\xe9",
        )
        store.quarantine_put(
            conn, TENANT, "receiver:hoomdossier", "body", "req-10", "not UTF-8", {}, payload_bytes=b"other=\xe9"
        )
        store.outbox_enqueue(
            conn, TENANT, "econobis", "make-hoomdossier", "econobis:make-hoomdossier:503", {"contact_id": 503}
        )
        store.outbox_enqueue(
            conn, TENANT, "econobis", "make-hoomdossier", "econobis:make-hoomdossier:504", {"contact_id": 504}
        )
        link = store.outbox_enqueue(
            conn,
            TENANT,
            "hoomdossier",
            "coach-link",
            "hoomdossier:coach-link:7:503",
            {"coach_contact_id": 7, "resident_contact_id": 503},
        )
        store.outbox_update(conn, TENANT, link.id, status="withheld")
    report = erase(store, config, TENANT, "r-3", "coordinator:1")
    with store.begin() as conn:
        q = {r.external_id: r for r in conn.execute(select(t.quarantine)).all()}
        items = {r.idempotency_key: r for r in conn.execute(select(t.outbox)).all()}
    assert q["req-10"].payload_bytes == b"other=\xe9"  # not the subject's
    [blanked] = [r for k, r in q.items() if k != "req-10"]
    assert blanked.payload_bytes == b"" and blanked.reason.startswith("erased")
    for key in ("econobis:make-hoomdossier:503", "hoomdossier:coach-link:7:503"):
        assert items[key].status == "failed" and "erased" in items[key].last_error
        assert items[key].payload == {"erased": report.request_id}
    assert items["econobis:make-hoomdossier:504"].status == "pending"
    assert items["econobis:make-hoomdossier:504"].payload == {"contact_id": 504}
    with store.begin() as conn:  # the notice is sent: its payload and answer are blanked
        conn.execute(
            update(t.outbox)
            .where(t.outbox.c.operation == "erase-request")
            .values(status="sent", sent_at=utcnow(), result={"task_for": "anne.vos@example.org"})
        )
    progress(store, TENANT, report.request_id)
    assert "anne.vos" not in _everything(store)
