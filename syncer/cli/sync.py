"""One sync run from a command, and its outcome printed: shared by `run` and `engagement`.

Both commands differ only in the options they build; the deadline, the signals that stop a
run at a safe point, the progress display, the JSON shapes and the exit code are the same, so
they live here once.
"""

from __future__ import annotations

import json
import sys

import click

from syncer.config import Config
from syncer.errors import ExitCode, SyncerError
from syncer.operate.console import RichProgress
from syncer.operate.logs import say_failures, say_summary, terminal_console
from syncer.operate.service import last_run, sync_once
from syncer.operate.shapes import failed_run_json, run_json
from syncer.operate.stopping import signals_stop
from syncer.run.context import Deadline
from syncer.run.engine import RunOptions
from syncer.run.progress import Progress
from syncer.run.report import plan_lines, summary_lines


def sync_and_report(
    config: Config, options: RunOptions, max_time: float | None, as_json: bool
) -> int:
    """Run once and print the plan (dry run) or the summary; the command's exit code.

    A failed run still prints its JSON record under ``--json`` (monitoring reads stdout),
    then the error leaves through the group's edge like any other.
    """
    deadline = Deadline(max_time)
    with signals_stop(deadline):
        try:
            report = sync_once(config, options, deadline=deadline, progress=progress_display())
        except SyncerError as error:
            if as_json and not options.dry_run:
                click.echo(json.dumps(failed_run_json(error, last_run(config)), indent=2))
            raise
    if report.plan is not None:
        if as_json:
            click.echo(json.dumps(report.plan.as_json(), indent=2))
        else:
            for line in plan_lines(report.plan):
                click.echo(line)
        return ExitCode.GUARD if report.plan.guard_tripped else ExitCode.OK
    if as_json:
        click.echo(json.dumps(run_json(report), indent=2))
    else:
        say_summary(summary_lines(report.counts, report.api_calls, report.outcome))
        say_failures(report.failures)
    return ExitCode.PARTIAL if report.outcome == "partial" else ExitCode.OK


def progress_display() -> Progress:
    """A live display on a terminal; one log line per phase under cron."""
    if sys.stderr.isatty():
        return RichProgress(terminal_console())
    return Progress()
