"""The sandbox's token endpoint is as strict as ACM/IDM (contracts/woningpas_premiums.md §1.3, §6.3): only an
RS256 assertion of a registered client, for the issuer, short-lived and used once, gets a token; the API wants
that token (401) and the scope of the call (403), answered as problem+json."""

from __future__ import annotations

import jwt
import pytest

from connectors.woningpas.settings import SCOPE_READ, SCOPE_WRITE_DOCUMENTS
from tests.connectors.woningpas.wp_helpers import (
    CLIENT,
    READER,
    admin,
    api,
    assert_problem,
    assertion,
    examples,
    mandate,
    token,
    token_request,
)


def assert_refused(resp, error="invalid_client", status=401, says=""):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error", "error_description"} and body["error"] == error, body
    assert says in body["error_description"]
    assert resp.headers["cache-control"] == "no-store"


def test_a_good_assertion_gets_a_bearer_token_for_an_hour_with_the_scopes_asked(wp, key):
    resp = token_request(wp, assertion(wp, key), scope=SCOPE_READ)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == SCOPE_READ
    assert resp.headers["cache-control"] == "no-store"
    # without a scope parameter, the client gets every scope it is registered for
    body = token_request(wp, assertion(wp, key)).json()
    assert body["scope"].split() == sorted([SCOPE_READ, SCOPE_WRITE_DOCUMENTS])


def test_the_discovery_document_names_the_issuer_assertions_must_be_for(wp):
    body = api(wp, "GET", "/op/.well-known/openid-configuration").json()
    assert body["issuer"] == wp.issuer == wp.base_url + "/op"
    assert body["token_endpoint"] == wp.base_url + "/op/v1/token"
    assert body["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]


def test_an_assertion_for_another_audience_is_refused(wp, key):
    for aud in ("https://authenticatie.vlaanderen.be/op", wp.base_url + "/op/v1/token", wp.base_url):
        assert_refused(token_request(wp, assertion(wp, key, aud=aud)), says="aud")


def test_an_expired_assertion_is_refused(wp, key):
    assert_refused(token_request(wp, assertion(wp, key, exp_in=-60, iat_in=-300)), says="expired")


def test_an_assertion_living_longer_than_ten_minutes_is_refused(wp, key):
    assert_refused(token_request(wp, assertion(wp, key, exp_in=900)), says="10 minutes")
    # also when exp is near but iat says it was issued to live longer
    assert_refused(token_request(wp, assertion(wp, key, exp_in=120, iat_in=-600)), says="10 minutes")
    # exactly ten minutes is fine
    assert token_request(wp, assertion(wp, key, exp_in=600)).status_code == 200


def test_an_assertion_from_the_future_is_refused(wp, key):
    assert_refused(token_request(wp, assertion(wp, key, exp_in=500, iat_in=300)), says="not valid yet")


def test_an_assertion_signed_with_another_key_is_refused(wp, other_key):
    assert_refused(token_request(wp, assertion(wp, other_key)), says="signature")


def test_an_unknown_client_is_refused(wp, key):
    resp = token_request(wp, assertion(wp, key, "nobody"), client_id="nobody")
    assert_refused(resp, says="unknown client")


def test_iss_and_sub_must_be_the_client_id(wp, key):
    assert_refused(token_request(wp, assertion(wp, key, READER)), says="iss and sub")
    signed = assertion(wp, key, CLIENT, sub="someone-else")
    assert_refused(token_request(wp, signed), says="iss and sub")


def test_an_assertion_is_used_once(wp, key):
    signed = assertion(wp, key)
    assert token_request(wp, signed).status_code == 200
    assert_refused(token_request(wp, signed), says="already used")


def test_only_rs256_is_accepted(wp, key):
    hs = jwt.encode({"iss": CLIENT, "sub": CLIENT, "aud": wp.issuer, "exp": 2**40, "jti": "x"}, "s" * 32, "HS256")
    assert_refused(token_request(wp, hs), says="RS256")
    assert_refused(token_request(wp, "not-a-jwt"), says="not a JWT")


def test_missing_claims_are_refused(wp, key):
    signed = jwt.encode({"iss": CLIENT, "sub": CLIENT, "aud": wp.issuer, "exp": 2**31}, key, "RS256")
    assert_refused(token_request(wp, signed), says="jti")


def test_the_grant_and_the_form_must_be_client_credentials_with_a_jwt_bearer(wp, key):
    resp = token_request(wp, assertion(wp, key), grant_type="password")
    assert_refused(resp, "unsupported_grant_type", 400)
    resp = token_request(wp, assertion(wp, key), client_assertion_type="urn:other")
    assert_refused(resp, "invalid_request", 400)
    resp = api(wp, "POST", "/op/v1/token", json={"grant_type": "client_credentials"})
    assert_refused(resp, "invalid_request", 400)


def test_a_scope_the_client_is_not_registered_for_is_refused(wp, key):
    resp = token_request(wp, assertion(wp, key, READER), READER, scope=f"{SCOPE_READ} {SCOPE_WRITE_DOCUMENTS}")
    assert_refused(resp, "invalid_scope", 400, says=SCOPE_WRITE_DOCUMENTS)


def test_assertion_times_are_the_sandbox_clocks(wp, key):
    signed = assertion(wp, key)  # valid now
    admin(wp, "POST", "/clock", json={"advance_seconds": 3600})
    assert_refused(token_request(wp, signed), says="expired")
    assert token_request(wp, assertion(wp, key)).status_code == 200


def test_the_api_refuses_a_missing_unknown_or_expired_token_with_401(wp, key):
    path = "/woningpas/v1/wijzigingen"
    body = assert_problem(api(wp, "GET", path), 401, "NIET_GEAUTHENTICEERD")
    assert body["instance"] == path
    resp = api(wp, "GET", path, "made-up")
    assert_problem(resp, 401, "NIET_GEAUTHENTICEERD")
    assert resp.headers["www-authenticate"].startswith("Bearer")
    bearer = token(wp, key)
    assert api(wp, "GET", path, bearer).status_code == 200
    admin(wp, "POST", "/clock", json={"advance_seconds": 3601})
    assert_problem(api(wp, "GET", path, bearer), 401, "NIET_GEAUTHENTICEERD")


@pytest.mark.parametrize("scope", [SCOPE_READ, SCOPE_WRITE_DOCUMENTS])
def test_a_token_without_the_calls_scope_is_403(wp, key, scope):
    unit = examples(wp)["house"]
    mandate(wp, unit["holders"][0])
    other = SCOPE_WRITE_DOCUMENTS if scope == SCOPE_READ else SCOPE_READ
    bearer = token(wp, key, scope=other)
    path = f"/woningpas/v1/gebouweenheden/{unit['gebouweenheidId']}"
    if scope == SCOPE_READ:
        resp = api(wp, "GET", path, bearer)
    else:
        resp = api(wp, "POST", path + "/documenten", bearer, files={"bestand": ("a.pdf", b"%PDF", "application/pdf")})
    assert_problem(resp, 403, "ONVOLDOENDE_SCOPE")
    assert "insufficient_scope" in resp.headers["www-authenticate"]
