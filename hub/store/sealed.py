"""What the hub keeps of an identifier or a content hash once the payload behind it is erased or purged: a keyed
hash (HMAC with the pseudonym key, hub/pseudonym.py), so the value is gone but the hub still recognises it when
it comes again: a redelivered message (its message id), a repeated proxied call (its idempotency key), a
webhook retry (its body's content hash).

An unkeyed SHA-256 of a short body (an e-mail address, a form of three fields) can be reversed by trying
values; a keyed hash cannot without the key."""

from __future__ import annotations

import hmac

from hub.pseudonym import current_key, keyed_hash
from hub.store.xref import ERASED_PREFIX as SEALED_PREFIX  # the prefix of an erased partner id in the xref


def sealed(value: str) -> str:
    """An identifier (a message id, an idempotency key, a stream) as the hub keeps it after an erasure or the
    retention purge: at most 47 characters."""
    return SEALED_PREFIX + keyed_hash(current_key(), value)


def is_sealed(value: str | None) -> bool:
    return bool(value) and str(value).startswith(SEALED_PREFIX)


def sealed_content_hash(content_hash: str) -> str:
    """A SHA-256 content hash (64 hex) as kept after an erasure or the purge: keyed, the same length."""
    return keyed_hash(current_key(), "content", content_hash, length=64)


def same_content(stored_hash: str, content_hash: str) -> bool:
    """Whether a stored content hash (plain, or sealed) is of the content whose SHA-256 is `content_hash`."""
    return hmac.compare_digest(stored_hash, content_hash) or hmac.compare_digest(
        stored_hash, sealed_content_hash(content_hash)
    )
