"""Redaction lives in `hub/redact.py` (logging needs it without the HTTP client); kept here for `hub.http`'s
public surface."""

from hub.redact import (
    MASK,
    PATH_SECRET_PATTERNS,
    SECRET_QUERY_KEYS,
    RedactingFilter,
    Redactor,
    register_path_pattern,
    register_secret,
)

__all__ = [
    "MASK",
    "PATH_SECRET_PATTERNS",
    "SECRET_QUERY_KEYS",
    "RedactingFilter",
    "Redactor",
    "register_path_pattern",
    "register_secret",
]
