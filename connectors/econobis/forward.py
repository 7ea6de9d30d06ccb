"""Forward the Hoomdossier messages the receiver stored (routes.py) to the tenant's Econobis, losslessly.

Hoomdossier itself drops a message on any 4xx or timeout and on Econobis' per-minute limit (a 422). The hub
instead keeps every message until Econobis took it or a person decides:

- **Order per building.** Messages of one Hoomdossier building go out in the order they arrived; while the
  oldest waits for a retry, the building's later messages wait too (an old appointment must never overwrite
  a newer one).
- **Newest state wins.** Every endpoint but `delete` sends a snapshot (the appointment, the status, the
  scans, the answers, the whole woonplan, the latest PDF): an unsent message with a newer one of the same
  endpoint behind it is `superseded` and not sent.
- **Retries.** 429 (exactly after Retry-After), Econobis' per-webform limit (422 "Maximum aantal aanroepen",
  after 60 s), 5xx, timeouts: retried later. A 404 Econobis answers while it has not caught up yet (the
  resident's Hoom account id is not stored yet, the visit kansactie does not exist yet) is retried with
  backoff up to `max_attempts`, then quarantined. Other refusals (no primary address, 412 on delete) go to
  quarantine at once, with Econobis' log lines as the reason, and can be replayed.
- **Repeats are harmless or recognised.** afspraak, gebruik, woonplan and scan-status set state, so a repeat
  after a lost answer changes nothing. woning-status and delete answer 404 on a repeat (the visit is done, the
  housing file gone): after an attempt whose outcome was unknown, that 404 means the first one landed.
  A `pdf` repeated after a lost answer can store the report twice in Econobis (it has no lookup for it)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.econobis.client import EconobisClient
from connectors.econobis.routes import INBOX_SOURCE, ROLLED_BACK
from hub.http import (
    OutcomeUnknown,
    PartnerError,
    PartnerNotFound,
    PartnerRateLimited,
    PartnerRejected,
    PartnerServerError,
    PartnerUnavailable,
)
from hub.logs import log_event
from hub.reports import RunReport
from hub.store import InboxRow, Store, as_utc, utcnow

log = logging.getLogger("connectors.econobis.forward")

RATE_LIMITED = "Maximum aantal aanroepen per minuut is bereikt."
NOT_SNAPSHOT = frozenset({"delete"})
STATE_SETTING = frozenset({"afspraak", "gebruik", "woonplan", "scan-status"})
DONE_ON_REPEAT_404 = frozenset({"woning-status", "delete"})
ENDPOINT_NOT_FOUND = "Endpoint not found"


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


def _logs(body: str | None) -> list[str]:
    try:
        parsed = json.loads(body or "")
    except ValueError:
        return []
    return [str(x) for x in parsed] if isinstance(parsed, list) else []


class EconobisForward:
    """Send one tenant's stored Hoomdossier messages to its Econobis."""

    def __init__(
        self,
        store: Store,
        client: EconobisClient,
        tenant: str,
        endpoint_key: str,
        *,
        backoff: float = 30.0,
        max_backoff: float = 3600.0,
        max_attempts: int = 10,
    ) -> None:
        self.store = store
        self.client = client
        self.tenant = tenant
        self.key = endpoint_key
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        self.report = ForwardReport(tenant)
        client.http.add_secret(endpoint_key)

    def run(self, now: datetime | None = None) -> ForwardReport:
        started = time.monotonic()
        now = now or utcnow()
        items = self.store.inbox_open(self.tenant, INBOX_SOURCE)
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
            partner="econobis",
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
                self._finish(m, "superseded", None)
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
        attempts = int(m["attempts"]) + 1
        uncertain = bool((m.get("result") or {}).get("uncertain"))
        if not m["meta"].get("contact_id"):
            self._finish(m, "skipped", {"reason": "no contact_id: Econobis refuses it (404 Contact_id missing)"})
            self.report.skipped += 1
            return True
        try:
            resp = self.client.http.request(
                "POST",
                f"/api/{self.key}/hoomdossier/{endpoint}",
                data=str(m["payload"]).encode("utf-8"),
                headers={"Content-Type": "application/json"},
                idempotent=endpoint in STATE_SETTING,
                authenticated=False,
            )
        except PartnerError as exc:
            return self._failed(m, endpoint, exc, attempts, uncertain)
        self._finish(m, "forwarded", {"econobis": _logs(resp.text)[-3:]}, attempts=attempts)
        self.report.forwarded += 1
        return True

    def _failed(self, m: InboxRow, endpoint: str, exc: PartnerError, attempts: int, uncertain: bool) -> bool:
        logs = _logs(exc.body)
        text = " | ".join(line for line in logs if line.startswith("Fout opgetreden")) or exc.message
        if isinstance(exc, OutcomeUnknown):
            return self._retry(m, attempts, str(exc), self.backoff / 10, uncertain=True)
        if isinstance(exc, PartnerRateLimited):
            exact = exc.retry_after is not None
            return self._retry(m, attempts, str(exc), exc.retry_after or self.backoff, exact=exact, count=False)
        if isinstance(exc, PartnerUnavailable):
            return self._retry(m, attempts, str(exc), self.backoff)
        if isinstance(exc, PartnerServerError):
            landed = not (logs and ROLLED_BACK in logs)  # a plain 500 may come after the commit
            return self._retry(
                m, attempts, f"Econobis {exc.status}: {text}", self.backoff, uncertain=landed or uncertain
            )
        if isinstance(exc, PartnerRejected) and any(RATE_LIMITED in line for line in logs):
            return self._retry(m, attempts, "Econobis per-webform limit reached", 60.0, exact=True, count=False)
        if isinstance(exc, PartnerNotFound):
            if uncertain and endpoint in DONE_ON_REPEAT_404:
                self._finish(m, "forwarded", {"econobis": logs[-3:], "by": "repeat answer after a lost one"}, attempts)
                self.report.forwarded += 1
                return True
            if ENDPOINT_NOT_FOUND not in text and attempts < self.max_attempts:
                # Econobis may not have caught up yet (account id, visit kansactie): try again later
                return self._retry(m, attempts, f"Econobis 404: {text}", self.backoff)
        self._quarantine(m, endpoint, attempts, f"Econobis refused ({exc.status}): {text}", logs or exc.body)
        return True

    def _retry(
        self,
        m: InboxRow,
        attempts: int,
        reason: str,
        delay: float,
        *,
        exact: bool = False,
        uncertain: bool = False,
        count: bool = True,
    ) -> bool:
        if count and attempts >= self.max_attempts + 5:
            self._quarantine(
                m, m["meta"].get("endpoint", ""), attempts, f"gave up after {attempts} attempts: {reason}", None
            )
            return True
        wait = delay if exact else min(self.max_backoff, delay * 2 ** min(attempts - 1, 8))
        result = {**(m.get("result") or {}), "uncertain": uncertain or bool((m.get("result") or {}).get("uncertain"))}
        with self.store.begin() as conn:
            self.store.inbox_update(
                conn,
                m["id"],
                status="retry",
                attempts=attempts if count else int(m["attempts"]),
                next_attempt_at=utcnow() + timedelta(seconds=wait),
                last_error=self.client.http.redactor.text(reason)[:2000],
                result=result,
            )
        self.report.retry_later += 1
        return False

    def _quarantine(self, m: InboxRow, endpoint: str, attempts: int, reason: str, detail: Any) -> None:
        reason = self.client.http.redactor.text(reason)
        with self.store.begin() as conn:
            self.store.inbox_update(conn, m["id"], status="failed", attempts=attempts, last_error=reason[:4000])
            self.store.quarantine_put(
                conn,
                self.tenant,
                f"inbox:{INBOX_SOURCE}",
                endpoint,
                str(m["id"]),
                reason,
                {"inbox_id": m["id"], "building_id": m["meta"].get("building_id"), "econobis_answer": detail},
            )
        self.report.quarantined += 1

    def _finish(self, m: InboxRow, status: str, result: Any, attempts: int | None = None) -> None:
        with self.store.begin() as conn:
            values: dict[str, Any] = {"status": status, "result": result, "last_error": None}
            if status == "forwarded":
                values["forwarded_at"] = utcnow()
            if attempts is not None:
                values["attempts"] = attempts
            self.store.inbox_update(conn, m["id"], **values)
