"""The outbound side of a sandbox Hoomdossier: queued jobs, their payloads and the HTTP call to Econobis
(contracts/hoomdossier.md §2).

Payloads are built when a job RUNS (as the Laravel jobs do inside `wrapCall`), from the current tables, so a
retry sends the state of that moment; only `delete` carries the envelope computed before the deletion. Every body
starts with `account_related`. Shapes follow app/Services/Econobis/Payloads/* including their quirks: advices and
scans as objects keyed by id/short, `[]` for an empty object (PHP's empty array), decimal strings for savings,
`co2_savings` = savings_gas × 1.88 as a float (0.0 for null), a PHP class name as `measure_type`, no costs, the
`coaches` key absent when no connected coach has a contact id, a cooperation/custom advice without a measure
category dropped (leaving `[]` when it was the only one).

A PHP error while building a payload (an answer that matches no option, no pdf-report record) happens inside
`wrapCall`: it is logged and the job ends — the sandbox records it as `dropped` with the error as reason.

Transport: Guzzle `POST {base}/api/{api_key}/hoomdossier/{endpoint}` with only `Accept: application/json` (and
Content-Type from the `json` option), no auth header, redirects followed up to 5, the body encoded like PHP's
json_encode (`\\/` and `\\uXXXX` escapes). Guzzle sets NO timeout except 360 s for `pdf`; the sandbox needs one
so a hanging receiver cannot block it forever (`outbound_timeout`, default 30 s) — a timeout is a ConnectException
like any other connection error."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from connectors.hoomdossier.sandbox.lookups import (
    CO2_SAVING_GAS,
    CURRENT_QUESTIONS,
    MEASURE_TYPES,
    NEW_QUESTIONS,
    QUANTITY_QUESTIONS,
    SCANS,
    STATUS_IDS,
    STATUS_NAMES,
    TOOL_QUESTIONS,
    ToolQuestion,
)
from connectors.hoomdossier.sandbox.state import Building, State
from hub.sandbox.php import php_json, php_loose_equal

ENDPOINTS = ("afspraak", "woning-status", "scan-status", "gebruik", "woonplan", "pdf", "delete")
PDF_TIMEOUT = 360.0
MAX_REDIRECTS = 5
TRIES = 3
RELEASE_SECONDS = 120


@dataclass
class Job:
    """A queued `App\\Jobs\\Econobis\\Out\\*` job."""

    id: int
    endpoint: str
    building_id: int | None
    available_at: datetime
    created_at: datetime
    attempts: int = 0
    # delete only: the envelope and the cooperation array (with API key), taken before the user was deleted
    account_related: dict[str, Any] | None = None
    cooperation: dict[str, Any] | None = None
    history: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "endpoint": self.endpoint,
            "building_id": self.building_id,
            "attempts": self.attempts,
            "available_at": self.available_at.isoformat(sep=" "),
            "created_at": self.created_at.isoformat(sep=" "),
        }


class PayloadError(Exception):
    """A PHP error while building the payload (TypeError / ErrorException inside wrapCall)."""


def fmt_datetime(value: datetime | None) -> str | None:
    """Carbon's toDateTimeString(): local time, no offset."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def decimal_string(value: Any) -> str | None:
    """A decimal(65,2) column as Eloquent returns it: "312.50" or null."""
    if value is None or value == "":
        return None
    try:
        return f"{Decimal(str(value)).quantize(Decimal('0.01')):f}"
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc


# --- payloads --------------------------------------------------------------------------------------------------


def account_related(state: State, building: Building) -> dict[str, Any]:
    user = state.users[building.user_id]
    return {
        "building_id": building.id,
        "user_id": user.id,
        "account_id": user.account_id,
        "contact_id": user.contact_id,
    }


def _coaches(state: State, building: Building) -> list[dict[str, Any]]:
    out = []
    for coach_id in state.connected_coach_ids(building.id):
        coach = state.users[coach_id]
        if not coach.related_with_econobis():
            continue
        own = state.building_of(coach)
        if own is None:
            raise PayloadError('ErrorException: Attempt to read property "id" on null')
        out.append(
            {"contact_id": coach.contact_id, "user_id": coach.id, "building_id": own.id, "account_id": coach.account_id}
        )
    return out


def _with_coaches(payload: dict[str, Any], state: State, building: Building) -> dict[str, Any]:
    coaches = _coaches(state, building)
    if coaches:
        payload["coaches"] = coaches
    return payload


def afspraak(state: State, building: Building) -> dict[str, Any]:
    status = state.current_status(building.id)
    if status is None:
        raise PayloadError('ErrorException: Attempt to read property "appointment_date" on null')
    return _with_coaches({"appointment_date": fmt_datetime(status.appointment_date)}, state, building)


def woning_status(state: State, building: Building) -> dict[str, Any]:
    status = state.current_status(building.id)
    if status is None:
        raise PayloadError('ErrorException: Attempt to read property "status" on null')
    body = {"status": {"id": STATUS_IDS[status.status], "short": status.status, "name": STATUS_NAMES[status.status]}}
    return _with_coaches(body, state, building)


def scan_status(state: State, building: Building) -> dict[str, Any]:
    coop = state.cooperations[state.users[building.user_id].cooperation_id]
    scans: dict[str, Any] = {}
    for short in sorted(coop.scans, key=lambda s: SCANS[s][0]):
        if short == "expert-scan":
            continue
        scan_id, name = SCANS[short]
        progress = any(
            c.building_id == building.id and c.scan == short and c.input_source == "master"
            for c in state.completed_sub_steps
        )
        scans[short] = {"id": scan_id, "name": name, "short": short, "has_made_progress": progress}
    return {"scans": scans or []}


