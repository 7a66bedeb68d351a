"""A Mailchimp write that ran over an edit a look had seen: the edit is put back.

Mailchimp keeps no history of a member's values and has no conditional write. Each look at the
members changed since the last one (before a batch is sent, and while a run waits for batches:
``cancel``) and each page a run's fetch reads notes, on a write out in a batch that would go
over the member as seen, the values seen (``operations.overwrites``); a batch holding such a
write is cancelled if it has not started. One that can no longer be kept from running (found
started, past the run's cancel cap, a DELETE refused, a DELETE that may have come just after
Mailchimp started it, or no run looking while it waits) keeps those values noted. Once the write
has run (its batch settled with a success for it, or cancelled), the member is read: where it
holds what the write sent and not what the look saw, the write went over the edit, and the edit
is written back (one direct write, only the fields written over). The member as answered goes
into the cache, marked for a new decision, so the edit reaches HubSpot like any Mailchimp edit;
a ``restored`` event says which fields.

Merge fields are put back, and an unsubscribe; never a subscribe (consent is the member's own)
and never an address. What is left is an edit made after the last look and before Mailchimp
ran the write: no look saw it, and nothing afterwards tells it from syncer's own value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from syncer.cache.contacts import apply_member, member_record
from syncer.connectors.mailchimp.client import MemberOperation
from syncer.connectors.mailchimp.records import parse_member
from syncer.core.records import Operation
from syncer.errors import AuthError, MalformedRecord, RemoteError
from syncer.run.context import Failure, RunContext
from syncer.run.lane import Steps
from syncer.run.recheck import member_values

log = logging.getLogger("syncer.run")

RESTORED = "restored {fields} in Mailchimp: an edit made there while syncer's batch was under way"
#: Values put back: an address is never (the member moved), a status only to unsubscribed.
NEVER = frozenset({"email_address"})


def restore_steps(ctx: RunContext, operation: Operation) -> Steps[None]:
    """Read the member a write with noted :attr:`~syncer.core.records.Operation.overwrites`
    went to; write back what it went over (as :data:`~syncer.run.lane.Steps`)."""
    seen = operation.overwrites or {}
    member_hash = str(operation.payload["hash"])
    mailchimp = ctx.mailchimp
    try:
        raw = yield lambda: mailchimp.member_at(member_hash)
        member = None if raw is None else parse_member(raw)
    except AuthError:
        raise
    except (RemoteError, MalformedRecord) as error:
        _lost(ctx, operation, sorted(seen), str(error))
        return
    if member is None:
        return  # gone meanwhile: the fetch brings what became of it
    back = written_over(operation.payload["body"], seen, member_values(member_record(member)))
    if not back:
        return
    body: dict[str, object] = {"merge_fields": {k: v for k, v in back.items() if k != "status"}}
    if "status" in back:
        body["status"] = back["status"]
    patch = MemberOperation(
        operation_id=str(operation.id), subscriber_hash=member_hash, body=body, method="PATCH"
    )
    try:
        result = yield lambda: mailchimp.upsert_member(patch)
    except AuthError:
        raise
    except RemoteError as error:
        _lost(ctx, operation, sorted(back), str(error))
        return
    if not 200 <= result.status_code < 300 or not isinstance(result.body, dict):
        _lost(ctx, operation, sorted(back), f"answered {result.status_code}")
        return
    with ctx.store.transaction():
        row = ctx.store.contact(operation.contact_id)
        if row is not None:
            try:
                apply_member(row, parse_member(result.body))
            except MalformedRecord as error:  # put back; the next fetch reads the member
                log.warning("%s (a restore's answer)", error)
            row.state, row.dirty = "todo", 1  # decided again: the edit goes to HubSpot
            ctx.store.save_contact(row)
        reason = RESTORED.format(fields=", ".join(sorted(back)))
        ctx.store.add_event(ctx.run_id, operation.contact_id, "restored", reason)
        ctx.counts["restored_overwritten"] += 1
        log.info("contact %d: %s", operation.contact_id, reason)


def written_over(
    body: Mapping[str, object], seen: Mapping[str, str], now: Mapping[str, str]
) -> dict[str, str]:
    """The seen values a write went over: the member now holds what the write sent for them."""
    fields = body.get("merge_fields")
    sent = {str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else {}
    if "status" in body:
        sent["status"] = str(body["status"])
    back = {}
    for name, value in seen.items():
        if name in NEVER or name not in sent or now.get(name) != sent[name] or value == sent[name]:
            continue
        if name == "status" and value != "unsubscribed":
            continue
        back[name] = value
    return back


def _lost(ctx: RunContext, operation: Operation, fields: list[str], why: str) -> None:
    row = ctx.store.contact(operation.contact_id)
    who = row.email if row is not None else f"contact {operation.contact_id}"
    message = (
        f"{who}: an edit of {', '.join(fields)} that a Mailchimp batch may have written over "
        "could not be checked or put back"
    )
    ctx.failures.append(Failure(f"{message} ({why}); look at the member in Mailchimp"))
    log.error("%s: %s", message, why)
