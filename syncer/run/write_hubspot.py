"""Sending queued HubSpot writes through the batch endpoints, 100 records a call.

A create refused because the email exists is resolved by looking the email up and linking the
person to the contact HubSpot has. An update HubSpot leaves out of its answer, or answers with
another id, is read again by id (``identity``): a merged record answering the old id relinks
the person, nothing answering is a deletion. The engine then reconciles the relinked people
again, so the write lands as an update of the contact HubSpot has now.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from syncer.cache.identity import MERGED_REASON
from syncer.connectors.hubspot.client import BATCH_LIMIT
from syncer.connectors.hubspot.parse import WriteInput, WriteResult
from syncer.core import causes
from syncer.core.models import HubSpotContact
from syncer.core.plan import landed
from syncer.core.records import ContactRow, Operation
from syncer.errors import AuthError, RateLimitExhausted, RemoteError
from syncer.run.context import Failure, RunContext
from syncer.run.identity import resolve
from syncer.run.lane import Steps, run_now
from syncer.run.overwritten import PAGE, Restored, answered, record_restored, restore_steps
from syncer.run.recheck import contacts_now, hold_for_contacts
from syncer.run.settle import (
    mark_failed,
    record_landed,
    settle_hubspot_failure,
    settle_hubspot_success,
)

if TYPE_CHECKING:
    from syncer.run.collect import Collector

log = logging.getLogger("syncer.run")

#: A write HubSpot did not simply accept: the operation, its person and HubSpot's answer.
Unresolved = tuple[Operation, ContactRow, WriteResult]

CONFLICT_REASON = "HubSpot reports this email exists but no contact can be found with it"
TAKEN_REASON = (
    "the new address {email} belongs to another HubSpot contact ({id}); the rename is not made"
)
ABSENT_REASON = "HubSpot left this update out of its answer; it is sent again next run"


def write_hubspot(ctx: RunContext, beside: Collector | None = None) -> list[int]:
    """Send every queued HubSpot write; returns the contacts relinked and needing a new decision.

    With a ``beside``, each call is made through it (Mailchimp's batches collected meanwhile)."""
    total = ctx.store.queued_count("hubspot")
    if not total:
        return []
    ctx.progress.phase("writing to HubSpot", total)
    unresolved: list[Unresolved] = []
    for action in ("create", "update"):
        after = 0
        # A call's worth at a time from the outbox, never all of it in memory; a write left
        # queued (an error) is behind ``after`` and waits for the next run.
        while chunk := ctx.store.queued_operations(
            "hubspot", after=after, limit=BATCH_LIMIT, creates=action == "create"
        ):
            after = chunk[-1].id
            if ctx.should_stop():
                return relink(ctx, unresolved)
            try:
                steps = send_steps(ctx, action, chunk)
                unresolved.extend(beside.run(steps) if beside else run_now(steps))
            except (AuthError, RateLimitExhausted):
                raise
            except RemoteError as error:
                note_write_error(ctx, action, len(chunk), error)
            ctx.progress.advance(len(chunk))
    return relink(ctx, unresolved)


def note_write_error(ctx: RunContext, action: str, count: int, error: RemoteError) -> None:
    """A batch call that failed: a failure of the run; its writes stay queued."""
    ctx.counts["hubspot_write_errors"] += 1
    ctx.failures.append(Failure(f"HubSpot {action} of {count} contacts: {error}"))
    log.error("%s; those writes stay queued for the next run", error)


def send_steps(
    ctx: RunContext, action: str, operations: Sequence[Operation]
) -> Steps[list[Unresolved]]:
    """One batch call of ``operations``, with its recheck first for updates (``recheck``), as
    :data:`~syncer.run.lane.Steps`: a first sync's read makes the calls off its saving thread.

    The people are read again after each call: one relinked meanwhile (an older duplicate
    read, ``pipeline``) is not settled with the answer of the contact it left.
    """
    rows = ctx.store.contacts_of([op.contact_id for op in operations])
    sending: list[tuple[Operation, ContactRow]] = []
    for op in operations:
        row = rows.get(op.contact_id)
        if row is None or (action == "update" and not row.hubspot_id):
            ctx.store.set_operation_state(op.id, "superseded", "no HubSpot contact to update")
            continue
        sending.append((op, row))
    current: dict[str, HubSpotContact | None] = {}  # what the check read, for ``overwritten``
    if action == "update" and sending:
        current = yield lambda: contacts_now(ctx, sending)
        held = hold_for_contacts(ctx, _still_linked(ctx, sending), current)
        sending = [(op, row) for op, row in _still_linked(ctx, sending) if op.id not in held]
    inputs = [
        WriteInput(str(op.id), dict(op.payload["properties"]), row.hubspot_id)
        for op, row in sending
    ]
    if not inputs:
        return []
    with ctx.store.transaction():
        ctx.store.mark_sent([int(item.trace_id) for item in inputs])
    client = ctx.hubspot
    results = (
        yield (lambda: client.create(inputs))
        if action == "create"
        else (lambda: client.update(inputs))
    )
    sent = {str(op.id): (op, row) for op, row in _still_linked(ctx, sending)}
    # HubSpot has no conditional write: an edit made after the check and before HubSpot carried
    # an update out is found in the history read back after every update, before its answer is
    # settled (a run killed before then leaves it unanswered, for the next run to look at).
    restored = Restored()
    if action == "update":
        landed = [
            (*sent[result.trace_id], result.contact)
            for result in results
            if result.trace_id in sent
            and result.outcome == "ok"
            and result.contact is not None
            and result.contact.id == sent[result.trace_id][1].hubspot_id
        ]
        for start in range(0, len(landed), PAGE):
            page = yield from restore_steps(ctx, answered(landed[start : start + PAGE], current))
            restored.done += page.done
            restored.lost += page.lost
    unresolved: list[Unresolved] = []
    with ctx.store.transaction():
        for result in results:
            if result.trace_id not in sent:
                continue  # relinked while the call went: decided again for the other contact
            op, row = sent[result.trace_id]
            if action == "update" and result.outcome == "conflict":
                # An update HubSpot refuses as a conflict sets a unique value another contact
                # holds: the email. That contact is someone else; nothing is relinked.
                email = op.payload["properties"].get("email", "")
                reason = TAKEN_REASON.format(email=email, id=result.existing_id)
                mark_failed(ctx, op, "failed", reason, causes.HUBSPOT_ADDRESS_TAKEN)
            elif _unresolved(action, result, row):
                unresolved.append((op, row, result))
            elif result.outcome == "ok" and result.contact is not None:
                settle_hubspot_success(ctx, op, result.contact)
            else:
                settle_hubspot_failure(ctx, op, result)
        record_restored(ctx, restored)
    return unresolved


def _still_linked(
    ctx: RunContext, sending: list[tuple[Operation, ContactRow]]
) -> list[tuple[Operation, ContactRow]]:
    """The writes whose person is still linked as when the write was read, each with the
    person as the cache has them now."""
    now = ctx.store.contacts_of([op.contact_id for op, _ in sending])
    return [
        (op, now[op.contact_id])
        for op, row in sending
        if op.contact_id in now and now[op.contact_id].hubspot_id == row.hubspot_id
    ]


def _unresolved(action: str, result: WriteResult, row: ContactRow) -> bool:
    """A conflict, an input left out of the answer, or an update answered by another id (the
    old id of a merged record answers with the merged record's, reference §12.2)."""
    if result.outcome in ("conflict", "missing"):
        return True
    return action == "update" and result.contact is not None and result.contact.id != row.hubspot_id


def relink(ctx: RunContext, unresolved: list[Unresolved]) -> list[int]:
    """Find the contact HubSpot has for each person and link to it; returns those relinked (the
    engine hands it the writes a first sync made during its read, ``pipeline``)."""
    if not unresolved:
        return []
    creates = [item for item in unresolved if item[0].action == "create"]
    updates = [(op, row) for op, row, _ in unresolved if op.action != "create"]
    return _relink_creates(ctx, creates) + _relink_updates(ctx, updates)


def _relink_creates(ctx: RunContext, conflicts: list[Unresolved]) -> list[int]:
    """A create refused because the email exists: link the person to the contact holding it,
    read by the id HubSpot named (``context.existingId``, reference §12.6), else looked up by
    email (a bare "Contact already exists" names nobody)."""
    if not conflicts:
        return []
    named = [result.existing_id for _, _, result in conflicts if result.existing_id]
    by_id = ctx.hubspot.read(named, ctx.hubspot_properties) if named else {}
    unnamed = [row.email for _, row, result in conflicts if not by_id.get(result.existing_id or "")]
    by_email = ctx.hubspot.find_by_email(unnamed, ctx.hubspot_properties) if unnamed else {}
    relinked: list[int] = []
    with ctx.store.transaction():
        for op, row, result in conflicts:
            contact = by_id.get(result.existing_id or "") or by_email.get(row.email)
            if contact is None:
                mark_failed(
                    ctx,
                    op,
                    "failed",
                    f"{CONFLICT_REASON} ({result.message})",
                    causes.HUBSPOT_EMAIL_CONFLICT,
                )
                continue
            keep = ctx.store.adopt_hubspot_contact(row, contact)
            if keep is None:
                reason = MERGED_REASON.format(contact.id)
                mark_failed(ctx, op, "detached", reason, causes.HUBSPOT_MERGED)
                continue
            adopted = ctx.store.contact(keep)
            if adopted is not None and landed(op, adopted):
                # The contact is this create's own, landed with its answer lost (a dropped
                # connection, then a retry met it): its values are syncer's, no one's change,
                # so a pending signup's "false" is never taken for an opt-out.
                record_landed(ctx, op, adopted)
                ctx.store.save_contact(adopted)
            else:
                ctx.store.set_operation_state(op.id, "superseded", f"relinked to {contact.id}")
            relinked.append(keep)
            ctx.counts["relinked"] += 1
    return relinked


def _relink_updates(ctx: RunContext, vanished: list[tuple[Operation, ContactRow]]) -> list[int]:
    """Updates whose contact did not answer as itself: merged, deleted, or merely left out."""
    if not vanished:
        return []
    rows = [row for _, row in vanished]
    found = ctx.hubspot.read([row.hubspot_id or "" for row in rows], ctx.hubspot_properties)
    outcome = resolve(ctx, rows, found, by_email=True)
    present = {row.id for row in outcome.present}
    with ctx.store.transaction():
        for op, row in vanished:
            if row.id in present:
                mark_failed(ctx, op, "failed", ABSENT_REASON, causes.HUBSPOT_REFUSED)
                continue
            current = ctx.store.contact(row.id)
            reason = current.reason if current is not None and current.reason else "relinked"
            state = "superseded" if current is None or current.state != "detached" else "blocked"
            ctx.store.set_operation_state(op.id, state, reason)
    return outcome.relinked
