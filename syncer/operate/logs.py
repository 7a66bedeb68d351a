"""Operator-facing logging: one line per meaningful event on stderr.

Under cron (no terminal) every line carries a UTC timestamp so the log file reads on its own; on a
terminal, rich renders the same records. Nothing here ever formats a header, a body or a URL: the
HTTP layer logs endpoint templates only.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.logging import RichHandler

from syncer.errors import StateError

LOGGER_NAME = "syncer"
FAILURES_SHOWN = 20

log = logging.getLogger(LOGGER_NAME)


class _UtcFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def configure_logging(
    verbosity: int, stream: TextIO | None = None, *, log_file: Path | None = None
) -> None:
    """``verbosity``: -1 quiet (warnings), 0 normal (info), 1 verbose (debug).

    ``log_file`` appends plain timestamped lines to that file (its folder created first)
    instead of writing to ``stream``: cron then needs no shell redirection, which fails
    silently when the folder is missing.
    """
    stream = stream or sys.stderr
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    handler: logging.Handler
    if log_file is not None:
        handler = _file_handler(log_file)
    elif stream.isatty():
        # One console for log lines and progress bars: rich then prints each line above the
        # live display instead of through it.
        console = terminal_console() if stream is sys.stderr else Console(file=stream)
        handler = RichHandler(
            console=console, show_path=False, markup=False, log_time_format="%H:%M:%S"
        )
    else:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(_UtcFormatter())
    root = logging.getLogger(LOGGER_NAME)
    for existing in list(root.handlers):
        existing.close()
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


_TERMINAL: list[Console] = []


def terminal_console() -> Console:
    """The one rich console on stderr that log lines and live progress share."""
    if not _TERMINAL or _TERMINAL[0].file is not sys.stderr:
        _TERMINAL[:] = [Console(stderr=True)]
    return _TERMINAL[0]


def _file_handler(path: Path) -> logging.Handler:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as error:
        raise StateError(f"cannot write the log file {path}: {error.strerror}") from None
    handler.setFormatter(_UtcFormatter())
    return handler


def _as_log_lines() -> bool:
    """Under cron (no terminal) or with a log file, everything is a timestamped log line."""
    handlers = logging.getLogger(LOGGER_NAME).handlers
    to_file = any(isinstance(handler, logging.FileHandler) for handler in handlers)
    return to_file or not sys.stderr.isatty()


def say_error(line: str) -> None:
    """An error or hint from the CLI's edge: plain on a terminal, a log line otherwise."""
    if _as_log_lines():
        log.error("%s", line)
    else:
        sys.stderr.write(line + "\n")


def say_summary(lines: list[str]) -> None:
    """A run's summary: printed on a terminal, one INFO line each under cron (`-q` drops them)."""
    if _as_log_lines() or not sys.stdout.isatty():
        for line in lines:
            log.info("%s", line)
    else:
        for line in lines:
            sys.stdout.write(line + "\n")


def say_failures(failures: Sequence[object]) -> None:
    for failure in failures[:FAILURES_SHOWN]:
        log.error("failed: %s", failure)
    if len(failures) > FAILURES_SHOWN:
        log.error("failed: %d more; `syncer errors` lists them all", len(failures) - FAILURES_SHOWN)
