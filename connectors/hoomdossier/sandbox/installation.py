"""`HoomdossierSandbox`: one sandbox Hoomdossier installation (several cooperations, one database), composed of
the inbound API, the scenarios, the scheduler and the job runner; callable from Python and served by app.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.hoomdossier.sandbox.api import InboundApi, default_token
from connectors.hoomdossier.sandbox.describe import describe_cooperation, describe_user, queued_jobs
from connectors.hoomdossier.sandbox.dossier import Dossier, local_naive
from connectors.hoomdossier.sandbox.jobs import JobRunner
from connectors.hoomdossier.sandbox.scenarios import Scenarios
from connectors.hoomdossier.sandbox.scheduler import Scheduler
from connectors.hoomdossier.sandbox.state import Cooperation, State, User
from hub.sandbox.runtime import Faults, LaravelThrottle, SimClock

DEFAULT_START = datetime(2026, 11, 1, 12, 0, 0)


@dataclass
class CooperationConfig:
    slug: str
    name: str
    country: str = "NL"
    econobis_base_url: str | None = None
    econobis_api_key: str | None = None


class HoomdossierSandbox:
    """The facade tests, the admin API and the worker use: its methods are those of the collaborators
    (`api`, `scenarios`, `scheduler`, `runner`), which share one `Dossier` (tables, clock, job queue)."""

    default_token = staticmethod(default_token)

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
        self.domain = domain.lower()
        self.state = State()
        self.requests_served = 0
        self.dossier = Dossier(self.state, self.clock)
        self.jobs = self.dossier.jobs
        for coop in cooperations:
            cid = self.state.next_id("cooperations")
            self.state.cooperations[cid] = Cooperation(
                cid, coop.slug, coop.name, coop.country.upper(), coop.econobis_base_url, coop.econobis_api_key
            )
        if tokens is None:
            tokens = {default_token(c.slug, i): [f"access:{c.slug}"] for i, c in enumerate(cooperations, start=1)}
        self.tokens: dict[str, list[str]] = dict(tokens)

        self.api = InboundApi(self.dossier, self.tokens)
        self.token_for = self.api.token_for
        self.abilities_for = self.api.abilities_for
        self.register = self.api.register
        self.link_coach = self.api.link_coach

        self.scenarios = Scenarios(self.dossier, self.tokens)
        self.create_user = self.scenarios.create_user
        self.set_appointment = self.scenarios.set_appointment
        self.set_status = self.scenarios.set_status
        self.complete_sub_step = self.scenarios.complete_sub_step
        self.set_answers = self.scenarios.set_answers
        self.set_woonplan = self.scenarios.set_woonplan
        self.upload_pdf = self.scenarios.upload_pdf
        self.delete_user = self.scenarios.delete_user
        self.revoke_access = self.scenarios.revoke_access
        self.allow_access = self.scenarios.allow_access
        self.remove_coach = self.scenarios.remove_coach
        self.reset_building = self.scenarios.reset_building
        self.set_cooperation = self.scenarios.set_cooperation

        self.runner = JobRunner(self.dossier, outbound_timeout, retry_server_errors)
        self.outbound_log = self.runner.log
        self.scheduler = Scheduler(self.dossier, self.runner)
        self.process_lock = self.scheduler.lock
        self.run_scheduler = self.scheduler.run_scheduler
        self.run_due_jobs = self.scheduler.run_due_jobs
        self.advance = self.scheduler.advance
        self.set_time = self.scheduler.set_time

        for slug, people in (coaches or {}).items():
            for person in people:
                self.create_user(slug, **{"roles": ["coach"], **person})

    # --- reading ---------------------------------------------------------------------------------------------

    def cooperation(self, slug: str) -> Cooperation:
        return self.dossier.cooperation(slug)

    def find_user(
        self, slug: str, contact_id: Any = None, user_id: Any = None, email: str | None = None
    ) -> tuple[Cooperation, User]:
        return self.dossier.find_user(slug, contact_id, user_id, email)

    def describe_cooperation(self, coop: Cooperation) -> dict[str, Any]:
        return describe_cooperation(coop, self.tokens)

    def describe_user(
        self, slug: str, contact_id: Any = None, user_id: Any = None, email: str | None = None
    ) -> dict[str, Any]:
        return describe_user(self.dossier, slug, contact_id, user_id, email)

    def queued_jobs(self) -> list[dict[str, Any]]:
        return queued_jobs(self.dossier)
