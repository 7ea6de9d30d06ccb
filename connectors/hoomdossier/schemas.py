"""Wire models of what Hoomdossier sends to Econobis (contracts/hoomdossier.md §2.4), exactly as it sends them:
`account_related` on every body, advices as an object keyed by advice id, savings as decimal strings, `[]`
where PHP serialises an empty array, `coaches` possibly absent, `contact_id` possibly null (delete).

Lenient on purpose: Hoomdossier's shapes drift (the contract lists where), and a message must never be lost
because a field we do not use changed. Only what the hub applies is typed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENDPOINTS = ("afspraak", "woning-status", "scan-status", "gebruik", "woonplan", "pdf", "delete")


class Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _empty_list_to_none(value: Any) -> Any:
    """PHP's json_encode turns an empty array into `[]` where a non-empty one is an object."""
    return None if value == [] else value


class AccountRelated(Wire):
    building_id: int | None = None
    user_id: int | None = None
    account_id: int | None = None
    contact_id: int | None = None

    @field_validator("building_id", "user_id", "account_id", "contact_id", mode="before")
    @classmethod
    def _int_or_none(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        try:
            return int(str(value))
        except ValueError:
            raise ValueError(f"not an id: {value!r}") from None


class Coach(Wire):
    contact_id: int | None = None
    user_id: int | None = None
    building_id: int | None = None
    account_id: int | None = None


class Message(Wire):
    account_related: AccountRelated


class Afspraak(Message):
    appointment_date: str | None = None
    coaches: list[Coach] | None = None

    def planned_at(self) -> datetime | None:
        """Local Amsterdam wall-clock time without offset ("YYYY-MM-DD HH:MM:SS"), kept naive."""
        if not self.appointment_date:
            return None
        return datetime.fromisoformat(self.appointment_date.strip()).replace(tzinfo=None)


class Status(Wire):
    id: int | None = None
    short: str | None = None
    name: str | None = None


class WoningStatus(Message):
    status: Status | None = None
    coaches: list[Coach] | None = None


class Scan(Wire):
    id: int | None = None
    name: str | None = None
    short: str | None = None
    has_made_progress: bool = False


class ScanStatus(Message):
    scans: dict[str, Scan] | None = None

    @field_validator("scans", mode="before")
    @classmethod
    def _scans(cls, value: Any) -> Any:
        return _empty_list_to_none(value)


class Question(Wire):
    id: int | None = None
    short: str | None = None
    name: str | None = None
    # [] (no answer) | {value, name, short} | [{value, name, short}, …] (multi-select)
    answers: Any = None

    def first(self) -> dict[str, Any] | None:
        a = self.answers
        if isinstance(a, list):
            a = a[0] if a else None
        return a if isinstance(a, dict) else None

    def value(self) -> Any:
        first = self.first()
        return None if first is None else first.get("value")

    def label(self) -> str | None:
        first = self.first()
        if first is None:
            return None
        name = first.get("name")
        return str(name) if name not in (None, "") else None


class Gebruik(Message):
    current: dict[str, Question] | None = None
    new: dict[str, Question] | None = None

    @field_validator("current", "new", mode="before")
    @classmethod
    def _blocks(cls, value: Any) -> Any:
        return _empty_list_to_none(value)


class MeasureCategory(Wire):
    id: int | None = None
    short: str | None = None
    name: str | None = None


class Advice(Wire):
    name: str | None = None
    savings_gas: str | float | None = None
    savings_electricity: str | float | None = None
    co2_savings: float | None = None
    measure_id: int | str | None = None
    measure_type: str | None = None
    measure_category: MeasureCategory | None = None
    surface: float | None = None
    count: float | None = None
    execute_self: bool | None = None


class Woonplan(Message):
    advices: dict[str, Advice] | None = Field(default=None, alias="user_action_plan_advices")
    comments: dict[str, str | None] | None = Field(default=None, alias="user_action_plan_advice_comments")

    @field_validator("advices", "comments", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _empty_list_to_none(value)


class PdfBody(Wire):
    contents: str | None = None


class Pdf(Message):
    pdf: PdfBody | None = None


class Delete(Message):
    pass


MODELS: dict[str, type[Message]] = {
    "afspraak": Afspraak,
    "woning-status": WoningStatus,
    "scan-status": ScanStatus,
    "gebruik": Gebruik,
    "woonplan": Woonplan,
    "pdf": Pdf,
    "delete": Delete,
}


def parse(endpoint: str, payload: dict[str, Any]) -> Message:
    return MODELS[endpoint].model_validate(payload)
