"""What one webform call carries through its phases (the records it found or made, its log, its outcome) and
the 'controle contact' task that contact matching and a failed Hoomdossier creation add."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.lookups import Lookups
from connectors.econobis.sandbox.state import SandboxState
from connectors.econobis.sandbox.webform.inputs import Input

Row = dict[str, Any]
CHECK_TASK_TYPE = 6  # "Webformulier": hard-coded check-contact and fallback task type


@dataclass
class Outcome:
    status: int
    logs: list[str]
    body: Any = None  # when set, the raw answer (a plain Laravel 500)
    contact_id: int | None = None
    intake_id: int | None = None
    opportunity_ids: list[int] = field(default_factory=list)
    quotation_request_ids: list[int] = field(default_factory=list)


@dataclass
class Call:
    """One call of the webform endpoint against a sandbox's state."""

    sb: SandboxState
    api_key: str
    inp: Input
    logs: list[str] = field(default_factory=list)
    webform: Row = field(default_factory=dict)  # {} until found; no phase reads it before
    action: str | None = None  # the contact-matching outcome (§4.4): NC, UPC, NET, NAT, NCT, CCT, NCG or BCB
    contact: Row | None = None
    address: Row | None = None
    intake: Row | None = None
    housing_file: Row | None = None
    out: Outcome = field(init=False)

    def __post_init__(self) -> None:
        self.out = Outcome(200, self.logs)

    @property
    def db(self) -> SandboxDB:
        return self.sb.db

    @property
    def lk(self) -> Lookups:
        return self.sb.lookups

    def now(self) -> datetime:
        return self.sb.clock.now()

    def log(self, text: str) -> None:
        self.logs.append(text)

    def check_task(self, contact: Row, note: str) -> None:
        """A 'controle contact' task for the webform's responsible user."""
        self.db.insert(
            "tasks",
            {
                "type_id": CHECK_TASK_TYPE + self.lk.id_shift,
                "note": f"Webformulier {self.webform.get('name')}.\n\n{note}",
                "contact_id": contact["id"],
                "responsible_user_id": self.webform.get("responsible_user_id"),
                "finished": False,
                "created_at": self.now(),
                "deleted_at": None,
            },
        )
        self.log(f"Taak 'controle contact' aangemaakt ({self.action}).")
