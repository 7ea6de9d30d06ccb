"""The partner client: one requests.Session per (partner, tenant) with timeouts, retries, budget and redaction.

The retry policy is data (RetryPolicy): which failures are retried for which kind of call, how long to back
off, and when a Retry-After is too long to wait for inside a run. Connectors never loop on their own."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay

from hub.http.errors import (
    OutcomeUnknown,
    PartnerAuthError,
    PartnerClientError,
    PartnerError,
    PartnerNotFound,
    PartnerRateLimited,
    PartnerRejected,
    PartnerServerError,
    PartnerUnavailable,
)
from hub.logs import log_event
from hub.redact import Redactor

if TYPE_CHECKING:
    from hub.config import TenantConfig
    from hub.store import Store

log = logging.getLogger("hub.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures are retried, and how. Declared once; connectors pick a policy, never a loop."""

    max_attempts: int = 6
    max_total_seconds: float = 300.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 0.5
    # A Retry-After longer than this ends the call with PartnerRateLimited(retry_after) so the run can
    # reschedule instead of holding a worker.
    max_retry_after: float = 120.0
    # Retried for every call: the partner did not process the request (429, 503) or the gateway gave up.
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    # Retried only when repeating the call is harmless.
    retry_statuses_idempotent: frozenset[int] = frozenset({500})
    # For calls that are NOT safe to repeat, only statuses that prove nothing was applied.
    retry_statuses_unsafe: frozenset[int] = frozenset({429, 503})


class Budget(Protocol):
    def acquire(self) -> float:
        """Block until one request may be sent; return the seconds waited."""
        ...


class AuthProvider(Protocol):
    def headers(self) -> dict[str, str]: ...

    def invalidate(self) -> None: ...


class StaticKeyAuth:
    """A fixed key in one header, as a partner wants it (`X-Api-Key: <key>`, a raw `Authorization: <key>`,
    `Authorization: Bearer <key>` with `prefix="Bearer "`). A key is not re-fetched: a 401 is a configuration
    error, never retried."""

    def __init__(self, header: str, key: str, prefix: str = "") -> None:
        self.header, self.key, self.prefix = header, key, prefix

    def headers(self) -> dict[str, str]:
        return {self.header: self.prefix + self.key}

    def invalidate(self) -> None:
        return None


class StoreBudget:
    """Token bucket per (partner, tenant) kept in the state store, so concurrent runs share one budget."""

    def __init__(
        self,
        store: Any,
        partner: str,
        tenant: str,
        per_minute: float,
        burst: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store, self.partner, self.tenant = store, partner, tenant
        self.capacity = max(1.0, burst)
        self.rate = per_minute / 60.0
        self.sleep = sleep

    @classmethod
    def from_settings(
        cls, store: Any, partner: str, key: str, settings: Mapping[str, Any], per_minute: float, burst: float
    ) -> StoreBudget:
        """The budget a tenant's partner settings ask for (`budget_per_minute`, `budget_burst`), else the
        partner's defaults; `key` is what shares one bucket (a tenant, or a base URL)."""
        return cls(
            store,
            partner,
            key,
            per_minute=float(settings.get("budget_per_minute", per_minute)),
            burst=float(settings.get("budget_burst", burst)),
        )

    def acquire(self) -> float:
        waited = 0.0
        while True:
            wait = self.store.budget_try_acquire(self.partner, self.tenant, self.capacity, self.rate)
            if wait <= 0:
                return waited
            self.sleep(wait)
            waited += wait


@dataclass
class CallStats:
    """Counts for run metadata: calls sent, retries, throttles honoured, seconds waited on the budget."""

    calls: int = 0
    # calls that change the partner's data (everything but reads and logins), attempts included
    writes: int = 0
    retries: int = 0
    throttled: int = 0
    budget_wait_s: float = 0.0
    by_status: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "writes": self.writes,
            "retries": self.retries,
            "throttled": self.throttled,
            "budget_wait_s": round(self.budget_wait_s, 3),
            "by_status": dict(self.by_status),
        }


