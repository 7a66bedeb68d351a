"""Sending queued HubSpot writes through the batch endpoints, 100 records a call.

A create refused because the email exists, or an update whose contact vanished (merged or
archived), is resolved by looking the email up and relinking the person to the contact HubSpot
has; the engine then reconciles those people again, so the write lands as an update.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from syncer.connectors.hubspot.client import BATCH_LIMIT
from syncer.connectors.hubspot.parse import WriteInput
from syncer.connectors.paging import chunks
from syncer.core.records import ContactRow, Operation
from syncer.errors import AuthError, RateLimitExhausted, RemoteError
from syncer.run.context import RunContext
from syncer.run.deletions import LEFT_REASON
from syncer.run.settle import mark_failed, settle_hubspot_failure, settle_hubspot_success

log = logging.getLogger("syncer.run")

CONFLICT_REASON = "HubSpot reports this email exists but no contact can be found with it"
MERGED_REASON = (
    "merged in HubSpot into contact {}, which is synced with another Mailchimp member; "
    "this member is left as it is"
)


def write_hubspot(ctx: RunContext) -> list[int]:
    """Send every queued HubSpot write; returns the contacts relinked and needing a new decision."""
    queued = ctx.store.queued_operations("hubspot")
    if not queued:
        return []
    ctx.progress.phase("writing to HubSpot", len(queued))
    relink: list[tuple[Operation, ContactRow]] = []
    creates = [op for op in queued if op.action == "create"]
    updates = [op for op in queued if op.action != "create"]
    for action, operations in (("create", creates), ("update", updates)):
        for chunk in chunks(operations, BATCH_LIMIT):
            if ctx.should_stop():
                return _relink(ctx, relink)
            try:
                relink.extend(_send(ctx, action, chunk))
            except (AuthError, RateLimitExhausted):
                raise
            except RemoteError as error:
                ctx.counts["hubspot_write_errors"] += 1
                ctx.failures.append(f"HubSpot {action} of {len(chunk)} contacts: {error}")
                log.error("%s; those writes stay queued for the next run", error)
            ctx.progress.advance(len(chunk))
    return _relink(ctx, relink)


def _send(
    ctx: RunContext, action: str, operations: Sequence[Operation]
) -> list[tuple[Operation, ContactRow]]:
    rows = {op.id: ctx.store.contact(op.contact_id) for op in operations}
    inputs = []
    for op in operations:
        row = rows[op.id]
        if row is None or (action == "update" and not row.hubspot_id):
            ctx.store.set_operation_state(op.id, "superseded", "no HubSpot contact to update")
            continue
        inputs.append(WriteInput(str(op.id), dict(op.payload["properties"]), row.hubspot_id))
    if not inputs:
        return []
    client = ctx.hubspot
    results = client.create(inputs) if action == "create" else client.update(inputs)
    by_trace = {str(op.id): op for op in operations}
    unresolved: list[tuple[Operation, ContactRow]] = []
    with ctx.store.transaction():
        for result in results:
            op = by_trace[result.trace_id]
            row = rows[op.id]
            if result.outcome == "ok" and result.contact is not None:
                settle_hubspot_success(ctx, op, result.contact)
            elif result.outcome in ("conflict", "missing") and row is not None:
                unresolved.append((op, row))
            else:
                settle_hubspot_failure(ctx, op, result)
    return unresolved


def _relink(ctx: RunContext, unresolved: list[tuple[Operation, ContactRow]]) -> list[int]:
    """Find the contact HubSpot has for each person by email and link to it."""
    if not unresolved:
        return []
    found = ctx.hubspot.find_by_email([row.email for _, row in unresolved], ctx.hubspot_properties)
    relinked: list[int] = []
    with ctx.store.transaction():
        for op, row in unresolved:
            contact = found.get(row.email)
            if contact is None or contact.id == row.hubspot_id:
                if op.action == "create":
                    mark_failed(ctx, op, "failed", CONFLICT_REASON)
                else:
                    mark_failed(ctx, op, "detached", LEFT_REASON)
                continue
            keep = ctx.store.adopt_hubspot_contact(row, contact)
            if keep is None:
                mark_failed(ctx, op, "detached", MERGED_REASON.format(contact.id))
                continue
            ctx.store.set_operation_state(op.id, "superseded", f"relinked to {contact.id}")
            relinked.append(keep)
            ctx.counts["relinked"] += 1
    return relinked
