"""Signed webhooks on the receiver (Standard Webhooks, https://www.standardwebhooks.com): `POST
/webhooks/{tenant}/{source}` for every source a connector declares (`Connector.webhooks`).

A delivery carries `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
"id.timestamp.body">`, several space-separated while a sender signs with two keys). The `standardwebhooks`
library verifies it against each of the tenant's active secrets in turn — any one verifies, so a key is
rotated by adding the new secret, moving the sender over, then removing the old one. The library refuses a
timestamp more than 5 minutes from now; a source's policy may narrow that window, never widen it.

What a delivery gets:
- 200 `{"stored": true}` once the body is in the inbox, byte-exact, under the webhook-id as its message id —
  BEFORE the answer; a replay of the same id (a sender's retry) gets 200 `{"stored": false}` and nothing is
  stored again;
- a refusal as `application/problem+json` (RFC 9457) with NO side effect — nothing stored, nothing
  quarantined: 404 unknown tenant or source, 400 missing or malformed headers, body not UTF-8, not a JSON
  object or too deeply nested; 401 no signature verifies or the timestamp is outside the window; 413 body
  over the source's limit; 422 an event type the tenant does not accept; 409 the same webhook-id with a
  different body (a sender's bug: storing either silently would lose the other);
- 503 only when the store is unavailable ("try again, nothing was stored").
A refusal is for the sender to see and fix (a Standard Webhooks sender retries non-2xx with back-off);
whether a stored event makes sense is the connector's inbox step, which quarantines what does not parse.

Nothing here names a partner: the connector declares the source, the secret's name and the policy."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hub.config import ConfigError, HubConfig, PartnerConfig
from hub.connector import WebhookPolicy, WebhookSource
from hub.logs import log_event
from hub.redact import register_secret
from hub.store import Store

log = logging.getLogger("hub.receiver.webhooks")

# The library's own window (standardwebhooks.Webhook.verify); a policy may only narrow it.
LIBRARY_TOLERANCE_SECONDS = 300
# webhook-id: the sender's idempotency key, stored as the inbox message id (column of 128)
WEBHOOK_ID = re.compile(r"^[A-Za-z0-9._:~+=/-]{1,100}$")
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
PROBLEM = "application/problem+json"


def problem(status: int, code: str, detail: str) -> Response:
    """An RFC 9457 problem document; `type` names the refusal so a sender can tell them apart."""
    titles = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict", 413: "Content Too Large"}
    titles |= {422: "Unprocessable Content", 503: "Service Unavailable"}
    body = {"type": f"urn:hub:webhook:{code}", "title": titles.get(status, "Error"), "status": status}
    return JSONResponse({**body, "detail": detail}, status_code=status, media_type=PROBLEM)


def parse_secrets(value: str) -> list[Webhook]:
    """Several active signing secrets in one value: `whsec_…` (base64 after the prefix), whitespace-separated.
    Raises ValueError without echoing any of them."""
    parts = value.split()
    if not parts:
        raise ValueError("no signing secret given")
    hooks = []
    for n, part in enumerate(parts, 1):
        if not part.startswith("whsec_"):
            raise ValueError(f"signing secret #{n} does not start with whsec_")
        try:
            hooks.append(Webhook(part))
        except Exception:  # the library raises binascii.Error, EmptyWebhookSecretError, RuntimeError
            raise ValueError(f"signing secret #{n} is not whsec_ followed by base64") from None
    return hooks


class Refused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


@dataclass(frozen=True)
class Endpoint:
    """One tenant's source: its verifiers (one per active secret) and policy."""

    tenant: str
    partner: str
    source: str
    hooks: tuple[Webhook, ...]
    policy: WebhookPolicy

    def verify(self, body: str, headers: dict[str, str], now: float | None = None) -> None:
        """Raise Refused unless one of the active secrets verifies the delivery within the tolerance."""
        try:
            sent = int(headers["webhook-timestamp"])
        except ValueError:
            raise Refused(400, "bad-timestamp", "webhook-timestamp must be Unix seconds") from None
        tolerance = min(self.policy.tolerance_seconds, LIBRARY_TOLERANCE_SECONDS)
        if abs((time.time() if now is None else now) - sent) > tolerance:
            raise Refused(401, "timestamp-outside-tolerance", f"webhook-timestamp is more than {tolerance}s from now")
        _check_signature_header(headers["webhook-signature"])
        for hook in self.hooks:
            try:
                hook.verify(body, headers, json_parse=False)
                return
            except WebhookVerificationError as exc:
                if "timestamp" in str(exc).lower():  # the library's own 5-minute window (clock edge)
                    raise Refused(401, "timestamp-outside-tolerance", str(exc)) from None
            except ValueError:  # a signature entry without "v1," or not base64
                raise Refused(400, "bad-signature-header", "webhook-signature must be v1,<base64> entries") from None
        raise Refused(401, "bad-signature", "no active signing secret verifies webhook-signature")


def _check_signature_header(value: str) -> None:
    """Every space-separated entry is `<version>,<base64>` (the Standard Webhooks header). Checked here, not left
    to the library: standardwebhooks 1.3 skips a malformed entry where earlier releases raised ValueError."""
    entries = value.split(" ")
    for entry in entries:
        version, sep, signature = entry.partition(",")
        if not sep or not version or not signature:
            raise Refused(400, "bad-signature-header", "webhook-signature must be v1,<base64> entries")
        try:
            base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise Refused(400, "bad-signature-header", "webhook-signature must be v1,<base64> entries") from None


