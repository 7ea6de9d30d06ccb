"""Pushes into a running sandbox Econobis through the outbox: sign-ups by webform, follow-up kansacties and
updates by SPA calls — exactly once under faults, with lookup-before-retry and quarantine for what will not heal."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import requests

from connectors.econobis.client import EconobisClient
from connectors.econobis.push import (
    EconobisPush,
    KansactieCreate,
    KansactieUpdate,
    SignUp,
    enqueue_kansactie,
    enqueue_signup,
)
from hub.http import RetryPolicy
from hub.store import Store
from tests.conftest import sandbox_hub_config
from tests.connectors.econobis.sandbox_helpers import records

FAST = RetryPolicy(max_attempts=8, backoff_initial=0.01, backoff_max=0.05, jitter=0.5)
MEASURES = ["Vloerisolatie", "Zonnepanelen"]


@pytest.fixture
def sb(start_sandbox):
    [running] = start_sandbox(20, tenants=("coop-noord",), id_shift=100, throttle_per_minute=1_000_000)
    wf = next(iter(running.sandbox.db.tables["webforms"].values()))
    wf["max_requests_per_minute"] = 1_000_000
    return running


def pusher(sb, store: Store, timeout: tuple[float, float] = (3.0, 15.0)) -> EconobisPush:
    config = sandbox_hub_config([sb])
    tenant = config.tenant(sb.tenant)
    client = EconobisClient.for_tenant(tenant, store, policy=FAST, timeout=timeout)
    client.http.sleep = lambda seconds: time.sleep(min(seconds, 0.01))  # honour Retry-After, but fast
    return EconobisPush(store, client, sb.tenant, tenant.secret("econobis", "webform_key"), backoff=0.0)


def drain(sb, store: Store, rounds: int = 40, **kw: Any) -> list[Any]:
    reports = []
    for _ in range(rounds):
        report = pusher(sb, store, **kw).run()
        reports.append(report)
        with store.begin() as conn:
            counts = store.outbox_counts(conn, sb.tenant, "econobis")
        if not any(counts.get(s) for s in ("pending", "retry", "uncertain")):
            break
    return reports


def signup(sb, i: int, **over: Any) -> SignUp:
    data: dict[str, Any] = {
        "key": f"hub-signup-{i:05d}",
        "first_name": "Bewoner",
        "last_name": f"Achternaam{i:05d}",
        "email": f"bewoner{i}@example.org",
        "phone": "0612345678",
        "street": "Molenweg",
        "number": str(1 + i % 300),
        "postcode": f"{1600 + i // 300:04d}AB",
        "city": "Wognum",
        "campaign_id": sb.sandbox.db.ids["campaigns"][0],
        "measures": MEASURES,
        "sources": ["Website"],
        "consent": True,
    }
    data.update(over)
    return SignUp.model_validate(data)


def hub_intakes(sb) -> list[dict[str, Any]]:
    return [i for i in records(sb, "intakes") if (i.get("external_code") or "").startswith("hub-signup-")]


def test_signups_are_pushed_once_and_linked(sb, store):
    for i in range(3):
        enqueue_signup(store, sb.tenant, signup(sb, i))
    enqueue_signup(store, sb.tenant, signup(sb, 0))  # the same sign-up again: queued once
    [report] = drain(sb, store)
    assert report.sent == 3 and report.quarantined == 0
    intakes = hub_intakes(sb)
    assert sorted(i["external_code"] for i in intakes) == [f"hub-signup-{i:05d}" for i in range(3)]
    for intake in intakes:
        kansen = records(sb, "opportunities", intake_id=intake["id"])
        assert len(kansen) == 2
    with store.begin() as conn:
        linked = store.lookup_ids(conn, "econobis", sb.tenant, "intake", [str(i["id"]) for i in intakes])
        mine = store.lookup_ids(conn, "hub", sb.tenant, "signup", [f"hub-signup-{i:05d}" for i in range(3)])
    assert sorted(linked.values()) == sorted(mine.values())  # the pull will merge into the same records
    assert pusher(sb, store).run().claimed == 0  # a replay sends nothing


def test_timeout_after_commit_is_looked_up_not_resent(sb, store):
    requests.post(
        f"{sb.server.base_url}/__sandbox/faults",
        json={
            "rules": [
                {"route": "/api/webform/*", "timeout_rate": 1.0, "timeout_seconds": 3.0, "after_processing": True}
            ]
        },
        timeout=5,
    )
    enqueue_signup(store, sb.tenant, signup(sb, 7))
    first = pusher(sb, store, timeout=(1.0, 0.5)).run()
    assert first.uncertain == 1 and first.sent == 0
    assert len(hub_intakes(sb)) == 1  # it did land
    requests.post(f"{sb.server.base_url}/__sandbox/faults", json={"rules": []}, timeout=5)
    second = pusher(sb, store).run()
    assert second.found_by_lookup == 1 and second.sent == 1
    [intake] = hub_intakes(sb)
    assert len(records(sb, "opportunities", intake_id=intake["id"])) == 2  # no second set of kansen


def test_refusals_go_to_quarantine_with_econobis_log_lines_and_the_key_redacted(sb, store):
    enqueue_signup(store, sb.tenant, signup(sb, 1, campaign_id=999999))
    enqueue_signup(store, sb.tenant, signup(sb, 2, measures=["Onbekende maatregel"]))
    enqueue_signup(store, sb.tenant, signup(sb, 3))
    [report] = drain(sb, store)
    assert report.sent == 1 and report.quarantined == 2
    with store.begin() as conn:
        parked = {q["external_id"]: q for q in store.open_quarantine(conn, sb.tenant)}
    bad_campaign = parked["econobis:webform:hub-signup-00001"]
    assert "Er is een ongeldige waarde voor campagne meegegeven." in bad_campaign["reason"]
    # Econobis echoes the API key in its log lines ("… gevonden bij code <key>"): never stored as is
    assert sb.sandbox.webform_key not in str(bad_campaign)
    assert any("Webform met id" in line for line in bad_campaign["payload"]["partner_answer"])
    assert "Onbekende maatregel" in parked["econobis:webform:hub-signup-00002"]["reason"]


def test_per_webform_limit_is_retried_later_not_quarantined(sb, store):
    wf = next(iter(sb.sandbox.db.tables["webforms"].values()))
    wf["max_requests_per_minute"] = 2
    for i in range(4):
        enqueue_signup(store, sb.tenant, signup(sb, i))
    report = pusher(sb, store).run()
    assert report.sent == 2 and report.retry_later == 2 and report.quarantined == 0
    with store.begin() as conn:
        assert store.outbox_counts(conn, sb.tenant, "econobis") == {"sent": 2, "retry": 2}


def test_follow_up_kansactie_is_created_once_and_updates_are_idempotent(sb, store):
    enqueue_signup(store, sb.tenant, signup(sb, 11))
    drain(sb, store)
    [intake] = hub_intakes(sb)
    kans = records(sb, "opportunities", intake_id=intake["id"])[0]
    coach = sb.sandbox.db.tables["campaigns"][intake["campaign_id"]]["coach_ids"][0]
    request = KansactieCreate(
        key="stall-0001", opportunity_id=kans["id"], action="visit", coach_id=coach, text="Bewoner bellen"
    )
    # the create lands but its answer is lost
    requests.post(
        f"{sb.server.base_url}/__sandbox/faults",
        json={
            "rules": [{"route": "/api/quotation-request", "method": "POST", "drop_rate": 1.0, "after_processing": True}]
        },
        timeout=5,
    )
    enqueue_kansactie(store, sb.tenant, request)
    first = pusher(sb, store).run()
    assert first.uncertain == 1
    requests.post(f"{sb.server.base_url}/__sandbox/faults", json={"rules": []}, timeout=5)
    second = pusher(sb, store).run()
    assert second.found_by_lookup == 1
    [visit] = records(sb, "quotation_requests", opportunity_id=kans["id"])
    assert "[hub:stall-0001]" in visit["quotation_text"]
    # update: plan the visit; sent twice (a replay with a new key) gives the same state
    for key in ("plan-1", "plan-1-replay"):
        enqueue_kansactie(
            store,
            sb.tenant,
            KansactieUpdate(key=key, quotation_request_id=visit["id"], date_planned="2026-12-03 09:30"),
        )
        assert pusher(sb, store).run().sent == 1
    after = records(sb, "quotation_requests", id=visit["id"])[0]
    assert after["date_planned"] == "2026-12-03 09:30:00" and after["contact_id"] == coach
    assert sb.sandbox.lookups.by_id("quotationRequestStatus", after["status_id"])["codeRef"] == "made"


@pytest.mark.slow
def test_thousand_signups_under_twenty_percent_faults_end_exactly_once(sb, store):
    """The issue's flow test: 1,000 sign-ups, 20 % faults (5xx before processing, 429 + Retry-After, timeouts
    after commit) → exactly 1,000 intakes with their kansen, no duplicates, nothing wrongly quarantined."""
    requests.post(
        f"{sb.server.base_url}/__sandbox/faults",
        json={
            "seed": 11,
            "rules": [
                {
                    "route": "/api/webform/*",
                    "error_rate": 0.07,
                    "error_status": 503,
                    "throttle_rate": 0.07,
                    "retry_after": 1,
                },
                {
                    "route": "/api/webform/*",
                    "timeout_rate": 0.06 / 0.86,
                    "timeout_seconds": 1.0,
                    "after_processing": True,
                },
            ],
        },
        timeout=5,
    )
    n = 1000
    for i in range(n):
        enqueue_signup(store, sb.tenant, signup(sb, i))
    reports = drain(sb, store, rounds=30, timeout=(1.0, 0.4))
    with store.begin() as conn:
        assert store.outbox_counts(conn, sb.tenant, "econobis") == {"sent": n}
        assert store.open_quarantine(conn, sb.tenant) == []
    intakes = hub_intakes(sb)
    codes = Counter(i["external_code"] for i in intakes)
    assert len(codes) == n and max(codes.values()) == 1
    kansen = Counter(
        o["intake_id"] for o in records(sb, "opportunities") if o["intake_id"] in {i["id"] for i in intakes}
    )
    assert len(kansen) == n and set(kansen.values()) == {len(MEASURES)}  # the right kansen, none twice
    injected = requests.get(f"{sb.server.base_url}/__sandbox/state", timeout=5).json()["faults"]["injected"]
    assert injected.get("timeout", 0) > 20 and injected.get("error", 0) > 20 and injected.get("throttle", 0) > 20
    assert sum(r.found_by_lookup for r in reports) >= 1
