"""What a person sees while a run goes on: a progress bar, or plain log lines (``--quiet``).

Both go to stderr, so stdout stays for data.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from diffuse_dse.space import Space


class Reporter(Protocol):
    def start(self, total: int, done: int) -> None: ...
    def trial(
        self, number: int, state: str, detail: str, done: int, failed: int, hv: float, best: Mapping[str, float]
    ) -> None: ...
    def stop(self) -> None: ...


def _best_text(space: Space, best: Mapping[str, float]) -> str:
    units = {o.name: o.unit for o in space.objectives}
    return "  ".join(f"{k}={v:.4g}{units.get(k, '')}" for k, v in best.items()) or "-"


class BarReporter:
    """A rich progress bar: evaluations done and failed, hypervolume, best per objective."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}  HV {task.fields[hv]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("\n  best: {task.fields[best]}"),
            console=self.console,
            transient=False,
        )
        self.task = None

    def start(self, total: int, done: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("exploring", total=total, completed=done, failed=0, hv="-", best="-")

    def trial(
        self, number: int, state: str, detail: str, done: int, failed: int, hv: float, best: Mapping[str, float]
    ) -> None:
        self.progress.update(
            self.task,
            completed=done,
            failed=failed,
            hv=f"{hv:.4g}",  # type: ignore[arg-type]
            best=_best_text(self.space, best),
        )

    def stop(self) -> None:
        self.progress.stop()


class LogReporter:
    """One plain line per finished trial."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.total = 0

    def start(self, total: int, done: int) -> None:
        self.total = total
        print(f"exploring: {done} of {total} evaluations already done", file=sys.stderr, flush=True)

    def trial(
        self, number: int, state: str, detail: str, done: int, failed: int, hv: float, best: Mapping[str, float]
    ) -> None:
        print(
            f"[{done}/{self.total}] trial {number} {state} {detail}  (failed {failed}, HV {hv:.4g})",
            file=sys.stderr,
            flush=True,
        )

    def stop(self) -> None:
        pass


def make_reporter(space: Space, quiet: bool) -> Reporter:
    """A progress bar on a terminal, plain lines with ``--quiet`` or when stderr is not a tty."""
    if quiet or not sys.stderr.isatty():
        return LogReporter(space)
    return BarReporter(space)
