"""The command line: parse, call the core, render. No SQL, HTTP or decisions live here."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click

from syncer import __version__
from syncer.cache.failures import cache_failure
from syncer.cache.lock import run_lock
from syncer.cache.store import Store
from syncer.cli.engagement import engagement
from syncer.cli.kit import AppContext, apply_logging, examples, global_options, settings
from syncer.cli.sync import progress_display, sync_and_report
from syncer.config import Config
from syncer.errors import EXIT_CODE_MEANINGS, ConfigError, ExitCode, SyncerError, UnexpectedError
from syncer.operate.check import check_offline, check_remote
from syncer.operate.check import exit_code as check_exit_code
from syncer.operate.check import summary as check_summary
from syncer.operate.check_engagement import check_engagement
from syncer.operate.check_preferences import check_preferences
from syncer.operate.check_segments import check_segments
from syncer.operate.console import Output
from syncer.operate.logs import say_error
from syncer.operate.service import open_clients, open_store
from syncer.operate.shapes import batch_json
from syncer.operate.status import error_list, person, status_report
from syncer.operate.views import (
    render_batches,
    render_check,
    render_errors,
    render_person,
    render_status,
)
from syncer.run.engine import RunOptions
from syncer.sandbox.demo import run_demo, seed_sandbox
from syncer.sandbox.runner import Sandbox

log = logging.getLogger("syncer.run")
Report = TypeVar("Report")


class SyncerGroup(click.Group):
    """Turns syncer's errors into one clear message, a hint and the documented exit code.

    Anything else is a bug, and gets the same edge: one line naming it, a hint, its own exit
    code (``--debug`` shows the traceback), never a bare traceback.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except SyncerError as error:
            _report(error, ctx)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(ExitCode.INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:  # noqa: BLE001 - the one edge every failure leaves by
            failure = cache_failure(error, None) or UnexpectedError.of(error)
            _report(failure, ctx)
            ctx.exit(failure.exit_code)
        if isinstance(result, int) and result:
            ctx.exit(result)
        return result


def _report(error: SyncerError, ctx: click.Context) -> None:
    app = ctx.find_object(AppContext)
    if app is not None and app.debug:
        click.echo(traceback.format_exc(), err=True)
    if isinstance(error, ConfigError) and len(error.problems) > 1:
        where = f" {app.config_path}" if app is not None else ""
        say_error(f"error: {len(error.problems)} problems in the configuration{where}:")
        for problem in error.problems:
            say_error(f"  {problem}")
    else:
        say_error(f"error: {error.message}")
    if error.hint:
        say_error(f"hint: {error.hint}")


EXIT_CODES = "\b\nExit codes:\n" + "\n".join(
    f"  {int(code):>3}  {meaning.replace('`', '')}" for code, meaning in EXIT_CODE_MEANINGS.items()
)


@click.group(
    cls=SyncerGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EXIT_CODES,
)
@click.version_option(__version__, "-V", "--version", prog_name="syncer")
@global_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Keep a HubSpot CRM and a Mailchimp audience in two-way sync.

    Run `syncer demo` to see it work against the built-in sandbox, `syncer init` to start a
    configuration, and `syncer run` from cron. Every command takes the options below, before
    or after its name, and shows examples in its --help. The exit codes are listed below.
    """
    values = settings(ctx)
    apply_logging(values)
    ctx.obj = AppContext(values)
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@cli.command(
    epilog=examples(
        "syncer check --offline",
        "syncer check --fix",
        "syncer check --config /etc/syncer/shop.yaml",
    )
)
@global_options
@click.option("--offline", is_flag=True, help="Check the file only; do not contact the APIs.")
@click.option(
    "--fix",
    is_flag=True,
    help="Create missing HubSpot properties and merge fields, and the tags mirror's options.",
)
@click.pass_obj
def check(app: AppContext, offline: bool, fix: bool) -> int:
    """Validate the configuration, then the credentials, audience and mapped fields.

    Every check is reported, passed or not. `--fix` never creates a field whose name or label
    an existing one has, or one close to an existing name: it suggests that one instead.
    """
    config = app.load_config()
    click.echo(f"configuration OK: {config.source}")
    findings = check_offline(config)
    if not offline:
        with open_clients(config) as (hubspot, mailchimp):
            findings.extend(check_remote(config, hubspot, mailchimp, fix=fix))
            for part in (check_segments, check_preferences, check_engagement):
                findings.extend(part(config, hubspot, mailchimp, fix=fix))
    render_check(Output(), findings)
    for line in check_summary(findings):
        click.echo(line, err=True)
    return check_exit_code(findings)


@cli.command(
    epilog=examples(
        "syncer run --dry-run",
        "syncer run --dry-run --json > plan.json",
        "syncer run --config syncer.yaml --quiet --log-file ~/.local/state/syncer/sync.log",
    )
)
@global_options
@click.option("--dry-run", is_flag=True, help="Fetch and decide, print the plan; write nothing.")
@click.option("--full", is_flag=True, help="Ignore the cursors; read both sides completely.")
@click.option(
    "--max-time",
    type=float,
    metavar="S",
    help="Stop cleanly after S seconds; a call still going is cut after a grace of S/10 "
    "(5 to 60 s).",
)
@click.option("--force", is_flag=True, help="Write even when the blast-radius guard objects.")
@click.option("--json", "as_json", is_flag=True, help="Print the result (or plan) as JSON.")
@click.pass_obj
def run(
    app: AppContext, dry_run: bool, full: bool, max_time: float | None, force: bool, as_json: bool
) -> int:
    """Sync once: fetch changes from both sides, reconcile, write, record.

    Ctrl-C, SIGTERM or SIGHUP stops the run at the next safe point (exit 130); a second signal
    stops it at once (a repeat of the same one within a second, as `timeout` sends to the whole
    process group, counts once). Either way the next run carries on. A cache that is empty, or
    missing beside its lock file, stops the run (exit 2) until `--full` starts a first sync.
    """
    options = RunOptions(dry_run=dry_run, full=full, force=force)
    return sync_and_report(app.load_config(), options, max_time, as_json)


@cli.command(
    epilog=examples(
        "syncer sandbox",
        "syncer sandbox --seed demo",
        "syncer sandbox --seed 500 --hubspot-port 8101 --mailchimp-port 8102",
    )
)
@global_options
@click.option("--mailchimp-port", type=int, default=0, show_default=True, help="0: any free port.")
@click.option("--hubspot-port", type=int, default=0, show_default=True, help="0: any free port.")
@click.option(
    "--seed",
    metavar="demo|N",
    callback=lambda ctx, param, value: _seed_spec(ctx, param, value),
    help="Seed the demo's people, or about N sample people, with the world's fields.",
)
def sandbox(mailchimp_port: int, hubspot_port: int, seed: str | None) -> None:
    """Serve local simulators of both APIs until interrupted; print how to reach them.

    The first line on stdout is JSON with the base URLs, credentials, list id and how many
    people were seeded. The simulators also answer an admin API under /_sim/ (reset, seed,
    clock, faults, config, requests). Seeding by hand is one POST per side:

    \b
    POST <hubspot_url>/_sim/seed
      {"properties": [{"name": "newsletter", "type": "bool",
                       "fieldType": "booleancheckbox"}],
       "contacts": [{"properties": {"email": "ann@example.com", "newsletter": "true"},
                     "timestamps": {"newsletter": "2026-01-02T03:04:05Z"}}]}
    POST <mailchimp_url without /3.0>/_sim/seed
      {"merge_fields": [{"tag": "LCSTAGE", "name": "Lifecycle stage", "type": "text"}],
       "members": [{"email_address": "ann@example.com", "status": "subscribed",
                    "merge_fields": {"FNAME": "Ann"},
                    "last_changed": "2026-01-02T03:04:05Z"}]}
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    with Sandbox(mailchimp_port=mailchimp_port, hubspot_port=hubspot_port) as running:
        seeded = seed_sandbox(running.info, seed) if seed else 0
        click.echo(json.dumps({**running.info.as_dict(), "seeded": seeded}))
        sys.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


def _seed_spec(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or value == "demo" or (value.isdigit() and int(value) > 0):
        return value
    raise click.BadParameter("give `demo` or a number of people", ctx=ctx, param=param)


@cli.command(
    epilog=examples(
        "syncer status",
        "syncer status --check || echo unhealthy",
        "syncer status --json | jq .health",
    )
)
@global_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (stable shape).")
@click.option("--check", "as_check", is_flag=True, help="Exit 1 when unhealthy (for monitoring).")
@click.pass_obj
def status(app: AppContext, as_json: bool, as_check: bool) -> int:
    """Show health, the last runs, cursors, open batches, people needing attention, segments."""
    report = _read_cache(app, status_report)
    _print_report(report, as_json, render_status)
    if as_check and not report["health"]["ok"]:
        return ExitCode.PARTIAL
    return ExitCode.OK


@cli.command(
    epilog=examples(
        "syncer errors", "syncer errors --limit 0", 'syncer errors --json | jq ".groups[].count"'
    )
)
@global_options
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option(
    "--limit", type=int, default=20, show_default=True, help="Name at most N people (0: all)."
)
@click.pass_obj
def errors(app: AppContext, as_json: bool, limit: int) -> None:
    """List failed and blocked contacts, grouped by reason, each with what to do."""
    found = _read_cache(app, lambda store, _config: error_list(store, limit))
    _print_report(found, as_json, render_errors)
    if found["unlisted"]:
        click.echo(
            f"{found['unlisted']:,} more not listed (`syncer errors --limit 0` lists all)", err=True
        )


@cli.command(epilog=examples("syncer retry ann@example.com", "syncer retry --all"))
@global_options
@click.argument("emails", nargs=-1)
@click.option("--all", "everyone", is_flag=True, help="Retry every failed or blocked contact.")
@click.pass_obj
def retry(app: AppContext, emails: tuple[str, ...], everyone: bool) -> int:
    """Queue failed contacts (and refused engagement notes) again for the next `syncer run`."""
    if bool(emails) == everyone:
        raise click.UsageError("give one or more EMAIL addresses, or --all")
    config = app.load_config()
    with open_store(config, create=False) as store, run_lock(config.state_path):
        ids: list[int] | None = None
        if emails:
            rows = {email: store.contact_by_email(email) for email in emails}
            unknown = [email for email, row in rows.items() if row is None]
            if unknown:
                raise click.UsageError(f"not in the cache: {', '.join(unknown)}")
            ids = [row.id for row in rows.values() if row is not None]
        count = store.retry_contacts(ids)
    click.echo(f"{count} contacts queued again; `syncer run` will sync them")
    return ExitCode.OK


@cli.command(epilog=examples("syncer batches", "syncer batches --limit 5 --json"))
@global_options
@click.option("--limit", type=int, default=20, show_default=True, help="How many batches.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_obj
def batches(app: AppContext, limit: int, as_json: bool) -> None:
    """List recent Mailchimp batches and what became of their operations."""
    found = _read_cache(
        app, lambda store, _config: [batch_json(batch) for batch in store.batch_history(limit)]
    )
    _print_report(found, as_json, render_batches)


@cli.command(epilog=examples("syncer show ann@example.com", "syncer show ann@example.com --json"))
@global_options
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
@click.pass_obj
def show(app: AppContext, email: str, as_json: bool) -> int:
    """Show one person: both cached sides, the base, and every decision and change."""
    found = _read_cache(app, lambda store, config: person(store, email, config))
    if found is None:
        click.echo(f"error: {email} is not in the cache", err=True)
        return ExitCode.CONFIG
    _print_report(found, as_json, render_person)
    return ExitCode.OK


@cli.command(epilog=examples("syncer demo", "syncer demo --keep ./demo"))
@global_options
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Keep the demo's config and cache in DIR (default: a temporary folder).",
)
def demo(keep: Path | None) -> int:
    """Run the whole job against the built-in sandbox: no account, no network needed."""
    return run_demo(Output(), progress_display, keep)


@cli.command(epilog=examples("syncer init", "syncer init ~/.config/syncer/syncer.yaml"))
@global_options
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="syncer.yaml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> int:
    """Write a starter configuration (every key documented) to PATH."""
    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; pass --force to overwrite it")
    template = resources.files("syncer").joinpath("config.example.yaml").read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(template)
    path.chmod(0o600)
    click.echo(f"wrote {path}")
    click.echo("next: set HUBSPOT_TOKEN and MAILCHIMP_API_KEY in the environment, put your")
    click.echo(f"audience id in {path}, then run `syncer check --config {path} --fix`")
    return ExitCode.OK


def _read_cache(app: AppContext, build: Callable[[Store, Config], Report]) -> Report:
    """A report from the existing cache: a command that only reads must never create one."""
    config = app.load_config()
    with open_store(config, create=False) as store:
        return build(store, config)


def _print_report(report: Report, as_json: bool, render: Callable[[Output, Report], None]) -> None:
    """JSON (the stable shape scripts rely on) or the rendered view for people."""
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        render(Output(), report)


cli.add_command(engagement)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="syncer")
