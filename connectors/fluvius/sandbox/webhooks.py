"""The portal's webhooks: a signed Standard Webhooks POST to the client's registered URL on every status change,
retried on a non-2xx answer (or no answer) on a compressed Standard Webhooks schedule of SANDBOX clock time
(immediately, +5 s, +5 min, +30 min, +2 h, +5 h, +10 h, +10 h; then given up), with a delivery log.

Delivery is synchronous: the thread that changed the state (a submit, a clock advance) sends what is due once it
let go of the state lock. Retries go out at the next flush after they fall due (every API write, every clock
move, `POST /__sandbox/webhooks/flush`). Faults (`POST /__sandbox/webhook-faults`), decided per event with a
seeded RNG so a run repeats: `drop_share` (never delivered), `duplicate_share` (delivered twice with the same
webhook-id), `delay_seconds` (first attempt that much sandbox time later), `out_of_order` (a flush sends its
batch newest first), `off` (no deliveries at all).

The header `webhook-timestamp` is the real sending time (a receiver checks it against its own clock within 5
minutes), the body's `timestamp` the sandbox time of the change."""

from __future__ import annotations

import json
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from standardwebhooks.webhooks import Webhook

RETRY_SCHEDULE = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)


@dataclass
class Endpoint:
    client_id: str
    url: str
    secret: str


@dataclass
class WebhookFaults:
    drop_share: float = 0.0
    duplicate_share: float = 0.0
    delay_seconds: float = 0.0
    out_of_order: bool = False
    off: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "drop_share": self.drop_share,
            "duplicate_share": self.duplicate_share,
            "delay_seconds": self.delay_seconds,
            "out_of_order": self.out_of_order,
            "off": self.off,
        }


@dataclass
class Delivery:
    webhook_id: str
    client_id: str
    body: str
    next_at: datetime
    attempts: int = 0
    copies: int = 1  # 2: the duplicate fault sends every attempt twice
    done: bool = False


@dataclass
class WebhookOutbox:
    """Pending deliveries, the registered endpoints and the log. `now` is the sandbox clock."""

    now: Callable[[], datetime]
    seed: int = 17
    timeout: float = 2.0
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    faults: WebhookFaults = field(default_factory=WebhookFaults)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._send_lock = threading.Lock()
        self.pending: list[Delivery] = []
        self.log: deque[dict[str, Any]] = deque(maxlen=5000)
        self.rng = random.Random(self.seed)
        self.session = requests.Session()

    def register(self, client_id: str, url: str, secret: str) -> Endpoint:
        Webhook(secret)  # refuses a malformed secret now, not at the first delivery
        endpoint = Endpoint(client_id, url, secret)
        with self.lock:
            self.endpoints[client_id] = endpoint
        return endpoint

    def set_faults(self, body: dict[str, Any]) -> WebhookFaults:
        with self.lock:
            self.faults = WebhookFaults(
                drop_share=float(body.get("drop_share", 0.0)),
                duplicate_share=float(body.get("duplicate_share", 0.0)),
                delay_seconds=float(body.get("delay_seconds", 0.0)),
                out_of_order=bool(body.get("out_of_order", False)),
                off=bool(body.get("off", False)),
            )
            if "seed" in body:
                self.rng = random.Random(int(body["seed"]))
            return self.faults

    def enqueue(self, client_id: str, webhook_id: str, event: dict[str, Any]) -> None:
        """Queue one event (called under the state lock; nothing is sent here)."""
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        now = self.now()
        with self.lock:
            entry = {"webhook_id": webhook_id, "client_id": client_id, "at": now.isoformat(), "attempt": 0}
            if client_id not in self.endpoints:
                self.log.append({**entry, "outcome": "no_endpoint"})
                return
            if self.faults.off:
                self.log.append({**entry, "outcome": "off"})
                return
            roll = self.rng.random()
            if roll < self.faults.drop_share:
                self.log.append({**entry, "outcome": "dropped"})
                return
            copies = 2 if roll - self.faults.drop_share < self.faults.duplicate_share else 1
            when = now + timedelta(seconds=self.faults.delay_seconds)
            self.pending.append(Delivery(webhook_id, client_id, body, when, copies=copies))

    def due(self) -> bool:
        now = self.now()
        with self.lock:
            return any(not d.done and d.next_at <= now for d in self.pending)

    def flush(self) -> int:
        """Send every delivery that is due; returns the number of POSTs made."""
        with self._send_lock:
            now = self.now()
            with self.lock:
                batch = [d for d in self.pending if not d.done and d.next_at <= now]
                if self.faults.out_of_order:
                    batch.reverse()
            sent = 0
            for delivery in batch:
                sent += self._attempt(delivery)
            with self.lock:
                self.pending = [d for d in self.pending if not d.done]
            return sent

    def _attempt(self, d: Delivery) -> int:
        with self.lock:
            endpoint = self.endpoints.get(d.client_id)
        d.attempts += 1
        if endpoint is None:
            d.done = True
            return 0
        ok = False
        posts = 0
        for _ in range(d.copies):
            when = datetime.now(UTC)
            headers = {
                "content-type": "application/json",
                "webhook-id": d.webhook_id,
                "webhook-timestamp": str(int(when.timestamp())),
                "webhook-signature": Webhook(endpoint.secret).sign(d.webhook_id, when, d.body),
            }
            entry: dict[str, Any] = {
                "webhook_id": d.webhook_id,
                "client_id": d.client_id,
                "url": endpoint.url,
                "attempt": d.attempts,
                "at": self.now().isoformat(),
            }
            try:
                answer = self.session.post(endpoint.url, data=d.body.encode(), headers=headers, timeout=self.timeout)
                posts += 1
                entry["status_code"] = answer.status_code
                good = 200 <= answer.status_code < 300
                entry["outcome"] = "delivered" if good else "failed"
                ok = ok or good
            except requests.RequestException as exc:
                posts += 1
                entry.update(status_code=None, outcome="failed", error=type(exc).__name__)
            with self.lock:
                self.log.append(entry)
        if ok:
            d.done = True
        elif d.attempts >= len(RETRY_SCHEDULE):
            d.done = True
            with self.lock:
                self.log.append({"webhook_id": d.webhook_id, "client_id": d.client_id, "outcome": "given_up"})
        else:
            d.next_at = self.now() + RETRY_SCHEDULE[d.attempts]
        return posts

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {
                "endpoints": [{"client_id": e.client_id, "url": e.url} for e in self.endpoints.values()],
                "faults": self.faults.as_dict(),
                "pending": [
                    {"webhook_id": d.webhook_id, "next_at": d.next_at.isoformat(), "attempts": d.attempts}
                    for d in self.pending
                ],
                "log": list(self.log),
            }

    def reset(self) -> None:
        with self.lock:
            self.pending.clear()
            self.log.clear()
            self.faults = WebhookFaults()
