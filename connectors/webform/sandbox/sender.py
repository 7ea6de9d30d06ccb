"""A web form's side of Standard Webhooks: sign an event with the tenant's secret and post it to the hub's
receiver (`POST {hub}/webhooks/{tenant}/webform`). The sandbox form uses it, and so do `hub demo` and the
tests; a municipality's own form tool does the same with its own library."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import requests
from standardwebhooks.webhooks import Webhook

from connectors.webform.settings import INBOX_SOURCE, SIGNUP_CREATED, WORKS_COMPLETED


class WebformSender:
    """Signs and posts events for one tenant; `secret` is a `whsec_…` value."""

    def __init__(self, hub_url: str, tenant: str, secret: str, *, timeout: float = 10.0) -> None:
        self.url = f"{hub_url.rstrip('/')}/webhooks/{tenant}/{INBOX_SOURCE}"
        self.tenant = tenant
        self.hook = Webhook(secret)
        self.timeout = timeout
        self.session = requests.Session()

    @staticmethod
    def body(data: dict[str, Any], event: str = SIGNUP_CREATED, when: datetime | None = None) -> str:
        """The Standard Webhooks payload, serialised once: the bytes signed are the bytes sent."""
        when = when or datetime.now(UTC)
        return json.dumps({"type": event, "timestamp": when.isoformat(), "data": data}, separators=(",", ":"))

    def headers(self, body: str, webhook_id: str, when: datetime | None = None) -> dict[str, str]:
        when = when or datetime.now(UTC)
        return {
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": self.hook.sign(webhook_id, when, body),
        }

    def deliver(self, body: str, webhook_id: str, when: datetime | None = None) -> requests.Response:
        """Post `body` signed now (or at `when`): a replay is the same body and id delivered again."""
        return self.session.post(
            self.url, data=body.encode("utf-8"), headers=self.headers(body, webhook_id, when), timeout=self.timeout
        )

    def post(
        self, data: dict[str, Any], event: str = SIGNUP_CREATED, webhook_id: str | None = None
    ) -> tuple[str, str, requests.Response]:
        """A new event: (webhook-id, body, the hub's answer)."""
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        body = self.body(data, event)
        return webhook_id, body, self.deliver(body, webhook_id)

    def post_works(self, data: dict[str, Any], webhook_id: str | None = None) -> tuple[str, str, requests.Response]:
        """A works.completed event (what a resident supplies for premiums: personas.works_completed)."""
        return self.post(data, WORKS_COMPLETED, webhook_id)
