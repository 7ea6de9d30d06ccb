"""Laravel's scheduler on the sim clock: the scheduled commands of §2.5 (gebruik daily 01:00; woonplan and
pdf-report every 5 minutes), and the replay of skipped time (ticks and due jobs in time order)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from connectors.hoomdossier.sandbox.dossier import Dossier, local_naive
from connectors.hoomdossier.sandbox.jobs import Attempt, JobRunner
from connectors.hoomdossier.sandbox.lookups import JOB_CLASSES
from connectors.hoomdossier.sandbox.outbound import Job

TICK = timedelta(minutes=5)
WOONPLAN_WINDOW = timedelta(minutes=30)  # services.econobis.send_woonplan_after_change
PDF_INTERVAL = timedelta(minutes=30)  # services.econobis.interval.<SendPdfReportToEconobis>
GEBRUIK_WINDOW = timedelta(hours=24)


def next_tick(after: datetime) -> datetime:
    """The first five-minute boundary after `after`."""
    base = after.replace(second=0, microsecond=0)
    return base - timedelta(minutes=base.minute % 5) + TICK


def _command_gebruik(dossier: Dossier, now: datetime) -> list[Job]:
    st = dossier.state
    jobs = []
    for user in sorted(st.live_users(), key=lambda u: u.id):
        changed = user.tool_last_changed_at
        if changed is None or changed < now - GEBRUIK_WINDOW:
            continue
        building = st.building_of(user)
        if user.related_with_econobis() and user.allow_access and building is not None:
            jobs.append(dossier.dispatch("gebruik", building.id, now))
    return jobs


def _command_woonplan(dossier: Dossier, now: datetime) -> list[Job]:
    st = dossier.state
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
            jobs.append(dossier.dispatch("gebruik", building.id, now))
            jobs.append(dossier.dispatch("woonplan", building.id, now))
    return jobs


def _command_pdf(dossier: Dossier, now: datetime) -> list[Job]:
    st = dossier.state
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
            jobs.append(dossier.dispatch("pdf", building.id, now))
    return jobs


class Scheduler:
    """`run_scheduler` runs the commands when the sim clock crossed one of their ticks, `run_due_jobs` the jobs
    that are due; `advance` / `set_time` move the clock and replay every tick and every due job in time order,
    so one big jump behaves like the worker and scheduler running all along."""

    def __init__(self, dossier: Dossier, runner: JobRunner) -> None:
        self.dossier = dossier
        self.clock = dossier.clock
        self.runner = runner
        # serialises the scheduler and job runners (worker thread, admin clock, tests)
        self.lock = threading.RLock()
        self.last_tick = self.clock.now()

    def _run_commands(self, commands: list[str], now: datetime) -> list[Job]:
        """routes/console.php order: gebruik (daily 01:00), woonplan, pdf-report (every five minutes)."""
        jobs: list[Job] = []
        with self.dossier.state.lock:
            if "gebruik" in commands:
                jobs += _command_gebruik(self.dossier, now)
            if "woonplan" in commands:
                jobs += _command_woonplan(self.dossier, now)
            if "pdf" in commands:
                jobs += _command_pdf(self.dossier, now)
        return jobs

    def run_scheduler(self) -> list[dict[str, Any]]:
        """`schedule:run` at the current sim time: every command with a tick since the last check runs once,
        now. (A jump over many ticks is collapsed into one run; use `advance` to replay them one by one.)"""
        with self.lock:
            now = self.clock.now()
            commands: list[str] = []
            tick = next_tick(self.last_tick)
            while tick <= now:
                if tick.hour == 1 and tick.minute == 0 and "gebruik" not in commands:
                    commands.append("gebruik")
                commands += [c for c in ("woonplan", "pdf") if c not in commands]
                tick += TICK
            self.last_tick = max(self.last_tick, now) if commands else self.last_tick
            if not commands:
                return []
            return [j.describe() for j in self._run_commands(commands, now)]

    def run_due_jobs(self) -> list[Attempt]:
        """Run every queued job whose time has come on the sim clock."""
        with self.lock:
            return self.runner.run_due(self.clock.now())

    def advance(self, seconds: float) -> list[Attempt]:
        """Move the sim clock forward and replay the scheduler ticks and due jobs of the skipped time in order."""
        with self.lock:
            self.clock.advance(seconds)
            return self._replay(self.clock.now())

    def set_time(self, when: datetime) -> list[Attempt]:
        """Set the sim clock (forward: replayed like `advance`; backward: nothing runs until time catches up)."""
        with self.lock:
            self.clock.set(local_naive(when))
            return self._replay(self.clock.now())

    def _replay(self, target: datetime) -> list[Attempt]:
        attempts: list[Attempt] = []
        while True:
            tick = next_tick(self.last_tick)
            due = self.runner.next_due()
            # a job due before the next tick runs first, at its own time (a release(120) lands between ticks)
            if due is not None and due <= target and due <= tick:
                attempts += self.runner.run_due(due)
                continue
            if tick > target:
                break
            commands = (["gebruik"] if tick.hour == 1 and tick.minute == 0 else []) + ["woonplan", "pdf"]
            self._run_commands(commands, tick)
            self.last_tick = tick
        attempts += self.runner.run_due(target)
        self.last_tick = max(self.last_tick, target)
        return attempts
