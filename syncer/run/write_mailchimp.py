"""Sending queued Mailchimp writes, and following batches until their results are in.

A handful of writes go as direct calls (a real batch can take minutes); more go as batches of up
to 1,000 upserts. A batch's id is stored in the same transaction that marks its operations
submitted. A run keeps sending as its batches finish, until the queue is empty or no batch has
finished for ``sync.batch_wait_seconds``; every run starts by collecting whatever earlier runs left
open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from math import ceil

from syncer.cache.outbox import BatchRow
from syncer.connectors.mailchimp.batches import OperationResult
from syncer.connectors.mailchimp.client import BATCH_LIMIT, MemberOperation
from syncer.connectors.mailchimp.records import BatchStatus
from syncer.core import causes
from syncer.core.identity import subscriber_hash
from syncer.core.records import Operation
from syncer.errors import AuthError, RemoteError, RetriableError
from syncer.run.cancel import finish_cancel, recheck_waiting
from syncer.run.context import Failure, RunContext
from syncer.run.lane import Steps, run_now
from syncer.run.member_restore import restore_steps
from syncer.run.recheck import hold_stale_mailchimp, hold_stale_member
from syncer.run.settle import mark_failed, settle_mailchimp

log = logging.getLogger("syncer.run")

HELD_BY_ANOTHER = (
    "the new address {email} is already held by another Mailchimp member ({status}); "
    "the rename is not made"
)

#: Passes of direct writes per run: the writes, then the retries their answers asked for
#: (``pending``, or without a refused value).
DIRECT_PASSES = 2


#: Seconds before the first look at a run's batches; each later wait doubles, up to
#: ``sync.batch_poll_seconds``. A batch of a few hundred upserts can be done in a second.
FIRST_POLL = 0.25


def submit_mailchimp(ctx: RunContext) -> list[str]:
    """Submit the queued writes as batches without waiting for them, so Mailchimp works on them
    while HubSpot is written; returns their ids for :func:`write_mailchimp` to wait for. A
    handful (``sync.direct_threshold``) is left for write_mailchimp's direct calls."""
    queued = ctx.store.queued_count("mailchimp")
    if queued <= ctx.config.sync.direct_threshold or ctx.should_stop():
        return []
    hold_stale_mailchimp(ctx)
    queued = ctx.store.queued_count("mailchimp")
    if queued <= ctx.config.sync.direct_threshold:
        return []
    return _submit_batches(ctx, queued)


def write_mailchimp(ctx: RunContext, submitted: Sequence[str] = ()) -> None:
    """Send what is queued and follow the batches, sending more as room opens, until the queue
    is empty, no batch has finished for ``sync.batch_wait_seconds``, or the run must stop.

    At most ``sync.max_open_batches`` are open at once (Mailchimp refuses a 501st unfinished
    batch), so a large queue goes out in turns: when half the room is free again, the next
    batches go. The results of a batch can queue writes again (Mailchimp's ``pending`` retries):
    they go out in the same run. What is still queued or open at the end waits, counted in the
    run's report, for the next run.
    """
    waiting = list(submitted)
    direct_passes = DIRECT_PASSES
    while not ctx.should_stop():
        queued = ctx.store.queued_count("mailchimp")
        if queued > ctx.config.sync.direct_threshold:
            hold_stale_mailchimp(ctx)  # a value edited since it was read stays
            queued = ctx.store.queued_count("mailchimp")
        if not queued and not waiting:
            return
        if 0 < queued <= ctx.config.sync.direct_threshold and direct_passes:
            if not _send_directly(ctx, ctx.store.queued_operations("mailchimp")):
                return
            direct_passes -= 1
            if not waiting:
                continue  # their answers may have queued a retry
        elif queued > ctx.config.sync.direct_threshold:
            waiting += _submit_batches(ctx, queued)
        # Room held by an earlier run's batches opens when they finish.
        waiting = waiting or [batch.id for batch in ctx.store.open_batches()]
        if not waiting:
            return
        more = ctx.store.queued_count("mailchimp") > 0
        settled = _wait_for(ctx, waiting, enough=_turn(ctx) if more else len(waiting))
        if not settled:
            return
        waiting = [batch_id for batch_id in waiting if batch_id not in settled]


