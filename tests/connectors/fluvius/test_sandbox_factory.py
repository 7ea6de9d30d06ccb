"""The sandbox's SandboxFactory and demo credentials: one shared server, a client per tenant under its region's
regeling, the tenant config naming secrets by env var with the demo values kept, and webhooks at the receiver."""

from __future__ import annotations

import requests
from standardwebhooks.webhooks import Webhook

from connectors.fluvius.sandbox.credentials import (
    sandbox_client_id,
    sandbox_client_secret,
    sandbox_partner_config,
    sandbox_webhook_secret,
)
from connectors.fluvius.sandbox.server import SANDBOX, point_webhooks
from connectors.fluvius.settings import API, CLIENT_SECRET, TOKEN_PATH, WEBHOOK_SECRETS, FluviusSettings
from hub.connector import SandboxStart
from tests.connectors.fluvius.conftest import Receiver


def test_partner_config_shape() -> None:
    config = sandbox_partner_config("loket-leuven", 8740)
    assert config.base_url == "http://127.0.0.1:8740" and config.sandbox
    assert config.settings["regeling"] == "MVP_VL"
    assert sandbox_partner_config("coop-noord", 1).settings["regeling"] == "ISDE_NL"
    assert config.secrets == {
        CLIENT_SECRET: "HUB_LOKET_LEUVEN_FLUVIUS_CLIENT_SECRET",
        WEBHOOK_SECRETS: "HUB_LOKET_LEUVEN_FLUVIUS_WEBHOOK_SECRETS",
    }
    assert config.sandbox_secret_values[CLIENT_SECRET] == sandbox_client_secret("loket-leuven")
    assert sandbox_webhook_secret("loket-leuven").startswith("whsec_")
    assert sandbox_webhook_secret("loket-leuven") == sandbox_webhook_secret("loket-leuven")
    assert sandbox_webhook_secret("coop-noord") != sandbox_webhook_secret("loket-leuven")
    Webhook(sandbox_webhook_secret("coop-noord"))  # a valid secret for the library
    FluviusSettings.model_validate(config.settings)  # the connector's own settings model takes it
    assert (SANDBOX.port_offset, SANDBOX.order, SANDBOX.regions, SANDBOX.per_tenant) == (50, 50, None, False)


def test_factory_starts_one_server_for_all_tenants(receiver: Receiver) -> None:
    start = SandboxStart(
        tenants=("coop-noord", "loket-leuven"),
        ports={"*": 0},
        residents=10,
        throttle=120,
        options={"receiver_url": receiver.server.base_url, "mandates": {"loket-leuven": ["85073003328"]}},
    )
    running = SANDBOX.start(start)
    try:
        port = SANDBOX.ports(running)["*"]
        described = SANDBOX.describe(running)
        assert described["loket-leuven"]["regeling"] == "MVP_VL" and described["coop-noord"]["regeling"] == "ISDE_NL"
        base = f"http://127.0.0.1:{port}"
        client = sandbox_client_id("loket-leuven")
        token = requests.post(
            base + TOKEN_PATH,
            data={"grant_type": "client_credentials"},
            auth=(client, sandbox_client_secret("loket-leuven")),
            timeout=10,
        ).json()["access_token"]
        answer = requests.get(base + API + "/aanvragen", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200
        hooks = requests.get(base + "/__sandbox/webhooks", timeout=10).json()["endpoints"]
        assert {h["url"] for h in hooks} == {
            f"{receiver.server.base_url}/webhooks/coop-noord/fluvius",
            f"{receiver.server.base_url}/webhooks/loket-leuven/fluvius",
        }
        mandates = requests.get(base + "/__sandbox/mandaten", timeout=10).json()
        assert mandates == [
            {
                "client_id": client,
                "insz": "85073003328",
                "soort": "mandaat",
                "energielening_actief": False,
                "ingetrokken": False,
            }
        ]
        point_webhooks(running, "http://127.0.0.1:9")
        hooks = requests.get(base + "/__sandbox/webhooks", timeout=10).json()["endpoints"]
        assert {h["url"] for h in hooks} == {
            "http://127.0.0.1:9/webhooks/coop-noord/fluvius",
            "http://127.0.0.1:9/webhooks/loket-leuven/fluvius",
        }
    finally:
        SANDBOX.stop(running)
