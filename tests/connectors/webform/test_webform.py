"""The web-form connector's inbox step (schema check, quarantine with reasons free of personal data) and the
web form → Econobis coupling (one outbox item per sign-up, whatever was re-posted)."""

from __future__ import annotations

import json
from typing import Any

from connectors.econobis.commands import signup_key
from connectors.webform.inbox import apply_inbox, submission_key
from connectors.webform.settings import APPLY_QUARANTINE, INBOX_SOURCE
from couplings.webform_econobis import queue_signups
from hub.store import Store
from hub.store import tables as t

TENANT = "coop-noord"


def signup(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "form-0001",
        "first_name": "Sanne",
        "last_name": "de Vries",
        "email": "Sanne.deVries@example.org",
        "phone": "06 1234 5678",
        "street": "Havenkade",
        "number": "12",
        "addition": "b",
        "postcode": "1621 aa",
        "city": "Hoorn",
        "campaign": 4,
        "measures": ["Vloerisolatie"],
        "consent": {"privacy_policy": True, "given_at": "2026-11-02T10:00:00+01:00"},
    }
    data.update(over)
    return data


def receive(store: Store, webhook_id: str, data: dict[str, Any], kind: str = "signup.created") -> int:
    payload = json.dumps({"type": kind, "timestamp": "2026-11-02T10:00:00Z", "data": data})
    with store.begin() as conn:
        item = store.inbox_put(
            conn, INBOX_SOURCE, TENANT, payload, {"webhook_id": webhook_id}, message_id=f"webhook:{webhook_id}"
        )
    return item.id


def inbox(store: Store) -> dict[int, dict[str, Any]]:
    with store.begin() as conn:
        return {r["id"]: dict(r) for r in conn.execute(t.inbox.select()).mappings()}


def test_a_valid_signup_is_normalised_and_kept_for_the_coupling(store):
    mid = receive(store, "msg_1", signup())
    out = apply_inbox(store, TENANT, {})
    assert (out.applied, out.quarantined) == (1, 0)
    row = inbox(store)[mid]
    assert row["status"] == "received" and row["applied_at"] is not None
    s = row["result"]["signup"]
    assert s["key"] == "wf-coop-noord-form-0001" and s["campaign_id"] == 4
    assert s["postcode"] == "1621AA" and s["email"] == "sanne.devries@example.org"
    assert apply_inbox(store, TENANT, {}).applied == 0  # applied once


def test_campaign_codes_map_through_the_settings(store):
    receive(store, "msg_code", signup(campaign="isolatie-2026"))
    receive(store, "msg_unmapped", signup(id="form-0002", campaign="elders"))
    out = apply_inbox(store, TENANT, {"isolatie-2026": 11})
    assert (out.applied, out.quarantined) == (1, 1)
    signups = [r["result"]["signup"] for r in inbox(store).values() if r["result"]]
    assert [s["campaign_id"] for s in signups] == [11]


def test_bad_signups_are_quarantined_with_reasons_that_hold_no_personal_data(store):
    bad = {
        "postcode": signup(postcode="99999", email="geheim.adres@example.org"),
        "who": signup(last_name=None, email="x@example.org"),
        "extra": signup(bsn="123456782"),
        "consent": signup(consent=None),
        "number": signup(number="12b"),
    }
    for n, data in enumerate(bad.values()):
        receive(store, f"msg_bad_{n}", data)
    receive(store, "msg_event", signup(), kind="signup.deleted")
    out = apply_inbox(store, TENANT, {})
    assert (out.applied, out.quarantined) == (0, 6)
    with store.begin() as conn:
        q = conn.execute(t.quarantine.select()).mappings().all()
    reasons = " | ".join(r["reason"] for r in q)
    assert {r["source"] for r in q} == {APPLY_QUARANTINE}
    for field in ("postcode", "last_name or organisation_name", "bsn", "consent", "number", "signup.deleted"):
        assert field in reasons
    for value in ("99999", "geheim.adres", "123456782", "Sanne", "Havenkade"):
        assert value not in reasons
    assert {r["status"] for r in inbox(store).values()} == {"failed"}
    assert queue_signups(store, TENANT)["signups_queued"] == 0


def test_a_replayed_quarantined_signup_is_applied_again(store):
    mid = receive(store, "msg_later", signup(campaign="nieuw"))
    assert apply_inbox(store, TENANT, {}).quarantined == 1
    with store.begin() as conn:
        store.inbox_requeue_apply(conn, TENANT, mid)  # the quarantine replay (REAPPLY_INBOX)
    assert apply_inbox(store, TENANT, {"nieuw": 7}).applied == 1
    assert inbox(store)[mid]["status"] == "received"
    assert queue_signups(store, TENANT)["signups_queued"] == 1


def test_one_outbox_item_per_signup_however_often_it_was_posted(store):
    receive(store, "msg_a", signup())
    receive(store, "msg_b", signup())  # the same form submission under a new webhook-id
    receive(store, "msg_c", signup(id=None))  # no submission id: the webhook-id is the key
    apply_inbox(store, TENANT, {})
    assert queue_signups(store, TENANT) == {"signups_queued": 2, "signups_already_queued": 1, "signups_refused": 0}
    assert queue_signups(store, TENANT)["signups_queued"] == 0  # forwarded: nothing left
    with store.begin() as conn:
        items = conn.execute(t.outbox.select()).mappings().all()
    keys = sorted(i["idempotency_key"] for i in items)
    assert keys == sorted([signup_key("wf-coop-noord-form-0001"), signup_key(submission_key(TENANT, None, "msg_c"))])
    payload = next(i["payload"] for i in items if i["idempotency_key"].endswith("form-0001"))
    assert payload["consent"] is True and payload["number"] == "12" and payload["addition"] == "b"
    assert {r["status"] for r in inbox(store).values()} == {"forwarded"}


def test_submission_keys_are_per_tenant_and_fit_the_crm():
    assert submission_key("coop-a", "f1", "m") != submission_key("coop-b", "f1", "m")
    long = submission_key("a-very-long-tenant-name-for-a-municipality", "x" * 40, "m")
    assert len(long) <= 64 and long == submission_key("a-very-long-tenant-name-for-a-municipality", "x" * 40, "z")