class _Retry(Exception):
    """Internal: this attempt failed in a way the policy retries."""

    def __init__(self, error: PartnerError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


MessageParser = Callable[[Any], "str | None"]


def _partner_message(resp: requests.Response, parse: MessageParser | None = None) -> str:
    """The partner's own error text: the connector's parser first (a partner's own dialect, e.g. a list of log
    lines), then a JSON message/error_description, the last lines of a JSON list, or the raw text."""
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or resp.reason or "").strip()[:500]
    if parse is not None and (own := parse(body)):
        return own
    if isinstance(body, dict):
        for key in ("message", "error_description", "detail", "title", "error"):
            if isinstance(body.get(key), str) and body[key]:
                msg = body[key]
                if isinstance(body.get("errors"), dict):
                    msg += " " + "; ".join(f"{k}: {v}" for k, v in body["errors"].items())
                return msg[:1000]
    if isinstance(body, list) and body:
        return " | ".join(str(x) for x in body[-3:])[:1000]
    return str(body)[:500]


class PartnerClient:
    """Typed HTTP access to one partner for one tenant.

    `request()` returns the `requests.Response` for an accepted status, or raises a PartnerError subclass:
    PartnerAuthError/PartnerNotFound/PartnerRejected for 4xx (never retried), PartnerRateLimited,
    PartnerServerError, PartnerUnavailable when retries ran out, OutcomeUnknown when a call that is not
    safe to repeat got no answer."""

    def __init__(
        self,
        partner: str,
        tenant: str,
        base_url: str,
        *,
        timeout: tuple[float, float] = (3.05, 30.0),
        policy: RetryPolicy | None = None,
        budget: Budget | None = None,
        auth: AuthProvider | None = None,
        secrets: tuple[str | None, ...] = (),
        error_message: MessageParser | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.partner = partner
        self.error_message = error_message
        self.tenant = tenant
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.budget = budget
        self.auth = auth
        self.redactor = Redactor(secrets)
        self.session = session or requests.Session()
        # urllib3's own retries would hide attempts from our policy.
        adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=8)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.stats = CallStats()

    @classmethod
    def for_tenant(
        cls,
        tenant: TenantConfig,
        partner: str,
        store: Store | None,
        *,
        budget: tuple[float, float],
        budget_key: str | None = None,
        timeout: tuple[float, float] = (3.05, 30.0),
        policy: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> PartnerClient:
        """The client of one tenant's partner from its config: base URL, and (with a store) the request budget
        shared through the store under (partner, `budget_key` or the tenant), `budget` = the partner's default
        (per minute, burst) unless the tenant's settings say otherwise. Connectors add auth and secrets."""
        pc = tenant.partner(partner)
        shared = None
        if store is not None:
            shared = StoreBudget.from_settings(store, partner, budget_key or tenant.id, pc.settings, *budget)
        return cls(partner, tenant.id, pc.base_url, timeout=timeout, policy=policy, budget=shared, **kwargs)

    def add_secret(self, value: str | None) -> None:
        self.redactor.add(value)

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    # --- public -------------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        authenticated: bool = True,
        return_statuses: frozenset[int] = frozenset(),
        write: bool | None = None,
    ) -> requests.Response:
        """`return_statuses`: error statuses handed back as the response instead of raised (for a proxy that
        passes the partner's own answer through)."""
        method = method.upper()
        safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        writes = method not in ("GET", "HEAD", "OPTIONS") if write is None else write
        url = self.url(path)
        endpoint = self.redactor.url(url)
        attempt_no = 0
        reauthed = False

        def attempt() -> requests.Response:
            nonlocal attempt_no, reauthed
            attempt_no += 1
            if self.budget is not None:
                self.stats.budget_wait_s += self.budget.acquire()
            hdrs = {"Accept": "application/json", **(headers or {})}
            if authenticated and self.auth is not None:
                hdrs.update(self.auth.headers())
            self.stats.calls += 1
            self.stats.writes += int(writes)
            try:
                resp = self.session.request(
                    method, url, params=params, json=json, data=data, headers=hdrs, timeout=self.timeout
                )
            except requests.exceptions.ConnectTimeout as exc:
                raise _Retry(self._error(PartnerUnavailable, method, endpoint, None, exc, attempt_no)) from None
            except (
                requests.exceptions.ReadTimeout,
                requests.exceptions.ConnectionError,
                # the connection broke part-way through the answer: the request did reach the partner
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                never_sent = _never_sent(exc)
                if safe or never_sent:
                    raise _Retry(self._error(PartnerUnavailable, method, endpoint, None, exc, attempt_no)) from None
                raise self._error(OutcomeUnknown, method, endpoint, None, exc, attempt_no) from None
            self.stats.by_status[str(resp.status_code)] = self.stats.by_status.get(str(resp.status_code), 0) + 1
            if resp.status_code < 400 or resp.status_code in return_statuses:
                return resp
            # a call made without the auth provider (the login itself) never triggers a re-login
            return self._on_error_status(
                resp, method, endpoint, safe, attempt_no, reauthed or not authenticated, mark_reauth
            )

        def mark_reauth() -> None:
            nonlocal reauthed
            reauthed = True

        retrying = Retrying(
            retry=retry_if_exception_type(_Retry),
            stop=stop_after_attempt(self.policy.max_attempts) | stop_after_delay(self.policy.max_total_seconds),
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retry as exc:
            err = exc.error
            err.attempts = attempt_no
            raise err from None

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).json()

    def close(self) -> None:
        self.session.close()

    # --- internals ----------------------------------------------------------------------------------------

    def _on_error_status(
        self,
        resp: requests.Response,
        method: str,
        endpoint: str,
        safe: bool,
        attempt_no: int,
        reauthed: bool,
        mark_reauth: Callable[[], None],
    ) -> requests.Response:
        status = resp.status_code
        if status == 401 and self.auth is not None and not reauthed:
            # Expired or revoked token: fetch a new one once, then treat 401 as final.
            self.auth.invalidate()
            mark_reauth()
            raise _Retry(self._http_error(resp, method, endpoint, attempt_no), retry_after=0.0)
        retryable = status in self.policy.retry_statuses_unsafe or (
            safe and (status in self.policy.retry_statuses or status in self.policy.retry_statuses_idempotent)
        )
        if status == 429:
            self.stats.throttled += 1
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            if retry_after is not None and retry_after > self.policy.max_retry_after:
                raise self._http_error(resp, method, endpoint, attempt_no, retry_after=retry_after)
            raise _Retry(self._http_error(resp, method, endpoint, attempt_no, retry_after=retry_after), retry_after)
        if retryable:
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            raise _Retry(self._http_error(resp, method, endpoint, attempt_no), retry_after)
        raise self._http_error(resp, method, endpoint, attempt_no)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            return exc.retry_after  # exact: the partner said when
        n = max(0, state.attempt_number - 1)
        base = min(self.policy.backoff_max, self.policy.backoff_initial * (2**n))
        return base + self.rng.uniform(0, self.policy.jitter * base)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        err = exc.error if isinstance(exc, _Retry) else None
        log_event(
            log,
            "partner call retried",
            logging.WARNING,
            partner=self.partner,
            tenant=self.tenant,
            endpoint=err.endpoint if err else None,
            status=err.status if err else None,
            attempt=state.attempt_number,
            wait_s=round(state.upcoming_sleep, 3),
        )

    def _error(
        self,
        cls: type[PartnerError],
        method: str,
        endpoint: str,
        status: int | None,
        exc: Exception,
        attempts: int,
    ) -> PartnerError:
        return cls(
            partner=self.partner,
            tenant=self.tenant,
            method=method,
            endpoint=endpoint,
            status=status,
            message=self.redactor.text(f"{type(exc).__name__}: {exc}")[:500],
            attempts=attempts,
        )

    def _http_error(
        self,
        resp: requests.Response,
        method: str,
        endpoint: str,
        attempts: int,
        retry_after: float | None = None,
    ) -> PartnerError:
        status = resp.status_code
        kwargs: dict[str, Any] = {
            "partner": self.partner,
            "tenant": self.tenant,
            "method": method,
            "endpoint": endpoint,
            "status": status,
            "message": self.redactor.text(_partner_message(resp, self.error_message)),
            "body": self.redactor.text(resp.text[:4000]) if resp.text else None,
            "attempts": attempts,
        }
        if status in (401, 403):
            return PartnerAuthError(**kwargs)
        if status == 404:
            return PartnerNotFound(**kwargs)
        if status == 429:
            return PartnerRateLimited(retry_after=retry_after, **kwargs)
        if 400 <= status < 500:
            return PartnerRejected(**kwargs)
        if status >= 500:
            return PartnerServerError(**kwargs)
        return PartnerClientError(**kwargs)


def _never_sent(exc: Exception) -> bool:
    """True when the connection failed before the request could reach the partner (refused, DNS)."""
    text = repr(exc)
    return any(s in text for s in ("NewConnectionError", "Connection refused", "NameResolutionError"))
