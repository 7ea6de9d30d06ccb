"""The `hub` command's terminal output: progress bars of the long steps (what hub.progress reports) and the
summary table a command ends with. Bars go to stderr, only on a terminal; stdout keeps tables or JSON."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Task as ProgressTask
from rich.text import Text

from hub import progress as hub_progress


class _Count(ProgressColumn):
    """`done/total` for a step of known size; nothing for one whose size is unknown (no `0/?`)."""

    def render(self, task: ProgressTask) -> Text:
        if task.total is None:
            return Text("")
        return Text(f"{int(task.completed)}/{int(task.total)}", style="progress.download")


@dataclass
class _Bar:
    """One task on the screen; `depth` > 0 for the steps inside another (a stream inside a pull)."""

    bars: Progress
    id: TaskID
    depth: int
    known: bool

    def advance(self, n: int = 1) -> None:
        self.bars.advance(self.id, n)

    def set_total(self, total: int | None) -> None:
        if total is not None:
            self.known = True
            self.bars.update(self.id, total=total)


class RichReporter:
    """Renders hub.progress as rich bars: a command's steps as rows, what runs inside one indented below it
    while it runs (removed when done, so a pull of many streams leaves one finished row)."""

    def __init__(self, console: Console) -> None:
        self.bars = Progress(
            SpinnerColumn(finished_text="✓"),
            TextColumn("{task.description}"),
            BarColumn(),
            _Count(),
            TimeElapsedColumn(),
            console=console,
        )
        self._open: list[_Bar] = []

    def start(self, label: str, total: int | None = None) -> hub_progress.Task:
        depth = len(self._open)
        bar = _Bar(self.bars, self.bars.add_task("  " * depth + label, total=total), depth, total is not None)
        self._open.append(bar)
        return bar

    def finish(self, task: hub_progress.Task) -> None:
        assert isinstance(task, _Bar)
        if task in self._open:
            self._open.remove(task)
        if task.depth > 0:
            self.bars.remove_task(task.id)
            return
        done = self.bars.tasks[[t.id for t in self.bars.tasks].index(task.id)]
        if not task.known:  # a step of unknown size is shown as one unit, done
            self.bars.update(task.id, total=max(done.completed, 1), completed=max(done.completed, 1))
        else:
            self.bars.update(task.id, completed=done.total)


@contextmanager
def progress_bars(enabled: bool = True, console: Console | None = None) -> Iterator[RichReporter | None]:
    """Bars on stderr for everything the block reports, when `enabled` and stderr is a terminal (never in a
    pipe, a log file or CI); otherwise nothing is drawn and hub.progress stays silent."""
    console = console or Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    reporter = RichReporter(console)
    with reporter.bars, hub_progress.reporting(reporter):
        yield reporter


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def summary_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table under its title, one line per row: numbers right-aligned, a missing figure as -, no
    trailing blanks (it reads the same in a terminal, a pipe and a log file, as `_print_funnel`'s does)."""
    body = [list(r) for r in rows]
    numeric = [any(_numeric(r[i]) for r in body) for i in range(len(columns))]
    cells = [[_cell(v) for v in r] for r in body]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True))

    head = line(list(columns)).rstrip()
    return "\n".join([title, "", head, "-" * len(head), *(line(r).rstrip() for r in cells)])


def print_table(table: str) -> None:
    """On stdout (the progress bars are on stderr)."""
    print(table, flush=True)
