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
