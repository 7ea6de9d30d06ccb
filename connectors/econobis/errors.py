"""Econobis' error dialect, parsed in one place: its Dutch log-line answers, their sentinels, and what each
kind of refusal means for the hub's worker (retry, wait, or quarantine).

Econobis answers its webform and Hoomdossier endpoints with a JSON list of log lines (contracts/econobis.md
§3, §4): "Fout opgetreden: …" names the problem, "Gehele API aanroep is ongedaan gemaakt!" says the whole call
was rolled back (nothing landed), and the per-webform limit is a 422 with "Maximum aantal aanroepen…"."""

from __future__ import annotations

import json
import re
from typing import Any

from hub.http import (
    OutcomeUnknown,
    PartnerError,
    PartnerNotFound,
    PartnerRateLimited,
    PartnerRejected,
    PartnerServerError,
    PartnerUnavailable,
)
from hub.worker import Decision, Failure, Park, Quarantine, Retry

ROLLED_BACK = "Gehele API aanroep is ongedaan gemaakt!"
RATE_LIMITED = "Maximum aantal aanroepen per minuut is bereikt."
LOGGED = "Log is gelogd naar het applicatielog."
ERROR_PREFIX = "Fout opgetreden"
ENDPOINT_NOT_FOUND = "Endpoint not found"
# Econobis' per-webform limit resets each minute (its own counter, no Retry-After header)
WEBFORM_LIMIT_WAIT = 60.0


def log_lines(body: str | None) -> list[str]:
    """The log lines of an Econobis answer ([] when the body is not Econobis' JSON list)."""
    try:
        value = json.loads(body or "")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def error_lines(logs: list[str]) -> list[str]:
    return [line for line in logs if line.startswith(ERROR_PREFIX)]


def partner_message(body: Any) -> str | None:
    """The partner client's message for an Econobis log-line list: its error lines, else its last lines."""
    if not isinstance(body, list) or not body:
        return None
    lines = [str(x) for x in body if isinstance(x, str)]
    errors = [x for x in lines if "fout" in x.lower()]
    return " | ".join(errors or lines[-3:])[:1000]


def rolled_back(logs: list[str]) -> bool:
    return ROLLED_BACK in logs


def webform_limited(logs: list[str]) -> bool:
    return any(RATE_LIMITED in line for line in logs)


def transport_retry(exc: PartnerError) -> Retry | None:
    """The failures every Econobis call shares, whatever it sends: no answer after sending (look first next
    time), 429 (wait as told), unreachable. None for an answer Econobis gave."""
    if isinstance(exc, OutcomeUnknown):
        return Retry(Failure.OUTCOME_UNKNOWN, str(exc))
    if isinstance(exc, PartnerRateLimited):
        return Retry(Failure.RATE_LIMITED, str(exc), exc.retry_after)
    if isinstance(exc, PartnerUnavailable):
        return Retry(Failure.UNAVAILABLE, str(exc))
    return None


def webform_limit_retry(exc: PartnerError, logs: list[str]) -> Retry | None:
    """Econobis' per-webform limit (a 4xx with "Maximum aantal aanroepen…"): waiting, not a refusal."""
    if isinstance(exc, PartnerRejected | PartnerNotFound) and logs and webform_limited(logs):
        return Retry(Failure.RATE_LIMITED, "Econobis per-webform limit reached", WEBFORM_LIMIT_WAIT)
    return None


def classify(exc: PartnerError, *, may_have_landed: bool, label: str = "Econobis refused") -> Decision:
    """What the worker does after an Econobis call failed. `may_have_landed`: the call is not idempotent, so
    an answer that leaves the outcome unknown means the next attempt must look first."""
    if (retry := transport_retry(exc)) is not None:
        return retry
    logs = log_lines(exc.body)
    if (retry := webform_limit_retry(exc, logs)) is not None:
        return retry
    if isinstance(exc, PartnerServerError):
        if logs and rolled_back(logs):
            return Retry(Failure.UNAVAILABLE, f"Econobis rolled back: {' | '.join(logs[-4:])}")
        # a plain Laravel 500 (or a 5xx without Econobis' log): the data may be committed
        return Retry(Failure.OUTCOME_UNKNOWN if may_have_landed else Failure.UNAVAILABLE, str(exc))
    if isinstance(exc, PartnerRejected | PartnerNotFound):
        reason = " | ".join(error_lines(logs)) or str(exc)
        return Park(f"{label} ({exc.status}): {reason}", logs or exc.body)
    return Park(f"{label} ({exc.status}): {exc}", exc.body)


_INTAKE_ID = re.compile(r"^Intake met id (\d+) (aangemaakt|gevonden bij intake_id_extern)")
_CONTACT_ID = re.compile(r"^(?:Actie bij contact: (\d+)|Contact .* \((\d+)\) aangemaakt\.)$")
_KANS_ID = re.compile(r"^Kans met id (\d+) aangemaakt")


def parse_webform_success(logs: list[str]) -> dict[str, Any]:
    """The ids a successful webform call's log lines name; a 200 that created no intake is a refusal."""
    result: dict[str, Any] = {"intake_id": None, "contact_id": None, "opportunity_ids": []}
    for line in logs:
        if m := _INTAKE_ID.match(line):
            result["intake_id"] = int(m.group(1))
        elif m := _CONTACT_ID.match(line):
            result["contact_id"] = int(m.group(1) or m.group(2))
        elif m := _KANS_ID.match(line):
            result["opportunity_ids"].append(int(m.group(1)))
    if result["intake_id"] is None:
        raise Quarantine("Econobis accepted the sign-up but created no intake (no address or campaign?)", logs)
    return result
