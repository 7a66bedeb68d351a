"""The command line's shared parts: options every command takes, examples, the exit-code list.

The global options (``--config``, ``-v``, ``-q``, ``--debug``, ``--log-file``) are accepted
before the command and after it alike (``syncer run --config x.yaml --quiet``), and shown in
every command's ``--help``: each occurrence writes into one settings mapping on the root
context, so the last one given wins. Logging is configured again whenever one of its options
arrives, which is why it is set up here rather than once in the group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from syncer.config import Config, find_config_path, load_config
from syncer.errors import SyncerError
from syncer.operate.logs import configure_logging

F = TypeVar("F", bound=Callable[..., Any])

SETTINGS = "syncer.settings"
_LOGGING = ("verbose", "quiet", "log_file")


def settings(ctx: click.Context) -> dict[str, Any]:
    """The global options given so far, wherever on the command line they were."""
    found: dict[str, Any] = ctx.find_root().meta.setdefault(SETTINGS, {})
    return found


def apply_logging(values: dict[str, Any]) -> None:
    verbosity = 1 if values.get("verbose") else -1 if values.get("quiet") else 0
    configure_logging(verbosity, log_file=values.get("log_file"))


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is None or value is False or param.name is None:
        return
    values = settings(ctx)
    values[param.name] = value
    if param.name in _LOGGING:
        try:
            apply_logging(values)
        except SyncerError as error:
            raise click.BadParameter(error.message, ctx=ctx, param=param) from None


_OPTIONS = [
    click.option(
        "--config",
        metavar="PATH",
        expose_value=False,
        callback=_remember,
        help="Configuration file (default: $SYNCER_CONFIG, else ./syncer.yaml).",
    ),
    click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        help="Log debugging detail: each API call's endpoint, status and time.",
    ),
    click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        help="Log warnings and errors only.",
    ),
    click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        help="Show tracebacks for errors.",
    ),
    click.option(
        "--log-file",
        metavar="PATH",
        type=click.Path(dir_okay=False, path_type=Path),
        expose_value=False,
        callback=_remember,
        help="Append log lines to PATH (its folder is created) instead of stderr.",
    ),
]


def global_options(command: F) -> F:
    """Give a command (or the group) every global option."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def examples(*lines: str) -> str:
    """A command's epilog: a few invocations, kept as written by click's help formatter."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


@dataclass
class AppContext:
    """The global options, read when a command needs them (they may come after its name)."""

    settings: dict[str, Any]

    @property
    def config_option(self) -> str | None:
        value = self.settings.get("config")
        return None if value is None else str(value)

    @property
    def debug(self) -> bool:
        return bool(self.settings.get("debug"))

    @property
    def config_path(self) -> Path:
        return find_config_path(self.config_option)

    def load_config(self) -> Config:
        return load_config(self.config_path)
