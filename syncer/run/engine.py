"""One run: collect old batches, fetch, reconcile, guard, write, record.

The order is the crash-safety argument. Results of earlier batches are settled first, so nothing
decided before is decided again blindly. Fetched pages are committed before their cursor moves.
Each decision is stored with its outbox rows in one transaction. Writes are idempotent upserts
whose success updates the base, so a write repeated after a crash changes nothing. A dry run does
all of it up to the writes inside one transaction that is then rolled back. A first sync
decides, and sends the writes the guard does not count, while it reads (``pipeline``); the
order holds for each person and each write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncer.cache.failures import cache_failure
from syncer.core.guard import guard_checks, guard_verdict
from syncer.core.preferences import consent_keys
from syncer.errors import (
    GuardTripped,
    Interrupted,
    OutOfTime,
    SyncerError,
    UnexpectedError,
)
from syncer.run.collect import Collector
from syncer.run.context import Failure, RunContext
from syncer.run.decide import reconcile_contacts, reconcile_dirty
from syncer.run.deletions import check_hubspot_deletions
from syncer.run.engagement import sync_engagement
from syncer.run.fetch import fetch
from syncer.run.merge_formats import with_date_formats
from syncer.run.mirror import (
    add_missing_options,
    missing_options,
    redecide_on_change,
)
from syncer.run.overwritten import Doubt, restore_unanswered, unanswered_updates
from syncer.run.pipeline import Pipeline
from syncer.run.preferences import add_group_options, resolve_preferences
from syncer.run.preflight import verify_fields
from syncer.run.report import Plan, build_plan
from syncer.run.segments import (
    apply_scope,
    queue_tags,
    read_all_tags,
    read_lists,
    segments_verdict,
)
from syncer.run.write_hubspot import relink, write_hubspot
from syncer.run.write_mailchimp import collect_batches, submit_mailchimp, write_mailchimp

log = logging.getLogger("syncer.run")


@dataclass(frozen=True)
class RunOptions:
    dry_run: bool = False
    full: bool = False
    force: bool = False
    #: `syncer engagement --backfill --since`: the engagement pass alone, from that date.
    backfill_since: datetime | None = None


@dataclass
class RunReport:
    mode: str
    outcome: str
    counts: dict[str, int]
    api_calls: dict[str, dict[str, int]]
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None
    plan: Plan | None = None


class _Rollback(Exception):
    """Raised at the end of a dry run to undo everything it did to the cache."""


def run_sync(ctx: RunContext, options: RunOptions) -> RunReport:
    """Run once; the caller holds the lock and owns the clients' lifetime."""
    report = _dry_run(ctx, options) if options.dry_run else _real_run(ctx, options)
    if ctx.deadline.interrupted:
        raise Interrupted("interrupted: the run stopped at a safe point")
    return report


def _real_run(ctx: RunContext, options: RunOptions) -> RunReport:
    ctx.run_id = ctx.store.start_run("real")
    try:
        if options.backfill_since is not None:
            sync_engagement(ctx, since=options.backfill_since)
        else:
            _sync(ctx, options)
    except OutOfTime as error:
        ctx.stopped_early = True
        log.warning("%s; the next run carries on", error)
    except SyncerError as error:
        _finish_failed(ctx, "guarded" if isinstance(error, GuardTripped) else "failed", error)
        raise
    except KeyboardInterrupt:
        _finish_failed(ctx, "interrupted", Interrupted("interrupted"))
        raise
    except Exception as error:  # noqa: BLE001 - any failure is recorded before it leaves the run
        failure = cache_failure(error, ctx.store.path) or UnexpectedError.of(error)
        _finish_failed(ctx, "failed", failure)
        raise failure from error
    _note_skipped(ctx)
    if ctx.deadline.interrupted:
        return _finish(ctx, "interrupted", "interrupted")
    return _finish(ctx, "partial" if ctx.failures else "ok", None)


def _dry_run(ctx: RunContext, options: RunOptions) -> RunReport:
    report: RunReport | None = None
    try:
        with ctx.store.transaction():
            ctx.run_id = ctx.store.start_run("dry")
            if options.backfill_since is None:
                _prepare(ctx, options)
            if not ctx.should_stop():
                sync_engagement(ctx, since=options.backfill_since)
            _note_skipped(ctx)
            plan = build_plan(ctx)
            report = RunReport(
                mode="dry",
                outcome="planned",
                counts=dict(ctx.counts),
                api_calls=ctx.api_calls(),
                failures=list(ctx.failures),
                plan=plan,
            )
            raise _Rollback
    except _Rollback:
        pass
    assert report is not None
    return report


