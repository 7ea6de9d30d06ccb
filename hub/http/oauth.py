"""OAuth2 client credentials for partner clients: access tokens cached per process until shortly before they
expire (the steps of a run share one instead of each logging in), fetched by a connector-supplied form (a
client secret, a signed client assertion), and problem+json / OAuth2 error bodies read into one message."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.http.client import PartnerClient
from hub.http.errors import PartnerAuthError

Clock = Callable[[], float]


@dataclass(frozen=True)
class CachedToken:
    token: str
    expires_at: float
    scope: str


class TokenCache:
    """Access tokens by (token URL, client, scopes, credential), shared by every client object of this
    process — the steps of a run share one token instead of logging in each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, ...], CachedToken] = {}
        self._logins: dict[tuple[str, ...], threading.Lock] = {}

    def login_lock(self, key: tuple[str, ...]) -> threading.Lock:
        """Held while one client logs in for `key`, so steps running side by side wait for its token."""
        with self._lock:
            return self._logins.setdefault(key, threading.Lock())

    def get(self, key: tuple[str, ...], now: float, margin: float) -> CachedToken | None:
        with self._lock:
            found = self._tokens.get(key)
            if found is not None and found.expires_at - margin <= now:
                del self._tokens[key]
                return None
            return found

    def put(self, key: tuple[str, ...], token: CachedToken) -> None:
        with self._lock:
            self._tokens[key] = token

    def drop(self, key: tuple[str, ...], token: str | None) -> None:
        with self._lock:
            if token is None or (key in self._tokens and self._tokens[key].token == token):
                self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


SHARED_TOKENS = TokenCache()


class TokenAuth:
    """The partner client's auth provider for OAuth2 client credentials: a Bearer token from the token
    endpoint, fetched when the cache has none that lives longer than `margin` seconds. `credential` names the
    login in the cache key without holding it (a key thumbprint, a hash of the secret); `form()` gives the
    token request's fields, `basic` the HTTP Basic client authentication (RFC 6749 §2.3.1), if any."""

    def __init__(
        self,
        http: PartnerClient,
        token_url: str,
        client_id: str,
        scopes: tuple[str, ...],
        *,
        credential: str,
        form: Callable[[], dict[str, str]],
        basic: tuple[str, str] | None = None,
        margin: float,
        cache: TokenCache = SHARED_TOKENS,
        now: Clock = time.time,
    ) -> None:
        self.http = http
        self.token_url = token_url
        self.client_id = client_id
        self.scope = " ".join(scopes)
        self.form = form
        self.basic = basic
        self.margin = margin
        self.cache = cache
        self.now = now
        self._key = (token_url, client_id, self.scope, credential)
        self._last: str | None = None
        self.fetched = 0

    def token(self) -> str:
        """A live access token (cached, or fetched now)."""
        with self.cache.login_lock(self._key):
            cached = self.cache.get(self._key, self.now(), self.margin)
            if cached is None:
                cached = self._fetch()
                self.cache.put(self._key, cached)
            self.http.add_secret(cached.token)
            self._last = cached.token
            return cached.token

    def _fetch(self) -> CachedToken:
        form = {"grant_type": "client_credentials", **self.form()}
        if self.scope:
            form["scope"] = self.scope
        headers: Mapping[str, str] | None = None
        if self.basic is not None:
            import base64

            raw = f"{self.basic[0]}:{self.basic[1]}".encode()
            encoded = base64.b64encode(raw).decode()
            self.http.add_secret(encoded)
            headers = {"Authorization": f"Basic {encoded}"}
        started = self.now()
        # not repeated blindly: a login may be single-use (an assertion's jti), so only answers that prove it
        # was not consumed (429, 503) are retried; anything else fails this call and the next one logs in anew
        resp = self.http.request(
            "POST", self.token_url, data=form, headers=headers, idempotent=False, authenticated=False, write=False
        )
        body = resp.json() if resp.content else {}
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise PartnerAuthError(
                partner=self.http.partner,
                tenant=self.http.tenant,
                method="POST",
                endpoint=self.http.redactor.url(self.http.url(self.token_url)),
                status=resp.status_code,
                message="token response without access_token or expires_in",
            )
        self.http.add_secret(token)
        self.fetched += 1
        return CachedToken(token, started + float(expires_in), str(body.get("scope", "")))

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def invalidate(self) -> None:
        """After a 401: forget the token that was refused (not a newer one another step fetched meanwhile), so
        the next call logs in again."""
        if self._last is not None:
            self.cache.drop(self._key, self._last)
        self._last = None


def problem_message(body: Any) -> str | None:
    """A problem+json's `code: detail` (and its invalid params), or OAuth2's `error: error_description`."""
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("code"), str):
        msg = f"{body['code']}: {body.get('detail') or body.get('title') or ''}".strip()
        params = body.get("invalid-params")
        if isinstance(params, list) and params:
            msg += " (" + "; ".join(f"{p.get('name')}: {p.get('reason')}" for p in params if isinstance(p, dict)) + ")"
        return msg[:1000]
    if isinstance(body.get("error"), str):
        return f"{body['error']}: {body.get('error_description', '')}".strip()[:1000]
    return None
