"""The premium push against the sandbox portal: a lost answer never makes a second application (even after the
portal forgot the Idempotency-Key), refusals are parked with the portal's codes, a missing mandate and a running
energy loan are told apart, and nothing goes without the resident's consent."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.fluvius.client import PortalClient
from connectors.fluvius.push import PremiumPush
from connectors.fluvius.settings import APPLICATION_CATEGORY, APPLY, FOLLOW_UP_MANDATE, FOLLOW_UP_REFUSAL, PARTNER
from hub.canonical import PremiumApplication
from hub.config import PartnerConfig, TenantConfig
from hub.consent import Purpose, check, record
from hub.documents import store_document
from hub.followup import open_follow_ups
from hub.http import RetryPolicy
from hub.http.oauth import SHARED_TOKENS
from hub.merge import Incoming, MergeStats, merge
from hub.store import utcnow
from hub.worker import outbox_key
from tests.connectors.fluvius.conftest import INSZ_LOAN, MVP_CLIENT, MVP_SECRET, mvp_body

T = "desk-test"
RESIDENT = "r-1"


@pytest.fixture
def tenant(portal, monkeypatch) -> TenantConfig:
    monkeypatch.setenv("HUB_TEST_FLUVIUS_SECRET", MVP_SECRET)
    monkeypatch.setenv("HUB_TEST_FLUVIUS_WHSEC", "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdA==")
    SHARED_TOKENS.clear()
    return TenantConfig(
        id=T,
        name="desk",
        country="BE",
        timezone="Europe/Brussels",
        partners={
            PARTNER: PartnerConfig(
                base_url=portal.base,
                settings={"client_id": MVP_CLIENT, "regeling": "MVP_VL", "budget_per_minute": 1e6, "budget_burst": 1e6},
                secrets={"client_secret": "HUB_TEST_FLUVIUS_SECRET", "webhook_secrets": "HUB_TEST_FLUVIUS_WHSEC"},
            )
        },
    )


def _queue(store, body: dict[str, Any], consent: bool = True) -> tuple[str, dict[str, str]]:
    """A planned application of the body's categories, its documents, and its outbox item."""
    ref = body["referentie"]
    with store.begin() as conn:
        ids = store.resolve_ids(
            conn, PARTNER, T, APPLICATION_CATEGORY, [f"{ref}/{c['categorie']}" for c in body["categorieen"]]
        )
        apps = {c["categorie"]: ids[f"{ref}/{c['categorie']}"] for c in body["categorieen"]}
        merge(
            store,
            conn,
            [
                Incoming(
                    PremiumApplication(id=i, tenant=T, dwelling_id="d1", resident_id=RESIDENT, dossier_id="do1",
                                       scheme="MVP_VL", category=c, status="planned", reference=ref),
                    PARTNER, "plan", utcnow(),
                )
                for c, i in apps.items()
            ],
            MergeStats(),
        )  # fmt: skip
        docs = []
        for c in body["categorieen"]:
            did = store_document(store, conn, T, "f1", f"%PDF invoice {ref} {c['categorie']}".encode(), kind="factuur")
            docs.append({"document_id": did, "kind": "factuur", "category": c["categorie"]})
        did = store_document(store, conn, T, "f1", f"%PDF tax {ref}".encode(), kind="aanslagbiljet")
        docs.append({"document_id": did, "kind": "aanslagbiljet"})
        if consent:
            record(store, conn, T, RESIDENT, Purpose.APPLY_FOR_PREMIUM, PARTNER, True, "webform", "mandate:M-1")
        payload = {
            "reference": ref,
            "dossier_id": "do1",
            "resident_id": RESIDENT,
            "body": body,
            "documents": docs,
            "applications": apps,
        }
        store.outbox_enqueue(conn, T, PARTNER, APPLY, outbox_key(PARTNER, "apply", ref), payload)
    return ref, apps


def _push(store, tenant) -> dict[str, Any]:
    fast = RetryPolicy(backoff_initial=0.01, backoff_max=0.05)
    push = PremiumPush(store, PortalClient.for_tenant(tenant, store, policy=fast), T, backoff=0)
    return dict(push.run().metadata())


def _data(store, cid: str) -> dict[str, Any]:
    with store.begin() as conn:
        return dict(store.load_entities(conn, [cid], tenant=T)[cid]["data"])


def test_a_lost_draft_answer_is_looked_up_even_after_the_portal_forgot_the_key(portal, store, tenant):
    body = mvp_body()
    ref, apps = _queue(store, body)
    # the portal makes the draft but every answer is lost (the retries with the same key replay the lost answer)
    portal.admin("POST", "/faults", {"rules": [
        {"route": "/premies/v1/aanvragen", "method": "POST", "error_rate": 1.0, "after_processing": True},
    ]})  # fmt: skip
    first = _push(store, tenant)
    assert first["sent"] == 0 and first["retry_later"] == 1
    assert len(portal.sb.aanvragen) == 1  # made once, answered never
    portal.admin("POST", "/faults", {"rules": []})
    portal.advance(2)  # the portal forgets the Idempotency-Key after 24 hours: a blind retry would make a second
    second = _push(store, tenant)
    assert second["sent"] == 1
    assert len(portal.sb.aanvragen) == 1
    [a] = portal.sb.aanvragen.values()
    assert a.status == "ingediend" and a.referentie == ref
    got = _data(store, apps["dak"])
    assert got["status"] == "submitted" and got["portal_id"] == a.id and got["dossier_number"].startswith("MVP-")
    assert _push(store, tenant)["claimed"] == 0  # done: nothing to send again


