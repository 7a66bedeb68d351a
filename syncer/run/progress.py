"""How long work reports itself while it runs: a small interface the engine talks to.

The engine calls :meth:`Progress.phase` and :meth:`Progress.advance`; what that looks like (a rich
progress bar on a terminal, one timestamped log line per phase under cron, nothing at all in a
test) is decided by whoever constructs the engine.
"""

from __future__ import annotations

import logging

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichDisplay

log = logging.getLogger("syncer.run")


class Progress:
    """Plain progress: one log line per phase, nothing per item."""

    def phase(self, name: str, total: int | None = None) -> None:
        log.info("%s%s", name, f" ({total})" if total else "")

    def advance(self, amount: int = 1) -> None:
        """One more unit of the current phase done."""

    def done(self) -> None:
        """The run is over; release whatever the display holds."""


class RichProgress(Progress):
    """A live progress display on a terminal: one line per phase, with a bar when it has a size."""

    def __init__(self, console: Console) -> None:
        self._display = RichDisplay(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._task: TaskID | None = None
        self._display.start()

    def phase(self, name: str, total: int | None = None) -> None:
        self._close_task()
        self._task = self._display.add_task(name, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._display.advance(self._task, amount)

    def done(self) -> None:
        self._close_task()
        self._display.stop()

    def _close_task(self) -> None:
        if self._task is not None:
            task = self._display.tasks[self._task]
            self._display.update(
                self._task, total=task.completed or 1, completed=task.completed or 1
            )
