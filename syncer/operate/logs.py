"""Operator-facing logging: one line per meaningful event on stderr.

Under cron (no terminal) every line carries a UTC timestamp so the log file reads on its own; on a
terminal, rich renders the same records. Nothing here ever formats a header, a body or a URL: the
HTTP layer logs endpoint templates only.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

from rich.console import Console
from rich.logging import RichHandler

LOGGER_NAME = "syncer"


class _UtcFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def configure_logging(verbosity: int, stream: TextIO | None = None) -> None:
    """``verbosity``: -1 quiet (warnings), 0 normal (info), 1 verbose (debug)."""
    stream = stream or sys.stderr
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    handler: logging.Handler
    if stream.isatty():
        # stderr=True makes rich look up sys.stderr at each write, so log lines land above a
        # live progress display instead of through it.
        console = Console(stderr=True) if stream is sys.stderr else Console(file=stream)
        handler = RichHandler(
            console=console, show_path=False, markup=False, log_time_format="%H:%M:%S"
        )
    else:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(_UtcFormatter())
    root = logging.getLogger(LOGGER_NAME)
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
