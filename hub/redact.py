"""Redaction of secrets from URLs, messages and log records, including API keys partners put in URL paths; and
of personal data from payloads shown to a person (the quarantine viewer)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
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


# --- personal data in payloads shown to a person (`hub quarantine show`) ---------------------------------------

# keys (lower case, without _ - . and spaces) whose values are personal data wherever they appear in a payload;
# the Dutch and Flemish spellings too, as partners send them
PERSONAL_KEYS = frozenset(
    {"name", "naam", "number", "nummer", "addition", "toevoeging", "box", "bus", "initials", "voorletters"}
)
PERSONAL_KEY_PARTS = (
    "firstname",
    "lastname",
    "fullname",
    "voornaam",
    "achternaam",
    "tussenvoegsel",
    "email",
    "mail",
    "phone",
    "telefoon",
    "mobile",
    "mobiel",
    "street",
    "straat",
    "housenumber",
    "huisnummer",
    "postcode",
    "postalcode",
    "zipcode",
    "address",
    "adres",
    "iban",
    "insz",
    "rijksregister",
    "nationalid",
    "nationalnumber",
    "bsn",
    "birth",
    "geboorte",
    "password",
    "secret",
    "token",
)
# what looks personal in free text: the mart refuses a file with any of these in a tenant's text columns
# (hub/mart/build.py, in DuckDB's regexp syntax, which these keep to), the quarantine viewer masks them
PERSONAL_TEXT_PATTERNS: Mapping[str, str] = {
    "e-mail address": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "phone number": r"(\+31|\+32|\b0)[1-9][0-9 -]{7,}[0-9]\b",
    "IBAN": r"\b[A-Z]{2}[0-9]{2}[A-Z0-9]{4}[0-9]{7,}\b",
    "full Dutch postcode": r"\b[1-9][0-9]{3} ?[A-Z]{2}\b",
}
# the viewer masks an INSZ too; the shapes in the order it has always applied them
_INSZ = r"\b[0-9]{2}\.?[0-9]{2}\.?[0-9]{2}-?[0-9]{3}\.?[0-9]{2}\b"
_P = PERSONAL_TEXT_PATTERNS
_PERSONAL_TEXT = tuple(
    re.compile(p) for p in (_P["e-mail address"], _P["IBAN"], _P["phone number"], _INSZ, _P["full Dutch postcode"])
)


def _personal_key(key: str) -> bool:
    k = re.sub(r"[\s_.-]", "", key.lower())
    return k in PERSONAL_KEYS or any(part in k for part in PERSONAL_KEY_PARTS)


def redact_personal(value: Any, redactor: Redactor | None = None) -> Any:
    """A copy of a JSON-like payload with personal data masked: the value of every personal key (names,
    contact details, address parts, bank and national ids, birth dates, credentials) becomes ***, and
    e-mail addresses, IBANs, phone numbers, INSZs and postcodes in any other text too; secrets as in logs.
    Ids, statuses, dates and counts stay, so a person can still see why a record was refused."""
    redactor = redactor or Redactor()
    if isinstance(value, Mapping):
        return {
            k: (MASK if _personal_key(str(k)) and v not in (None, "") else redact_personal(v, redactor))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_personal(v, redactor) for v in value]
    if isinstance(value, str):
        text = redactor.text(value)
        for pattern in _PERSONAL_TEXT:
            text = pattern.sub(MASK, text)
        return text
    return value
