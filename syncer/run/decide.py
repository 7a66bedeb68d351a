"""Deciding for fetched people: the reconciler's verdict stored with its outbox rows.

Each decision is stored with its outbox rows in one transaction (DESIGN §4). People whose
conflict only HubSpot's property history can settle wait until a whole call's worth of them
(``HISTORY_LIMIT``) is ready, so history is read in full calls.
"""

from __future__ import annotations

from collections.abc import Callable

from syncer.connectors.hubspot.client import HISTORY_LIMIT
from syncer.core import causes
from syncer.core.models import Decision, HubSpotContact
from syncer.core.plan import operations_for
from syncer.core.reconcile import reconcile
from syncer.core.records import ContactRow
from syncer.run.context import RunContext
from syncer.run.identity import resolve
from syncer.run.mirror import journal_mirror
from syncer.run.preferences import journal_preferences, report_unknown_choices
from syncer.run.settle import settle_landed

RECONCILE_CHUNK = 500
HISTORY_FLUSH = 1000


def reconcile_dirty(ctx: RunContext, after_chunk: Callable[[], None] | None = None) -> None:
    """Decide for every contact fetched since its last decision, in chunks; ``after_chunk``
    is called after each (a first sync's pipeline sends the creates decided meanwhile).

    Contacts that need HubSpot's property history wait across chunks, so history is read in
    full batches of 50 rather than a few ids per chunk (only the last call may be short). A stop
    leaves the rest dirty for the next run.
    """
    ctx.progress.phase("reconciling")
    after = 0
    waiting: list[ContactRow] = []
    while not ctx.should_stop() and (rows := ctx.store.dirty_contacts(after, RECONCILE_CHUNK)):
        waiting.extend(decide_chunk(ctx, rows))
        if len(waiting) >= HISTORY_FLUSH:
            # Whole calls only (HISTORY_LIMIT ids each); the rest waits for the next flush.
            whole = len(waiting) - len(waiting) % HISTORY_LIMIT
            _decide_with_history(ctx, waiting[:whole])
            waiting = waiting[whole:]
        after = rows[-1].id
        ctx.progress.advance(len(rows))
        if after_chunk is not None:
            after_chunk()
    _decide_with_history(ctx, waiting)


def reconcile_contacts(ctx: RunContext, rows: list[ContactRow]) -> None:
    """Decide for each row, reading HubSpot history once for those that need it."""
    _decide_with_history(ctx, decide_chunk(ctx, rows))


def decide_chunk(ctx: RunContext, rows: list[ContactRow]) -> list[ContactRow]:
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
    if waiting:
        decide_found(ctx, waiting, read_history(ctx, waiting))


def read_history(ctx: RunContext, waiting: list[ContactRow]) -> dict[str, HubSpotContact | None]:
    """The waiting people's contacts with their history (remote calls only, no cache work)."""
    return ctx.hubspot.read(
        [row.hubspot_id or "" for row in waiting],
        ctx.hubspot_properties,
        history=ctx.history_properties,
    )


def decide_found(
    ctx: RunContext, waiting: list[ContactRow], found: dict[str, HubSpotContact | None]
) -> None:
    """Decide for the waiting people with their contacts as :func:`read_history` found them."""
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
