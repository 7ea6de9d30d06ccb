"""The hub's pseudonym key: one keyed hash (HMAC-SHA256) for the mart's resident references, an erasure's
subject tombstone and the erased partner ids the hub keeps only as hashes (so a pull cannot re-import them).

The key is `HUB_MART_PSEUDONYM_KEY`. Without it only a hub whose every tenant is a sandbox tenant runs, on a
clearly labelled sandbox key: a real tenant's mart refuses to publish and `hub erase` refuses to start, so
no real resident is ever pseudonymised with a key that is printed in the source code. Rotating the key
changes every pseudonym (the mart's `resident_ref`) and orphans the hashed ids of past erasures (see
docs/erasure.md)."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.config import HubConfig

ENV = "HUB_MART_PSEUDONYM_KEY"
SANDBOX_KEY = b"SANDBOX-ONLY pseudonym key (never for real residents): set HUB_MART_PSEUDONYM_KEY"
MIN_LENGTH = 16


class PseudonymKeyMissing(RuntimeError):
    """A real (non-sandbox) tenant is configured and HUB_MART_PSEUDONYM_KEY is not set (or too short)."""


def all_sandbox(config: HubConfig) -> bool:
    """Whether every partner of every tenant is a sandbox partner (the embedded default, `hub demo`)."""
    return all(pc.sandbox for t in config.tenants for pc in t.partners.values())


def current_key() -> bytes:
    """The key in force in this process: HUB_MART_PSEUDONYM_KEY, else the sandbox key. Callers that act on
    real tenants check `require_key` first; this is what the store uses to hash erased partner ids."""
    value = os.environ.get(ENV, "")
    return value.encode("utf-8") if value else SANDBOX_KEY


def require_key(config: HubConfig, what: str) -> bytes:
    """The key for `what` (e.g. "the mart"); refuses without HUB_MART_PSEUDONYM_KEY unless every tenant is a
    sandbox tenant. The message says how to set it and never echoes a value."""
    value = os.environ.get(ENV, "")
    if value:
        if len(value) < MIN_LENGTH:
            raise PseudonymKeyMissing(
                f"{what}: {ENV} is shorter than {MIN_LENGTH} characters; use a long random value, e.g. "
                f"export {ENV}=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return value.encode("utf-8")
    if all_sandbox(config):
        return SANDBOX_KEY
    real = sorted(t.id for t in config.tenants if not all(pc.sandbox for pc in t.partners.values()))
    raise PseudonymKeyMissing(
        f"{what} refuses to run without {ENV}: tenants {real} are not sandbox tenants, and the built-in key is "
        f"for the sandbox only. Set it to a long random value kept with the hub's other secrets, e.g. "
        f"export {ENV}=$(python -c 'import secrets; print(secrets.token_urlsafe(32))'). "
        "Keep it stable: changing it changes every pseudonym."
    )


def keyed_hash(key: bytes, *parts: object, length: int = 40) -> str:
    """HMAC-SHA256 of the parts joined by '|', hex, cut to `length` characters."""
    msg = "|".join(str(p) for p in parts).encode("utf-8")
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:length]
