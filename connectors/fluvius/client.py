"""Typed calls to the (modelled) premium portal of contracts/woningpas_premiums.md §6.4, over the hub's partner
client: the OAuth2 client-credentials login (HTTP Basic with the client secret), and every route the hub uses —
draft, patch, documents, submit, read, the poll feed, history, appeal (MVP `beroep` / ISDE `bezwaar`),
withdraw and the simulation.

Which calls are safe to repeat: the draft is created with an `Idempotency-Key` (the portal replays the first
answer for 24 hours, then forgets: the push looks up by `referentie` before it repeats one whose outcome it
does not know); documents and the submit carry one too; a PATCH is a merge of the same fields, so it can be
repeated; an appeal and a withdrawal are state changes the portal refuses twice (409), so a repeat is read back
instead of trusted. The client secret and every access token are redacted from logs."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.fluvius.settings import (
    API,
    CLIENT_SECRET,
    DEFAULT_BUDGET_BURST,
    DEFAULT_BUDGET_PER_MINUTE,
    ISDE,
    PARTNER,
    SCOPES,
    TOKEN_PATH,
    FluviusSettings,
    regeling_of,
)
from hub.config import TenantConfig
from hub.http import PartnerClient, RetryPolicy
from hub.http.oauth import SHARED_TOKENS, TokenAuth, TokenCache, problem_message
from hub.store import Store

Clock = Callable[[], float]


def read_settings(tenant: TenantConfig) -> FluviusSettings:
    """The tenant's settings, validated; a refusal names each key and why, never the value given."""
    return tenant.settings_of(PARTNER, FluviusSettings)


