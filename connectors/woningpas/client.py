"""Typed calls to the (modelled) Woningpas API of contracts/woningpas_premiums.md §6.3, over the hub's partner
client: the ACM/IDM client-credentials login with a signed client assertion, a holder's properties, the pass,
one EPC, the change feed, documents and share links.

The assertion is an RS256 JWT signed with PyJWT (`iss` = `sub` = client id, `aud` = the issuer, 5 minutes, a
fresh `jti`). The private key is read from the file `settings.signing_key_file` names or from the secret
`private_key` (an environment variable) — nowhere else — and never logged. Access tokens are cached per
process until shortly before they expire, so the steps of a run share one."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from urllib3 import encode_multipart_formdata

from connectors.woningpas.settings import (
    API,
    ASSERTION_LIFETIME_SECONDS,
    CLIENT_ASSERTION_TYPE,
    DEFAULT_BUDGET_BURST,
    DEFAULT_BUDGET_PER_MINUTE,
    ISSUER_PATH,
    PARTNER,
    PRIVATE_KEY_SECRET,
    TOKEN_PATH,
    WoningpasSettings,
)
from hub.config import ConfigError, TenantConfig
from hub.http import PartnerClient, RetryPolicy
from hub.http.oauth import SHARED_TOKENS, TokenAuth, TokenCache, problem_message
from hub.store import Store

Clock = Callable[[], float]
MIN_KEY_BITS = 2048


# --- the private key --------------------------------------------------------------------------------------------


def load_private_key(
    tenant: TenantConfig, settings: WoningpasSettings, env: Mapping[str, str] | None = None
) -> RSAPrivateKey:
    """The RSA private key of the tenant's client: from `settings.signing_key_file`, or else from the secret
    `private_key` (the environment variable the tenants file names). Raises ConfigError naming where it
    looked — never the key's content."""
    pc = tenant.partner(PARTNER)
    where = f"tenants.{tenant.id}.partners.{PARTNER}"
    has_secret = PRIVATE_KEY_SECRET in pc.secrets
    if settings.signing_key_file and has_secret:
        raise ConfigError(
            f"{where}: give the signing key either as settings.signing_key_file or as secrets.private_key"
        )
    if settings.signing_key_file:
        path = Path(settings.signing_key_file).expanduser()
        origin = f"{where}.settings.signing_key_file ({path})"
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{origin} cannot be read: {exc.strerror}") from None
    elif has_secret:
        origin = f"{where}.secrets.private_key"
        data = tenant.secret(PARTNER, PRIVATE_KEY_SECRET, env).encode()
    else:
        raise ConfigError(f"{where}: no signing key; set settings.signing_key_file or secrets.private_key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{origin} is not an unencrypted PEM private key") from None
    if not isinstance(key, RSAPrivateKey) or key.key_size < MIN_KEY_BITS:
        raise ConfigError(f"{origin} must be an RSA private key of at least {MIN_KEY_BITS} bits (RS256)")
    return key


def read_settings(tenant: TenantConfig) -> WoningpasSettings:
    """The tenant's settings, validated; a refusal names each key and why, never the value given."""
    return tenant.settings_of(PARTNER, WoningpasSettings)


