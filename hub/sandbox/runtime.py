"""Sandbox runtime shared by the partner simulators: a controllable clock, a Laravel-style throttle and
per-route fault injection (latency, 429 + Retry-After, 5xx bursts, timeouts, dropped connections).

Faults are an ASGI middleware so they hit the wire exactly as a flaky partner or proxy would."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
import threading
import time
from collections.abc import Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

AMS = ZoneInfo("Europe/Amsterdam")


class SimClock:
    """Wall-clock time as the partner sees it (naive Europe/Amsterdam, like Econobis), movable by tests.

    Starts at `start` (the seed's "now") and runs on in real time from there — sliding windows such as the
    webform's per-minute limit depend on it — unless `frozen`; `advance` and `set` move it."""

    def __init__(self, start: datetime | None = None, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._base: datetime | None = start
        self._t0 = time.monotonic()
        self.frozen = frozen

    def now(self) -> datetime:
        with self._lock:
            if self._base is None:
                base = datetime.now(AMS).replace(tzinfo=None)
            elif self.frozen:
                base = self._base
            else:
                base = self._base + timedelta(seconds=time.monotonic() - self._t0)
            return (base + self._offset).replace(microsecond=0)

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, when: datetime) -> datetime:
        with self._lock:
            self._base, self._offset, self._t0 = when, timedelta(0), time.monotonic()
        return self.now()


class LaravelThrottle:
    """Laravel's `throttle:N,1`: N hits per key in a window that starts at the key's first hit."""

    def __init__(self, limit: int, decay_seconds: int = 60, monotonic: Any = time.monotonic) -> None:
        self.limit = limit
        self.decay = decay_seconds
        self._mono = monotonic
        self._lock = threading.Lock()
        self._hits: dict[str, tuple[float, int]] = {}

    def hit(self, key: str) -> tuple[bool, int, int]:
        """Count a hit. Returns (allowed, remaining, retry_after_seconds)."""
        now = self._mono()
        with self._lock:
            start, count = self._hits.get(key, (now, 0))
            if now - start >= self.decay:
                start, count = now, 0
            if count >= self.limit:
                retry = max(1, int(start + self.decay - now + 0.999))
                return False, 0, retry
            self._hits[key] = (start, count + 1)
            return True, self.limit - count - 1, 0

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


@dataclass
class FaultRule:
    """Faults for requests whose path matches `route` (fnmatch, e.g. "/api/*/grid") and `method` ("*")."""

    route: str = "*"
    method: str = "*"
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    throttle_rate: float = 0.0
    retry_after: int = 1
    burst_every: int = 0
    burst_length: int = 0
    burst_status: int = 503
    timeout_rate: float = 0.0
    timeout_seconds: float = 35.0
    drop_rate: float = 0.0
    # When True, errors/timeouts/drops happen AFTER the request was processed (the write is committed but
    # the caller never learns it) — Econobis' post-commit 500 and a proxy timing out on a slow answer.
    after_processing: bool = False
    _seen: int = field(default=0, repr=False)

    def matches(self, method: str, path: str) -> bool:
        return fnmatch.fnmatch(path, self.route) and (self.method == "*" or self.method.upper() == method)


class Faults:
    """The active fault rules of one sandbox, decided with a seeded RNG so a test run is repeatable."""

    def __init__(self, seed: int = 7) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = []
        self.rng = random.Random(seed)
        self.injected: dict[str, int] = {}

    def set(self, rules: list[dict[str, Any]], seed: int | None = None) -> None:
        with self._lock:
            self.rules = [FaultRule(**r) for r in rules]
            if seed is not None:
                self.rng = random.Random(seed)

    def clear(self) -> None:
        self.set([])

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rules": [{k: v for k, v in asdict(r).items() if not k.startswith("_")} for r in self.rules],
                "injected": dict(self.injected),
            }

    def decide(self, method: str, path: str) -> tuple[str | None, FaultRule | None, float]:
        """(fault kind or None, rule, latency seconds) for one request. Matching rules roll in order; the
        first that yields a fault decides, so rules can combine (e.g. 5xx before and timeouts after commit)."""
        latency = 0.0
        with self._lock:
            for rule in self.rules:
                if not rule.matches(method, path):
                    continue
                rule._seen += 1
                latency += rule.latency_ms / 1000.0
                kind: str | None = None
                if rule.burst_every and (rule._seen - 1) % rule.burst_every < rule.burst_length:
                    kind = "burst"
                else:
                    roll = self.rng.random()
                    for name, rate in (
                        ("throttle", rule.throttle_rate),
                        ("error", rule.error_rate),
                        ("timeout", rule.timeout_rate),
                        ("drop", rule.drop_rate),
                    ):
                        if roll < rate:
                            kind = name
                            break
                        roll -= rate
                if kind:
                    self.injected[kind] = self.injected.get(kind, 0) + 1
                    return kind, rule, latency
                # no fault from this rule: the next matching rule gets its own roll
        return None, None, latency


