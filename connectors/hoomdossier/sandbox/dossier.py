"""The writes the inbound API and the scenarios share (a user with account, building and status; a status row),
and the event subscriber that turns their events into queued jobs (EconobisEventSubscriber, §2.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.hoomdossier.sandbox.outbound import Job
from connectors.hoomdossier.sandbox.state import Account, Building, BuildingStatus, Cooperation, State, User
from hub.sandbox.runtime import AMS, SimClock


class ScenarioError(Exception):
    """An admin/scenario call that cannot be carried out (unknown cooperation or contact, bad input)."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


def local_naive(value: datetime) -> datetime:
    """Hoomdossier's clock: naive Europe/Amsterdam (an aware value is converted first)."""
    if value.tzinfo is not None:
        value = value.astimezone(AMS).replace(tzinfo=None)
    return value.replace(microsecond=0)


def iso(value: datetime | None) -> str | None:
    return value.isoformat(sep=" ") if value is not None else None


class Dossier:
    """The tables, the sim clock and the job queue of one installation, with the writes and events every
    caller (API, scenarios, scheduler) goes through. Callers hold `state.lock` around a write."""

    def __init__(self, state: State, clock: SimClock) -> None:
        self.state = state
        self.clock = clock
        self.jobs: list[Job] = []

    # --- lookups --------------------------------------------------------------------------------------------

    def cooperation(self, slug: str) -> Cooperation:
        coop = self.state.cooperation_by_slug(slug)
        if coop is None:
            raise ScenarioError(f"unknown cooperation {slug!r}")
        return coop

    def find_user(
        self, slug: str, contact_id: Any = None, user_id: Any = None, email: str | None = None
    ) -> tuple[Cooperation, User]:
        coop = self.cooperation(slug)
        user: User | None = None
        if user_id is not None:
            found = self.state.users.get(int(user_id))
            user = found if found and not found.deleted and found.cooperation_id == coop.id else None
        elif contact_id is not None:
            user = self.state.user_by_contact(coop.id, contact_id)
        elif email is not None:
            account = self.state.account_by_email(email)
            user = self.state.user_of_account(account.id, coop.id) if account else None
        if user is None:
            raise ScenarioError(f"no user in {slug} with contact_id={contact_id} user_id={user_id} email={email}")
        return coop, user

    def building(self, user: User) -> Building:
        building = self.state.building_of(user)
        if building is None:
            raise ScenarioError(f"user {user.id} has no building", 409)
        return building

    # --- writes ---------------------------------------------------------------------------------------------

    def create_user(
        self,
        coop: Cooperation,
        *,
        email: str,
        first_name: str,
        last_name: str,
        phone_number: str,
        extra: dict[str, Any],
        roles: list[str],
        address: dict[str, Any],
    ) -> User:
        now = self.clock.now()
        st = self.state
        account = st.account_by_email(email)
        if account is None:
            account = Account(st.next_id("accounts"), email, now)
            st.accounts[account.id] = account
        user = st.user_of_account(account.id, coop.id)
        if user is None:
            user = User(
                st.next_id("users"),
                account.id,
                coop.id,
                first_name,
                last_name,
                phone_number,
                extra,
                roles,
                allow_access=False,
                created_at=now,
            )
            st.users[user.id] = user
        building = Building(
            st.next_id("buildings"),
            user.id,
            str(address.get("street") or ""),
            str(address.get("number") or ""),
            str(address.get("extension") or ""),
            str(address.get("postal_code") or ""),
            str(address.get("city") or ""),
            coop.country.lower(),
            now,
        )
        st.buildings[building.id] = building
        self.set_status(building, "active")
        # UserAllowedAccessToHisBuilding → GiveCoachesBuildingPermission
        user.allow_access = True
        return user

    def set_status(self, building: Building, status: str) -> None:
        """BuildingStatusService::setStatus: a new status row that keeps the appointment date, then its event."""
        current = self.state.current_status(building.id)
        self._append_status(building, status, current.appointment_date if current else None)
        self._on_status_updated(building)

    def set_appointment(self, building: Building, appointment_date: datetime | None) -> None:
        """BuildingService::setAppointmentDate: a new status row that keeps the status, then its event."""
        current = self.state.current_status(building.id)
        self._append_status(building, current.status if current else "active", appointment_date)
        self._on_appointment_updated(building)

    def _append_status(self, building: Building, status: str, appointment_date: datetime | None) -> None:
        st = self.state
        row = BuildingStatus(st.next_id("building_statuses"), building.id, status, appointment_date, self.clock.now())
        st.building_statuses.append(row)

    # --- events → jobs (EconobisEventSubscriber) -----------------------------------------------------------

    def dispatch(self, endpoint: str, building_id: int | None, at: datetime | None = None, **extra: Any) -> Job:
        now = at or self.clock.now()
        job = Job(self.state.next_id("jobs"), endpoint, building_id, now, now, **extra)
        self.jobs.append(job)
        return job

    def _user_of(self, building: Building) -> User:
        return self.state.users[building.user_id]

    def _on_appointment_updated(self, building: Building) -> None:
        if self._user_of(building).related_with_econobis() and self.state.connected_coach_ids(building.id):
            self.dispatch("afspraak", building.id)

    def _on_status_updated(self, building: Building) -> None:
        current = self.state.current_status(building.id)
        if (
            current is not None
            and current.status == "executed"
            and self._user_of(building).related_with_econobis()
            and self.state.connected_coach_ids(building.id)
        ):
            self.dispatch("woning-status", building.id)

    def on_first_sub_step(self, building: Building) -> None:
        if self._user_of(building).related_with_econobis():
            self.dispatch("scan-status", building.id)

    def on_reset(self, building: Building) -> None:
        if self._user_of(building).related_with_econobis():
            self.dispatch("scan-status", building.id)
            self.dispatch("gebruik", building.id)

    def mark(self) -> int:
        """The id the next job will get: `queued_since(mark)` then lists what a scenario queued."""
        return self.state.peek_id("jobs")

    def queued_since(self, mark: int) -> list[dict[str, Any]]:
        return [j.describe() for j in self.jobs if j.id >= mark]