def test_a_refusal_is_parked_with_the_portals_codes_on_the_follow_up_list(portal, store, tenant):
    old = mvp_body()
    old["categorieen"][0]["facturen"][0]["datum"] = "2024-06-01"  # more than 24 months before the submit
    _, apps = _queue(store, old)
    out = _push(store, tenant)
    assert out["quarantined"] == 1
    data = _data(store, apps["dak"])
    assert data["status"] == "refused_by_portal" and data["reason_codes"] == ["FACTUUR_TE_OUD"]
    with store.begin() as conn:
        [task] = open_follow_ups(store, conn, T, FOLLOW_UP_REFUSAL)
    assert "FACTUUR_TE_OUD" in task["reason"]


def test_no_mandate_withdraws_the_consent_and_waits_an_energy_loan_parks(portal, store, tenant):
    portal.admin("POST", "/mandaten", {"client_id": MVP_CLIENT, "insz": "85073003328", "ingetrokken": True})
    _queue(store, mvp_body())
    out = _push(store, tenant)
    assert out["sent"] == 0 and out["quarantined"] == 0
    with store.begin() as conn:
        verdict = check(store, conn, T, [RESIDENT], Purpose.APPLY_FOR_PREMIUM, PARTNER)
        tasks = open_follow_ups(store, conn, T, FOLLOW_UP_MANDATE)
    assert not verdict.allowed and verdict.withdrawn == (RESIDENT,)
    assert len(tasks) == 1 and "mandate" in tasks[0]["reason"]

    loan = mvp_body()
    loan["aanvrager"] = {**loan["aanvrager"], "insz": INSZ_LOAN}
    with store.begin() as conn:  # a second resident, with consent, whose energy loan runs
        record(store, conn, T, "r-2", Purpose.APPLY_FOR_PREMIUM, PARTNER, True, "webform", "mandate:M-2")
    ref, apps = _queue(store, loan, consent=False)
    _repoint(store, ref, "r-2")  # the helper queues for r-1: this application is r-2's
    out = _push(store, tenant)
    assert out["quarantined"] == 1
    assert _data(store, apps["dak"])["reason_codes"] == ["ENERGIELENING_LOOPT"]


def _repoint(store, ref: str, resident: str) -> None:
    from sqlalchemy import select, update

    from hub.store import tables as t

    key = outbox_key(PARTNER, "apply", ref)
    with store.begin() as conn:
        payload = conn.execute(select(t.outbox.c.payload).where(t.outbox.c.idempotency_key == key)).scalar_one()
        conn.execute(
            update(t.outbox)
            .where(t.outbox.c.idempotency_key == key)
            .values(payload={**payload, "resident_id": resident})
        )


def test_nothing_is_sent_without_consent_to_apply(portal, store, tenant):
    _queue(store, mvp_body(), consent=False)
    out = _push(store, tenant)
    assert out["sent"] == 0 and out["withheld_without_consent"] == 1
    assert portal.sb.aanvragen == {}


def test_a_refusal_corrected_at_the_source_resumes_the_portals_draft(portal, store, tenant):
    old = mvp_body()
    old["categorieen"][0]["facturen"][0]["datum"] = "2024-06-01"
    ref, apps = _queue(store, old)
    assert _push(store, tenant)["quarantined"] == 1
    [draft] = portal.sb.aanvragen.values()
    assert draft.status == "concept"
    # the resident sends the right invoice; the plan finds the parked item's payload changed
    key = outbox_key(PARTNER, "apply", ref)
    with store.begin() as conn:
        from sqlalchemy import select

        from hub.store import tables as t

        payload = conn.execute(select(t.outbox.c.payload).where(t.outbox.c.idempotency_key == key)).scalar_one()
        fixed = {**payload, "body": {**payload["body"]}}
        fixed["body"]["categorieen"] = [
            {**c, "facturen": [{**c["facturen"][0], "datum": "2026-06-25"}]} for c in payload["body"]["categorieen"]
        ]
        assert store.outbox_replan(conn, T, key, fixed) is True
        assert store.outbox_replan(conn, T, key, fixed) is False  # due already: not parked any more
        assert store.quarantine_open_counts(conn, T).get(f"outbox:{PARTNER}", 0) == 0
    assert _push(store, tenant)["sent"] == 1
    assert list(portal.sb.aanvragen) == [draft.id] and draft.status == "ingediend"  # the same draft, submitted
    assert _data(store, apps["dak"])["status"] == "submitted"
