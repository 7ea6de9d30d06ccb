"""The sandbox's ACM/IDM-style token endpoint: OAuth2 client credentials with a `private_key_jwt` client
assertion (RFC 7523), as strict as the Flemish one (contracts/woningpas_premiums.md §1.3, §6.3).

An assertion is accepted only when it is RS256-signed by the key registered for its client, `iss` = `sub` =
`client_id`, `aud` = the issuer, `exp` in the future and at most 10 minutes away (and from `iat`), `iat`/`nbf`
not in the future, and its `jti` not seen before. Times are the sandbox clock's, not the machine's. Errors are
OAuth2's own (RFC 6749 §5.2: `{"error", "error_description"}`), not problem+json: the token endpoint belongs
to the identity provider, not to the Woningpas API."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from connectors.woningpas.settings import CLIENT_ASSERTION_TYPE, SCOPES

ACCESS_TOKEN_SECONDS = 3600
MAX_ASSERTION_SECONDS = 600
CLOCK_SKEW_SECONDS = 30


class TokenError(Exception):
    """A refused token request: the HTTP status and RFC 6749's error code and description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class RegisteredClient:
    """A client as the Beheerportaal knows it: its public key (one per `kid`) and the scopes it may ask."""

    client_id: str
    public_keys: Mapping[str | None, RSAPublicKey]
    scopes: frozenset[str] = frozenset(SCOPES)
    name: str = ""

    @classmethod
    def from_pem(
        cls, client_id: str, public_pem: bytes | str, scopes: frozenset[str] | None = None, kid: str | None = None
    ) -> RegisteredClient:
        key = serialization.load_pem_public_key(public_pem.encode() if isinstance(public_pem, str) else public_pem)
        if not isinstance(key, RSAPublicKey):
            raise ValueError("the client's key must be an RSA public key")
        return cls(client_id, {kid: key}, frozenset(scopes if scopes is not None else SCOPES))

    def key_for(self, kid: str | None) -> RSAPublicKey | None:
        if kid in self.public_keys:
            return self.public_keys[kid]
        return next(iter(self.public_keys.values())) if len(self.public_keys) == 1 and kid is None else None


@dataclass(frozen=True)
class AccessToken:
    token: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class TokenIssuer:
    """The registered clients, the tokens handed out and the assertion ids already used."""

    issuer: str
    clients: dict[str, RegisteredClient] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    seen_jti: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    issued: int = 0

    def register(self, client: RegisteredClient) -> None:
        with self.lock:
            self.clients[client.client_id] = client

    def grant(self, form: Mapping[str, str], now: float) -> dict[str, Any]:
        """The token response for a token request's form, or TokenError."""
        if form.get("grant_type") != "client_credentials":
            raise TokenError(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise TokenError(400, "invalid_request", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}")
        client_id, assertion = form.get("client_id", ""), form.get("client_assertion", "")
        if not client_id or not assertion:
            raise TokenError(400, "invalid_request", "client_id and client_assertion are required")
        client = self.clients.get(client_id)
        if client is None:
            raise TokenError(401, "invalid_client", "unknown client")
        claims = self._verify(client, assertion, now)
        scopes = self._scopes(client, form.get("scope"))
        with self.lock:
            if claims["jti"] in self.seen_jti:
                raise TokenError(401, "invalid_client", "client assertion already used (jti)")
            self.seen_jti = {j: exp for j, exp in self.seen_jti.items() if exp > now - CLOCK_SKEW_SECONDS}
            self.seen_jti[claims["jti"]] = float(claims["exp"])
            token = AccessToken(secrets.token_urlsafe(32), client_id, scopes, now + ACCESS_TOKEN_SECONDS)
            self.tokens = {t: a for t, a in self.tokens.items() if a.expires_at > now}
            self.tokens[token.token] = token
            self.issued += 1
        return {
            "access_token": token.token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": " ".join(sorted(scopes)),
        }

    def _verify(self, client: RegisteredClient, assertion: str, now: float) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise TokenError(401, "invalid_client", "client assertion is not a JWT") from None
        if header.get("alg") != "RS256":
            raise TokenError(401, "invalid_client", "client assertion must be signed with RS256")
        key = client.key_for(header.get("kid"))
        if key is None:
            raise TokenError(401, "invalid_client", "no registered key for the assertion's kid")
        try:
            # times are checked below against the sandbox clock; PyJWT would use the machine's
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key,
                algorithms=["RS256"],
                audience=self.issuer,
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["iss", "sub", "aud", "exp", "jti"],
                },
            )
        except jwt.InvalidSignatureError:
            raise TokenError(401, "invalid_client", "client assertion signature is invalid") from None
        except jwt.InvalidAudienceError:
            raise TokenError(401, "invalid_client", f"client assertion aud must be {self.issuer}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError(401, "invalid_client", f"client assertion lacks {exc.claim}") from None
        except jwt.PyJWTError:
            raise TokenError(401, "invalid_client", "client assertion is malformed") from None
        if claims["iss"] != client.client_id or claims["sub"] != client.client_id:
            raise TokenError(401, "invalid_client", "client assertion iss and sub must be the client_id")
        exp, iat, nbf = claims["exp"], claims.get("iat"), claims.get("nbf")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, iat or 0, nbf or 0)):
            raise TokenError(401, "invalid_client", "client assertion exp, iat and nbf must be numbers")
        if exp <= now - CLOCK_SKEW_SECONDS:
            raise TokenError(401, "invalid_client", "client assertion expired")
        if exp - now > MAX_ASSERTION_SECONDS + CLOCK_SKEW_SECONDS or (
            iat is not None and exp - iat > MAX_ASSERTION_SECONDS
        ):
            raise TokenError(401, "invalid_client", "client assertion exp must be at most 10 minutes ahead")
        if (iat is not None and iat > now + CLOCK_SKEW_SECONDS) or (nbf is not None and nbf > now + CLOCK_SKEW_SECONDS):
            raise TokenError(401, "invalid_client", "client assertion is not valid yet (iat/nbf in the future)")
        if not isinstance(claims["jti"], str) or not claims["jti"]:
            raise TokenError(401, "invalid_client", "client assertion jti must be a non-empty string")
        return claims

    @staticmethod
    def _scopes(client: RegisteredClient, asked: str | None) -> frozenset[str]:
        wanted = frozenset((asked or "").split()) or client.scopes
        unknown = wanted - client.scopes
        if unknown:
            raise TokenError(400, "invalid_scope", f"scope not granted to this client: {' '.join(sorted(unknown))}")
        return wanted

    def bearer(self, authorization: str | None, now: float) -> AccessToken | None:
        """The live access token of an `Authorization: Bearer …` header, else None."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        with self.lock:
            token = self.tokens.get(authorization[7:].strip())
        return token if token is not None and token.expires_at > now else None
