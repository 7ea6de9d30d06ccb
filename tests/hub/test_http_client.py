"""The partner client's retry, backoff, budget and redaction behaviour, against mocked HTTP (responses)."""

from __future__ import annotations

import logging
import random

import pytest
import requests
import responses

from hub.http import (
    OutcomeUnknown,
    PartnerAuthError,
    PartnerClient,
    PartnerRateLimited,
    PartnerRejected,
    PartnerServerError,
    PartnerUnavailable,
    RetryPolicy,
    StoreBudget,
)
from hub.logs import configure_logging

BASE = "https://coop.econobis.test"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(sleeps: Sleeps, **kw) -> PartnerClient:
    return PartnerClient(
        "econobis",
        "coop-a",
        BASE,
        sleep=sleeps,
        rng=random.Random(1),
        policy=kw.pop("policy", RetryPolicy()),
        **kw,
    )


@responses.activate
def test_429_with_retry_after_is_waited_exactly_then_succeeds():
    responses.get(
        f"{BASE}/api/contact/grid",
        status=429,
        headers={"Retry-After": "7"},
        json={"message": "Too Many Attempts."},
    )
    responses.get(f"{BASE}/api/contact/grid", json={"data": [], "meta": {"total": 0}})
    sleeps = Sleeps()
    client = make_client(sleeps)
    assert client.get_json("/api/contact/grid") == {"data": [], "meta": {"total": 0}}
    assert sleeps == [7.0]
    assert client.stats.throttled == 1 and client.stats.retries == 1


@responses.activate
def test_retry_after_as_http_date_is_honoured():
    import email.utils
    import time

    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": when})
    responses.get(f"{BASE}/x", json={})
    sleeps = Sleeps()
    make_client(sleeps).get_json("/x")
    assert 28 <= sleeps[0] <= 30.5


@responses.activate
def test_retry_after_longer_than_policy_allows_raises_rate_limited_without_sleeping():
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "3600"})
    sleeps = Sleeps()
    with pytest.raises(PartnerRateLimited) as err:
        make_client(sleeps).get_json("/x")
    assert err.value.retry_after == 3600 and sleeps == []


@responses.activate
def test_503_is_retried_with_growing_jittered_backoff():
    for _ in range(3):
        responses.get(f"{BASE}/x", status=503)
    responses.get(f"{BASE}/x", json={"ok": True})
    sleeps = Sleeps()
    client = make_client(sleeps, policy=RetryPolicy(backoff_initial=1.0, jitter=0.5))
    assert client.get_json("/x") == {"ok": True}
    assert len(sleeps) == 3
    assert 1.0 <= sleeps[0] <= 1.5 and 2.0 <= sleeps[1] <= 3.0 and 4.0 <= sleeps[2] <= 6.0


@responses.activate
def test_503_until_attempts_run_out_raises_server_error_with_attempt_count():
    responses.get(f"{BASE}/x", status=503, json={"message": "Service Unavailable"})
    sleeps = Sleeps()
    with pytest.raises(PartnerServerError) as err:
        make_client(sleeps, policy=RetryPolicy(max_attempts=3)).get_json("/x")
    assert err.value.status == 503 and err.value.attempts == 3 and len(sleeps) == 2


@responses.activate
def test_timeout_on_get_is_retried():
    responses.get(f"{BASE}/x", body=requests.exceptions.ReadTimeout("read timed out"))
    responses.get(f"{BASE}/x", json={"ok": 1})
    sleeps = Sleeps()
    assert make_client(sleeps).get_json("/x") == {"ok": 1}
    assert len(sleeps) == 1


@responses.activate
def test_connection_refused_exhausted_raises_unavailable():
    responses.get(f"{BASE}/x", body=requests.exceptions.ConnectionError("NewConnectionError: Connection refused"))
    with pytest.raises(PartnerUnavailable):
        make_client(Sleeps(), policy=RetryPolicy(max_attempts=2)).get_json("/x")


@pytest.mark.parametrize("status", [400, 404, 412, 422])
@responses.activate
def test_client_errors_are_not_retried(status):
    responses.post(f"{BASE}/api/webform/external/KEY", status=status, json=["Start", "Fout opgetreden: foo"])
    sleeps = Sleeps()
    with pytest.raises(Exception) as err:
        make_client(sleeps).request("POST", "/api/webform/external/KEY", json={}, idempotent=True)
    assert len(responses.calls) == 1 and sleeps == []
    assert err.value.status == status
    if status in (400, 412, 422):
        assert isinstance(err.value, PartnerRejected)
        assert "Fout opgetreden: foo" in err.value.message


@responses.activate
def test_post_without_idempotency_is_not_retried_on_500():
    responses.post(f"{BASE}/api/quotation-request", status=500)
    responses.post(f"{BASE}/api/quotation-request", json={"data": {"id": 1}})
    with pytest.raises(PartnerServerError):
        make_client(Sleeps()).request("POST", "/api/quotation-request", json={"a": 1})
    assert len(responses.calls) == 1