def endpoints(config: HubConfig, sources: Sequence[tuple[str, WebhookSource]]) -> dict[tuple[str, str], Endpoint]:
    """(tenant, source) → endpoint, for every tenant with the partner. Raises ConfigError (naming tenant and
    key, never a value) when a tenant's signing secrets are missing or malformed."""
    seen: dict[str, str] = {}
    out: dict[tuple[str, str], Endpoint] = {}
    for partner, w in sources:
        if w.source in seen:
            raise ValueError(f"webhook source {w.source!r} is declared by {seen[w.source]} and {partner}")
        seen[w.source] = partner
        for tenant in config.tenants_with(partner):
            value = tenant.secret(partner, w.secret)
            try:
                hooks = parse_secrets(value)
            except ValueError as exc:
                raise ConfigError(f"tenants.{tenant.id}.partners.{partner}.secrets.{w.secret}: {exc}") from None
            for part in value.split():
                register_secret(part)
            pc: PartnerConfig = tenant.partner(partner)
            out[(tenant.id, w.source)] = Endpoint(tenant.id, partner, w.source, tuple(hooks), w.policy(pc))
    return out


async def _body(request: Request, limit: int) -> bytes:
    """The body, read no further than `limit` bytes (Refused 413 beyond it)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, "too-large", f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, "too-large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def envelope(text: str, policy: WebhookPolicy) -> dict[str, Any]:
    """The Standard Webhooks payload: a JSON object with a string `type` the tenant accepts."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise Refused(400, "bad-json", "the body is nested too deeply") from None
    except ValueError:
        raise Refused(400, "bad-json", "the body is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, "bad-json", "the body must be a JSON object")
    kind = value.get("type")
    if not isinstance(kind, str) or not kind:
        raise Refused(400, "no-type", "the payload has no string `type`")
    if policy.events is not None and kind not in policy.events:
        accepted = ", ".join(sorted(policy.events)) or "none"
        raise Refused(
            422, "event-not-accepted", f"event type {kind[:64]!r} is not accepted here (accepted: {accepted})"
        )
    return value


def webhook_router(config: HubConfig, store: Store, sources: Sequence[tuple[str, WebhookSource]]) -> APIRouter:
    """The route of every declared source (raises ConfigError when a tenant's secrets are unusable)."""
    known = endpoints(config, sources)
    router = APIRouter()

    @router.post("/webhooks/{tenant}/{source}")
    async def receive(tenant: str, source: str, request: Request) -> Response:
        ep = known.get((tenant, source))
        if ep is None:  # no trace: neither stored nor logged by name
            return problem(404, "unknown-endpoint", "no webhook source of that name for that tenant")
        try:
            headers = {h: request.headers.get(h, "") for h in HEADERS}
            missing = [h for h in HEADERS if not headers[h]]
            if missing:
                raise Refused(400, "missing-headers", "missing " + ", ".join(missing))
            if not WEBHOOK_ID.match(headers["webhook-id"]):
                raise Refused(400, "bad-id", "webhook-id must be 1-100 of A-Z a-z 0-9 . _ : ~ + = / -")
            raw = await _body(request, ep.policy.max_bytes)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise Refused(400, "not-utf8", "the body is not UTF-8") from None
            ep.verify(text, headers)
            event = envelope(text, ep.policy)
        except Refused as r:
            log_event(log, "webhook refused", logging.INFO, tenant=tenant, source=source, refusal=r.code)
            return problem(r.status, r.code, r.detail)
        webhook_id = headers["webhook-id"]
        meta = {
            "webhook_id": webhook_id,
            "event": event["type"][:64],
            "timestamp": headers["webhook-timestamp"],
            "bytes": len(raw),
        }
        try:
            stored, conflict, inbox_id = await run_in_threadpool(_store, store, ep, webhook_id, text, meta)
        except Exception as exc:  # the store is down: 503, the sender retries
            log_event(log, "inbox unavailable", logging.ERROR, tenant=tenant, source=source, error=type(exc).__name__)
            return problem(503, "store-unavailable", "nothing was stored; try again later")
        if conflict:
            log_event(log, "webhook refused", tenant=tenant, source=source, refusal="id-reused", inbox_id=inbox_id)
            return problem(409, "id-reused", "this webhook-id was stored with a different body")
        log_event(log, "webhook stored", tenant=tenant, source=source, inbox_id=inbox_id, new=stored)
        return JSONResponse({"stored": stored, "webhook_id": webhook_id})

    return router


def _store(store: Store, ep: Endpoint, webhook_id: str, text: str, meta: dict[str, Any]) -> tuple[bool, bool, int]:
    """(newly stored, id reused with another body, inbox id): one row per webhook-id, whatever the retries."""
    with store.begin() as conn:
        item = store.inbox_put(conn, ep.source, ep.tenant, text, meta, message_id=f"webhook:{webhook_id}")
        if item.created:
            return True, False, item.id
        same = store.inbox_same_content(conn, ep.tenant, item.id, text)
    return False, not same, item.id