@dataclass(frozen=True)
class Page:
    """One page of the poll feed: its applications and where the next page starts (None: this was the last)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class PortalClient:
    """Calls to the premium portal for one tenant's organisation (its client, regeling and mandates)."""

    def __init__(self, http: PartnerClient, auth: TokenAuth, regeling: str, page_size: int = 50) -> None:
        self.http = http
        self.auth = auth
        self.regeling = regeling
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
    ) -> PortalClient:
        pc = tenant.partner(PARTNER)
        settings = read_settings(tenant)
        secret = tenant.secret(PARTNER, CLIENT_SECRET, env)
        http = PartnerClient.for_tenant(
            tenant,
            PARTNER,
            store,
            budget=(DEFAULT_BUDGET_PER_MINUTE, DEFAULT_BUDGET_BURST),
            timeout=timeout,
            policy=policy,
            secrets=(secret,),
            error_message=problem_message,
        )
        auth = TokenAuth(
            http,
            settings.token_url or pc.base_url + TOKEN_PATH,
            settings.client_id,
            SCOPES,
            credential=hashlib.sha256(secret.encode()).hexdigest()[:32],
            form=dict,
            basic=(settings.client_id, secret),
            margin=settings.token_refresh_margin_seconds,
            cache=cache,
            now=now,
        )
        return cls(http, auth, regeling_of(settings, tenant.country), settings.page_size)

    # --- writes ---------------------------------------------------------------------------------------------

    def create(self, body: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        """POST /aanvragen: a draft (`concept`). Repeatable with the same key while the portal remembers it."""
        resp = self.http.request(
            "POST", f"{API}/aanvragen", json=dict(body), headers={"Idempotency-Key": idempotency_key}, idempotent=True
        )
        result: dict[str, Any] = resp.json()
        return result

    def patch(self, application_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """PATCH /aanvragen/{id}: while `concept` or `aanvulling_gevraagd` (409 STATUS_CONFLICT otherwise)."""
        resp = self.http.request("PATCH", f"{API}/aanvragen/{application_id}", json=dict(changes), idempotent=True)
        result: dict[str, Any] = resp.json()
        return result

    def upload(
        self,
        application_id: str,
        *,
        kind: str,
        filename: str,
        media_type: str,
        content: bytes,
        idempotency_key: str,
        category: str | None = None,
    ) -> dict[str, Any]:
        """POST /aanvragen/{id}/documenten. The same document twice is one document (by key and content)."""
        body: dict[str, Any] = {
            "soort": kind,
            "bestandsnaam": filename,
            "mediatype": media_type,
            "inhoud_base64": base64.b64encode(content).decode("ascii"),
        }
        if category:
            body["categorie"] = category
        resp = self.http.request(
            "POST",
            f"{API}/aanvragen/{application_id}/documenten",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
            idempotent=True,
        )
        result: dict[str, Any] = resp.json()
        return result

    def submit(self, application_id: str, idempotency_key: str) -> dict[str, Any]:
        """POST /aanvragen/{id}/indienen → `ingediend` with `dossiernummer`; 422 with the rule's code."""
        resp = self.http.request(
            "POST",
            f"{API}/aanvragen/{application_id}/indienen",
            headers={"Idempotency-Key": idempotency_key},
            idempotent=True,
        )
        result: dict[str, Any] = resp.json()
        return result

    def appeal(self, application_id: str, motivation: str) -> dict[str, Any]:
        """MVP `beroep` / ISDE `bezwaar` within the term; not repeated blindly (a second is a 409)."""
        route = "bezwaar" if self.regeling == ISDE else "beroep"
        resp = self.http.request(
            "POST", f"{API}/aanvragen/{application_id}/{route}", json={"motivering": motivation}, idempotent=False
        )
        result: dict[str, Any] = resp.json()
        return result

    def withdraw(self, application_id: str) -> dict[str, Any]:
        resp = self.http.request("POST", f"{API}/aanvragen/{application_id}/intrekken", idempotent=False)
        result: dict[str, Any] = resp.json()
        return result

    # --- reads ----------------------------------------------------------------------------------------------

    def get(self, application_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get_json(f"{API}/aanvragen/{application_id}")
        return result

    def history(self, application_id: str) -> list[dict[str, Any]]:
        body = self.http.get_json(f"{API}/aanvragen/{application_id}/historiek")
        return list(body.get("items") or []) if isinstance(body, dict) else []

    def simulate(self, body: Mapping[str, Any]) -> dict[str, Any]:
        resp = self.http.request("POST", f"{API}/simulatie", json=dict(body), idempotent=True, write=False)
        result: dict[str, Any] = resp.json()
        return result

    def page(
        self,
        *,
        updated_since: str | None = None,
        cursor: str | None = None,
        status: str | None = None,
        reference: str | None = None,
        limit: int | None = None,
    ) -> Page:
        """One page of GET /aanvragen (the client's own, by (updated_at, id))."""
        params: dict[str, Any] = {"limit": limit or self.page_size}
        for key, value in (
            ("updated_since", updated_since),
            ("cursor", cursor),
            ("status", status),
            ("referentie", reference),
        ):
            if value is not None:
                params[key] = value
        body = self.http.get_json(f"{API}/aanvragen", params=params)
        nxt = body.get("next_cursor")
        return Page(list(body.get("items") or []), str(nxt) if nxt else None)

    def pages(self, *, updated_since: str | None = None, cursor: str | None = None, **kw: Any) -> Iterator[Page]:
        """Pages until the last; a page's `next_cursor` is where the following one starts."""
        while True:
            page = self.page(updated_since=updated_since if cursor is None else None, cursor=cursor, **kw)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def find_all_by_reference(self, reference: str) -> list[dict[str, Any]]:
        """The client's applications with this `referentie` (the hub's key): none, one, or — if something made
        a second — several."""
        return [
            item
            for page in self.pages(reference=reference)
            for item in page.items
            if item.get("referentie") == reference
        ]

    def find_by_reference(self, reference: str) -> dict[str, Any] | None:
        """The client's application with this `referentie`, if the portal has one."""
        found = self.find_all_by_reference(reference)
        return found[0] if found else None

    def close(self) -> None:
        self.http.close()
