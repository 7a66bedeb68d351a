"""One run: collect old batches, fetch, reconcile, guard, write, record.

The order is the crash-safety argument. Results of earlier batches are settled first, so nothing
decided before is decided again blindly. Fetched pages are committed before their cursor moves.
Each decision is stored with its outbox rows in one transaction. Writes are idempotent upserts
whose success updates the base, so a write repeated after a crash changes nothing. A dry run does
all of it up to the writes inside one transaction that is then rolled back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncer.cache.failures import cache_failure
from syncer.connectors.hubspot.client import HISTORY_LIMIT
from syncer.core import causes
from syncer.core.guard import guard_checks, guard_verdict
from syncer.core.models import Decision
from syncer.core.plan import operations_for
from syncer.core.preferences import consent_keys
from syncer.core.reconcile import reconcile
from syncer.core.records import ContactRow
from syncer.errors import (
    GuardTripped,
    Interrupted,
    OutOfTime,
    SyncerError,
    UnexpectedError,
)
from syncer.run.context import Failure, RunContext
from syncer.run.deletions import check_hubspot_deletions
from syncer.run.engagement import sync_engagement
from syncer.run.fetch import fetch
from syncer.run.identity import resolve
from syncer.run.merge_formats import with_date_formats
from syncer.run.mirror import (
    add_missing_options,
    journal_mirror,
    missing_options,
    redecide_on_change,
)
from syncer.run.preferences import (
    add_group_options,
    journal_preferences,
    report_unknown_choices,
    resolve_preferences,
)
from syncer.run.preflight import verify_fields
from syncer.run.report import Plan, build_plan
from syncer.run.segments import (
    apply_scope,
    queue_tags,
    read_all_tags,
    read_lists,
    segments_verdict,
)
from syncer.run.settle import settle_landed
from syncer.run.write_hubspot import write_hubspot
from syncer.run.write_mailchimp import collect_batches, submit_mailchimp, write_mailchimp

log = logging.getLogger("syncer.run")

RECONCILE_CHUNK = 500
HISTORY_FLUSH = 1000


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
    _prepare(ctx, options)
    if ctx.should_stop():
        return
    deleted = ctx.counts["hubspot_deleted"]
    # Mailchimp runs its batches on its side while HubSpot is written; they are waited for after.
    submitted = submit_mailchimp(ctx)
    _add_options(ctx)
    relinked = write_hubspot(ctx)
    if relinked:
        reconcile_contacts(ctx, [row for i in relinked if (row := ctx.store.contact(i))])
        _add_options(ctx)
        write_hubspot(ctx)
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


def _prepare(ctx: RunContext, options: RunOptions) -> None:
    """Everything before the first remote write; a dry run stops here."""
    verify_fields(ctx)
    resolve_preferences(ctx)
    collect_batches(ctx)
    first_sync = not ctx.store.has_completed_run()
    fetch(ctx, options.full)
    if ctx.should_stop():
        return
    check_hubspot_deletions(ctx, first_sync=first_sync)
    redecide_on_change(ctx)  # before the scope, which keeps people outside it out of reconcile
    read_all_tags(ctx)
    list_ids = read_lists(ctx, full=options.full)
    apply_scope(ctx, list_ids)
    if ctx.store.dirty_contacts(0, 1):  # a quiet run decides nothing, and needs no formats
        ctx.config = with_date_formats(ctx.config, ctx.read_merge_fields)
    reconcile_dirty(ctx)
    queue_tags(ctx, list_ids)
    missing_options(ctx)  # a mirror property that cannot take the values stops the run here
    # Only a cache created on purpose (syncer.cache.creation) has a first sync exempt.
    _guard(ctx, options, first_sync=first_sync and ctx.store.created_on_purpose())


def _guard(ctx: RunContext, options: RunOptions, *, first_sync: bool) -> None:
    ctx.guard = guard_checks(
        ctx.store.queued_counts(),
        ctx.store.linked_count(),
        ctx.config.safety,
        first_sync=first_sync,
        consent=bool(consent_keys(ctx.config.preferences)),
    )
    ctx.guard_scope = segments_verdict(ctx)
    verdict = guard_verdict(ctx.guard) or ctx.guard_scope
    if verdict and options.dry_run:
        return  # the plan shows it, after what the run would have written
    if verdict and not options.force:
        raise GuardTripped(f"the blast-radius guard stopped the run before writing: {verdict}")
    if verdict:
        log.warning("blast-radius guard overridden by --force: %s", verdict)


def reconcile_dirty(ctx: RunContext) -> None:
    """Decide for every contact fetched since its last decision, in chunks.

    Contacts that need HubSpot's property history wait across chunks, so history is read in
    full batches of 50 rather than a few ids per chunk (only the last call may be short). A stop
    leaves the rest dirty for the next run.
    """
    ctx.progress.phase("reconciling")
    after = 0
    waiting: list[ContactRow] = []
    while not ctx.should_stop() and (rows := ctx.store.dirty_contacts(after, RECONCILE_CHUNK)):
        waiting.extend(_decide(ctx, rows))
        if len(waiting) >= HISTORY_FLUSH:
            # Whole calls only (HISTORY_LIMIT ids each); the rest waits for the next flush.
            whole = len(waiting) - len(waiting) % HISTORY_LIMIT
            _decide_with_history(ctx, waiting[:whole])
            waiting = waiting[whole:]
        after = rows[-1].id
        ctx.progress.advance(len(rows))
    _decide_with_history(ctx, waiting)


def reconcile_contacts(ctx: RunContext, rows: list[ContactRow]) -> None:
    """Decide for each row, reading HubSpot history once for those that need it."""
    _decide_with_history(ctx, _decide(ctx, rows))


def _decide(ctx: RunContext, rows: list[ContactRow]) -> list[ContactRow]:
    """Record every decision that needs no history; return the rows that wait for it."""
    waiting: list[ContactRow] = []
    with ctx.store.transaction():
        # One query for the chunk instead of three a person: most people have no write open,
        # so none can have landed, none is superseded, and none keeps them from being ``ok``.
        open_writes = ctx.store.with_open_operations([row.id for row in rows])
        for row in rows:
            if row.state != "ok" and row.id in open_writes:  # only queued writes can have landed
                settle_landed(ctx, row)
            decision = reconcile(row.view(), ctx.config)
            if decision.detach_member:
                ctx.store.detach_member(row, ctx.run_id)
                decision = reconcile(row.view(), ctx.config)
            if decision.needs_history:
                waiting.append(row)
            else:
                _record(ctx, row, decision, open_writes=row.id in open_writes)
    return waiting


def _decide_with_history(ctx: RunContext, waiting: list[ContactRow]) -> None:
    """Read the waiting people's contacts with history, then decide for each.

    A contact answered by another id was merged, and one not answered is gone (``identity``):
    those people are relinked or detached, and the relinked decided again.
    """
    if not waiting:
        return
    found = ctx.hubspot.read(
        [row.hubspot_id or "" for row in waiting],
        ctx.hubspot_properties,
        history=ctx.history_properties,
    )
    ctx.counts["history_reads"] += len(waiting)
    answered = {
        row.id: contact
        for row in waiting
        if (contact := found.get(row.hubspot_id or "")) is not None and contact.id == row.hubspot_id
    }
    moved = [row for row in waiting if row.id not in answered]
    relinked = resolve(ctx, moved, found, by_email=True).relinked if moved else []
    with ctx.store.transaction():
        for row in waiting:
            if row.id not in answered:
                continue
            row.hs_times = {
                "at": row.hs_modified,
                "values": {
                    name: [value, moment.isoformat()]
                    for name, (value, moment) in answered[row.id].stamps.items()
                },
            }
            _record(ctx, row, reconcile(row.view(), ctx.config))
    if relinked:
        reconcile_contacts(ctx, [person for i in relinked if (person := ctx.store.contact(i))])


def _record(
    ctx: RunContext, row: ContactRow, decision: Decision, *, open_writes: bool = True
) -> None:
    """Store a decision: its outbox rows, the base pairs that hold now, conflicts and blocks.

    ``open_writes`` False says the person had no write queued or submitted when the decision
    began (looked up for the whole chunk), so there is nothing to supersede or wait for.
    """
    operations = operations_for(row, decision, ctx.config)
    ctx.store.queue_operations(row.id, operations, ctx.run_id, supersede=open_writes)
    journal_mirror(ctx, row, decision)
    journal_preferences(ctx, row, decision)
    for key, pair in decision.agreed_now.items():
        row.base[key] = list(pair)
    for conflict in decision.conflicts:
        ctx.store.add_event(
            ctx.run_id,
            row.id,
            "conflict",
            f"HubSpot {conflict.hubspot_value!r} vs Mailchimp {conflict.mailchimp_value!r}: "
            f"{conflict.winner} kept ({conflict.reason})",
            field=conflict.key,
        )
    ctx.counts["conflicts"] += len(decision.conflicts)
    if decision.blocked:
        if row.reason != decision.blocked:
            ctx.store.add_event(ctx.run_id, row.id, "blocked", decision.blocked)
        row.state, row.reason = "blocked", decision.blocked
        row.cause = causes.of_block(decision.blocked, str((row.mc or {}).get("status", "")))
        ctx.counts["blocked"] += 1
    elif operations:
        row.state, row.reason = "todo", None
    elif not open_writes or ctx.store.open_operation_count(row.id) == 0:
        if decision.note and row.reason != decision.note:
            ctx.store.add_event(ctx.run_id, row.id, "skipped", decision.note)
            ctx.counts["skipped"] += 1
        row.state, row.reason = "ok", decision.note
    report_unknown_choices(ctx, row)
    if operations:
        ctx.counts["changed"] += 1
    row.dirty = 0
    ctx.store.save_decision(row)


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
