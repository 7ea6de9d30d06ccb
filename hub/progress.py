"""Progress of the long steps (a pull's pages per stream, a push's items, the mart's stages, the report's files)
for whoever shows it: the core and the connectors report through `task`, the `hub` command renders it.

Nothing listens unless a caller installs a reporter with `reporting` (Dagster runs and tests do not): every
call is then a no-op, so reporting costs nothing and needs no dependency here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class Task(Protocol):
    """One step in progress: `advance` by what was done, `set_total` once the size is known."""

    def advance(self, n: int = 1) -> None: ...

    def set_total(self, total: int | None) -> None: ...


class Reporter(Protocol):
    """What renders progress (e.g. bars on a terminal): a task starts with a label and an optional size."""

    def start(self, label: str, total: int | None = None) -> Task: ...

    def finish(self, task: Task) -> None: ...


class _Silent:
    def advance(self, n: int = 1) -> None:
        return None

    def set_total(self, total: int | None) -> None:
        return None

    def start(self, label: str, total: int | None = None) -> Task:
        return self

    def finish(self, task: Task) -> None:
        return None


SILENT: Reporter = _Silent()
_reporter: ContextVar[Reporter] = ContextVar("hub_progress_reporter", default=SILENT)


@contextmanager
def reporting(reporter: Reporter) -> Iterator[Reporter]:
    """Send the progress of everything run inside the block (in this thread or context) to `reporter`."""
    token = _reporter.set(reporter)
    try:
        yield reporter
    finally:
        _reporter.reset(token)


@contextmanager
def task(label: str, total: int | None = None) -> Iterator[Task]:
    """A step of `total` units (None: unknown yet) for the current reporter; finished when the block ends."""
    reporter = _reporter.get()
    t = reporter.start(label, total)
    try:
        yield t
    finally:
        reporter.finish(t)
