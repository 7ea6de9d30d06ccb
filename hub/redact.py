"""Redaction of secrets from URLs, messages and log records, including API keys partners put in URL paths."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# Keys partners put in URL paths: each connector declares its patterns (`Connector.path_secrets`, group 1 the
# prefix kept, the key in group 2, an optional group 3 kept after it); the registry adds them here.
PATH_SECRET_PATTERNS: list[re.Pattern[str]] = []
SECRET_QUERY_KEYS = frozenset(
    {"access_token", "api_key", "apikey", "key", "token", "password", "client_secret", "secret", "code"}
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_MIN_SECRET_LEN = 4

_registry_lock = threading.Lock()
_registry: set[str] = set()


def register_path_pattern(pattern: re.Pattern[str]) -> None:
    """Mask what `pattern` matches in every URL and message from now on (see PATH_SECRET_PATTERNS)."""
    with _registry_lock:
        if pattern not in PATH_SECRET_PATTERNS:
            PATH_SECRET_PATTERNS.append(pattern)


def register_secret(value: str | None) -> None:
    """Make a secret value known to every Redactor and to the logging filter of this process."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _registry_lock:
            _registry.add(value)


class Redactor:
    """Replaces known secret values, URL-path keys, secret query parameters and bearer tokens with ***."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = {s for s in secrets if s and len(s) >= _MIN_SECRET_LEN}
        for s in self._secrets:
            register_secret(s)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= _MIN_SECRET_LEN:
            self._secrets.add(secret)
            register_secret(secret)

    def text(self, value: str) -> str:
        with _registry_lock:
            known = self._secrets | _registry
        # Longest first so a secret that contains another is masked whole.
        for s in sorted(known, key=len, reverse=True):
            if s in value:
                value = value.replace(s, MASK)
        with _registry_lock:
            patterns = list(PATH_SECRET_PATTERNS)
        for pat in patterns:
            value = pat.sub(lambda m: m.group(1) + MASK + (m.group(3) if m.lastindex == 3 else ""), value)
        return _BEARER.sub(r"\1" + MASK, value)

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.query:
            query = urlencode(
                [(k, MASK if k.lower() in SECRET_QUERY_KEYS else v) for k, v in parse_qsl(parts.query, True)],
                safe='*[]{}":,',
            )
            parts = parts._replace(query=query)
        return self.text(urlunsplit(parts))


class RedactingFilter(logging.Filter):
    """Logging filter that redacts every record's message and string arguments."""

    def __init__(self) -> None:
        super().__init__()
        self._redactor = Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redactor.text(str(record.msg))
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(self._redactor.text(a) if isinstance(a, str) else a for a in args)
        for key, value in list(record.__dict__.items()):
            if key.startswith("hub_") and isinstance(value, str):
                setattr(record, key, self._redactor.text(value))
        return True
