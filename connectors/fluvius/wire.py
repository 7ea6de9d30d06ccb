"""Small readers of the portal's answers: its timestamps and dates (ISO 8601, `Z` or an offset; a naive one is
UTC), and the rule codes of a refusal (the problem's `code` and every code of its `fouten` list)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from hub.http import PartnerError


def when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def day(value: Any) -> date | None:
    parsed = when(value)
    return parsed.date() if parsed else None


def codes(exc: PartnerError) -> list[str]:
    """The refusal's rule codes, the first failing rule first."""
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    found = [str(body["code"])] if body.get("code") else []
    for f in body.get("fouten") or []:
        if isinstance(f, dict) and f.get("code") and str(f["code"]) not in found:
            found.append(str(f["code"]))
    return found