def _sync(ctx: RunContext, options: RunOptions) -> None:
    pipeline = _prepare(ctx, options)
    if ctx.should_stop():
        return
    deleted = ctx.counts["hubspot_deleted"]
    # Mailchimp runs its batches on its side while HubSpot is written, and their results are
    # collected meanwhile (``collect``); those still open are waited for after.
    collector = Collector(ctx, (pipeline.batches if pipeline else []) + submit_mailchimp(ctx))
    try:
        _add_options(ctx)
        # HubSpot updates sent during a first sync's read that need a look at their contact.
        relinked = relink(ctx, pipeline.unresolved) if pipeline else []
        relinked += write_hubspot(ctx, collector)
        if relinked:
            reconcile_contacts(ctx, [row for i in relinked if (row := ctx.store.contact(i))])
            _add_options(ctx)
            write_hubspot(ctx, collector)
        submitted = collector.left()
    finally:
        collector.close()
    if ctx.counts["hubspot_deleted"] > deleted:
        # HubSpot's writes met deleted contacts, whose members the delete rule may unsubscribe.
        _guard(ctx, options, first_sync=False)
    write_mailchimp(ctx, submitted)
    if ctx.counts["found_existing_members"] and not ctx.should_stop():
        # Creates that met members the cache did not know: their subscription is decided now.
        reconcile_dirty(ctx)
        _add_options(ctx)
        write_hubspot(ctx)
        write_mailchimp(ctx)
    if not ctx.should_stop():
        sync_engagement(ctx)  # after the contact sync, which it never stops


def _add_options(ctx: RunContext) -> None:
    """Before HubSpot's writes: the options its queued multiple-checkboxes values need."""
    add_missing_options(ctx)
    add_group_options(ctx)


def _release_stranded(ctx: RunContext) -> None:
    """People left waiting for writes no longer out are decided again, never left out for good:
    the net under the release each settled or held-back write makes (caches from before that
    release was complete hold such people)."""
    with ctx.store.transaction():
        released = ctx.store.release_stranded()
    if released:
        ctx.counts["released_stranded"] = released
        log.warning("%d people waited for writes no longer out; they are decided again", released)


def _prepare(ctx: RunContext, options: RunOptions) -> Pipeline | None:
    """Everything before the writes, but those a first sync makes while reading (the pipeline
    it returns); a dry run stops here."""
    verify_fields(ctx)
    resolve_preferences(ctx)
    collect_batches(ctx)
    _release_stranded(ctx)
    # Updates earlier runs never heard back about, with the contacts as the check before them
    # left them: the fetch is about to replace those with what the updates wrote.
    doubts = [] if options.dry_run else unanswered_updates(ctx)
    first_sync = not ctx.store.has_completed_run()
    if not Pipeline.wanted(ctx, first_sync=first_sync, dry_run=options.dry_run):
        _read_and_decide(ctx, options, None, doubts, first_sync=first_sync)
        return None
    # Deciding while reading needs the date formats first (one call a run anyway).
    ctx.config = with_date_formats(ctx.config, ctx.read_merge_fields)
    exempt = ctx.store.created_on_purpose()  # the guard's exemption for creates
    pipeline = Pipeline(ctx, creates_exempt=exempt)
    try:
        _read_and_decide(ctx, options, pipeline, doubts, first_sync=first_sync)
    finally:
        pipeline.close()
    return pipeline


