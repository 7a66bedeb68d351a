"""The command line: parse, call the core, render. No SQL, HTTP or decisions live here."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from syncer import __version__
from syncer.cache.failures import cache_failure
from syncer.cache.lock import run_lock
from syncer.config import Config, find_config_path, load_config
from syncer.errors import EXIT_CODE_MEANINGS, ConfigError, ExitCode, SyncerError, UnexpectedError
from syncer.operate.check import check_offline, check_remote
from syncer.operate.check import exit_code as check_exit_code
from syncer.operate.check import summary as check_summary
from syncer.operate.check_segments import check_segments
from syncer.operate.console import Output, RichProgress
from syncer.operate.logs import configure_logging
from syncer.operate.service import open_clients, open_store, sync_once
from syncer.operate.status import error_list, person, status_report
from syncer.operate.views import (
    render_batches,
    render_check,
    render_errors,
    render_person,
    render_status,
)
from syncer.run.context import Deadline
from syncer.run.engine import RunOptions
from syncer.run.progress import Progress
from syncer.run.report import plan_lines, summary_lines
from syncer.sandbox.demo import run_demo
from syncer.sandbox.runner import Sandbox

log = logging.getLogger("syncer.run")


@dataclass
class AppContext:
    config_option: str | None
    debug: bool

    @property
    def config_path(self) -> Path:
        return find_config_path(self.config_option)

    def load_config(self) -> Config:
        return load_config(self.config_path)


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
        click.echo(f"error: {len(error.problems)} problems in the configuration{where}:", err=True)
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
    else:
        click.echo(f"error: {error.message}", err=True)
    if error.hint:
        click.echo(f"hint: {error.hint}", err=True)


EXIT_CODES = "\b\nExit codes:\n" + "\n".join(
    f"  {int(code):>3}  {meaning.replace('`', '')}" for code, meaning in EXIT_CODE_MEANINGS.items()
)


@click.group(
    cls=SyncerGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EXIT_CODES,
)
@click.version_option(__version__, prog_name="syncer")
@click.option(
    "--config",
    "config_option",
    metavar="PATH",
    help="Configuration file (default: $SYNCER_CONFIG, else ./syncer.yaml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debugging detail.")
@click.option("-q", "--quiet", is_flag=True, help="Log warnings and errors only.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(
    ctx: click.Context, config_option: str | None, verbose: bool, quiet: bool, debug: bool
) -> None:
    """Keep a HubSpot CRM and a Mailchimp audience in two-way sync.

    Run `syncer demo` to see it work against the built-in sandbox, `syncer init` to start a
    configuration, and `syncer run` from cron. The exit codes are listed below.
    """
    configure_logging(1 if verbose else -1 if quiet else 0)
    ctx.obj = AppContext(config_option=config_option, debug=debug)


@cli.command()
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
            findings.extend(check_segments(config, hubspot, mailchimp, fix=fix))
    render_check(Output(), findings)
    for line in check_summary(findings):
        click.echo(line, err=True)
    return check_exit_code(findings)


@cli.command()
@click.option(
    "--dry-run", is_flag=True, help="Fetch and decide, then print the plan; write nothing."
)
@click.option("--full", is_flag=True, help="Ignore the cursors and read both sides completely.")
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

    Ctrl-C or SIGTERM stops the run at the next safe point (exit 130); a second one stops it at
    once. Either way the next run carries on.
    """
    config = app.load_config()
    options = RunOptions(dry_run=dry_run, full=full, force=force)
    deadline = Deadline(max_time)
    with _signals_stop(deadline):
        report = sync_once(config, options, deadline=deadline, progress=_progress())
    if report.plan is not None:
        if as_json:
            click.echo(json.dumps(report.plan.as_json(), indent=2))
        else:
            for line in plan_lines(report.plan):
                click.echo(line)
        return ExitCode.OK
    if as_json:
        click.echo(json.dumps(asdict(report), indent=2))
    else:
        for line in summary_lines(report.counts, report.api_calls, report.outcome):
            click.echo(line)
        for failure in report.failures[:20]:
            click.echo(f"  failed: {failure}", err=True)
    return ExitCode.PARTIAL if report.outcome == "partial" else ExitCode.OK


