"""The hub's Econobis-compatible Hoomdossier endpoints: stored before answered, Econobis' answer shapes,
repeats recognised, bad input refused and quarantined, no trace of unknown keys, no key in the logs."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from connectors.econobis.routes import INBOX_SOURCE, hoomdossier_endpoints
from connectors.hoomdossier.sandbox.credentials import sandbox_hoomdossier_credentials
from hub.config import sandbox_config
from hub.receiver import create_receiver
from hub.sandbox.server import ThreadedServer
from hub.store import tables as t

TENANT = "coop-noord"
KEY = sandbox_hoomdossier_credentials(TENANT)["inbound_key"]


@pytest.fixture
def receiver(store):
    config = sandbox_config()
    server = ThreadedServer(create_receiver(config, store, [hoomdossier_endpoints(config, store)])).start()
    yield server.base_url
    server.stop()


def afspraak(date: str | None = "2026-11-12 14:30:00", building: int = 501) -> dict:
    return {
        "account_related": {"building_id": building, "user_id": 777, "account_id": 640, "contact_id": 2532},
        "appointment_date": date,
        "coaches": [{"contact_id": 1001, "user_id": 12, "building_id": 9, "account_id": 11}],
    }


def post(base: str, body, endpoint: str = "afspraak", key: str = KEY) -> requests.Response:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(
        f"{base}/api/{key}/hoomdossier/{endpoint}",
        data=data,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        timeout=10,
    )


def test_a_message_is_stored_before_the_answer_and_the_answer_has_econobis_shape(receiver, store):
    body = afspraak()
    resp = post(receiver, body)
    assert resp.status_code == 200
    logs = resp.json()
    assert isinstance(logs, list) and logs[0] == "Start EndPointAfspraak" and "Aanroep succesvol afgerond." in logs
    with store.begin() as conn:
        [row] = conn.execute(t.inbox.select()).mappings().all()
    assert row["tenant"] == TENANT and row["source"] == INBOX_SOURCE and row["status"] == "received"
    assert json.loads(row["payload"]) == body  # exactly as sent
    assert row["stream"] == "501/afspraak" and row["meta"]["contact_id"] == 2532


def test_a_repeat_is_not_stored_twice_but_a_change_back_is_a_new_message(receiver, store):
    a, b = afspraak("2026-11-12 14:30:00"), afspraak("2026-11-13 09:00:00")
    assert post(receiver, a).status_code == 200
    again = post(receiver, a)
    assert again.status_code == 200 and any("al ontvangen" in line for line in again.json())
    assert store.count(t.inbox) == 1
    post(receiver, b)
    post(receiver, a)  # A → B → A: the last one is news
    assert store.count(t.inbox) == 3
    post(receiver, afspraak(building=502))  # another building is another stream
    assert store.count(t.inbox) == 4


def test_unknown_key_is_refused_as_econobis_does_and_leaves_no_trace(receiver, store):
    resp = post(receiver, afspraak(), key="not-a-key")
    assert resp.status_code == 404
    assert "Fout opgetreden: Endpoint not found" in resp.json()
    assert store.count(t.inbox) == 0 and store.count(t.quarantine) == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "No payload found"),
        ("", "No payload found"),
        ({"appointment_date": "2026-11-12 14:30:00"}, "No payload found"),
        ({"account_related": {"building_id": None, "contact_id": 5}}, "Building_id missing"),
    ],
)
def test_bad_input_gets_econobis_error_and_goes_to_quarantine(receiver, store, body, reason):
    resp = post(receiver, body)
    assert resp.status_code == 404
    assert f"Fout opgetreden: {reason}" in resp.json()
    assert store.count(t.inbox) == 0
    with store.begin() as conn:
        [q] = store.open_quarantine(conn, TENANT)
    assert q["source"] == "receiver:hoomdossier" and reason in q["reason"]


def test_unknown_endpoint_is_a_route_404(receiver):
    resp = post(receiver, afspraak(), endpoint="offerte")
    assert resp.status_code == 404 and "could not be found" in resp.json()["message"]


def test_a_store_failure_answers_503_so_hoomdossier_retries(receiver, store, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("database is gone")

    monkeypatch.setattr(store, "inbox_receive", broken)
    resp = post(receiver, afspraak())
    assert resp.status_code == 503


def test_the_key_never_reaches_the_logs(receiver, caplog):
    caplog.set_level(logging.DEBUG)
    post(receiver, afspraak())
    post(receiver, afspraak(), key=KEY + "x")
    ours = [r for r in caplog.records if r.name.startswith(("hub", "connectors"))]  # not the test's own client
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in ours)
    assert "hub_path" in text  # the access log ran
    assert KEY not in text
