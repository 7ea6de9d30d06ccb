"""A municipality's web-form sign-up, posted to the hub as a signed webhook, reaches the sandbox Econobis once
however often it is replayed (issue 11 §4): the whole sandbox stack (Econobis, Hoomdossier, the sandbox web
form, the hub's receiver), then the hub's runs as the sync job orders them — the web-form inbox, the coupling
into Econobis' outbox, Econobis' push."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from app.sandbox_stack import SandboxStack, start_stack
from connectors.econobis.client import EconobisClient
from connectors.econobis.push import EconobisPush
from connectors.webform import connector as webform
from couplings.webform_econobis import queue_signups
from hub.connector import PartnerRun
from hub.http import RetryPolicy
from hub.store import Store
from hub.store import tables as t
from tests.connectors.econobis.sandbox_helpers import records

TENANT = "coop-noord"
FAST = RetryPolicy(max_attempts=8, backoff_initial=0.01, backoff_max=0.05, jitter=0.5, max_total_seconds=60)


@pytest.fixture
def stack(store: Store) -> Iterator[SandboxStack]:
    s = start_stack(
        10,
        store=store,
        throttle=1_000_000,
        tenants=(TENANT,),
        extra_settings={"budget_per_minute": 1e6, "budget_burst": 1e6},
    )
    econobis = s.of("econobis", TENANT)
    for wf in econobis.sandbox.db.tables["webforms"].values():
        wf["max_requests_per_minute"] = 1_000_000
    try:
        yield s
    finally:
        s.stop()


def hub_runs(stack: SandboxStack, store: Store) -> dict[str, Any]:
    """The web-form inbox (+ the coupling), then Econobis' push until its outbox is drained."""
    tenant = stack.config.tenant(TENANT)
    applied = webform.apply(PartnerRun(store, stack.config, tenant)).metadata()
    queued = queue_signups(store, TENANT)
    client = EconobisClient.for_tenant(tenant, store, policy=FAST, timeout=(3.0, 5.0))
    client.http.sleep = lambda s: time.sleep(min(s, 0.02))
    sent = 0
    for _ in range(10):
        sent += EconobisPush(store, client, TENANT, tenant.secret("econobis", "webform_key"), backoff=0.0).run().sent
        with store.begin() as conn:
            counts = store.outbox_counts(conn, TENANT, "econobis")
        if not any(counts.get(s) for s in ("pending", "retry", "uncertain")):
            break
    return {**applied, **queued, "sent": sent}


def signup_data(stack: SandboxStack) -> dict[str, Any]:
    campaign = stack.of("econobis", TENANT).sandbox.db.ids["campaigns"][0]
    return {
        "id": "gemeente-hoorn-000417",
        "first_name": "Fatima",
        "last_name": "Webhookmans",
        "email": "fatima.webhookmans@example.org",
        "phone": "0229 123456",
        "street": "Grote Noord",
        "number": "41",
        "postcode": "1621 KL",
        "city": "Hoorn",
        "campaign": campaign,
        "measures": ["Vloerisolatie", "Zonnepanelen"],
        "sources": ["Website"],
        "consent": {"privacy_policy": True},
    }


def hub_intakes(stack: SandboxStack) -> list[dict[str, Any]]:
    econobis = stack.of("econobis", TENANT)
    return [i for i in records(econobis, "intakes") if str(i.get("external_code") or "").startswith("wf-")]