# (status, path) → (body, media type) of an injected error, for a partner whose errors have their own shape
ErrorBody = Callable[[int, str], tuple[Any, str]]


class FaultMiddleware:
    """ASGI middleware that applies `Faults` to every request except the sandbox's own admin routes.

    Injected errors answer Laravel's JSON (`{"message": …}`) unless `error_body` gives the partner's own shape
    (e.g. problem+json)."""

    def __init__(
        self, app: Any, faults: Faults, admin_prefix: str = "/__sandbox", error_body: ErrorBody | None = None
    ) -> None:
        self.app = app
        self.faults = faults
        self.admin_prefix = admin_prefix
        self.error_body = error_body

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.admin_prefix):
            await self.app(scope, receive, send)
            return
        kind, rule, latency = self.faults.decide(scope["method"], scope["path"])
        if latency:
            await asyncio.sleep(latency)
        if kind is None or rule is None:
            await self.app(scope, receive, send)
            return
        if rule.after_processing:
            await self._after(kind, rule, scope, receive, send)
        else:
            await self._before(kind, rule, scope, send)

    async def _error(
        self, send: Any, path: str, status: int, laravel: Any, headers: dict[str, str] | None = None
    ) -> None:
        if self.error_body is None:
            await _send_json(send, status, laravel, headers)
            return
        body, media_type = self.error_body(status, path)
        await _send_json(send, status, body, headers, media_type)

    async def _before(self, kind: str, rule: FaultRule, scope: MutableMapping[str, Any], send: Any) -> None:
        path = scope["path"]
        if kind == "throttle":
            retry = {"Retry-After": str(rule.retry_after)}
            await self._error(send, path, 429, {"message": "Too Many Attempts."}, retry)
        elif kind in ("error", "burst"):
            status = rule.burst_status if kind == "burst" else rule.error_status
            await self._error(
                send,
                path,
                status,
                {"message": "Server Error"} if status == 500 else {"message": "Service Unavailable"},
            )
        elif kind == "timeout":
            await asyncio.sleep(rule.timeout_seconds)
            await self._error(send, path, 504, {"message": "Gateway Timeout"})
        elif kind == "drop":
            await _drop(send)

    async def _after(
        self, kind: str, rule: FaultRule, scope: MutableMapping[str, Any], receive: Any, send: Any
    ) -> None:
        # Run the real handler, swallow its answer, then fail: the work is done, the caller can't know.
        async def discard(_message: dict[str, Any]) -> None:
            return None

        await self.app(scope, receive, discard)
        if kind == "timeout":
            await asyncio.sleep(rule.timeout_seconds)
            await self._error(send, scope["path"], 504, {"message": "Gateway Timeout"})
        elif kind == "drop":
            await _drop(send)
        else:
            status = rule.error_status if kind == "error" else 503
            await self._error(send, scope["path"], status, {"message": "Server Error"})


async def _send_json(
    send: Any, status: int, body: Any, headers: dict[str, str] | None = None, media_type: str = "application/json"
) -> None:
    raw = json.dumps(body).encode()
    hdrs = [(b"content-type", media_type.encode()), (b"content-length", str(len(raw)).encode())]
    hdrs += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": raw})


async def _drop(send: Any) -> None:
    """Promise a body and close the connection part-way: the client sees a reset mid-response."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"data":[', "more_body": True})
    raise ConnectionAbortedError("sandbox fault: connection dropped")
