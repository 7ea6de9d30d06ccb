"""The `webforms` rows both inbound APIs of Econobis authenticate with (§1.11), the per-webform request limit,
and the error handling they share: a deliberate error ends the Dutch log with "Fout opgetreden: …", anything
else is "Onbekende fout opgetreden."; both roll the whole call back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from connectors.econobis.sandbox.db import SandboxDB


class ApiError(Exception):
    """A deliberate error (Econobis' WebformException): its message ends the log, with its status."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class PhpError(Exception):
    """A PHP error or warning, or a database error: not deliberate."""


# What the generic `catch (\Exception)` of both controllers turns into a 500 with "Onbekende fout opgetreden.".
UNEXPECTED = (PhpError, KeyError, TypeError, ValueError, AttributeError)
LOGGED = "Log is gelogd naar het applicatielog."
RATE_LIMITED = "Maximum aantal aanroepen per minuut is bereikt."


def webform_row(
    name: str,
    api_key: str,
    now: datetime,
    *,
    max_per_minute: int = 60,
    date_start: date | None = None,
    date_end: date | None = None,
    responsible_user_id: int | None = 1,
) -> dict[str, Any]:
    return {
        "name": name,
        "api_key": api_key,
        "api_key_date": now.date(),
        "max_requests_per_minute": max_per_minute,
        "date_start": date_start,
        "date_end": date_end,
        "responsible_user_id": responsible_user_id,
        "responsible_team_id": None,
        "last_requests": [],
        "mail_error_report": True,
        "created_at": now,
        "updated_at": now,
    }


def find_active(db: SandboxDB, api_key: str, today: date) -> dict[str, Any] | None:
    """The webform with this key whose date window includes today (keys are compared as exact strings)."""
    for wf in db.tables["webforms"].values():
        if wf["api_key"] != api_key:
            continue
        if wf.get("date_start") and wf["date_start"] > today:
            continue
        if wf.get("date_end") and wf["date_end"] < today:
            continue
        return wf
    return None


def check_max_requests(db: SandboxDB, webform: dict[str, Any], now: datetime) -> None:
    """checkMaxRequests(): record this call in `last_requests` (a 60 s sliding window), then refuse when over
    the limit. Inside the call's transaction, so a call that fails does not use up the limit."""
    stamp = now.timestamp()
    recent = [t for t in webform.get("last_requests", []) if t > stamp - 60] + [stamp]
    db.update("webforms", webform["id"], {"last_requests": recent})
    if len(recent) > int(webform["max_requests_per_minute"]):
        raise ApiError(RATE_LIMITED)


def log_failure(logs: list[str], exc: BaseException) -> int:
    """Append the log lines of a failed, rolled-back call; returns its status."""
    if isinstance(exc, ApiError):
        logs += [f"Fout opgetreden: {exc}", "Gehele API aanroep is ongedaan gemaakt!", LOGGED]
        return exc.status
    logs += ["Onbekende fout opgetreden.", "Gehele API aanroep is ongedaan gemaakt!", LOGGED, "Error is gerapporteerd."]
    return 500
