"""`syncer engagement`: load the email activity of older campaigns into HubSpot, on demand.

Kept beside :mod:`syncer.cli.commands` (which registers it) so that module stays one screenful per
command; like it, this only parses, calls :func:`syncer.operate.service.sync_once` and renders.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from syncer.cli.kit import AppContext, examples, global_options
from syncer.cli.sync import sync_and_report
from syncer.errors import ConfigError
from syncer.run.engine import RunOptions


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
    return sync_and_report(config, options, max_time, as_json)