def _option(question: ToolQuestion, answer: Any) -> dict[str, Any]:
    for option in question.options:
        if php_loose_equal(option.value, answer):
            return {"value": option.value, "name": option.name, "short": option.short}
    # `$values->where('value', $answer)->first()` is null → Arr::only(null, …)
    raise PayloadError(
        "TypeError: Illuminate\\Support\\Arr::only(): Argument #1 ($array) must be of type array, null given"
        f" (tool question {question.short}, answer {answer!r})"
    )


def answer_form(question: ToolQuestion, answer: Any) -> Any:
    """The `answers` value of one tool question in the gebruik payload (§2.4)."""
    if question.options:
        if isinstance(answer, list):
            return [_option(question, a) for a in answer]
        if answer is None:
            return []
        return _option(question, answer)
    if answer is None:
        return []
    return {"value": question.cast(answer), "short": None, "name": None}


def gebruik(state: State, building: Building) -> dict[str, Any]:
    answers = state.tool_answers.get(building.id, {})
    body: dict[str, Any] = {}
    for situation, questions in (("current", CURRENT_QUESTIONS), ("new", NEW_QUESTIONS)):
        body[situation] = {
            q.short: {"id": q.id, "short": q.short, "name": q.name, "answers": answer_form(q, answers.get(q.short))}
            for q in questions
        }
    return body


def woonplan(state: State, building: Building) -> dict[str, Any]:
    user = state.users[building.user_id]
    answers = state.tool_answers.get(building.id, {})
    execute_how = state.execute_how.get(building.id, {})
    body: dict[str, Any] = {}
    advices = sorted(
        (a for a in state.advices.values() if a.user_id == user.id and a.category == "to-do" and a.visible),
        key=lambda a: a.id,
    )
    for advice in advices:
        entry: dict[str, Any] = {
            "name": advice.name,
            "savings_gas": advice.savings_gas,
            "savings_electricity": advice.savings_electricity,
            "co2_savings": float(advice.savings_gas or 0) * CO2_SAVING_GAS,
            "measure_id": advice.advisable_id,
            "measure_type": MEASURE_TYPES[advice.advisable_type],
        }
        plan = body.setdefault("user_action_plan_advices", {})
        plan[str(advice.id)] = entry
        if advice.advisable_type in ("cooperation", "custom"):
            if advice.measure_category:
                entry["measure_category"] = {k: advice.measure_category[k] for k in ("id", "short", "name")}
            else:
                del plan[str(advice.id)]
        elif advice.measure_short in QUANTITY_QUESTIONS:
            question_short, kind = QUANTITY_QUESTIONS[advice.measure_short]
            if question_short is not None:
                question = TOOL_QUESTIONS[question_short]
                entry[kind] = question.cast(answers.get(question_short))
                entry["execute_self"] = execute_how.get(advice.measure_short) != "let-do"
    if body.get("user_action_plan_advices") == {}:
        body["user_action_plan_advices"] = []  # PHP: an emptied array encodes as []
    comments: dict[str, str] = {}
    for comment in sorted(
        (c for c in state.advice_comments if c.user_id == user.id and c.input_source in ("resident", "coach")),
        key=lambda c: (c.updated_at, c.id),
    ):
        comments[comment.input_source] = comment.comment
    body["user_action_plan_advice_comments"] = comments or []
    return body


def pdf(state: State, building: Building) -> dict[str, Any]:
    files = sorted(
        (f for f in state.files.values() if f.building_id == building.id and f.input_source == "coach"),
        key=lambda f: f.id,
    )
    if not files:
        raise PayloadError('ErrorException: Attempt to read property "filename" on null')
    if files[0].missing_on_disk:
        return {}
    return {"pdf": {"contents": base64.b64encode(files[0].contents).decode("ascii")}}


BUILDERS = {
    "afspraak": afspraak,
    "woning-status": woning_status,
    "scan-status": scan_status,
    "gebruik": gebruik,
    "woonplan": woonplan,
    "pdf": pdf,
}


def build_payload(state: State, job: Job, building: Building | None) -> dict[str, Any]:
    """EconobisService::getPayload: `account_related` first, then the endpoint's fields."""
    if job.endpoint == "delete":
        return {"account_related": dict(job.account_related or {})}
    assert building is not None
    return {"account_related": account_related(state, building), **BUILDERS[job.endpoint](state, building)}


# --- transport -------------------------------------------------------------------------------------------------


@dataclass
class CallResult:
    status: int | None
    exception: str | None
    json_ok: bool
    text: str


def post(url: str, body: dict[str, Any], timeout: float) -> CallResult:
    """One Guzzle call; classifies what Hoomdossier's Client::request() would make of the answer."""
    with requests.Session() as session:
        session.max_redirects = MAX_REDIRECTS
        try:
            resp = session.post(
                url,
                data=php_json(body).encode(),
                headers={
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                    "User-Agent": "GuzzleHttp/7",
                },
                timeout=timeout,
            )
        except requests.TooManyRedirects:
            return CallResult(None, "GuzzleHttp\\Exception\\TooManyRedirectsException", False, "")
        except requests.RequestException as exc:
            return CallResult(None, "GuzzleHttp\\Exception\\ConnectException", False, type(exc).__name__)
    text = resp.text[:2000]
    if resp.status_code >= 500:
        return CallResult(resp.status_code, "GuzzleHttp\\Exception\\ServerException", False, text)
    if resp.status_code >= 400:
        return CallResult(resp.status_code, "GuzzleHttp\\Exception\\ClientException", False, text)
    try:
        parsed = json.loads(resp.content) if resp.content else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict | list):
        # json_decode() gave null or a scalar; Client::request() is declared `: array` → TypeError
        return CallResult(resp.status_code, "TypeError", False, text)
    return CallResult(resp.status_code, None, True, text)
