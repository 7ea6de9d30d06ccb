"""The state and behaviour of a sandbox Hoomdossier, callable from Python (tests) and served by `app.py`.

What happens where, as in Hoomdossier (contracts/hoomdossier.md):
- `register` / `link_coach`: the two write endpoints of §1.6/§1.7 after authentication (validation, effects, the
  status rows they write: `active` on register, `in_progress` on a coach link);
- scenario methods (`set_appointment`, `set_status`, `complete_sub_step`, `set_answers`, `set_woonplan`,
  `upload_pdf`, `delete_user`, `revoke_access`, `remove_coach`, `reset_building`) change the tables as the web
  UI would and fire the same events; the event subscriber's gates (§2.3) decide whether a job is queued;
- `run_scheduler` runs the scheduled commands of §2.5 (gebruik daily 01:00; woonplan and pdf-report every
  5 minutes) when the sim clock crossed one of their ticks; `run_due_jobs` runs the jobs that are due;
  `advance` / `set_time` move the clock and replay every tick and every due job in time order, so one big jump
  behaves like the worker and scheduler running all along;
- a job attempt: cooperation without Econobis link → dropped silently (production job middleware); payload
  build error, 4xx, connection error/timeout, non-JSON or scalar answer → logged and dropped (no retry, no sync
  timestamp); 5xx → also dropped by default (see below); success → `integration_processes.synced_at` (not for
  delete).

The default `retry_server_errors=False` reproduces the code as it is in the repository: CallsEconobisApi tests
`$exception instanceof Predis\\Response\\ServerException` (a wrong import), which a Guzzle ServerException never
is, so a 5xx is in reality swallowed like a 4xx and never retried. contracts/hoomdossier.md §2.6 reads the
intent (release 120 s, 3 attempts); `retry_server_errors=True` gives that behaviour."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connectors.hoomdossier.sandbox import outbound
from connectors.hoomdossier.sandbox.lookups import (
    JOB_CLASSES,
    MEASURE_BY_ID,
    MEASURE_CATEGORIES,
    MEASURE_CATEGORY_BY_SHORT,
    QUANTITY_QUESTIONS,
    SCANS,
    STATUS_IDS,
    STATUS_NAMES,
    SUPPORTED_API_SHORTS,
    TOOL_QUESTIONS,
)
from connectors.hoomdossier.sandbox.outbound import Job, PayloadError
from connectors.hoomdossier.sandbox.state import (
    Account,
    Advice,
    AdviceComment,
    Building,
    BuildingCoachStatus,
    BuildingStatus,
    CompletedSubStep,
    Cooperation,
    FileStorage,
    State,
    User,
    php_truthy,
)
from connectors.hoomdossier.sandbox.validation import (
    COACH_KEY,
    RESIDENT_KEY,
    ServerError,
    clean_input,
    data_get,
    prepare_register,
    validate_coach_link,
    validate_register,
)
from hub.sandbox.runtime import AMS, Faults, LaravelThrottle, SimClock

DEFAULT_START = datetime(2026, 11, 1, 12, 0, 0)
TICK = timedelta(minutes=5)
WOONPLAN_WINDOW = timedelta(minutes=30)  # services.econobis.send_woonplan_after_change
PDF_INTERVAL = timedelta(minutes=30)  # services.econobis.interval.<SendPdfReportToEconobis>
GEBRUIK_WINDOW = timedelta(hours=24)
SERVER_ERROR = {"message": "Server Error"}


@dataclass
class CooperationConfig:
    slug: str
    name: str
    country: str = "NL"
    econobis_base_url: str | None = None
    econobis_api_key: str | None = None


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


def _parse_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return local_naive(value)
    try:
        return local_naive(datetime.fromisoformat(str(value).replace("T", " ")))
    except ValueError as exc:
        raise ScenarioError(f"not a date/time: {value!r}", 400) from exc


def _php_int(value: Any) -> int:
    """`(int) $value` for a value that passed the `integer` rule."""
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return int(str(value).strip())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(sep=" ") if value is not None else None


class HoomdossierSandbox:
    """All state of one sandbox Hoomdossier installation (several cooperations, one database)."""

    def __init__(
        self,
        cooperations: list[CooperationConfig],
        tokens: dict[str, list[str]] | None = None,
        coaches: dict[str, list[dict[str, Any]]] | None = None,
        seed: int = 42,
        start: datetime | None = None,
        throttle_per_minute: int = 60,
        domain: str = "hoomdossier.nl",
        outbound_timeout: float = 30.0,
        retry_server_errors: bool = False,
        frozen_clock: bool = False,
    ) -> None:
        # frozen_clock: the sim clock moves only by advance/set (deterministic tests); else it runs on in real time
        self.clock = SimClock(local_naive(start or DEFAULT_START), frozen=frozen_clock)
        self.faults = Faults(seed)
        self.throttle = LaravelThrottle(throttle_per_minute)
        self.rng = random.Random(seed)
        self.domain = domain.lower()
        self.outbound_timeout = outbound_timeout
        self.retry_server_errors = retry_server_errors
        self.state = State()
        self.jobs: list[Job] = []
        self.outbound_log: list[dict[str, Any]] = []
        self.requests_served = 0
        # serialises the scheduler and job runners (worker thread, admin clock, tests)
        self.process_lock = threading.RLock()
        self._last_tick = self.clock.now()
        for coop in cooperations:
            cid = self.state.next_id("cooperations")
            self.state.cooperations[cid] = Cooperation(
                cid, coop.slug, coop.name, coop.country.upper(), coop.econobis_base_url, coop.econobis_api_key
            )
        if tokens is None:
            tokens = {self.default_token(c.slug, i): [f"access:{c.slug}"] for i, c in enumerate(cooperations, start=1)}
        self.tokens: dict[str, list[str]] = dict(tokens)
        for slug, people in (coaches or {}).items():
            for person in people:
                self.create_user(slug, **{"roles": ["coach"], **person})

    # --- tokens ---------------------------------------------------------------------------------------------

    @staticmethod
    def default_token(slug: str, index: int = 1) -> str:
        """The default Sanctum plaintext token of the `index`-th cooperation (1-based, constructor order)."""
        return f"{index}|sandbox-hoom-token-{slug}"

    def token_for(self, slug: str) -> str:
        """The token that was made for `slug` (one with exactly the ability `access:{slug}`, else a `*` one)."""
        for token, abilities in self.tokens.items():
            if abilities == [f"access:{slug}"]:
                return token
        for token, abilities in self.tokens.items():
            if "*" in abilities:
                return token
        raise KeyError(slug)

    def abilities_for(self, authorization: str | None) -> list[str] | None:
        """Sanctum v4: `Bearer <id>|<secret>` looked up by id and compared by hash; without a pipe, by hash."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        plain = authorization[7:].strip()
        if plain in self.tokens:
            return self.tokens[plain]
        if "|" not in plain:
            for token, abilities in self.tokens.items():
                if token.split("|", 1)[-1] == plain:
                    return abilities
        return None

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

    def _building(self, user: User) -> Building:
        building = self.state.building_of(user)
        if building is None:
            raise ScenarioError(f"user {user.id} has no building", 409)
        return building

    # --- writes shared by the API and the admin API ---------------------------------------------------------

    def _create_user(
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
        self._set_status(building, "active")
        # UserAllowedAccessToHisBuilding → GiveCoachesBuildingPermission
        user.allow_access = True
        return user

    def _set_status(self, building: Building, status: str, appointment: Any = "keep") -> None:
        """BuildingStatusService::setStatus (keeps the appointment date) or BuildingService::setAppointmentDate
        (keeps the status); both append a row, then fire their event."""
        st = self.state
        current = st.current_status(building.id)
        if appointment == "keep":
            appointment_date = current.appointment_date if current else None
            event = "status"
        else:
            appointment_date = appointment
            event = "appointment"
        row = BuildingStatus(st.next_id("building_statuses"), building.id, status, appointment_date, self.clock.now())
        st.building_statuses.append(row)
        if event == "status":
            self._on_status_updated(building)
        else:
            self._on_appointment_updated(building)

    # --- events → jobs (EconobisEventSubscriber) -----------------------------------------------------------

    def _dispatch(self, endpoint: str, building_id: int | None, at: datetime | None = None, **extra: Any) -> Job:
        now = at or self.clock.now()
        job = Job(self.state.next_id("jobs"), endpoint, building_id, now, now, **extra)
        self.jobs.append(job)
        return job

    def _user_of(self, building: Building) -> User:
        return self.state.users[building.user_id]

    def _on_appointment_updated(self, building: Building) -> None:
        if self._user_of(building).related_with_econobis() and self.state.connected_coach_ids(building.id):
            self._dispatch("afspraak", building.id)

    def _on_status_updated(self, building: Building) -> None:
        current = self.state.current_status(building.id)
        if (
            current is not None
            and current.status == "executed"
            and self._user_of(building).related_with_econobis()
            and self.state.connected_coach_ids(building.id)
        ):
            self._dispatch("woning-status", building.id)

    def _on_first_sub_step(self, building: Building) -> None:
        if self._user_of(building).related_with_econobis():
            self._dispatch("scan-status", building.id)

    def _on_reset(self, building: Building) -> None:
        if self._user_of(building).related_with_econobis():
            self._dispatch("scan-status", building.id)
            self._dispatch("gebruik", building.id)

    def _queued_since(self, mark: int) -> list[dict[str, Any]]:
        return [j.describe() for j in self.jobs if j.id >= mark]

    def _mark(self) -> int:
        return self.state.peek_id("jobs")

    # --- inbound API (after authentication) ----------------------------------------------------------------

    def register(self, slug: str, data: dict[str, Any]) -> tuple[int, Any]:
        """POST /api/v1/register for cooperation `slug`: (status, body)."""
        with self.state.lock:
            coop = self.state.cooperation_by_slug(slug)
            if coop is None:
                return 404, {"message": "No query results for model [App\\Models\\Cooperation]."}
            try:
                cleaned = prepare_register(clean_input(data))
                errors = validate_register(self.state, coop, cleaned)
            except ServerError:
                return 500, SERVER_ERROR
            if errors:
                return 422, errors
            extra = dict(cleaned["extra"]) if isinstance(cleaned.get("extra"), dict) else {}
            if extra.get("contact_id") is not None:
                extra["contact_id"] = _php_int(extra["contact_id"])  # "Force as INT"
            raw_roles = cleaned.get("roles")
            if raw_roles is None:
                roles = ["resident"]
            else:
                roles = list(dict.fromkeys(raw_roles.values() if isinstance(raw_roles, dict) else raw_roles))
            user = self._create_user(
                coop,
                email=cleaned["email"],
                first_name=cleaned["first_name"],
                last_name=cleaned["last_name"],
                phone_number=cleaned.get("phone_number") or "",
                extra=extra,
                roles=[str(r) for r in roles],
                address={
                    "postal_code": cleaned["postal_code"],
                    "number": cleaned["number"],
                    "extension": cleaned.get("house_number_extension") or "",
                    "street": cleaned["street"],
                    "city": cleaned["city"],
                },
            )
            answers = cleaned.get("tool_questions")
            if isinstance(answers, dict) and {"resident", "coach"} & set(user.roles):
                building = self._building(user)
                stored = self.state.tool_answers.setdefault(building.id, {})
                for short, value in answers.items():
                    if short in SUPPORTED_API_SHORTS and value is not None:
                        stored[short] = TOOL_QUESTIONS[short].cast(value)
            return 201, {"account_id": user.account_id, "user_id": user.id}

    def link_coach(self, slug: str, data: dict[str, Any]) -> tuple[int, Any]:
        """POST /api/v1/building-coach-status for cooperation `slug`: (status, body)."""
        with self.state.lock:
            coop = self.state.cooperation_by_slug(slug)
            if coop is None:
                return 404, {"message": "No query results for model [App\\Models\\Cooperation]."}
            cleaned = clean_input(data)
            errors = validate_coach_link(self.state, coop, cleaned)
            if errors:
                return 422, errors
            coach = self.state.user_by_contact(coop.id, data_get(cleaned, COACH_KEY)[1])
            resident = self.state.user_by_contact(coop.id, data_get(cleaned, RESIDENT_KEY)[1])
            assert coach is not None and resident is not None
            building = self.state.building_of(resident)
            if building is None:
                return 500, SERVER_ERROR
            st = self.state
            st.building_permissions.add((coach.id, building.id))
            st.building_coach_statuses.append(
                BuildingCoachStatus(
                    st.next_id("building_coach_statuses"), coach.id, building.id, "added", self.clock.now()
                )
            )
            self._set_status(building, "in_progress")
            return 200, []

    # --- scenarios (what coaches, residents and admins do in the web UI) -----------------------------------

    def create_user(
        self,
        slug: str,
        email: str,
        first_name: str = "Sandbox",
        last_name: str = "Gebruiker",
        roles: list[str] | None = None,
        contact_id: int | None = None,
        phone_number: str = "",
        street: str = "Sandboxstraat",
        number: str | int = 1,
        extension: str = "",
        postal_code: str = "1234 AB",
        city: str = "Sandbox",
        allow_access: bool = True,
    ) -> dict[str, Any]:
        """Create a user directly (as an admin would; e.g. a coach), with account, building and status active."""
        with self.state.lock:
            coop = self.cooperation(slug)
            account = self.state.account_by_email(email)
            if account is not None and self.state.user_of_account(account.id, coop.id) is not None:
                raise ScenarioError(f"{email} already has a user in {slug}", 409)
            if contact_id is not None and self.state.user_by_contact(coop.id, contact_id) is not None:
                raise ScenarioError(f"contact id {contact_id} already used in {slug}", 409)
            user = self._create_user(
                coop,
                email=email,
                first_name=first_name,
                last_name=last_name,
                phone_number=phone_number,
                extra={"contact_id": int(contact_id)} if contact_id is not None else {},
                roles=list(roles or ["resident"]),
                address={
                    "street": street,
                    "number": number,
                    "extension": extension,
                    "postal_code": postal_code,
                    "city": city,
                },
            )
            user.allow_access = allow_access
            return self.describe_user(slug, user_id=user.id)

    def set_appointment(self, slug: str, contact_id: Any, appointment_date: Any) -> list[dict[str, Any]]:
        """A coach sets (or clears, with None) the appointment date: a new status row, same status."""
        with self.state.lock:
            _, user = self.find_user(slug, contact_id)
            building = self._building(user)
            mark = self._mark()
            current = self.state.current_status(building.id)
            self._set_status(building, current.status if current else "active", _parse_datetime(appointment_date))
            return self._queued_since(mark)

    def set_status(self, slug: str, contact_id: Any, status: str) -> list[dict[str, Any]]:
        with self.state.lock:
            if status not in STATUS_IDS:
                raise ScenarioError(f"unknown status {status!r}; one of {sorted(STATUS_IDS)}", 400)
            _, user = self.find_user(slug, contact_id)
            building = self._building(user)
            mark = self._mark()
            self._set_status(building, status)
            return self._queued_since(mark)

    def complete_sub_step(
        self, slug: str, contact_id: Any, scan: str, sub_step: str | None = None
    ) -> list[dict[str, Any]]:
        """A sub-step of `scan` is completed (master input source). The first one of a scan fires
        BuildingCompletedHisFirstSubStep; completing an already completed sub-step changes nothing."""
        with self.state.lock:
            if scan not in SCANS:
                raise ScenarioError(f"unknown scan {scan!r}; one of {sorted(SCANS)}", 400)
            _, user = self.find_user(slug, contact_id)
            building = self._building(user)
            st = self.state
            done = [c for c in st.completed_sub_steps if c.building_id == building.id and c.scan == scan]
            sub_step = sub_step or f"{scan}-sub-step-{len(done) + 1}"
            mark = self._mark()
            if any(c.sub_step == sub_step for c in done):
                return []
            st.completed_sub_steps.append(
                CompletedSubStep(
                    st.next_id("completed_sub_steps"), building.id, scan, sub_step, "master", self.clock.now()
                )
            )
            if not done:
                self._on_first_sub_step(building)
            user.tool_last_changed_at = self.clock.now()
            return self._queued_since(mark)

    def set_answers(self, slug: str, contact_id: Any, answers: dict[str, Any]) -> list[dict[str, Any]]:
        """Answers in the tool (master source); None removes an answer. Sets tool_last_changed_at. No event:
        answers reach Econobis through the nightly gebruik command or with the next woonplan."""
        with self.state.lock:
            unknown = sorted(set(answers) - set(TOOL_QUESTIONS))
            if unknown:
                raise ScenarioError(f"unknown tool questions {unknown}; known: {sorted(TOOL_QUESTIONS)}", 400)
            _, user = self.find_user(slug, contact_id)
            building = self._building(user)
            stored = self.state.tool_answers.setdefault(building.id, {})
            for short, value in answers.items():
                if value is None:
                    stored.pop(short, None)
                else:
                    stored[short] = value
            user.tool_last_changed_at = self.clock.now()
            return []

    def set_woonplan(
        self,
        slug: str,
        contact_id: Any,
        advices: list[dict[str, Any]],
        comments: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Replace the user's action plan (master advices) as a recalculation would; `surface`/`count` become the
        related tool question's answer, `execute_self` the execute-how answer. No event: the woonplan command
        picks it up (§2.5)."""
        with self.state.lock:
            _, user = self.find_user(slug, contact_id)
            building = self._building(user)
            now = self.clock.now()
            st = self.state
            rows: list[Advice] = []
            answers = st.tool_answers.setdefault(building.id, {})
            execute_how = st.execute_how.setdefault(building.id, {})
            for spec in advices:
                rows.append(self._advice(user, spec, now, answers, execute_how))
            for advice_id in [a.id for a in st.advices.values() if a.user_id == user.id]:
                del st.advices[advice_id]
            for row in rows:
                st.advices[row.id] = row
            for source, text in (comments or {}).items():
                if source not in ("resident", "coach"):
                    raise ScenarioError(f"comment source must be resident or coach, not {source!r}", 400)
                st.advice_comments.append(
                    AdviceComment(st.next_id("user_action_plan_advice_comments"), user.id, source, str(text), now)
                )
            user.tool_last_changed_at = now
            return []

    def _advice(
        self,
        user: User,
        spec: dict[str, Any],
        now: datetime,
        answers: dict[str, Any],
        execute_how: dict[str, str],
    ) -> Advice:
        kind = spec.get("measure_type", "measure")
        if kind not in ("measure", "cooperation", "custom"):
            raise ScenarioError(f"measure_type must be measure, cooperation or custom, not {kind!r}", 400)
        try:
            measure_id = int(spec["measure_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ScenarioError("every advice needs an integer measure_id", 400) from exc
        short: str | None = None
        category: dict[str, Any] | None = None
        if kind == "measure":
            if measure_id not in MEASURE_BY_ID:
                raise ScenarioError(f"no measure application {measure_id} (1..{len(MEASURE_BY_ID)})", 400)
            short, default_name = MEASURE_BY_ID[measure_id]
        else:
            default_name = f"Eigen maatregel {measure_id}"
            raw = spec.get("measure_category")
            if isinstance(raw, dict):
                category = {"id": raw.get("id"), "short": raw.get("short"), "name": raw.get("name")}
            elif isinstance(raw, str):
                if raw not in MEASURE_CATEGORY_BY_SHORT:
                    known = [c["short"] for c in MEASURE_CATEGORIES]
                    raise ScenarioError(f"unknown measure category {raw!r}; one of {known}", 400)
                category = dict(MEASURE_CATEGORY_BY_SHORT[raw])
        if short in QUANTITY_QUESTIONS:
            question, quantity = QUANTITY_QUESTIONS[short]
            if question is not None and quantity in spec:
                answers[question] = spec[quantity]
            if "execute_self" in spec:
                execute_how[short] = "do-self" if spec["execute_self"] else "let-do"
        try:
            savings_gas = outbound.decimal_string(spec.get("savings_gas"))
            savings_electricity = outbound.decimal_string(spec.get("savings_electricity"))
        except ValueError as exc:
            raise ScenarioError(str(exc), 400) from exc
        return Advice(
            self.state.next_id("user_action_plan_advices"),
            user.id,
            kind,
            measure_id,
            str(spec.get("name") or default_name),
            str(spec.get("category", "to-do")),
            bool(spec.get("visible", True)),
            savings_gas,
            savings_electricity,
            short,
            category,
            now,
        )

    def upload_pdf(
        self, slug: str, contact_id: Any, contents: bytes | None = None, missing_on_disk: bool = False
    ) -> list[dict[str, Any]]:
        """A coach (re)generates the pdf-report: the coach-source file of the building, updated_at = now."""
        with self.state.lock:
            _, user = self.find_user(slug, contact_id)
            building = self._building(user)
            st = self.state
            now = self.clock.now()
            data = contents if contents is not None else f"%PDF-1.4\n% sandbox woonplan {building.id}\n%%EOF\n".encode()
            existing = next(
                (f for f in st.files.values() if f.building_id == building.id and f.input_source == "coach"), None
            )
            if existing is None:
                existing = FileStorage(st.next_id("file_storages"), building.id, "coach", data, missing_on_disk, now)
                st.files[existing.id] = existing
            else:
                existing.contents, existing.missing_on_disk, existing.updated_at = data, missing_on_disk, now
            return []

    def delete_user(self, slug: str, contact_id: Any = None, user_id: Any = None) -> list[dict[str, Any]]:
        """UserService::deleteUser: envelope computed first, then building (soft), advices, answers, user gone;
        UserDeleted → a delete job whenever the account id is present (contact id not required)."""
        with self.state.lock:
            coop, user = self.find_user(slug, contact_id, user_id)
            building = self._building(user)
            st = self.state
            envelope = outbound.account_related(st, building)
            coop_array = coop.to_array()
            building.deleted = True
            st.completed_sub_steps = [c for c in st.completed_sub_steps if c.building_id != building.id]
            for advice_id in [a.id for a in st.advices.values() if a.user_id == user.id]:
                del st.advices[advice_id]
            st.tool_answers.pop(building.id, None)
            st.execute_how.pop(building.id, None)
            user.roles = []
            user.deleted = True
            mark = self._mark()
            if php_truthy(envelope["account_id"]):
                self._dispatch("delete", building.id, account_related=envelope, cooperation=coop_array)
            return self._queued_since(mark)

    def revoke_access(self, slug: str, contact_id: Any) -> list[dict[str, Any]]:
        """The resident withdraws consent: allow_access false, every connected coach gets a `removed` row."""
        with self.state.lock:
            _, user = self.find_user(slug, contact_id)
            building = self._building(user)
            st = self.state
            user.allow_access = False
            for coach_id in st.connected_coach_ids(building.id):
                st.building_coach_statuses.append(
                    BuildingCoachStatus(
                        st.next_id("building_coach_statuses"), coach_id, building.id, "removed", self.clock.now()
                    )
                )
            st.building_permissions = {p for p in st.building_permissions if p[1] != building.id}
            return []

    def remove_coach(self, slug: str, coach_contact_id: Any, resident_contact_id: Any) -> list[dict[str, Any]]:
        with self.state.lock:
            _, coach = self.find_user(slug, coach_contact_id)
            _, resident = self.find_user(slug, resident_contact_id)
            building = self._building(resident)
            st = self.state
            if coach.id not in st.connected_coach_ids(building.id):
                raise ScenarioError("that coach is not connected to the resident's building", 409)
            st.building_coach_statuses.append(
                BuildingCoachStatus(
                    st.next_id("building_coach_statuses"), coach.id, building.id, "removed", self.clock.now()
                )
            )
            st.building_permissions.discard((coach.id, building.id))
            return []

    def reset_building(self, slug: str, contact_id: Any) -> list[dict[str, Any]]:
        """The resident resets the dossier: answers, progress and advices go; UserResetHisBuilding → scan-status
        and gebruik."""
        with self.state.lock:
            _, user = self.find_user(slug, contact_id)
            building = self._building(user)
            st = self.state
            st.tool_answers.pop(building.id, None)
            st.execute_how.pop(building.id, None)
            st.completed_sub_steps = [c for c in st.completed_sub_steps if c.building_id != building.id]
            for advice_id in [a.id for a in st.advices.values() if a.user_id == user.id]:
                del st.advices[advice_id]
            mark = self._mark()
            self._on_reset(building)
            return self._queued_since(mark)

    def set_cooperation(self, slug: str, **settings: Any) -> dict[str, Any]:
        """Change a cooperation's Econobis link (`econobis_base_url`, `econobis_api_key`) or enabled `scans`."""
        with self.state.lock:
            coop = self.cooperation(slug)
            for key in ("econobis_base_url", "econobis_api_key", "name"):
                if key in settings:
                    setattr(coop, key, settings[key])
            if "country" in settings:
                coop.country = str(settings["country"]).upper()
            if "scans" in settings:
                unknown = [s for s in settings["scans"] if s not in SCANS]
                if unknown:
                    raise ScenarioError(f"unknown scans {unknown}", 400)
                coop.scans = list(settings["scans"])
            return self.describe_cooperation(coop)

    # --- reading ---------------------------------------------------------------------------------------------

    def describe_cooperation(self, coop: Cooperation) -> dict[str, Any]:
        return {
            **coop.to_array(),
            "scans": list(coop.scans),
            "tokens": [
                t for t, abilities in self.tokens.items() if f"access:{coop.slug}" in abilities or "*" in abilities
            ],
        }

    def describe_user(
        self, slug: str, contact_id: Any = None, user_id: Any = None, email: str | None = None
    ) -> dict[str, Any]:
        with self.state.lock:
            _, user = self.find_user(slug, contact_id, user_id, email)
            st = self.state
            account = st.accounts[user.account_id]
            building = st.building_of(user)
            status = st.current_status(building.id) if building else None
            coaches = []
            for coach_id in st.connected_coach_ids(building.id) if building else []:
                coach = st.users[coach_id]
                coaches.append({"user_id": coach.id, "contact_id": coach.contact_id, "account_id": coach.account_id})
            return {
                "user": {
                    "id": user.id,
                    "account_id": user.account_id,
                    "cooperation_id": user.cooperation_id,
                    "first_name": user.first_name,
                    "last_name": user.last_name,
                    "phone_number": user.phone_number,
                    "extra": dict(user.extra),
                    "roles": list(user.roles),
                    "allow_access": user.allow_access,
                    "tool_last_changed_at": _iso(user.tool_last_changed_at),
                },
                "account": {"id": account.id, "email": account.email},
                "building": None
                if building is None
                else {
                    "id": building.id,
                    "street": building.street,
                    "number": building.number,
                    "extension": building.extension,
                    "postal_code": building.postal_code,
                    "city": building.city,
                    "country_code": building.country_code,
                },
                "status": None
                if status is None
                else {
                    "id": STATUS_IDS[status.status],
                    "short": status.status,
                    "name": STATUS_NAMES[status.status],
                    "appointment_date": outbound.fmt_datetime(status.appointment_date),
                },
                "connected_coaches": coaches,
                "advices": [
                    {
                        "id": a.id,
                        "measure_type": a.advisable_type,
                        "measure_id": a.advisable_id,
                        "name": a.name,
                        "category": a.category,
                        "visible": a.visible,
                        "savings_gas": a.savings_gas,
                        "savings_electricity": a.savings_electricity,
                        "updated_at": _iso(a.updated_at),
                    }
                    for a in sorted(st.advices.values(), key=lambda a: a.id)
                    if a.user_id == user.id
                ],
                "answers": dict(st.tool_answers.get(building.id, {})) if building else {},
                "synced_at": {
                    endpoint: _iso(st.synced_at(building.id, process))
                    for endpoint, process in JOB_CLASSES.items()
                    if building and st.synced_at(building.id, process)
                },
            }

    def queued_jobs(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [j.describe() for j in sorted(self.jobs, key=lambda j: (j.available_at, j.id))]

    # --- scheduler --------------------------------------------------------------------------------------------

    @staticmethod
    def _next_tick(after: datetime) -> datetime:
        base = after.replace(second=0, microsecond=0)
        return base - timedelta(minutes=base.minute % 5) + TICK

    def _run_commands(self, commands: list[str], now: datetime) -> list[Job]:
        """routes/console.php order: gebruik (daily 01:00), woonplan, pdf-report (every five minutes)."""
        jobs: list[Job] = []
        with self.state.lock:
            if "gebruik" in commands:
                jobs += self._command_gebruik(now)
            if "woonplan" in commands:
                jobs += self._command_woonplan(now)
            if "pdf" in commands:
                jobs += self._command_pdf(now)
        return jobs

    def _command_gebruik(self, now: datetime) -> list[Job]:
        jobs = []
        for user in sorted(self.state.live_users(), key=lambda u: u.id):
            changed = user.tool_last_changed_at
            if changed is None or changed < now - GEBRUIK_WINDOW:
                continue
            building = self.state.building_of(user)
            if user.related_with_econobis() and user.allow_access and building is not None:
                jobs.append(self._dispatch("gebruik", building.id, now))
        return jobs

    def _command_woonplan(self, now: datetime) -> list[Job]:
        st = self.state
        since = now - WOONPLAN_WINDOW
        jobs = []
        recent = {a.user_id for a in st.advices.values() if a.updated_at >= since}
        for user in sorted(st.live_users(), key=lambda u: u.id):
            building = st.building_of(user)
            if user.id not in recent or building is None or not user.allow_access:
                continue
            if not user.related_with_econobis():
                continue
            last = st.synced_at(building.id, JOB_CLASSES["woonplan"])
            if last is None or since > last:
                jobs.append(self._dispatch("gebruik", building.id, now))
                jobs.append(self._dispatch("woonplan", building.id, now))
        return jobs

    def _command_pdf(self, now: datetime) -> list[Job]:
        st = self.state
        jobs = []
        for file in sorted(st.files.values(), key=lambda f: f.id):
            if file.input_source != "coach" or file.updated_at > now - PDF_INTERVAL:
                continue
            building = st.buildings.get(file.building_id)  # a raw join: trashed buildings included
            user = st.users.get(building.user_id) if building else None
            if building is None or user is None or user.deleted:
                continue
            if not user.related_with_econobis() or not user.allow_access:
                continue
            last = st.synced_at(building.id, JOB_CLASSES["pdf"])
            if last is None or file.updated_at > last:
                jobs.append(self._dispatch("pdf", building.id, now))
        return jobs

    def run_scheduler(self) -> list[dict[str, Any]]:
        """`schedule:run` at the current sim time: every command with a tick since the last check runs once,
        now. (A jump over many ticks is collapsed into one run; use `advance` to replay them one by one.)"""
        with self.process_lock:
            now = self.clock.now()
            commands: list[str] = []
            tick = self._next_tick(self._last_tick)
            while tick <= now:
                if tick.hour == 1 and tick.minute == 0 and "gebruik" not in commands:
                    commands.append("gebruik")
                commands += [c for c in ("woonplan", "pdf") if c not in commands]
                tick += TICK
            self._last_tick = max(self._last_tick, now) if commands else self._last_tick
            if not commands:
                return []
            return [j.describe() for j in self._run_commands(commands, now)]

    # --- jobs -------------------------------------------------------------------------------------------------

    def run_due_jobs(self) -> list[dict[str, Any]]:
        """Run every queued job whose time has come on the sim clock; returns the attempt records."""
        with self.process_lock:
            return self._process_due(self.clock.now())

    def advance(self, seconds: float) -> list[dict[str, Any]]:
        """Move the sim clock forward and replay the scheduler ticks and due jobs of the skipped time in order."""
        with self.process_lock:
            self.clock.advance(seconds)
            return self._replay(self.clock.now())

    def set_time(self, when: datetime) -> list[dict[str, Any]]:
        """Set the sim clock (forward: replayed like `advance`; backward: nothing runs until time catches up)."""
        with self.process_lock:
            self.clock.set(local_naive(when))
            return self._replay(self.clock.now())

    def _replay(self, target: datetime) -> list[dict[str, Any]]:
        attempts: list[dict[str, Any]] = []
        while True:
            tick = self._next_tick(self._last_tick)
            with self.state.lock:
                due = min((j.available_at for j in self.jobs), default=None)
            if due is not None and due <= target and due <= tick:
                attempts += self._process_due(due)
                continue
            if tick > target:
                break
            commands = (["gebruik"] if tick.hour == 1 and tick.minute == 0 else []) + ["woonplan", "pdf"]
            self._run_commands(commands, tick)
            self._last_tick = tick
        attempts += self._process_due(target)
        self._last_tick = max(self._last_tick, target)
        return attempts

    def _process_due(self, now: datetime) -> list[dict[str, Any]]:
        attempts: list[dict[str, Any]] = []
        while True:
            with self.state.lock:
                due = sorted((j for j in self.jobs if j.available_at <= now), key=lambda j: (j.available_at, j.id))
            if not due:
                return attempts
            attempts.append(self._attempt(due[0], now))

    def _finish(self, job: Job) -> None:
        if job in self.jobs:
            self.jobs.remove(job)

    def _attempt(self, job: Job, now: datetime) -> dict[str, Any]:
        st = self.state
        with st.lock:
            job.attempts += 1
            record: dict[str, Any] = {
                "job_id": job.id,
                "endpoint": job.endpoint,
                "process": JOB_CLASSES[job.endpoint],
                "attempt": job.attempts,
                "at": _iso(now),
                "url": None,
                "building_id": job.building_id,
                "user_id": None,
                "account_id": None,
                "contact_id": None,
                "status": None,
                "exception": None,
                "outcome": "",
                "reason": "",
                "body": None,
                "response": None,
            }
            building = st.buildings.get(job.building_id) if job.building_id is not None else None
            if job.endpoint == "delete":
                coop_array = dict(job.cooperation or {})
                envelope = job.account_related or {}
                record.update({k: envelope.get(k) for k in ("user_id", "account_id", "contact_id")})
            else:
                user = st.users.get(building.user_id) if building else None
                if building is None:
                    return self._log(job, record, "failed", "Illuminate\\Database\\Eloquent\\ModelNotFoundException")
                if user is None or user.deleted:
                    # job middleware reads $this->building->user->cooperation: an error outside wrapCall, so
                    # Laravel retries it right away until `tries` is used up
                    reason = 'ErrorException: Attempt to read property "cooperation" on null'
                    if job.attempts < outbound.TRIES:
                        return self._log(job, record, "released", reason, retry_at=now)
                    return self._log(job, record, "failed", reason)
                record.update({"user_id": user.id, "account_id": user.account_id, "contact_id": user.contact_id})
                coop_array = st.cooperations[user.cooperation_id].to_array()
            base, key = coop_array.get("econobis_base_url"), coop_array.get("econobis_api_key")
            if not base or not key:
                return self._log(
                    job, record, "dropped", "cooperation has no Econobis link (EnsureCooperationHasEconobisLink)"
                )
            try:
                body = outbound.build_payload(st, job, building)
            except PayloadError as exc:
                return self._log(job, record, "dropped", str(exc))
            record["body"] = body
            record["url"] = f"{str(base).rstrip('/')}/api/{key}/hoomdossier/{job.endpoint}"
        timeout = outbound.PDF_TIMEOUT if job.endpoint == "pdf" else self.outbound_timeout
        result = outbound.post(record["url"], body, timeout)
        with st.lock:
            record.update({"status": result.status, "exception": result.exception, "response": result.text})
            if result.json_ok:
                if job.endpoint != "delete" and job.building_id is not None:
                    st.integration_processes[(job.building_id, JOB_CLASSES[job.endpoint])] = now
                return self._log(job, record, "delivered", "")
            if result.exception == "GuzzleHttp\\Exception\\ServerException" and self.retry_server_errors:
                if job.attempts < outbound.TRIES:
                    return self._log(
                        job,
                        record,
                        "released",
                        f"HTTP {result.status}: release(120)",
                        retry_at=now + timedelta(seconds=outbound.RELEASE_SECONDS),
                    )
                return self._log(
                    job, record, "failed", f"HTTP {result.status}: MaxAttemptsExceeded after {job.attempts}"
                )
            detail = f"HTTP {result.status}" if result.status is not None else result.text
            return self._log(job, record, "dropped", f"{result.exception}: {detail} (logged, not retried)")

    def _log(
        self, job: Job, record: dict[str, Any], outcome: str, reason: str, retry_at: datetime | None = None
    ) -> dict[str, Any]:
        record["outcome"], record["reason"] = outcome, reason
        job.history.append(outcome)
        if retry_at is not None:
            job.available_at = retry_at
        else:
            self._finish(job)
        self.outbound_log.append(record)
        return record
