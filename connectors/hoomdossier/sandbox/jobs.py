"""The queue worker: one attempt of a queued job (job middleware, payload, HTTP call to Econobis, outcome) and
the `Attempt` record of it that the admin API lists."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from connectors.hoomdossier.sandbox import outbound
from connectors.hoomdossier.sandbox.dossier import Dossier, iso
from connectors.hoomdossier.sandbox.lookups import JOB_CLASSES
from connectors.hoomdossier.sandbox.outbound import Job, PayloadError


@dataclass
class Attempt:
    """One run of a job. `outcome`: delivered | released (queued again) | failed | dropped."""

    job_id: int
    endpoint: str
    process: str
    attempt: int
    at: str | None
    url: str | None = None
    building_id: int | None = None
    user_id: int | None = None
    account_id: int | None = None
    contact_id: Any = None
    status: int | None = None
    exception: str | None = None
    outcome: str = ""
    reason: str = ""
    body: dict[str, Any] | None = None
    response: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The admin API's JSON row (the field order is the wire order)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class JobRunner:
    """Runs due jobs as Hoomdossier's worker does. A cooperation without Econobis link: dropped silently
    (production job middleware); payload build error, 4xx, connection error/timeout, non-JSON or scalar answer:
    logged and dropped (no retry, no sync timestamp); 5xx: also dropped by default (below); success:
    `integration_processes.synced_at` (not for delete).

    The default `retry_server_errors=False` reproduces the code as it is in the repository: CallsEconobisApi
    tests `$exception instanceof Predis\\Response\\ServerException` (a wrong import), which a Guzzle
    ServerException never is, so a 5xx is in reality swallowed like a 4xx and never retried.
    contracts/hoomdossier.md §2.6 reads the intent (release 120 s, 3 attempts); `retry_server_errors=True`
    gives that behaviour."""

    def __init__(self, dossier: Dossier, outbound_timeout: float, retry_server_errors: bool) -> None:
        self.dossier = dossier
        self.state = dossier.state
        self.jobs = dossier.jobs
        self.outbound_timeout = outbound_timeout
        self.retry_server_errors = retry_server_errors
        self.log: list[Attempt] = []

    def next_due(self) -> datetime | None:
        with self.state.lock:
            return min((j.available_at for j in self.jobs), default=None)

    def run_due(self, now: datetime) -> list[Attempt]:
        """Every job due at `now`, oldest first; a job released to `now` runs again in the same call."""
        attempts: list[Attempt] = []
        while True:
            with self.state.lock:
                due = sorted((j for j in self.jobs if j.available_at <= now), key=lambda j: (j.available_at, j.id))
            if not due:
                return attempts
            attempts.append(self.attempt(due[0], now))

    def attempt(self, job: Job, now: datetime) -> Attempt:
        st = self.state
        with st.lock:
            job.attempts += 1
            record = Attempt(job.id, job.endpoint, JOB_CLASSES[job.endpoint], job.attempts, iso(now))
            record.building_id = job.building_id
            building = st.buildings.get(job.building_id) if job.building_id is not None else None
            if job.endpoint == "delete":
                coop_array = dict(job.cooperation or {})
                envelope = job.account_related or {}
                record.user_id = envelope.get("user_id")
                record.account_id = envelope.get("account_id")
                record.contact_id = envelope.get("contact_id")
            else:
                user = st.users.get(building.user_id) if building else None
                if building is None:
                    return self._log(job, record, "failed", "Illuminate\\Database\\Eloquent\\ModelNotFoundException")
                if user is None or user.deleted:
                    # job middleware reads $this->building->user->cooperation: an error outside wrapCall, so
                    # Laravel retries it right away until `tries` is used up
                    reason = 'ErrorException: Attempt to read property "cooperation" on null'
                    if job.attempts < outbound.TRIES:
                        return self._log(job, record, "released", reason, retry_at=now)
                    return self._log(job, record, "failed", reason)
                record.user_id, record.account_id, record.contact_id = user.id, user.account_id, user.contact_id
                coop_array = st.cooperations[user.cooperation_id].to_array()
            base, key = coop_array.get("econobis_base_url"), coop_array.get("econobis_api_key")
            if not base or not key:
                return self._log(
                    job, record, "dropped", "cooperation has no Econobis link (EnsureCooperationHasEconobisLink)"
                )
            try:
                body = outbound.build_payload(st, job, building)
            except PayloadError as exc:
                return self._log(job, record, "dropped", str(exc))
            record.body = body
            url = f"{str(base).rstrip('/')}/api/{key}/hoomdossier/{job.endpoint}"
            record.url = url
        # the HTTP call runs outside the lock: a slow Econobis must not block the API and the scenarios
        timeout = outbound.PDF_TIMEOUT if job.endpoint == "pdf" else self.outbound_timeout
        result = outbound.post(url, body, timeout)
        with st.lock:
            record.status, record.exception, record.response = result.status, result.exception, result.text
            if result.json_ok:
                if job.endpoint != "delete" and job.building_id is not None:
                    st.integration_processes[(job.building_id, JOB_CLASSES[job.endpoint])] = now
                return self._log(job, record, "delivered", "")
            if result.exception == "GuzzleHttp\\Exception\\ServerException" and self.retry_server_errors:
                if job.attempts < outbound.TRIES:
                    return self._log(
                        job,
                        record,
                        "released",
                        f"HTTP {result.status}: release(120)",
                        retry_at=now + timedelta(seconds=outbound.RELEASE_SECONDS),
                    )
                return self._log(
                    job, record, "failed", f"HTTP {result.status}: MaxAttemptsExceeded after {job.attempts}"
                )
            detail = f"HTTP {result.status}" if result.status is not None else result.text
            return self._log(job, record, "dropped", f"{result.exception}: {detail} (logged, not retried)")

    def _log(self, job: Job, record: Attempt, outcome: str, reason: str, retry_at: datetime | None = None) -> Attempt:
        record.outcome, record.reason = outcome, reason
        job.history.append(outcome)
        if retry_at is not None:
            job.available_at = retry_at
        elif job in self.jobs:
            self.jobs.remove(job)
        self.log.append(record)
        return record
