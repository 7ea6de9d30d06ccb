"""The hub's Hoomdossier-compatible API v1 in front of the Hoomdossier sandbox: auth shapes, register made
idempotent (a repeat gets the stored ids, 201, not Hoomdossier's 422), ids of a lost answer recovered from a
later Hoomdossier message, errors passed through in Hoomdossier's shape, "already linked" answered as done."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from connectors.econobis.routes import hoomdossier_endpoints
from connectors.hoomdossier.routes import REGISTER, hoomdossier_api
from connectors.hoomdossier.sandbox.app import CooperationConfig, HoomdossierSandbox
from connectors.hoomdossier.sandbox.credentials import sandbox_hoomdossier_credentials
from connectors.hoomdossier.sandbox.server import start_hoomdossier
from hub.config import sandbox_config
from hub.receiver import create_receiver
from hub.sandbox.runtime import FaultMiddleware, Faults
from hub.sandbox.server import ThreadedServer
from hub.store import tables as t

TENANT = "coop-noord"
CREDS = sandbox_hoomdossier_credentials(TENANT)
COACH = {"contact_id": 1001, "first_name": "Carla", "last_name": "Coach", "email": "carla@example.org"}


@pytest.fixture
def setup(store):
    hoom = HoomdossierSandbox(
        [CooperationConfig(slug=TENANT, name="Noord"), CooperationConfig(slug="coop-zuid", name="Zuid")],
        tokens={CREDS["token"]: [f"access:{TENANT}"]},
        coaches={TENANT: [COACH]},
        throttle_per_minute=1_000_000,
    )
    running = start_hoomdossier(hoom, worker_interval=None)
    config = sandbox_config(ports={"hoomdossier": int(running.base_url.rsplit(":", 1)[1])})
    faults = Faults(seed=3)
    app = create_receiver(config, store, [hoomdossier_endpoints(config, store), hoomdossier_api(config, store)])
    receiver = ThreadedServer(FaultMiddleware(app, faults)).start()
    hoom.set_cooperation(TENANT, econobis_base_url=receiver.base_url, econobis_api_key=CREDS["inbound_key"])
    yield {"hoom": running, "url": receiver.base_url, "store": store, "faults": faults}
    receiver.stop()
    running.stop()


def call(url: str, path: str, body: Any = None, token: str | None = CREDS["inbound_token"], **headers: str):
    hdrs = {"Accept": "application/json", **headers}
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    return requests.post(f"{url}{path}", json=body, headers=hdrs, timeout=30)


def resident(contact_id: int = 2532, email: str = "anna@example.org") -> dict[str, Any]:
    return {
        "extra": {"contact_id": contact_id},
        "email": email,
        "first_name": "Anna",
        "last_name": "de Vries",
        "postal_code": "1621 AA",
        "number": 12,
        "house_number_extension": "",
        "street": "Havenkade",
        "city": "Hoorn",
        "phone_number": "",
        "tool_questions": {"resident-count": 2},
        "roles": ["resident"],
    }


def test_auth_answers_in_hoomdossiers_shapes(setup):
    url = setup["url"]
    assert requests.get(f"{url}/api/v1", headers={"Accept": "application/json"}, timeout=10).status_code == 401
    bad = call(url, "/api/v1/register", resident(), token="nope")
    assert (bad.status_code, bad.json()) == (401, {"error": "Unauthenticated."})
    other = call(url, "/api/v1/register", resident(), **{"X-Cooperation-Slug": "coop-zuid"})
    assert (other.status_code, other.json()) == (403, {"message": "Unauthorized for current cooperation."})
    ok = requests.get(f"{url}/api/v1", headers={"Authorization": f"Bearer {CREDS['inbound_token']}"}, timeout=10)
    assert (ok.status_code, ok.json()) == (200, [])


def test_a_repeated_register_gets_the_stored_ids_not_a_422(setup):
    url, store = setup["url"], setup["store"]
    first = call(url, "/api/v1/register", resident())
    assert first.status_code == 201
    ids = first.json()
    again = call(url, "/api/v1/register", resident())
    assert (again.status_code, again.json()) == (201, ids)
    # straight to Hoomdossier the repeat is refused: the hub called it only once
    direct = setup["hoom"].sandbox.register(TENANT, resident())
    assert direct[0] == 422
    with store.begin() as conn:
        rid = store.lookup_ids(conn, "econobis", TENANT, "contact", ["2532"])["2532"]
        assert store.external_ids_of(conn, "hoomdossier", TENANT, "account", rid) == [str(ids["account_id"])]
    assert store.idempotency_get(TENANT, REGISTER, "contact:2532")["status"] == "done"


def test_validation_errors_pass_through_and_a_corrected_register_is_forwarded(setup):
    url = setup["url"]
    bad = call(url, "/api/v1/register", {**resident(), "postal_code": "0000 SA"})
    assert bad.status_code == 422 and "postal_code" in bad.json()  # Hoomdossier's flat map
    good = call(url, "/api/v1/register", resident())
    assert good.status_code == 201


def test_ids_of_a_register_whose_answer_was_lost_come_back_from_a_later_message(setup):
    url, store, hoom = setup["url"], setup["store"], setup["hoom"].sandbox
    # the register lands in Hoomdossier, its answer is lost (the proxy answers 504; Econobis would abort)
    hoom.faults.set([{"route": "/api/v1/register", "drop_rate": 1.0, "after_processing": True}])
    lost = call(url, "/api/v1/register", resident())
    assert lost.status_code == 504
    hoom.faults.clear()
    # Econobis tries again: Hoomdossier says "already registered"; the hub has no ids yet → 422 + a case
    retry = call(url, "/api/v1/register", resident())
    assert retry.status_code == 422 and "email" in retry.json()
    with store.begin() as conn:
        [case] = store.open_quarantine(conn, TENANT)
    assert case["source"] == "proxy:hoomdossier" and "already registered" in case["reason"]
    # the coach is linked in Hoomdossier and the resident's first scan step sends scan-status with the ids
    assert (
        hoom.link_coach(TENANT, {"building_coach_statuses": {"coach_contact_id": 1001, "resident_contact_id": 2532}})[0]
        == 200
    )
    hoom.complete_sub_step(TENANT, 2532, "quick-scan")
    hoom.run_due_jobs()
    from couplings.econobis_hoomdossier import apply_hoomdossier_inbox

    assert store.count(t.inbox) >= 1
    apply_hoomdossier_inbox(store, TENANT)
    third = call(url, "/api/v1/register", resident())
    user = hoom.describe_user(TENANT, 2532)
    assert (third.status_code, third.json()) == (
        201,
        {"account_id": user["account"]["id"], "user_id": user["user"]["id"]},
    )
    with store.begin() as conn:
        assert store.open_quarantine(conn, TENANT) == []  # the case resolved itself


def test_coach_link_already_linked_is_answered_as_done(setup):
    url = setup["url"]
    assert call(url, "/api/v1/register", resident()).status_code == 201
    body = {"building_coach_statuses": {"coach_contact_id": 1001, "resident_contact_id": 2532}}
    first = call(url, "/api/v1/building-coach-status", body)
    assert (first.status_code, first.json()) == (200, [])
    again = call(url, "/api/v1/building-coach-status", body)
    assert (again.status_code, again.json()) == (200, [])
    unknown = call(
        url,
        "/api/v1/building-coach-status",
        {"building_coach_statuses": {"coach_contact_id": 9, "resident_contact_id": 2532}},
    )
    assert unknown.status_code == 422 and "building_coach_statuses.coach_contact_id" in unknown.json()
    assert json.dumps(unknown.json())  # Hoomdossier's own body, passed through
