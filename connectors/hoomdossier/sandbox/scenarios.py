"""The scenario and admin operations: what coaches, residents and admins do in Hoomdossier's web UI, changing
the tables as the UI would and firing the same events, so the subscriber's gates decide what is queued."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.hoomdossier.sandbox import outbound
from connectors.hoomdossier.sandbox.describe import describe_cooperation, describe_user
from connectors.hoomdossier.sandbox.dossier import Dossier, ScenarioError, local_naive
from connectors.hoomdossier.sandbox.lookups import (
    MEASURE_BY_ID,
    MEASURE_CATEGORIES,
    MEASURE_CATEGORY_BY_SHORT,
    QUANTITY_QUESTIONS,
    SCANS,
    STATUS_IDS,
    TOOL_QUESTIONS,
)
from connectors.hoomdossier.sandbox.state import (
    Advice,
    AdviceComment,
    BuildingCoachStatus,
    CompletedSubStep,
    FileStorage,
    User,
)
from hub.sandbox.php import php_truthy


def parse_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return local_naive(value)
    try:
        return local_naive(datetime.fromisoformat(str(value).replace("T", " ")))
    except ValueError as exc:
        raise ScenarioError(f"not a date/time: {value!r}", 400) from exc


class Scenarios:
    """Each operation returns the jobs it queued (`Job.describe()`), or the described row for the admin calls."""

    def __init__(self, dossier: Dossier, tokens: dict[str, list[str]]) -> None:
        self.dossier = dossier
        self.state = dossier.state
        self.clock = dossier.clock
        self.tokens = tokens

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
            coop = self.dossier.cooperation(slug)
            account = self.state.account_by_email(email)
            if account is not None and self.state.user_of_account(account.id, coop.id) is not None:
                raise ScenarioError(f"{email} already has a user in {slug}", 409)
            if contact_id is not None and self.state.user_by_contact(coop.id, contact_id) is not None:
                raise ScenarioError(f"contact id {contact_id} already used in {slug}", 409)
            user = self.dossier.create_user(
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
            return describe_user(self.dossier, slug, user_id=user.id)

    def set_appointment(self, slug: str, contact_id: Any, appointment_date: Any) -> list[dict[str, Any]]:
        """A coach sets (or clears, with None) the appointment date: a new status row, same status."""
        with self.state.lock:
            _, user = self.dossier.find_user(slug, contact_id)
            building = self.dossier.building(user)
            mark = self.dossier.mark()
            self.dossier.set_appointment(building, parse_datetime(appointment_date))
            return self.dossier.queued_since(mark)

    def set_status(self, slug: str, contact_id: Any, status: str) -> list[dict[str, Any]]:
        with self.state.lock:
            if status not in STATUS_IDS:
                raise ScenarioError(f"unknown status {status!r}; one of {sorted(STATUS_IDS)}", 400)
            _, user = self.dossier.find_user(slug, contact_id)
            building = self.dossier.building(user)
            mark = self.dossier.mark()
            self.dossier.set_status(building, status)
            return self.dossier.queued_since(mark)

    def complete_sub_step(
        self, slug: str, contact_id: Any, scan: str, sub_step: str | None = None
    ) -> list[dict[str, Any]]:
        """A sub-step of `scan` is completed (master input source). The first one of a scan fires
        BuildingCompletedHisFirstSubStep; completing an already completed sub-step changes nothing."""
        with self.state.lock:
            if scan not in SCANS:
                raise ScenarioError(f"unknown scan {scan!r}; one of {sorted(SCANS)}", 400)
            _, user = self.dossier.find_user(slug, contact_id)
            building = self.dossier.building(user)
            st = self.state
            done = [c for c in st.completed_sub_steps if c.building_id == building.id and c.scan == scan]
            sub_step = sub_step or f"{scan}-sub-step-{len(done) + 1}"
            mark = self.dossier.mark()
            if any(c.sub_step == sub_step for c in done):
                return []
            st.completed_sub_steps.append(
                CompletedSubStep(
                    st.next_id("completed_sub_steps"), building.id, scan, sub_step, "master", self.clock.now()
                )
            )
            if not done:
                self.dossier.on_first_sub_step(building)
            user.tool_last_changed_at = self.clock.now()
            return self.dossier.queued_since(mark)

    def set_answers(self, slug: str, contact_id: Any, answers: dict[str, Any]) -> list[dict[str, Any]]:
        """Answers in the tool (master source); None removes an answer. Sets tool_last_changed_at. No event:
        answers reach Econobis through the nightly gebruik command or with the next woonplan."""
        with self.state.lock:
            unknown = sorted(set(answers) - set(TOOL_QUESTIONS))
            if unknown:
                raise ScenarioError(f"unknown tool questions {unknown}; known: {sorted(TOOL_QUESTIONS)}", 400)
            _, user = self.dossier.find_user(slug, contact_id)
            building = self.dossier.building(user)
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
            _, user = self.dossier.find_user(slug, contact_id)
            building = self.dossier.building(user)
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
            _, user = self.dossier.find_user(slug, contact_id)
            building = self.dossier.building(user)
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
            coop, user = self.dossier.find_user(slug, contact_id, user_id)
            building = self.dossier.building(user)
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
            mark = self.dossier.mark()
            if php_truthy(envelope["account_id"]):
                self.dossier.dispatch("delete", building.id, account_related=envelope, cooperation=coop_array)
            return self.dossier.queued_since(mark)

    def revoke_access(self, slug: str, contact_id: Any) -> list[dict[str, Any]]:
        """The resident withdraws consent: allow_access false, every connected coach gets a `removed` row."""
        with self.state.lock:
            _, user = self.dossier.find_user(slug, contact_id)
            building = self.dossier.building(user)
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

    def allow_access(self, slug: str, contact_id: Any) -> list[dict[str, Any]]:
        """The resident allows access again (the privacy setting in Hoomdossier): allow_access true; coaches
        removed by the withdrawal stay removed (a coordinator links them again). No message to Econobis: the
        scheduled ones (gebruik, woonplan, pdf) resume with the next change."""
        with self.state.lock:
            _, user = self.dossier.find_user(slug, contact_id)
            user.allow_access = True
            return []

    def remove_coach(self, slug: str, coach_contact_id: Any, resident_contact_id: Any) -> list[dict[str, Any]]:
        with self.state.lock:
            _, coach = self.dossier.find_user(slug, coach_contact_id)
            _, resident = self.dossier.find_user(slug, resident_contact_id)
            building = self.dossier.building(resident)
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
            _, user = self.dossier.find_user(slug, contact_id)
            building = self.dossier.building(user)
            st = self.state
            st.tool_answers.pop(building.id, None)
            st.execute_how.pop(building.id, None)
            st.completed_sub_steps = [c for c in st.completed_sub_steps if c.building_id != building.id]
            for advice_id in [a.id for a in st.advices.values() if a.user_id == user.id]:
                del st.advices[advice_id]
            mark = self.dossier.mark()
            self.dossier.on_reset(building)
            return self.dossier.queued_since(mark)

    def set_cooperation(self, slug: str, **settings: Any) -> dict[str, Any]:
        """Change a cooperation's Econobis link (`econobis_base_url`, `econobis_api_key`) or enabled `scans`."""
        with self.state.lock:
            coop = self.dossier.cooperation(slug)
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
            return describe_cooperation(coop, self.tokens)
