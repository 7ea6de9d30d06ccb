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
from collections.abc import Mapping
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
    """The key in force in this process: HUB_MART_PSEUDONYM_KEY, else the sandbox key. What the store hashes
    erased partner ids, purged keys and content hashes with. Safe because every entry point loads the config
    through `hub.config.load_config`, which refuses a hub with a real tenant unless the key is set
    (`key_problem`): no process acting on a real tenant can fall back to the sandbox key and hash an erased id
    differently from the process that erased it."""
    value = os.environ.get(ENV, "")
    return value.encode("utf-8") if value else SANDBOX_KEY


def key_problem(config: HubConfig, what: str, env: Mapping[str, str] | None = None) -> str | None:
    """Why `what` may not run with this key setting (None: it may): a real (non-sandbox) tenant needs
    HUB_MART_PSEUDONYM_KEY, at least MIN_LENGTH long. The message says how to set it, never echoes a value."""
    value = (os.environ if env is None else env).get(ENV, "")
    how = f"export {ENV}=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    if value:
        if len(value) < MIN_LENGTH:
            return f"{what}: {ENV} is shorter than {MIN_LENGTH} characters; use a long random value, e.g. {how}"
        return None
    if all_sandbox(config):
        return None
    real = sorted(t.id for t in config.tenants if not all(pc.sandbox for pc in t.partners.values()))
    return (
        f"{what} refuses to run without {ENV}: tenants {real} are not sandbox tenants, and the built-in key is "
        f"for the sandbox only. Set it to a long random value kept with the hub's other secrets, e.g. {how}. "
        "Keep it stable: changing it changes every pseudonym and orphans the hashed ids of past erasures."
    )


def require_key(config: HubConfig, what: str) -> bytes:
    """The key for `what` (e.g. "the mart"), or PseudonymKeyMissing (`key_problem`)."""
    problem = key_problem(config, what)
    if problem:
        raise PseudonymKeyMissing(problem)
    return current_key()


def keyed_hash(key: bytes, *parts: object, length: int = 40) -> str:
    """HMAC-SHA256 of the parts joined by '|', hex, cut to `length` characters."""
    msg = "|".join(str(p) for p in parts).encode("utf-8")
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:length]
