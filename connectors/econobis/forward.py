"""Forward the Hoomdossier messages the receiver stored (routes.py) to the tenant's Econobis, losslessly.

Hoomdossier itself drops a message on any 4xx or timeout and on Econobis' per-minute limit (a 422). The hub
instead keeps every message until Econobis took it or a person decides:

- **Order per building.** Messages of one Hoomdossier building go out in the order they arrived; while the
  oldest waits for a retry, the building's later messages wait too (an old appointment must never overwrite
  a newer one).
- **Newest state wins.** Every endpoint but `delete` sends a snapshot (the appointment, the status, the
  scans, the answers, the whole woonplan, the latest PDF): an unsent message with a newer one of the same
  endpoint behind it is `superseded` and not sent.
- **Retries** (by the worker's one retry table, hub/worker.py). 429 (exactly after Retry-After), Econobis'
  per-webform limit (422 "Maximum aantal aanroepen", after 60 s): waiting, not failing. 5xx, timeouts: retried
  later. A 404 Econobis answers while it has not caught up yet (the resident's Hoom account id is not stored
  yet, the visit kansactie does not exist yet) is retried with backoff (`Failure.NOT_YET`), then quarantined.
  Other refusals (no primary address, 412 on delete) go to quarantine at once, with Econobis' log lines as
  the reason, and can be replayed.
- **Repeats are harmless or recognised.** afspraak, gebruik, woonplan and scan-status set state, so a repeat
  after a lost answer changes nothing. woning-status and delete answer 404 on a repeat (the visit is done, the
  housing file gone): after an attempt whose outcome was unknown, that 404 means the first one landed.
  A `pdf` repeated after a lost answer can store the report twice in Econobis (it has no lookup for it)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.econobis.client import EconobisClient
from connectors.econobis.errors import (
    ENDPOINT_NOT_FOUND,
    error_lines,
    log_lines,
    rolled_back,
    transport_retry,
    webform_limit_retry,
)
from connectors.econobis.settings import HOOMDOSSIER_INBOX, PARTNER
from hub.http import (
    PartnerError,
    PartnerNotFound,
    PartnerServerError,
)
from hub.logs import log_event
from hub.reports import RunReport
from hub.store import InboxRow, Store, as_utc, utcnow
from hub.worker import RETRY, Decision, Failure, InboxForwarder, Park, Retry, Sent, call_metadata

log = logging.getLogger("connectors.econobis.forward")

NOT_SNAPSHOT = frozenset({"delete"})
STATE_SETTING = frozenset({"afspraak", "gebruik", "woonplan", "scan-status"})
DONE_ON_REPEAT_404 = frozenset({"woning-status", "delete"})
QUARANTINE_SOURCE = f"inbox:{HOOMDOSSIER_INBOX}"


@dataclass
class ForwardReport(RunReport):
    tenant: str
    open: int = 0
    forwarded: int = 0
    superseded: int = 0
    retry_later: int = 0
    waiting_behind: int = 0
    quarantined: int = 0
    skipped: int = 0
    seconds: float = 0.0
    by_endpoint: dict[str, int] = field(default_factory=dict)
    calls: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {
            "forwarded": self.forwarded,
            "superseded": self.superseded,
            "retry_later": self.retry_later,
            "waiting_behind_a_retry": self.waiting_behind,
            "quarantined_on_forward": self.quarantined,
            **call_metadata(self.calls),
            "by_endpoint": dict(self.by_endpoint),
        }


class EconobisForward:
    """Send one tenant's stored Hoomdossier messages to its Econobis."""

    def __init__(
        self,
        store: Store,
        client: EconobisClient,
        tenant: str,
        endpoint_key: str,
        *,
        backoff: float | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.tenant = tenant
        self.key = endpoint_key
        self.report = ForwardReport(tenant)
        client.http.add_secret(endpoint_key)
        self.worker = InboxForwarder(
            store,
            tenant,
            QUARANTINE_SOURCE,
            redact=client.http.redactor.text,
            schedule=RETRY.scaled(backoff),
        )

    def run(self, now: datetime | None = None) -> ForwardReport:
        started = time.monotonic()
        now = now or utcnow()
        items = self.store.inbox_open(self.tenant, HOOMDOSSIER_INBOX)
        self.report.open = len(items)
        by_building: dict[str, list[InboxRow]] = {}
        for item in items:
            by_building.setdefault(str(item["stream"]).split("/", 1)[0], []).append(item)
        for msgs in by_building.values():
            self._building(msgs, now)
        self.report.seconds = round(time.monotonic() - started, 3)
        self.report.calls = self.client.http.stats.as_dict()
        log_event(
            log,
            "hoomdossier messages forwarded to econobis",
            tenant=self.tenant,
            partner=PARTNER,
            forwarded=self.report.forwarded,
            superseded=self.report.superseded,
            retry_later=self.report.retry_later,
            quarantined=self.report.quarantined,
        )
        return self.report

    def _building(self, msgs: list[InboxRow], now: datetime) -> None:
        for i, m in enumerate(msgs):
            endpoint = m["meta"].get("endpoint", str(m["stream"]).split("/", 1)[-1])
            if endpoint not in NOT_SNAPSHOT and any(later["stream"] == m["stream"] for later in msgs[i + 1 :]):
                self.worker.finish(m, "superseded", None)
                self.report.superseded += 1
                continue
            due = as_utc(m.get("next_attempt_at"))
            if due is not None and due > now:
                self.report.waiting_behind += len(msgs) - i - 1
                return
            if not self.store.inbox_lease(m):
                return  # an overlapping run has this building
            self.report.by_endpoint[endpoint] = self.report.by_endpoint.get(endpoint, 0) + 1
            if not self._send(m, endpoint):
                self.report.waiting_behind += len(msgs) - i - 1
                return

    def _send(self, m: InboxRow, endpoint: str) -> bool:
        """True when the building may go on with its next message."""
        if not m["meta"].get("contact_id"):
            self.worker.finish(m, "skipped", {"reason": "no contact_id: Econobis refuses it (404 Contact_id missing)"})
            self.report.skipped += 1
            return True
        try:
            logs = self.client.hoomdossier_endpoint(
                self.key, endpoint, str(m["payload"]).encode("utf-8"), idempotent=endpoint in STATE_SETTING
            )
            decision: Decision = Sent({"econobis": logs[-3:]})
        except PartnerError as exc:
            decision = self._decide(m, endpoint, exc)
        detail = {"building_id": m["meta"].get("building_id")}
        go_on = self.worker.settle(m, decision, endpoint, detail)
        if isinstance(decision, Sent):
            self.report.forwarded += 1
        elif go_on:
            self.report.quarantined += 1
        else:
            self.report.retry_later += 1
        return go_on

    def _decide(self, m: InboxRow, endpoint: str, exc: PartnerError) -> Decision:
        """What Econobis' refusal of a forwarded message means (its dialect: connectors/econobis/errors.py)."""
        if (retry := transport_retry(exc)) is not None:
            return retry
        uncertain = bool((m.get("result") or {}).get("uncertain"))
        logs = log_lines(exc.body)
        if (retry := webform_limit_retry(exc, logs)) is not None:
            return retry
        text = " | ".join(error_lines(logs)) or exc.message
        if isinstance(exc, PartnerServerError):
            landed = not (logs and rolled_back(logs))  # a plain 500 may come after the commit
            kind = Failure.OUTCOME_UNKNOWN if landed or uncertain else Failure.UNAVAILABLE
            return Retry(kind, f"Econobis {exc.status}: {text}")
        if isinstance(exc, PartnerNotFound):
            if uncertain and endpoint in DONE_ON_REPEAT_404:
                return Sent({"econobis": logs[-3:], "by": "repeat answer after a lost one"})
            if ENDPOINT_NOT_FOUND not in text:
                # Econobis may not have caught up yet (account id, visit kansactie): try again later
                return Retry(Failure.NOT_YET, f"Econobis 404: {text}")
        return Park(f"Econobis refused ({exc.status}): {text}", logs or exc.body)
