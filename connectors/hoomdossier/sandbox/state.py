"""In-memory tables of a sandbox Hoomdossier (contracts/hoomdossier.md §3.1), guarded by one lock.

Rows are small dataclasses named after Hoomdossier's tables. Auto-increment ids start where a used instance
would be, not at 1, so ids of different kinds are never accidentally equal. Like Hoomdossier:
- accounts are global (unique e-mail, compared case-insensitively as MySQL's collation does), users are
  per cooperation and carry the Econobis contact id in `extra`;
- `building_statuses` and `building_coach_statuses` are append-only ledgers (current status = highest id;
  a coach is connected while it has more `added` than `removed` rows);
- users are hard-deleted, buildings soft-deleted (a deleted user's building still exists, trashed);
- tool answers, completed sub-steps and advices are kept for the master input source only (the source every
  integration payload reads); advice comments and the pdf-report file keep their own input source."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.hoomdossier.sandbox.lookups import DEFAULT_SCANS
from hub.sandbox.php import php_truthy

ID_START = {
    "cooperations": 1,
    "accounts": 640,
    "users": 770,
    "buildings": 501,
    "building_statuses": 9001,
    "building_coach_statuses": 301,
    "completed_sub_steps": 1201,
    "user_action_plan_advices": 88101,
    "user_action_plan_advice_comments": 4001,
    "file_storages": 6001,
    "jobs": 1,
}


@dataclass
class Cooperation:
    id: int
    slug: str
    name: str
    country: str = "NL"
    econobis_base_url: str | None = None
    econobis_api_key: str | None = None
    scans: list[str] = field(default_factory=lambda: list(DEFAULT_SCANS))

    def to_array(self) -> dict[str, Any]:
        """`$cooperation->makeVisible('econobis_api_key')->toArray()`: what the delete job carries."""
        return {
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "country": self.country,
            "econobis_base_url": self.econobis_base_url,
            "econobis_api_key": self.econobis_api_key,
        }


@dataclass
class Account:
    id: int
    email: str
    created_at: datetime


@dataclass
class User:
    id: int
    account_id: int
    cooperation_id: int
    first_name: str
    last_name: str
    phone_number: str
    extra: dict[str, Any]
    roles: list[str]
    allow_access: bool
    created_at: datetime
    tool_last_changed_at: datetime | None = None
    deleted: bool = False

    @property
    def contact_id(self) -> Any:
        return self.extra.get("contact_id") if isinstance(self.extra, dict) else None

    def related_with_econobis(self) -> bool:
        """UserService::isRelatedWithEconobis: `! empty($user->extra['contact_id'])` (PHP empty: 0, "0", "")."""
        return php_truthy(self.contact_id)


@dataclass
class Building:
    id: int
    user_id: int
    street: str
    number: str
    extension: str
    postal_code: str
    city: str
    country_code: str
    created_at: datetime
    deleted: bool = False


@dataclass
class BuildingStatus:
    id: int
    building_id: int
    status: str
    appointment_date: datetime | None
    created_at: datetime


@dataclass
class BuildingCoachStatus:
    id: int
    coach_id: int
    building_id: int
    status: str  # "added" | "removed"
    created_at: datetime


@dataclass
class CompletedSubStep:
    id: int
    building_id: int
    scan: str
    sub_step: str
    input_source: str
    created_at: datetime


@dataclass
class Advice:
    """A user_action_plan_advices row (master input source)."""

    id: int
    user_id: int
    advisable_type: str  # "measure" | "cooperation" | "custom"
    advisable_id: int
    name: str
    category: str
    visible: bool
    savings_gas: str | None
    savings_electricity: str | None
    measure_short: str | None
    measure_category: dict[str, Any] | None
    updated_at: datetime


@dataclass
class AdviceComment:
    id: int
    user_id: int
    input_source: str  # "resident" | "coach"
    comment: str
    updated_at: datetime


@dataclass
class FileStorage:
    """A `pdf-report` file of the coach input source for a building."""

    id: int
    building_id: int
    input_source: str
    contents: bytes
    missing_on_disk: bool
    updated_at: datetime


class State:
    """All tables of one sandbox Hoomdossier. Hold `lock` while reading or writing more than one row."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._next = dict(ID_START)
        self.cooperations: dict[int, Cooperation] = {}
        self.accounts: dict[int, Account] = {}
        self.users: dict[int, User] = {}
        self.buildings: dict[int, Building] = {}
        self.building_statuses: list[BuildingStatus] = []
        self.building_coach_statuses: list[BuildingCoachStatus] = []
        self.building_permissions: set[tuple[int, int]] = set()  # (coach user id, building id)
        self.completed_sub_steps: list[CompletedSubStep] = []
        # building id → tool question short → answer (master input source)
        self.tool_answers: dict[int, dict[str, Any]] = {}
        # building id → measure short → "do-self" | "let-do" (the execute-{measure}-how answers)
        self.execute_how: dict[int, dict[str, str]] = {}
        self.advices: dict[int, Advice] = {}
        self.advice_comments: list[AdviceComment] = []
        self.files: dict[int, FileStorage] = {}
        # (building id, job class) → synced_at
        self.integration_processes: dict[tuple[int, str], datetime] = {}

    def peek_id(self, table: str) -> int:
        return self._next[table]

    def next_id(self, table: str) -> int:
        with self.lock:
            value = self._next[table]
            self._next[table] = value + 1
            return value

    # --- lookups ------------------------------------------------------------------------------------------

    def cooperation_by_slug(self, slug: str) -> Cooperation | None:
        return next((c for c in self.cooperations.values() if c.slug == slug), None)

    def account_by_email(self, email: Any) -> Account | None:
        if not isinstance(email, str):
            return None
        needle = email.lower()
        return next((a for a in self.accounts.values() if a.email.lower() == needle), None)

    def live_users(self, cooperation_id: int | None = None) -> list[User]:
        return [
            u
            for u in self.users.values()
            if not u.deleted and (cooperation_id is None or u.cooperation_id == cooperation_id)
        ]

    def user_of_account(self, account_id: int, cooperation_id: int) -> User | None:
        return next(
            (u for u in self.live_users(cooperation_id) if u.account_id == account_id),
            None,
        )

    def user_by_contact(self, cooperation_id: int, contact_id: Any) -> User | None:
        """`User::byContact($id)->first()`: `extra->contact_id = ?` within the cooperation, lowest id first.

        MySQL compares the unquoted JSON value with the binding: numerically for a number, as text for a string."""
        for user in sorted(self.live_users(cooperation_id), key=lambda u: u.id):
            stored = user.contact_id
            if stored is None:
                continue
            if isinstance(contact_id, bool):
                continue
            if isinstance(contact_id, int | float):
                try:
                    if float(stored) == float(contact_id):
                        return user
                except (TypeError, ValueError):
                    continue
            elif str(stored) == str(contact_id):
                return user
        return None

    def building_of(self, user: User) -> Building | None:
        """`$user->building` (hasOne: the first, non-trashed)."""
        return next(
            (b for b in sorted(self.buildings.values(), key=lambda b: b.id) if b.user_id == user.id and not b.deleted),
            None,
        )

    def current_status(self, building_id: int) -> BuildingStatus | None:
        rows = [s for s in self.building_statuses if s.building_id == building_id]
        return max(rows, key=lambda s: s.id) if rows else None

    def connected_coach_ids(self, building_id: int) -> list[int]:
        """BuildingCoachStatusService::getConnectedCoachesByBuilding: coaches (that still exist) with more
        `added` than `removed` ledger rows, grouped by coach id."""
        balance: dict[int, int] = {}
        for row in self.building_coach_statuses:
            if row.building_id == building_id:
                balance[row.coach_id] = balance.get(row.coach_id, 0) + (1 if row.status == "added" else -1)
        return sorted(
            coach for coach, n in balance.items() if n > 0 and coach in self.users and not self.users[coach].deleted
        )

    def synced_at(self, building_id: int, process: str) -> datetime | None:
        return self.integration_processes.get((building_id, process))

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {
                "cooperations": len(self.cooperations),
                "accounts": len(self.accounts),
                "users": len(self.live_users()),
                "users_deleted": sum(1 for u in self.users.values() if u.deleted),
                "buildings": sum(1 for b in self.buildings.values() if not b.deleted),
                "building_statuses": len(self.building_statuses),
                "building_coach_statuses": len(self.building_coach_statuses),
                "completed_sub_steps": len(self.completed_sub_steps),
                "user_action_plan_advices": len(self.advices),
                "user_action_plan_advice_comments": len(self.advice_comments),
                "file_storages": len(self.files),
                "integration_processes": len(self.integration_processes),
            }