def key_thumbprint(key: RSAPrivateKey) -> str:
    """A hash of the public half: tells keys apart in the token cache without keeping the key in its key."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:32]


class AssertionSigner:
    """Makes client assertions (RFC 7523) for one client: each call a new, short-lived, signed JWT."""

    def __init__(
        self,
        client_id: str,
        audience: str,
        key: RSAPrivateKey,
        *,
        key_id: str | None = None,
        lifetime: int = ASSERTION_LIFETIME_SECONDS,
        now: Clock = time.time,
    ) -> None:
        self.client_id = client_id
        self.audience = audience
        self._key = key
        self.key_id = key_id
        self.lifetime = lifetime
        self.now = now
        self.thumbprint = key_thumbprint(key)

    def __repr__(self) -> str:  # the key never shows, not even in a traceback's locals
        return f"AssertionSigner(client_id={self.client_id!r}, audience={self.audience!r}, key=***)"

    def assertion(self) -> str:
        issued = int(self.now())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.audience,
            "iat": issued,
            "exp": issued + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self.key_id} if self.key_id else None
        return jwt.encode(claims, self._key, algorithm="RS256", headers=headers)


# --- tokens -----------------------------------------------------------------------------------------------------


class ClientAssertionAuth(TokenAuth):
    """The ACM/IDM login: client credentials with a fresh signed client assertion each time a token is fetched."""

    def __init__(
        self,
        http: PartnerClient,
        token_url: str,
        signer: AssertionSigner,
        scopes: tuple[str, ...],
        *,
        margin: float,
        cache: TokenCache = SHARED_TOKENS,
        now: Clock | None = None,
    ) -> None:
        self.signer = signer
        super().__init__(
            http,
            token_url,
            signer.client_id,
            scopes,
            credential=signer.thumbprint,
            form=self._assertion_form,
            margin=margin,
            cache=cache,
            now=now or signer.now,
        )

    def _assertion_form(self) -> dict[str, str]:
        assertion = self.signer.assertion()
        self.http.add_secret(assertion)
        return {
            "client_id": self.signer.client_id,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion,
        }


# --- the API ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedPage:
    """One page of the change feed: its changes, where the next page starts, and whether more are waiting."""

    changes: list[dict[str, Any]]
    cursor: str
    more: bool


class WoningpasClient:
    """Calls to the Woningpas for one tenant's organisation (its client id and mandates)."""

    def __init__(self, http: PartnerClient, auth: ClientAssertionAuth, page_size: int = 100) -> None:
        self.http = http
        self.auth = auth
        self.page_size = page_size
        http.auth = auth

    @classmethod
    def for_tenant(
        cls,
        tenant: TenantConfig,
        store: Store | None = None,
        *,
        policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = (3.05, 30.0),
        cache: TokenCache = SHARED_TOKENS,
        now: Clock = time.time,
        env: Mapping[str, str] | None = None,
    ) -> WoningpasClient:
        """The client of a tenant's config: settings validated, key loaded (ConfigError when missing or bad)."""
        pc = tenant.partner(PARTNER)
        settings = read_settings(tenant)
        http = PartnerClient.for_tenant(
            tenant,
            PARTNER,
            store,
            budget=(DEFAULT_BUDGET_PER_MINUTE, DEFAULT_BUDGET_BURST),
            timeout=timeout,
            policy=policy,
            error_message=problem_message,
        )
        token_url = settings.token_url or pc.base_url + TOKEN_PATH
        audience = settings.audience or (
            token_url.removesuffix("/v1/token") if token_url.endswith("/v1/token") else pc.base_url + ISSUER_PATH
        )
        signer = AssertionSigner(
            settings.client_id, audience, load_private_key(tenant, settings, env), key_id=settings.key_id, now=now
        )
        auth = ClientAssertionAuth(
            http, token_url, signer, settings.scopes, margin=settings.token_refresh_margin_seconds, cache=cache, now=now
        )
        return cls(http, auth, settings.page_size)

    # --- reads ----------------------------------------------------------------------------------------------

    def token(self) -> str:
        """A live access token (from the cache when one lives long enough)."""
        return self.auth.token()

    def properties(self, insz: str) -> list[dict[str, Any]]:
        """GET /eigendommen?insz=: the units the person holds a real right on, as far as their mandate to this
        organisation reaches (403 PartnerAuthError `MANDAAT_ONTBREKEND` without one)."""
        body = self.http.get_json(f"{API}/eigendommen", params={"insz": insz})
        return list(body) if isinstance(body, list) else []

    def passport(self, gebouweenheid_id: int) -> dict[str, Any]:
        """GET /gebouweenheden/{id}: the pass; each of its `secties` has `bron`, `status` (`ok`, `geen_gegevens`,
        `bron_onbeschikbaar`) and `opgehaald_op` — a source down is a 200 with that section unavailable."""
        result: dict[str, Any] = self.http.get_json(f"{API}/gebouweenheden/{int(gebouweenheid_id)}")
        return result

    def passport_by_address(self, adres_object_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get_json(f"{API}/adressen/{int(adres_object_id)}")
        return result

    def epc(self, attestnummer: str, *, attest: bool = False) -> dict[str, Any]:
        """GET /epc/{attestnummer}: one EPC in MAGDA GeefEpc's element names; `attest` adds the PDF (base64)."""
        params = {"attest": "true"} if attest else None
        result: dict[str, Any] = self.http.get_json(f"{API}/epc/{attestnummer}", params=params)
        return result

    def changes(
        self, *, updated_since: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> FeedPage:
        """One page of GET /wijzigingen. Keep the answer's `cursor`: it is where the next poll starts."""
        params: dict[str, Any] = {"limit": limit or self.page_size}
        if cursor is not None:
            params["cursor"] = cursor
        if updated_since is not None:
            params["updated_since"] = updated_since
        body = self.http.get_json(f"{API}/wijzigingen", params=params)
        return FeedPage(list(body.get("wijzigingen") or []), str(body["cursor"]), bool(body.get("meer")))

    def iter_changes(
        self, *, updated_since: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> Iterator[FeedPage]:
        """Pages of the feed until it has no more; the last page's `cursor` is the one to store."""
        while True:
            page = self.changes(updated_since=updated_since if cursor is None else None, cursor=cursor, limit=limit)
            yield page
            cursor = page.cursor
            if not page.more:
                return

    def documents(self, gebouweenheid_id: int) -> list[dict[str, Any]]:
        body = self.http.get_json(f"{API}/gebouweenheden/{int(gebouweenheid_id)}/documenten")
        return list(body) if isinstance(body, list) else []

    # --- writes ---------------------------------------------------------------------------------------------

    def upload_document(
        self,
        gebouweenheid_id: int,
        *,
        type: str,
        filename: str,
        content: bytes,
        media_type: str,
        idempotency_key: str,
        title: str | None = None,
    ) -> dict[str, Any]:
        """POST …/documenten (multipart, scope `woningpas.documenten.schrijven`). Safe to repeat: the
        Idempotency-Key makes a repeat of the same upload answer the first document. 413/415/409 raise
        PartnerRejected with the problem's code."""
        fields: dict[str, Any] = {"type": type, "bestand": (filename, content, media_type)}
        if title:
            fields["titel"] = title
        body, content_type = encode_multipart_formdata(fields)
        resp = self.http.request(
            "POST",
            f"{API}/gebouweenheden/{int(gebouweenheid_id)}/documenten",
            data=body,
            headers={"Content-Type": content_type, "Idempotency-Key": idempotency_key},
            idempotent=True,
        )
        result: dict[str, Any] = resp.json()
        return result

    def delete_document(self, gebouweenheid_id: int, document_id: str) -> None:
        """DELETE …/documenten/{id}: 204; a second delete is a 409 (PartnerRejected `DOCUMENT_AL_VERWIJDERD`)."""
        self.http.request("DELETE", f"{API}/gebouweenheden/{int(gebouweenheid_id)}/documenten/{document_id}")

    def share_link(self, gebouweenheid_id: int, valid_until: str) -> dict[str, Any]:
        """POST …/deellinks `{geldig_tot}` → `{url, token, geldig_tot}`: public read access until then. Not
        repeated blindly (each call makes a link); the token is redacted from logs from now on."""
        resp = self.http.request(
            "POST",
            f"{API}/gebouweenheden/{int(gebouweenheid_id)}/deellinks",
            json={"geldig_tot": valid_until},
            idempotent=False,
        )
        result: dict[str, Any] = resp.json()
        self.http.add_secret(result.get("token"))
        return result

    def close(self) -> None:
        self.http.close()
