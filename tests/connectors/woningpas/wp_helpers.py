"""Helpers for tests that drive a running sandbox Woningpas over HTTP: client assertions (good and bad), tokens,
API calls, and admin calls (mandates, sources, clock, changes)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from connectors.woningpas.sandbox.server import RunningWoningpas
from connectors.woningpas.settings import CLIENT_ASSERTION_TYPE

CLIENT = "hub-energiehuis-zuid"
READER = "hub-alleen-lezen"  # a client registered with woningpas.lezen only
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code"}


def assertion(
    running: RunningWoningpas,
    key: RSAPrivateKey,
    client_id: str = CLIENT,
    *,
    aud: str | None = None,
    exp_in: float = 300,
    iat_in: float | None = 0,
    jti: str | None = None,
    **claims: Any,
) -> str:
    now = running.sandbox.now_ts()
    body: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud if aud is not None else running.issuer,
        "exp": int(now + exp_in),
        "jti": jti or uuid.uuid4().hex,
        **claims,
    }
    if iat_in is not None:
        body["iat"] = int(now + iat_in)
    return jwt.encode(body, key, algorithm="RS256")


def token_request(running: RunningWoningpas, signed: str, client_id: str = CLIENT, **form: str) -> requests.Response:
    data = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": signed,
        **form,
    }
    return requests.post(f"{running.base_url}/op/v1/token", data=data, timeout=10)


def token(running: RunningWoningpas, key: RSAPrivateKey, client_id: str = CLIENT, **form: str) -> str:
    resp = token_request(running, assertion(running, key, client_id), client_id, **form)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def api(running: RunningWoningpas, method: str, path: str, bearer: str | None = None, **kw: Any) -> requests.Response:
    headers = dict(kw.pop("headers", {}))
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    return requests.request(method, f"{running.base_url}{path}", headers=headers, timeout=15, **kw)


def admin(running: RunningWoningpas, method: str, path: str, **kw: Any) -> Any:
    resp = requests.request(method, f"{running.base_url}/__sandbox{path}", timeout=15, **kw)
    assert resp.status_code < 300, resp.text
    return resp.json()


def mandate(running: RunningWoningpas, insz: str, client_id: str = CLIENT, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = admin(running, "POST", "/mandates", json={"client_id": client_id, "insz": insz, **extra})
    return result


def examples(running: RunningWoningpas) -> dict[str, Any]:
    result: dict[str, Any] = admin(running, "GET", "/examples")
    return result


def assert_problem(resp: requests.Response, status: int, code: str) -> dict[str, Any]:
    """A problem+json of §5 with this status and code, its `instance` the request's path."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status and body["code"] == code, body
    return body


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.02)