def _read_and_decide(
    ctx: RunContext,
    options: RunOptions,
    pipeline: Pipeline | None,
    doubts: list[Doubt],
    *,
    first_sync: bool,
) -> None:
    """The fetch and the decisions after it, up to the guard; a first sync's ``pipeline``
    decides and writes beside them, and has finished its calls when this returns."""
    fetch(ctx, options.full, pipeline)
    if pipeline is not None:
        pipeline.finish()  # what follows the read starts with every call of it answered
    if ctx.should_stop():
        return
    restore_unanswered(ctx, doubts)  # before the decisions take their values for landed
    check_hubspot_deletions(ctx, first_sync=first_sync)
    redecide_on_change(ctx)  # before the scope, which keeps people outside it out of reconcile
    read_all_tags(ctx)
    list_ids = read_lists(ctx, full=options.full)
    apply_scope(ctx, list_ids)
    if pipeline is None and ctx.store.dirty_contacts(0, 1):  # a quiet run needs no formats
        ctx.config = with_date_formats(ctx.config, ctx.read_merge_fields)
    # The Mailchimp-only people's creates go out while the others are still being decided.
    reconcile_dirty(ctx, pipeline.decided if pipeline is not None else None)
    linked_by_run = 0
    if pipeline is not None:
        pipeline.finish()
        linked_by_run = pipeline.linked_by_creates()
    queue_tags(ctx, list_ids)
    missing_options(ctx)  # a mirror property that cannot take the values stops the run here
    # Only a cache created on purpose (syncer.cache.creation) has a first sync exempt.
    exempt = first_sync and ctx.store.created_on_purpose()
    _guard(ctx, options, first_sync=exempt, linked_by_run=linked_by_run)


def _guard(
    ctx: RunContext, options: RunOptions, *, first_sync: bool, linked_by_run: int = 0
) -> None:
    """Stop the run before writing when what it queued is too much; the writes an earlier run's
    guard let through, carried on to this one, are no longer counted. Read once a run, so a second
    look (after HubSpot's deletions) counts everything this run queued. The linked people are
    counted as the decisions found them: not those the exempt creates sent beside the decisions
    have linked since (``linked_by_run``)."""
    if ctx.guard_passed is None:
        ctx.guard_passed = ctx.store.guard_passed_through()
    queued = ctx.store.queued_counts(after=ctx.guard_passed)
    ctx.guard = guard_checks(
        queued,
        ctx.store.linked_count() - linked_by_run,
        ctx.config.safety,
        first_sync=first_sync,
        consent=bool(consent_keys(ctx.config.preferences)),
    )
    ctx.guard_scope = segments_verdict(ctx, queued)
    verdict = guard_verdict(ctx.guard) or ctx.guard_scope
    if options.dry_run:
        return  # the plan shows the verdict, after what the run would have written
    if verdict and not options.force:
        raise GuardTripped(f"the blast-radius guard stopped the run before writing: {verdict}")
    if verdict:
        log.warning("blast-radius guard overridden by --force: %s", verdict)
    ctx.store.pass_guard()


def _finish_failed(ctx: RunContext, outcome: str, error: SyncerError) -> None:
    """Record how a failed run ended, if the cache still can be written (a full disk is one way
    to fail); the error itself goes on to the operator either way."""
    try:
        _note_skipped(ctx)
        _finish(ctx, outcome, str(error))
    except Exception as recording:  # noqa: BLE001 - the run's own error must not be hidden
        reason = cache_failure(recording, ctx.store.path) or UnexpectedError.of(recording)
        log.error("the run's outcome (%s) could not be recorded: %s", outcome, reason)


def _note_skipped(ctx: RunContext) -> None:
    """Report the malformed records the clients left out: each one a failure of the run (so it
    ends partial), a warning and an event, never a reason to stop syncing everyone else."""
    for client in (ctx.hubspot, ctx.mailchimp):
        for note in client.skipped.take():
            ctx.failures.append(Failure(f"skipped: {note}"))
            ctx.counts["malformed"] += 1
            ctx.store.add_event(ctx.run_id, None, "malformed", note)
            log.warning("%s; it was skipped", note)


def _finish(ctx: RunContext, outcome: str, error: str | None) -> RunReport:
    counts = dict(ctx.counts)
    counts["batches_open"] = len(ctx.store.open_batches())
    counts["mailchimp_left_queued"] = ctx.store.queued_count("mailchimp")
    if ctx.stopped_early:
        counts["stopped_early"] = 1
    usage: dict[str, Any] | None = None
    if ctx.hubspot.throttle.usage.daily_limit is not None:
        usage = {
            "daily_limit": ctx.hubspot.throttle.usage.daily_limit,
            "daily_remaining": ctx.hubspot.throttle.usage.daily_remaining,
        }
    if ctx.run_id is not None:
        ctx.store.finish_run(
            ctx.run_id,
            outcome,
            counts=counts,
            api_calls=ctx.api_calls(),
            error=error,
            hubspot_usage=usage,
        )
    return RunReport(
        mode="real",
        outcome=outcome,
        counts=counts,
        api_calls=ctx.api_calls(),
        failures=list(ctx.failures),
        error=error,
    )