def test_a_signed_signup_reaches_econobis_once_however_often_it_is_replayed(stack, store):
    sender = stack.webform.sandbox.sender(TENANT)
    webhook_id, body, first = sender.post(signup_data(stack))
    assert first.status_code == 200 and first.json()["stored"] is True
    for _ in range(3):  # the form tool's retries: same webhook-id, same body, signed again
        again = sender.deliver(body, webhook_id)
        assert again.status_code == 200 and again.json()["stored"] is False
    # the same sign-up posted again by the form under a new webhook-id
    _other_id, _body, repost = sender.post(signup_data(stack))
    assert repost.status_code == 200 and repost.json()["stored"] is True
    assert store.count(t.inbox, tenant=TENANT, source="webform") == 2

    runs = hub_runs(stack, store)
    assert runs["applied"] == 2 and runs["quarantined_on_apply"] == 0
    assert (runs["signups_queued"], runs["signups_already_queued"]) == (1, 1)
    assert runs["sent"] == 1

    [intake] = hub_intakes(stack)
    assert intake["external_code"] == f"wf-{TENANT}-gemeente-hoorn-000417"
    econobis = stack.of("econobis", TENANT)
    assert len(records(econobis, "opportunities", intake_id=intake["id"])) == 2  # one kans per measure
    people = [c for c in records(econobis, "contacts") if c.get("last_name") == "Webhookmans"]
    assert len(people) == 1  # one contact

    # later deliveries of the same: still one intake
    for _ in range(3):
        assert sender.deliver(body, webhook_id).status_code == 200
    sender.post(signup_data(stack))
    again = hub_runs(stack, store)
    assert again["sent"] == 0 and again["signups_queued"] == 0
    assert len(hub_intakes(stack)) == 1


def test_the_sandbox_form_posts_a_signed_signup_and_a_double_submit_is_one(stack, store):
    form = stack.webform
    page = requests.get(f"{form.base_url}/{TENANT}", timeout=10)
    assert page.status_code == 200 and 'name="submission_id"' in page.text
    submission = page.text.split('name="submission_id" value="', 1)[1].split('"', 1)[0]
    answers = {
        "submission_id": submission,
        "first_name": "Joost",
        "last_name": "Formulier",
        "email": "joost@example.org",
        "street": "Kerkstraat",
        "number": "7",
        "postcode": "1621AB",
        "city": "Hoorn",
        "measures": ["Vloerisolatie"],
        "consent": "on",
    }
    for _ in range(2):  # a double-clicked submit
        resp = requests.post(f"{form.base_url}/{TENANT}", data=answers, timeout=10)
        assert resp.status_code == 200 and "Bedankt" in resp.text
    assert Counter(d["status"] for d in form.sandbox.deliveries) == Counter({200: 2})
    runs = hub_runs(stack, store)
    assert runs["signups_queued"] == 1 and runs["signups_already_queued"] == 1 and runs["sent"] == 1
    [intake] = hub_intakes(stack)
    assert intake["external_code"] == f"wf-{TENANT}-{submission}"


def test_a_tenant_secret_does_not_post_for_another_tenant(stack, store):
    from connectors.webform.sandbox.credentials import sandbox_webform_secrets

    other = stack.webform.sandbox.sender(TENANT, sandbox_webform_secrets("coop-zuid")["current"])
    _id, _body, resp = other.post(signup_data(stack))
    assert resp.status_code == 401
    assert store.count(t.inbox) == 0


def test_an_erased_web_form_resident_leaves_nothing_in_the_stored_webhooks(stack, store, monkeypatch):
    """The web form's signed bodies (and the checked sign-up kept beside them) carry the resident's personal
    data: an erasure of the resident the Econobis pull made of that sign-up blanks them too."""
    from connectors.econobis.sync import EconobisPull
    from hub.erasure import erase, find_residents
    from tests.erasure.test_erase_econobis import _dump

    sender = stack.webform.sandbox.sender(TENANT)
    data = {**signup_data(stack), "email": "Fatima.Webhookmans@Example.org"}  # the form keeps the case typed
    for _ in range(2):
        sender.post(data)
    assert hub_runs(stack, store)["sent"] == 1
    tenant = stack.config.tenant(TENANT)
    EconobisPull(store, EconobisClient.for_tenant(tenant, store, policy=FAST), TENANT).run(full=True)
    [rid] = find_residents(store, TENANT, "fatima.webhookmans@example.org")
    assert "webhookmans" in _dump(store)
    report = erase(store, stack.config, TENANT, rid, "coordinator:noord-1")
    dump = _dump(store)
    for value in ("webhookmans", "fatima.webhookmans@example.org", "0229 123456", "grote noord"):
        assert value not in dump, value
    assert report.audit["removed"]["inbox"] == 2  # both deliveries of the form
