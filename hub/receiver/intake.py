"""Receiver-wide input handling that every connector's route uses, so no partner-compatible route answers 5xx
to bad input (docs/receiver.md):

- **A body limit** (`BodyLimitMiddleware`), enforced while the body streams in: a declared Content-Length over
  the limit is refused before a byte is read, and a body without one (chunked) is counted as it arrives, so a
  1 GB upload is never buffered. It surfaces as `BodyTooLarge` from the route's own `await request.body()`
  (`read_body`), once the route has checked the caller's key — so each route answers 413 in its partner's
  shape and only a caller with a valid key leaves a quarantine record. A route that does not catch it gets a
  plain 413 `{"message": "Payload Too Large"}` from the app.
- **Strict decoding** (`decode_utf8`, `parse_json`): UTF-8 only (a body that is not is refused, never stored
  altered), JSON with PHP's depth limit (512, what both partners parse with) and without RecursionError,
  no NaN/Infinity (PHP refuses them), no lone surrogates (PostgreSQL refuses them).
- **Form bodies as PHP reads them** (`parse_php_form`, `form_pairs`): `a[b]=1&roles[]=x` nests as PHP's
  parse_str does (qs-codec), multipart through python-multipart, files refused.

Refusals are `BadInput` with a machine kind and an English reason; the route renders them in its partner's
shape and quarantines them with the raw bytes (`Store.quarantine_put(..., payload_bytes=raw)`).

This module names no partner (hub/ is core)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import qs_codec
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.config import ConfigError

MAX_BODY_ENV = "HUB_RECEIVER_MAX_BODY_BYTES"
# The largest real Hoomdossier message is a `pdf` post: the report (text pages, fonts, one building image or
# PDF background of at most 1000 KB each and a logo; Woningdossier config/hoomdossier.php media.custom) as
# base64 (×4/3) in JSON — a few MB. 16 MiB leaves a margin of about 4× (docs/receiver.md, "Body limit").
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
# PHP's json_decode default depth, which Laravel (Hoomdossier) and Econobis decode request bodies with: a
# deeper body is "no payload" to both partners. Far below Python's recursion limit.
MAX_JSON_DEPTH = 512
# PHP's max_input_nesting_level and max_input_vars for form bodies
MAX_FORM_DEPTH = 64
MAX_FORM_FIELDS = 1000
# python-multipart's per-field cap as Starlette sets it: a form field is text, not a PDF
MAX_FORM_PART_BYTES = 1024 * 1024


def max_body_bytes(env: Mapping[str, str] | None = None) -> int:
    """The receiver's body limit: $HUB_RECEIVER_MAX_BODY_BYTES (bytes; a positive integer), else the default."""
    raw = (os.environ if env is None else env).get(MAX_BODY_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BODY_BYTES
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{MAX_BODY_ENV} must be a positive number of bytes, got {raw!r}")
    return value


class BodyTooLarge(Exception):
    """The request body is (or says it is) larger than the receiver's limit."""

    def __init__(self, limit: int, declared: int | None, read: int) -> None:
        self.limit = limit
        self.declared = declared
        self.read = read
        size = f"declared {declared} bytes" if declared is not None and declared > limit else f"over {read} bytes"
        super().__init__(f"body larger than the limit of {limit} bytes ({size})")


class BadInput(Exception):
    """A body the receiver refuses; `kind` is one of KINDS, `reason` says why in English."""

    KINDS = ("not-utf-8", "not-json", "too-deep", "bad-unicode", "content-type", "bad-form")

    def __init__(self, kind: str, reason: str) -> None:
        assert kind in self.KINDS, kind
        self.kind = kind
        self.reason = reason
        super().__init__(reason)


class BodyLimitMiddleware:
    """Pure ASGI: counts the bytes of the request body as the app reads them and raises `BodyTooLarge` from
    `receive()` once the declared Content-Length or the bytes read pass the limit. It raises from the read
    itself (not on arrival), so the route has matched and checked the caller's key first and can answer in
    its partner's shape; after raising once it reports a disconnect, so nothing reads on past the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        limit = self.limit
        state = {"read": 0, "refused": False}

        async def limited() -> Message:
            if state["refused"]:
                return {"type": "http.disconnect"}
            if declared is not None and declared > limit:
                state["refused"] = True
                raise BodyTooLarge(limit, declared, 0)
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > limit:
                    state["refused"] = True
                    raise BodyTooLarge(limit, declared, state["read"])
            return message

        scope.setdefault("state", {})["max_body_bytes"] = limit
        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_body(request: Request) -> bytes:
    """The whole body, within the receiver's limit; raises BodyTooLarge (catch it to answer 413 in the
    partner's shape). The body is cached on the request, so `request.form()` can parse it afterwards."""
    return await request.body()


def decode_utf8(raw: bytes) -> str:
    """The body as text, strictly: a body that is not UTF-8 is refused (never stored with replacements)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput("not-utf-8", f"body is not UTF-8 (invalid byte at offset {exc.start})") from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON as PHP's json_decode reads it, refusing what a store or a partner could not take: deeper than
    `max_depth` (never a RecursionError), NaN/Infinity, lone surrogates (`\\ud800`), integers of more than
    4300 digits (Python's limit)."""
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise BadInput("too-deep", f"JSON nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise BadInput("not-json", f"body is not JSON ({str(exc)[:120]})") from None
    check_tree(value, max_depth)
    return value


def check_tree(value: Any, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Walk a parsed body without recursion: its depth, and that every string can be stored as UTF-8."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise BadInput("too-deep", f"JSON nested deeper than {max_depth} levels")
            for k, v in node.items():
                _check_text(k)
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            if depth > max_depth:
                raise BadInput("too-deep", f"JSON nested deeper than {max_depth} levels")
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            _check_text(node)
        elif isinstance(node, float) and not math.isfinite(node):
            raise BadInput("not-json", "a number out of range (JSON has no Infinity)")


def _check_text(s: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput("bad-unicode", "a string holds a lone UTF-16 surrogate (\\ud800–\\udfff)") from None


def is_json_type(content_type: str) -> bool:
    """Laravel's isJson(): the Content-Type contains /json or +json."""
    ctype = content_type.lower()
    return "/json" in ctype or "+json" in ctype


def is_form_type(content_type: str) -> bool:
    """The bodies PHP parses into $_POST by itself."""
    ctype = content_type.lower()
    return ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith("multipart/form-data")


def parse_php_form(text: str) -> dict[str, Any]:
    """A urlencoded body as PHP's parse_str reads it: `extra[contact_id]=5&roles[]=coach` →
    {"extra": {"contact_id": "5"}, "roles": ["coach"]}; every value a string."""
    options = qs_codec.DecodeOptions(
        depth=MAX_FORM_DEPTH, parameter_limit=MAX_FORM_FIELDS, list_limit=MAX_FORM_FIELDS, allow_empty_lists=False
    )
    try:
        value = qs_codec.decode(text, options)
    except (ValueError, IndexError, TypeError) as exc:
        raise BadInput("bad-form", f"form body cannot be read ({str(exc)[:120]})") from None
    check_tree(value, MAX_JSON_DEPTH)
    return dict(value)


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """The fields of a multipart body in order (after `read_body`); a file part or a field over
    MAX_FORM_PART_BYTES is refused as a bad form."""
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_PART_BYTES)
    except HTTPException as exc:  # python-multipart's refusals, as Starlette raises them inside an app
        raise BadInput("bad-form", f"multipart body cannot be read ({str(exc.detail)[:120]})") from None
    except MultiPartException as exc:
        raise BadInput("bad-form", f"multipart body cannot be read ({exc.message[:120]})") from None
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise BadInput("bad-form", f"multipart body cannot be read ({type(exc).__name__})") from None
    pairs: list[tuple[str, str]] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            raise BadInput("bad-form", f"multipart field {key[:40]!r} is a file; only text fields are accepted")
        pairs.append((key, value))
    return pairs


def pairs_as_php(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Multipart fields nested as PHP nests them (the same rules as `parse_php_form`)."""
    return parse_php_form(urlencode(pairs))
