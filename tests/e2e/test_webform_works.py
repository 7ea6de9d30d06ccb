"""A Flemish desk without a CRM: residents sign up and, once their works are done, post what they supply for
premiums (works.completed) through the sandbox form's signed webhooks to the hub's receiver; the hub opens the
dossiers and writes each resident's premium file, invoices and document references — once, however often the
events are delivered — and the consent to apply for premiums for the configured premium partner."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.sandbox_stack import SandboxStack, start_stack
from connectors.webform import connector as webform
from hub.config import sandbox_tenant_ids
from hub.connector import PartnerRun
from hub.store import Store

[TENANT] = sandbox_tenant_ids(["vl"])


@pytest.fixture
def stack(store: Store) -> Iterator[SandboxStack]:
    s = start_stack(5, store=store, throttle=1_000_000, tenants=(TENANT,))
    try:
        yield s
    finally:
        s.stop()


def runs(stack: SandboxStack, store: Store) -> dict[str, Any]:
    inbox = webform.CONNECTOR.inbox
    assert inbox is not None and inbox.unclaimed is not None
    run = PartnerRun(store, stack.config, stack.config.tenant(TENANT))
    return {**inbox.apply(run).metadata(), **inbox.unclaimed(run).metadata()}


def live(store: Store, entity: str) -> list[dict[str, Any]]:
    with store.begin() as conn:
        return [dict(r) for r in store.live_entities(conn, entity, [TENANT])]


def test_signups_then_works_completed_through_the_receiver(stack, store):
    form = stack.webform.sandbox
    sender = form.sender(TENANT)
    residents = form.demo_signups(TENANT, 3)
    for data in residents:
        assert sender.post(data)[2].status_code == 200
    works = form.demo_works(TENANT, [r["id"] for r in residents])
    for data in works:
        webhook_id, body, resp = sender.post_works(data)
        assert resp.status_code == 200 and resp.json()["stored"] is True
        assert sender.deliver(body, webhook_id).json()["stored"] is False  # a retry: stored once
    sender.post_works(works[0])  # the same event re-posted under a new webhook-id

    first = runs(stack, store)
    # the sign-ups' dossiers are opened after the check: the works wait for them, then apply in the same run
    assert first["dossiers_opened"] == 3 and first["quarantined_on_apply"] == 0
    again = runs(stack, store)
    assert again["works_applied"] == 0 and again["works_waiting_for_dossier"] == 0
    files = live(store, "premium_file")
    assert len(files) == 3 and all(f["data"]["iban"] for f in files)
    assert len(live(store, "invoice")) == 6  # roof and heat pump per resident
    assert len(live(store, "document")) == 9
