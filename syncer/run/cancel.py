"""While a batch waits in Mailchimp's queue: cancelling one that would overwrite a newer edit.

A batch can wait in Mailchimp's queue for minutes before it starts (it runs one batch at a time
per account), and an edit made in that time would be overwritten: Mailchimp has no conditional
write. What it has is ``DELETE /batches/{id}``, which stops a batch from running (reference §6).
So while a run waits for batches that have not finished running, each look at them also lists
the members changed since the last look (:func:`syncer.run.recheck.members_changed`: two calls,
one more per 1,000 changed members), until every batch holding writes has finished or the wait
ends (``sync.batch_wait_seconds`` without a batch finishing): looks are bounded by that time, not
by a count, so a batch that waits long behind others is looked at until it starts. A look sees
every write out, the run's own and those an earlier run left waiting. A batch not started,
holding a write that would overwrite one of the changed members, is looked at once more and,
still not started, cancelled: that write is held (the ``held`` event, the member cached as
it is now, decided again next run), and the batch's other writes are queued again, for
``write_mailchimp`` to send at once (after its own check). Every write out that would go over
a changed member has the values the look saw noted (``recheck``): one that can no longer be kept
from running (its batch started, the run's :data:`MOST_CANCELS` reached, a DELETE refused, or
one that may have come just after Mailchimp started the batch) gets them put back once it has
run, if it went over them (``member_restore``).
Cost: two listings a look while a batch holding writes has not finished; a cancel adds a look,
the DELETE, a read of each held member, the check's two listings and the new batch.

Crash safety (DESIGN §4): the batch is marked ``cancelling`` before the DELETE (the seen
values already noted on the writes it held), and its writes are released (queued again, counted as
sent: their answer is unknown) and the batch marked ``cancelled`` in one transaction after it.
A run killed in between finds the batch ``cancelling`` and finishes the cancel (a second DELETE
is a 404, taken as done), holding nothing but putting back what a noted write went over: the
edited member comes in with the next fetch and its person is decided again, which supersedes
the write. A write sent twice is the same upsert twice. Left open: an edit made after the last
look and before Mailchimp runs the write (no look saw it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from syncer.cache.outbox import BatchRow
from syncer.core.records import Operation
from syncer.errors import AuthError, RemoteError
from syncer.run.context import RunContext
from syncer.run.lane import Steps, run_now
from syncer.run.member_restore import restore_steps
from syncer.run.recheck import StaleWrite, hold, hold_for_members, members_changed

log = logging.getLogger("syncer.run")

#: Mailchimp statuses of a batch none of whose operations has run yet.
UNSTARTED = frozenset({"pending", "preprocessing"})
#: ... and of one whose operations may not all have run yet.
RUNNING = UNSTARTED | {"started"}
#: Batches one run cancels at most: each costs six calls and needs an edit made meanwhile.
MOST_CANCELS = 10
CANCELLED = "its batch {batch} was cancelled before it started (a member changed); sent again"


def recheck_waiting(ctx: RunContext, waiting: Sequence[BatchRow]) -> set[str]:
    """While any of ``waiting`` may still run, look at the members changed since the last look:
    hold the queued writes that would overwrite them, note on the writes out in batches what
    they would go over, and cancel the unstarted batches holding such writes; returns the ids
    cancelled. Their other writes are queued again, for the caller to send."""
    if not any(batch.status in RUNNING for batch in waiting):
        return set()
    ctx.counts["rechecks_while_waiting"] += 1
    stale = hold_for_members(ctx, members_changed(ctx, ctx.members_checked_since))
    by_batch: dict[str, list[StaleWrite]] = {}
    for write in stale:
        by_batch.setdefault(str(write[0].batch_id), []).append(write)
    status = {batch.id: batch.status for batch in ctx.store.open_batches()}
    cancelled: set[str] = set()
    for batch_id, writes in by_batch.items():
        if (
            status.get(batch_id) not in UNSTARTED
            or ctx.counts["batches_cancelled"] >= MOST_CANCELS
            or ctx.should_stop()
        ):
            continue  # it runs as decided; what it goes over is put back once it has run
        try:
            if _cancel(ctx, batch_id, writes):
                cancelled.add(batch_id)
        except AuthError:
            raise
        except RemoteError as error:  # the batch runs as decided; its results are settled
            log.warning("batch %s could not be cancelled: %s", batch_id, error)
    return cancelled


def finish_cancel(ctx: RunContext, batch_id: str) -> Steps[None]:
    """A batch a killed run was cancelling: delete it (again) and release its writes (as
    :data:`~syncer.run.lane.Steps`: the DELETE may be made off the cache's thread)."""
    mailchimp = ctx.mailchimp
    yield lambda: mailchimp.delete_batch(batch_id)
    operations = ctx.store.operations_in_batch(batch_id)
    with ctx.store.transaction():
        _release(ctx, batch_id, operations)
    log.info("batch %s: the cancel an earlier run began is finished", batch_id)
    for operation in operations:
        if operation.overwrites:  # the DELETE may have come after the batch started
            yield from restore_steps(ctx, operation)


def _cancel(ctx: RunContext, batch_id: str, writes: Sequence[StaleWrite]) -> bool:
    """Look at the batch once more; not started, cancel it (True), hold ``writes`` and queue
    its other writes again."""
    if ctx.mailchimp.get_batch(batch_id).status not in UNSTARTED:
        return False  # too late: it runs as decided (module docstring)
    with ctx.store.transaction():
        ctx.store.set_batch_status(batch_id, "cancelling")
    ctx.mailchimp.delete_batch(batch_id)
    held = {operation.id for operation, _, _, _ in writes}
    with ctx.store.transaction():
        for operation, row, fields, _ in writes:
            hold(ctx, operation, row, "Mailchimp", fields)
            person = ctx.store.contact(row.id)
            if person is not None:  # decided again next run, with the edit
                person.state, person.dirty = "todo", 1
                ctx.store.save_contact(person)
        rest = [op for op in ctx.store.operations_in_batch(batch_id) if op.id not in held]
        _release(ctx, batch_id, rest)
    ctx.counts["batches_cancelled"] += 1
    log.info("batch %s cancelled before it started: %d writes held", batch_id, len(held))
    for operation, _, _, seen in writes:  # it may have started just before the DELETE
        run_now(restore_steps(ctx, replace(operation, overwrites=seen)))
    return True


def _release(ctx: RunContext, batch_id: str, operations: Sequence[Operation]) -> None:
    """The cancelled batch's writes queued again, each counted as sent (it may have run), and
    their people no longer waiting for it (so a fetch that finds one edited decides again)."""
    for operation in operations:
        ctx.store.set_operation_state(operation.id, "queued", CANCELLED.format(batch=batch_id))
    ctx.store.unmark_pending([operation.contact_id for operation in operations])
    ctx.store.set_batch_status(batch_id, "cancelled")