def _turn(ctx: RunContext) -> int:
    """How many batches to see finish before sending more: half the room, so that Mailchimp
    always has work while the next ones are read from the outbox and sent."""
    return max(1, ctx.config.sync.max_open_batches // 2)


def collect_batches(ctx: RunContext) -> None:
    """Check every batch earlier runs left open; settle the finished ones."""
    open_batches = ctx.store.open_batches()
    if not open_batches:
        return
    ctx.progress.phase("collecting earlier Mailchimp batches", len(open_batches))
    for batch in open_batches:
        _check(ctx, batch)
        ctx.progress.advance()


def _send_directly(ctx: RunContext, operations: list[Operation]) -> bool:
    """Send a handful of writes one call each; ``False`` when an error stopped the sending."""
    ctx.progress.phase("writing to Mailchimp", len(operations))
    for operation in operations:
        try:
            if hold_stale_member(ctx, operation):  # a value edited since it was read stays
                ctx.progress.advance()
                continue
        except AuthError:
            raise
        except RemoteError as error:  # not sent: it stays queued as it is
            _stop_writing(ctx, error)
            return False
        with ctx.store.transaction():
            ctx.store.mark_sent([operation.id])
        try:
            result = ctx.mailchimp.upsert_member(_member_operation(operation))
        except AuthError:
            raise
        except RemoteError as error:
            # Sent, answer unknown: it stays queued (a repeat is a harmless upsert), marked as
            # sent, so a next decision that finds its values knows that it landed.
            ctx.store.note_unanswered(operation.id, f"sent, no answer: {error}")
            _stop_writing(ctx, error)
            return False
        answer = _rename_answer(ctx, operation, result)
        with ctx.store.transaction():
            _settle(ctx, operation, answer)
        ctx.progress.advance()
    return True


def _stop_writing(ctx: RunContext, error: RemoteError) -> None:
    ctx.counts["mailchimp_write_errors"] += 1
    ctx.failures.append(Failure(f"Mailchimp write: {error}"))
    log.error("%s; the remaining writes stay queued for the next run", error)


def _submit_batches(ctx: RunContext, queued: int) -> list[str]:
    """Submit the queued writes, a batch's worth read from the outbox at a time."""
    room = ctx.config.sync.max_open_batches - len(ctx.store.open_batches())
    groups = ceil(queued / BATCH_LIMIT)
    if room < groups:
        log.info(
            "%d Mailchimp batches are open; %d of %d new ones go now, the rest as they finish",
            ctx.config.sync.max_open_batches - room,
            max(room, 0),
            groups,
        )
    ctx.progress.phase("submitting Mailchimp batches", min(groups, max(room, 0)))
    submitted: list[str] = []
    after = 0
    while len(submitted) < room and not ctx.should_stop():
        group = ctx.store.queued_operations("mailchimp", after=after, limit=BATCH_LIMIT)
        if not group:
            break
        after = group[-1].id
        batch = ctx.mailchimp.submit_batch(member_operations(group))
        record_submitted(ctx, batch, group)
        submitted.append(batch.id)
        ctx.progress.advance()
    return submitted


def member_operations(group: Sequence[Operation]) -> list[MemberOperation]:
    """A batch's operations as the client sends them (no cache work)."""
    return [_member_operation(op) for op in group]


def record_submitted(ctx: RunContext, batch: BatchStatus, group: Sequence[Operation]) -> None:
    """Store the batch Mailchimp accepted: its id, its operations submitted, its people pending
    (not decided again until its results are in)."""
    ctx.store.record_batch(batch.id, batch.status, [op.id for op in group], ctx.run_id)
    ctx.store.mark_pending([operation.contact_id for operation in group])
    ctx.counts["batches_submitted"] += 1


def _wait_for(ctx: RunContext, batch_ids: list[str], enough: int) -> set[str]:
    """Poll the batches until ``enough`` of them are settled, or none has finished for
    ``sync.batch_wait_seconds``; returns the ids settled.

    The first look comes soon and the waits grow (:func:`poll_pauses`), so a batch done in a
    second costs a second, not a whole poll interval. Batches are looked at oldest first and a
    round stops at the first unfinished one: Mailchimp works through them in order, so asking
    about the younger ones would mostly spend calls on "not yet".
    """
    waiting = set(batch_ids)
    settled: set[str] = set()
    wait = ctx.deadline.remaining(ctx.config.sync.batch_wait_seconds)
    ctx.progress.phase(f"waiting up to {wait:.0f} s for Mailchimp batches", len(waiting))
    end = time.monotonic() + wait
    pauses = poll_pauses(ctx.config.sync.batch_poll_seconds)
    while waiting and len(settled) < enough and time.monotonic() < end:
        ctx.deadline.sleep(min(next(pauses), end - time.monotonic()))
        if ctx.deadline.interrupted:
            break
        for batch in [row for row in ctx.store.open_batches() if row.id in waiting]:
            if not _check(ctx, batch):
                break
            waiting.discard(batch.id)
            settled.add(batch.id)
            end = time.monotonic() + ctx.deadline.remaining(ctx.config.sync.batch_wait_seconds)
            ctx.progress.advance()
        # An edit made since the last look cancels an unstarted batch (syncer.run.cancel): done
        # with here, its other writes go again at once.
        cancelled = recheck_waiting(
            ctx, [row for row in ctx.store.open_batches() if row.id in waiting]
        )
        if cancelled:
            waiting -= cancelled
            settled |= cancelled
            break
    if waiting and len(settled) < enough:
        log.info("%d Mailchimp batches still open; the next run collects them", len(waiting))
    return settled


def poll_pauses(longest: float) -> Iterator[float]:
    """The waits between looks at a run's batches: :data:`FIRST_POLL`, doubling to ``longest``."""
    pause = min(FIRST_POLL, longest)
    while True:
        yield pause
        pause = min(pause * 2, longest)


def _check(ctx: RunContext, batch: BatchRow) -> bool:
    """Ask Mailchimp about one batch; settle it when finished. True when it is settled."""
    return run_now(check_steps(ctx, batch))


def check_steps(ctx: RunContext, batch: BatchRow) -> Steps[bool]:
    """:func:`_check` as :data:`~syncer.run.lane.Steps`, so that the batches can be looked at
    off the cache's thread while HubSpot is written (``collect``)."""
    if batch.status == "cancelling":  # a killed run's cancel (syncer.run.cancel)
        try:
            yield from finish_cancel(ctx, batch.id)
        except RetriableError as error:
            log.warning("batch %s: %s; its cancel is finished next run", batch.id, error)
            return False
        return True
    mailchimp = ctx.mailchimp
    try:
        status: BatchStatus = yield lambda: mailchimp.get_batch(batch.id)
    except RetriableError as error:
        log.warning("batch %s: %s", batch.id, error)
        return False
    ctx.store.update_batch(batch.id, status.status, status.finished, status.errored)
    if not status.done:
        _report_stall(ctx, batch, status.finished)
        return False
    try:
        results: list[OperationResult] = yield lambda: mailchimp.batch_results(status)
    except AuthError:
        raise
    except RemoteError as error:
        log.warning("batch %s: %s; its results are fetched again next run", batch.id, error)
        ctx.counts["archive_errors"] += 1
        return False
    operations = {str(op.id): op for op in ctx.store.operations_in_batch(batch.id)}
    answered = []
    for result in results:
        operation = operations.pop(result.operation_id, None)
        if operation is None:
            # A result for no open operation of this batch (a repeat, or an id syncer never
            # sent): nothing to settle, but never dropped without a word.
            ctx.counts["unknown_results"] += 1
            log.warning(
                "batch %s: a result for operation %r, which is not open in this batch, is ignored",
                batch.id,
                result.operation_id,
            )
            continue
        answered.append((operation, result))
    answers = [(op, _rename_answer(ctx, op, result)) for op, result in answered]
    with ctx.store.transaction():
        for operation, answer in answers:
            _settle(ctx, operation, answer)
        for operation in operations.values():
            ctx.store.set_operation_state(operation.id, "queued", "missing from the batch results")
        ctx.store.close_batch(batch.id)
    ctx.counts["batches_processed"] += 1
    for operation, answer in answers:  # a look saw an edit this write may have gone over
        if operation.overwrites and not isinstance(answer, str) and answer.status_code < 300:
            yield from restore_steps(ctx, operation)
    return True


def _report_stall(ctx: RunContext, batch: BatchRow, finished: int) -> None:
    if finished != batch.finished:
        return
    since = datetime.fromisoformat(batch.progress_at)
    stalled_for = datetime.now(UTC) - since
    if stalled_for > timedelta(seconds=ctx.config.sync.batch_stall_seconds):
        ctx.counts["batches_stalled"] += 1
        log.warning(
            "Mailchimp batch %s has made no progress for %d minutes",
            batch.id,
            stalled_for.total_seconds() // 60,
        )


def _rename_answer(
    ctx: RunContext, operation: Operation, result: OperationResult
) -> OperationResult | str:
    """What a refused rename means: the answer to settle, or why the rename cannot be made.

    A refused rename may be the repeat of one that went through (its answer was lost, or a
    duplicate batch ran it again): the old address is gone. The member now at the new address
    is this one only if it has this member's ``unique_email_id``, which survives every change of
    address; then the rename landed, and its current state is the answer. A member there with
    another id is someone else: the rename cannot be made while they hold the address.
    """
    body = operation.payload["body"]
    new_email = str(body.get("email_address", ""))
    renaming = bool(new_email) and subscriber_hash(new_email) != operation.payload["hash"]
    if not renaming or not 400 <= result.status_code < 500:
        return result
    try:
        member = ctx.mailchimp.member_body(new_email)
    except RemoteError:
        return result
    if member is None:
        return result
    row = ctx.store.contact(operation.contact_id)
    ours = row.unique_email_id if row is not None else None
    if ours and member.get("unique_email_id") == ours:
        return OperationResult(result.operation_id, 200, member)
    return HELD_BY_ANOTHER.format(email=new_email, status=member.get("status", "?"))


def _settle(ctx: RunContext, operation: Operation, answer: OperationResult | str) -> None:
    if isinstance(answer, str):
        mark_failed(ctx, operation, "failed", answer, causes.MAILCHIMP_ADDRESS_TAKEN)
    else:
        settle_mailchimp(ctx, operation, answer)


def _member_operation(operation: Operation) -> MemberOperation:
    return MemberOperation(
        operation_id=str(operation.id),
        subscriber_hash=str(operation.payload["hash"]),
        body=dict(operation.payload["body"]),
        method=str(operation.payload.get("method", "PUT")),
        suffix=str(operation.payload.get("suffix", "")),
    )
