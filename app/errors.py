"""What the `hub` command tells a person who gave it something it cannot use: one line, no traceback.

`user_error` names the errors that are the user's to fix (a missing file, a bad config or value, a partner out
of reach) and phrases each as one line; anything else is a bug and keeps its traceback."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from hub.config import ConfigError
from hub.http import PartnerError


class UserError(Exception):
    """A command refuses what it was given (an unknown id, a missing option); the message is the one line."""


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_summary(exc: ValidationError, limit: int = 6) -> str:
    """`SignUp: number: Field required; campaign_id: Input should be a valid integer` — each field with its
    problem (never the value given: it may be personal data), on one line."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:limit]:
        where = _loc(tuple(err.get("loc", ())))
        parts.append(f"{where}: {err['msg']}" if where else str(err["msg"]))
    more = exc.error_count() - limit
    return f"{exc.title}: " + "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def user_error(exc: BaseException) -> str | None:
    """The one line for an error that is the user's to fix, else None (a bug: let it raise)."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, ConfigError):
        return f"configuration error: {exc}"
    if isinstance(exc, ValidationError):
        return f"invalid {validation_summary(exc)}"
    if isinstance(exc, PartnerError):
        return (
            f"{exc.partner} {type(exc).__name__} for tenant {exc.tenant}: {exc.message}"
            f" ({exc.method} {exc.endpoint}, after {exc.attempts} attempt(s))"
        )
    if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError | PermissionError):
        what = exc.strerror or type(exc).__name__
        return f"cannot read {exc.filename}: {what}" if exc.filename else f"{what}"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text: {exc.reason} at byte {exc.start}"
    import requests

    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):  # outside a partner client
        url = getattr(exc.request, "url", None) if exc.request is not None else None
        return f"cannot reach {url or 'a service'}: {type(exc).__name__}"
    try:  # the state store out of reach or its URL malformed
        from sqlalchemy.exc import ArgumentError, OperationalError

        if isinstance(exc, OperationalError):
            return f"the state store cannot be opened: {_first_line(str(exc.orig or exc))}"
        if isinstance(exc, ArgumentError):
            return f"the state store's URL (HUB_DATABASE_URL) is not usable: {_first_line(str(exc))}"
    except ImportError:  # pragma: no cover - SQLAlchemy is a dependency
        pass
    return None