@responses.activate
def test_post_without_idempotency_that_times_out_raises_outcome_unknown_instead_of_resending():
    responses.post(f"{BASE}/api/quotation-request", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(OutcomeUnknown):
        make_client(Sleeps()).request("POST", "/api/quotation-request", json={"a": 1})
    assert len(responses.calls) == 1


@responses.activate
def test_post_without_idempotency_is_retried_after_429_because_nothing_was_applied():
    responses.post(f"{BASE}/api/quotation-request", status=429, headers={"Retry-After": "2"})
    responses.post(f"{BASE}/api/quotation-request", json={"data": {"id": 5}})
    sleeps = Sleeps()
    resp = make_client(sleeps).request("POST", "/api/quotation-request", json={"a": 1})
    assert resp.json() == {"data": {"id": 5}} and sleeps == [2.0]


@responses.activate
def test_idempotent_post_is_retried_on_500():
    responses.post(f"{BASE}/oauth/token", status=500)
    responses.post(f"{BASE}/oauth/token", json={"access_token": "t"})
    assert make_client(Sleeps()).request("POST", "/oauth/token", idempotent=True).json() == {"access_token": "t"}


@responses.activate
def test_401_refreshes_auth_once_then_gives_up():
    class Auth:
        def __init__(self):
            self.invalidated = 0

        def headers(self):
            return {"Authorization": f"Bearer token-{self.invalidated}"}

        def invalidate(self):
            self.invalidated += 1

    auth = Auth()
    responses.get(f"{BASE}/api/x", status=401, json={"message": "Unauthenticated."})
    responses.get(f"{BASE}/api/x", json={"ok": True})
    client = make_client(Sleeps(), auth=auth)
    assert client.get_json("/api/x") == {"ok": True}
    assert responses.calls[1].request.headers["Authorization"] == "Bearer token-1"

    responses.reset()
    responses.get(f"{BASE}/api/y", status=401, json={"message": "Unauthenticated."})
    with pytest.raises(PartnerAuthError):
        client.get_json("/api/y")
    assert len(responses.calls) == 2


@responses.activate
def test_api_key_in_url_path_is_redacted_from_errors_and_logs(caplog):
    key = "s3cr3t-webform-key"
    responses.post(f"{BASE}/api/webform/external/{key}", status=422, json=["Fout opgetreden: rate limit"])
    responses.post(f"{BASE}/api/{key}/hoomdossier/afspraak", status=503)
    responses.post(f"{BASE}/api/{key}/hoomdossier/afspraak", json=["ok"])
    configure_logging("INFO")
    client = make_client(Sleeps())
    with pytest.raises(PartnerRejected) as err:
        client.request("POST", f"/api/webform/external/{key}", json={"email": "x@example.nl"}, idempotent=True)
    assert key not in str(err.value) and "/api/webform/external/***" in err.value.endpoint
    with caplog.at_level(logging.INFO):
        client.request("POST", f"/api/{key}/hoomdossier/afspraak", json={}, idempotent=True)
    assert caplog.records, "the retry must be logged"
    for rec in caplog.records:
        assert key not in rec.getMessage() and key not in str(rec.__dict__)


@responses.activate
def test_secret_values_and_bearer_tokens_are_redacted_from_error_bodies():
    responses.get(f"{BASE}/x", status=400, body="bad password hunter22 for Bearer abc.def.ghi")
    with pytest.raises(PartnerRejected) as err:
        make_client(Sleeps(), secrets=("hunter22",)).get_json("/x")
    assert "hunter22" not in str(err.value) and "abc.def.ghi" not in (err.value.body or "")


def test_budget_is_shared_through_the_store(store):
    sleeps = Sleeps()
    a = StoreBudget(store, "econobis", "coop-a", per_minute=60, burst=2, sleep=sleeps)
    b = StoreBudget(store, "econobis", "coop-a", per_minute=60, burst=2, sleep=sleeps)
    assert a.acquire() == 0 and b.acquire() == 0
    waited = a.acquire()  # third token in the same second: the shared bucket is empty
    assert waited > 0 and sleeps
    other_tenant = StoreBudget(store, "econobis", "coop-b", per_minute=60, burst=2, sleep=sleeps)
    assert other_tenant.acquire() == 0


@responses.activate
def test_client_spends_the_budget_before_each_attempt(store):
    responses.get(f"{BASE}/x", status=503)
    responses.get(f"{BASE}/x", json={})
    sleeps = Sleeps()
    budget = StoreBudget(store, "econobis", "coop-z", per_minute=6000, burst=10, sleep=sleeps)
    client = make_client(sleeps, budget=budget)
    client.get_json("/x")
    from hub.store import tables as t

    with store.engine.connect() as conn:
        tokens = conn.execute(t.request_budgets.select()).mappings().one()["tokens"]
    assert tokens < 9.5  # two attempts took two tokens