@cli.command()
@click.option("--mailchimp-port", type=int, default=0, show_default=True, help="0: any free port.")
@click.option("--hubspot-port", type=int, default=0, show_default=True, help="0: any free port.")
def sandbox(mailchimp_port: int, hubspot_port: int) -> None:
    """Serve local simulators of both APIs until interrupted; print how to reach them.

    The first line on stdout is JSON with the base URLs, credentials and list id. The
    simulators also answer an admin API under /_sim/ (reset, seed, clock, faults, config,
    requests) for tests and demos.
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    with Sandbox(mailchimp_port=mailchimp_port, hubspot_port=hubspot_port) as running:
        click.echo(json.dumps(running.info.as_dict()))
        sys.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (stable shape).")
@click.option("--check", "as_check", is_flag=True, help="Exit 1 when unhealthy (for monitoring).")
@click.pass_obj
def status(app: AppContext, as_json: bool, as_check: bool) -> int:
    """Show health, the last runs, cursors, open batches, people needing attention, segments."""
    config = app.load_config()
    with open_store(config) as store:
        report = status_report(store, config)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        render_status(Output(), report)
    if as_check and not report["health"]["ok"]:
        return ExitCode.PARTIAL
    return ExitCode.OK


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option(
    "--limit", type=int, default=20, show_default=True, help="Name at most N people (0: all)."
)
@click.pass_obj
def errors(app: AppContext, as_json: bool, limit: int) -> None:
    """List failed and blocked contacts, grouped by reason, each with what to do."""
    config = app.load_config()
    with open_store(config) as store:
        found = error_list(store, limit)
    if as_json:
        click.echo(json.dumps(found, indent=2))
    else:
        render_errors(Output(), found)
    if found["unlisted"]:
        click.echo(
            f"{found['unlisted']:,} more not listed (`syncer errors --limit 0` lists all)", err=True
        )


@cli.command()
@click.argument("emails", nargs=-1)
@click.option("--all", "everyone", is_flag=True, help="Retry every failed or blocked contact.")
@click.pass_obj
def retry(app: AppContext, emails: tuple[str, ...], everyone: bool) -> int:
    """Queue failed contacts again; the next `syncer run` decides and writes them anew."""
    if bool(emails) == everyone:
        raise click.UsageError("give one or more EMAIL addresses, or --all")
    config = app.load_config()
    with run_lock(config.state_path), open_store(config) as store:
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


@cli.command()
@click.option("--limit", type=int, default=20, show_default=True, help="How many batches.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_obj
def batches(app: AppContext, limit: int, as_json: bool) -> None:
    """List recent Mailchimp batches and what became of their operations."""
    config = app.load_config()
    with open_store(config) as store:
        found = store.batch_history(limit)
    if as_json:
        click.echo(json.dumps(found, indent=2))
    else:
        render_batches(Output(), found)


@cli.command()
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
@click.pass_obj
def show(app: AppContext, email: str, as_json: bool) -> int:
    """Show one person: both cached sides, the base, and every decision and change."""
    config = app.load_config()
    with open_store(config) as store:
        found = person(store, email)
    if found is None:
        click.echo(f"error: {email} is not in the cache", err=True)
        return ExitCode.CONFIG
    if as_json:
        click.echo(json.dumps(found, indent=2))
    else:
        render_person(Output(), found)
    return ExitCode.OK


@cli.command()
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Keep the demo's config and cache in DIR (default: a temporary folder).",
)
def demo(keep: Path | None) -> int:
    """Run the whole job against the built-in sandbox: no account, no network needed."""
    return run_demo(Output(), _progress, keep)


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="syncer.yaml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> int:
    """Write a starter configuration (every key documented) to PATH."""
    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; pass --force to overwrite it")
    template = resources.files("syncer").joinpath("config.example.yaml").read_text()
    path.write_text(template)
    path.chmod(0o600)
    click.echo(f"wrote {path}")
    click.echo("next: set HUBSPOT_TOKEN and MAILCHIMP_API_KEY in the environment, put your")
    click.echo(f"audience id in {path}, then run `syncer --config {path} check --fix`")
    return ExitCode.OK


def _progress() -> Progress:
    """A live display on a terminal; one log line per phase under cron."""
    if sys.stderr.isatty():
        return RichProgress(Console(stderr=True))
    return Progress()


@contextmanager
def _signals_stop(deadline: Deadline) -> Iterator[None]:
    """Ctrl-C and SIGTERM (what cron and systemd send) ask the run to stop at its next safe point.

    The first signal only sets a flag the phases check between pages and batches; a second one
    stops at once, the way Ctrl-C always does, for when a slow call is in the way.
    """

    def ask(signum: int, frame: object) -> None:
        if deadline.interrupted:
            raise KeyboardInterrupt
        deadline.interrupt()
        log.warning(
            "%s: stopping at the next safe point (send it again to stop at once)",
            signal.Signals(signum).name,
        )

    previous = {number: signal.signal(number, ask) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="syncer")
