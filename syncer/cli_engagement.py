"""`syncer engagement`: load the email activity of older campaigns into HubSpot, on demand.

Kept beside :mod:`syncer.cli` (which registers it) so that module stays one screenful per
command; like it, this only parses, calls :func:`syncer.operate.service.sync_once` and renders.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click

from syncer.clikit import AppContext, examples, global_options
from syncer.errors import ConfigError, ExitCode, SyncerError
from syncer.operate.console import RichProgress
from syncer.operate.logs import say_failures, say_summary, terminal_console
from syncer.operate.service import last_run, sync_once
from syncer.operate.shapes import failed_run_json, run_json
from syncer.operate.stopping import signals_stop
from syncer.run.context import Deadline
from syncer.run.engine import RunOptions
from syncer.run.progress import Progress
from syncer.run.report import plan_lines, summary_lines


@click.command(
    epilog=examples(
        "syncer engagement --backfill --since 2026-01-01 --dry-run",
        "syncer engagement --backfill --since 2026-01-01",
        "syncer engagement --backfill --since 2026-01-01 --max-time 3000",
    )
)
@global_options
@click.option("--backfill", is_flag=True, required=True, help="Load the history of campaigns.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    required=True,
    metavar="DATE",
    help="Every campaign sent since DATE (YYYY-MM-DD, UTC).",
)
@click.option("--dry-run", is_flag=True, help="Read the activity, print what would be written.")
@click.option("--max-time", type=float, metavar="S", help="Stop cleanly after S seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the result (or plan) as JSON.")
@click.pass_obj
def engagement(
    app: AppContext,
    backfill: bool,
    since: datetime,
    dry_run: bool,
    max_time: float | None,
    as_json: bool,
) -> int:
    """Load the opens, clicks, bounces and unsubscribes of every campaign sent since DATE.

    Only people `syncer run` has linked to a HubSpot contact are recorded, so run it first.
    Resumable: stopped (Ctrl-C, --max-time, a crash), the same command carries on from the
    page it reached; campaigns read completely are then only read for new activity.
    """
    config = app.load_config()
    if not config.engagement.enabled:
        raise ConfigError(
            ["engagement.enabled: is false"],
            hint="Set engagement.enabled: true (and run `syncer check --fix`) first.",
        )
    options = RunOptions(dry_run=dry_run, backfill_since=since.replace(tzinfo=UTC))
    deadline = Deadline(max_time)
    progress = RichProgress(terminal_console()) if sys.stderr.isatty() else Progress()
    with signals_stop(deadline):
        try:
            report = sync_once(config, options, deadline=deadline, progress=progress)
        except SyncerError as error:
            if as_json and not dry_run:
                click.echo(json.dumps(failed_run_json(error, last_run(config)), indent=2))
            raise
    if report.plan is not None:
        if as_json:
            click.echo(json.dumps(report.plan.as_json(), indent=2))
        else:
            for line in plan_lines(report.plan):
                click.echo(line)
        return ExitCode.OK
    if as_json:
        click.echo(json.dumps(run_json(report), indent=2))
    else:
        say_summary(summary_lines(report.counts, report.api_calls, report.outcome))
        say_failures(report.failures)
    return ExitCode.PARTIAL if report.outcome == "partial" else ExitCode.OK
