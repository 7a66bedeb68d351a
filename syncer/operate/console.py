"""Where results are written: rich tables on a terminal, plain aligned text everywhere else.

Commands build headings, lines and tables; this decides how they look. Plain mode never emits
an escape code, so cron logs, pipes and `grep` see clean text. A run's live progress bars are
drawn here too, behind the engine's plain :class:`~syncer.run.progress.Progress` interface.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

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
from rich.table import Table

from syncer.run.progress import Progress


class Output:
    def __init__(self, stream: TextIO | None = None, *, rich: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.rich = self.stream.isatty() if rich is None else rich
        self.console = Console(
            file=self.stream, force_terminal=self.rich, highlight=False, soft_wrap=not self.rich
        )

    @property
    def width(self) -> int:
        """Columns to fit in: the terminal's, or unbounded through a pipe."""
        return self.console.width if self.rich else 10_000

    def heading(self, text: str, style: str = "bold") -> None:
        if self.rich:
            self.console.print(f"\n[{style}]{_escape(text)}[/]")
        else:
            self.stream.write(f"\n{text}\n")

    def line(self, text: str, style: str = "") -> None:
        if self.rich and style:
            self.console.print(f"[{style}]{_escape(text)}[/]")
        elif self.rich:
            self.console.print(_escape(text))
        else:
            self.stream.write(f"{text}\n")

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        cells = [[_cell(value) for value in row] for row in rows]
        if self.rich:
            table = Table(*columns, header_style="bold", show_edge=False)
            for row in cells:
                table.add_row(*(_escape(value) for value in row))
            self.console.print(table)
            return
        widths = [
            max(len(column), *(len(row[i]) for row in cells)) if cells else len(column)
            for i, column in enumerate(columns)
        ]
        for row in [list(columns), *cells]:
            self.stream.write(
                "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            )
            self.stream.write("\n")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _escape(text: str) -> str:
    """Rich reads ``[...]`` as markup; data (emails, reasons) must print as it is."""
    return text.replace("[", r"\[")


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
