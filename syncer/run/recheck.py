"""Just before writing: a value changed on the other end since syncer read it is never written over.

A run reads both sides, decides, then writes, minutes later in a large sync. Someone editing a
contact or a member in between would see the edit overwritten by a write decided without it, and
the next run would take syncer's value for the newest. Neither vendor offers a conditional write,
so each write is checked against the record as it stands just before it is sent:

- HubSpot: the contacts about to be updated are read again by id, 100 a call, one call before
  each batch update of 100. Search cannot do it alone: its index lags writes by seconds to
  minutes (reference §12.4). Creates need no check: a contact created meanwhile makes HubSpot
  refuse the create, and the person is linked to it.
- Mailchimp: before each round of batched member writes, one listing of the members changed
  since the last look (``since_last_changed``: the run's fetch, then the previous check),
  current and archived ones: two calls, one more per 1,000 changed members. Direct writes go
  one call after another, seconds apart in a large round, so each is preceded by a read of its
  member instead (one call per write, ``sync.direct_threshold`` of them at most).

A write that would overwrite a value changed since it was read (now neither the cached value nor
the one the write sends) is held back: superseded, with an event naming the fields, and the record
as it stands goes into the cache, so the next run decides for that person again, with the edit,
whatever its cursors say. A member whose status or address changed is not written at all (a
write to the old address would add a member back). Every other write goes as decided. What is
left is the moment between the check and the write (a HubSpot update carried out late is
looked at again in its history: ``overwritten``), and the time a batch waits in Mailchimp's
queue, narrowed by cancelling a batch that has not started (:mod:`syncer.run.cancel`) and by
putting back what a write out in a batch went over: every listing of changed members, and a
run's fetch, notes on such a write what it would go over (``member_restore``). Tag and
archive writes (segments) carry HubSpot's decisions, not values read from Mailchimp, and are
never held.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from syncer.cache.contacts import member_record
from syncer.connectors.mailchimp.records import parse_member
from syncer.core.models import HubSpotContact, MailchimpMember
from syncer.core.records import ContactRow, Operation
from syncer.core.segments import SEGMENT_ACTIONS
from syncer.errors import MalformedRecord
from syncer.run.context import RunContext

log = logging.getLogger("syncer.run")

HELD = "{side} changed {fields} after syncer read it; decided again with the new values next run"
#: ``since_last_changed`` is exclusive and in whole seconds, the ``Date`` header too.
SECOND = timedelta(seconds=1)


def hold_stale_hubspot(
    ctx: RunContext, updates: Sequence[tuple[Operation, ContactRow]]
) -> set[int]:
    """Read the contacts these updates go to; hold back those that would overwrite a newer value.

    Returns the ids of the operations held. A contact answered by another id, or not at all
    (merged, deleted), is left to the write, whose answer tells.
    """
    return hold_for_contacts(ctx, updates, contacts_now(ctx, updates))


def contacts_now(
    ctx: RunContext, updates: Sequence[tuple[Operation, ContactRow]]
) -> dict[str, HubSpotContact | None]:
    """The contacts these updates go to, as HubSpot has them now (remote calls only)."""
    ids = [row.hubspot_id for _, row in updates if row.hubspot_id]
    return ctx.hubspot.read(ids, ctx.hubspot_properties) if ids else {}


def hold_for_contacts(
    ctx: RunContext,
    updates: Sequence[tuple[Operation, ContactRow]],
    current: Mapping[str, HubSpotContact | None],
) -> set[int]:
    """Hold back the updates that would overwrite what :func:`contacts_now` found changed."""
    if not current:
        return set()
    ctx.counts["rechecked_hubspot"] += len(current)
    held: set[int] = set()
    fresh: list[HubSpotContact] = []
    with ctx.store.transaction():
        for operation, row in updates:
            contact = current.get(row.hubspot_id or "")
            if contact is None or contact.id != row.hubspot_id:
                continue
            cached = row.hs or {}
            if any(
                _text(contact.properties, name) != _text(cached, name)
                for name in ctx.hubspot_properties
            ):
                fresh.append(contact)
            read = {**cached, **decided_from(operation, "hubspot")}
            edited = overwritten(operation.payload["properties"], read, contact.properties)
            if edited:
                hold(ctx, operation, row, "HubSpot", edited)
                held.add(operation.id)
        if fresh:
            ctx.store.save_hubspot_page(
                fresh, ctx.run_id, subscription=ctx.config.subscription.hubspot_property
            )
    return held


def hold_stale_mailchimp(ctx: RunContext) -> None:
    """List the members changed since the last look; hold back the queued member writes that
    would overwrite what changed."""
    hold_for_members(ctx, members_changed(ctx, ctx.members_checked_since))


#: What :func:`members_changed` read: the pages, and when the listing began (``None``: nothing
#: was looked at).
Changed = tuple[list[list[MailchimpMember]], datetime | None]


def members_changed(ctx: RunContext, checked_since: datetime | None) -> Changed:
    """The members changed since ``checked_since`` (else since the fetch began): remote calls
    only, no cache work, so a first sync can make them off the saving thread (``pipeline``)."""
    since = checked_since or ctx.mailchimp.api.walk_started()
    if since is None:
        return [], None
    ctx.mailchimp.api.begin_walk()
    pages = list(ctx.mailchimp.changed_members(since - SECOND, ctx.merge_tags))
    return pages, ctx.mailchimp.api.walk_started() or since


#: A write that would overwrite a changed member: the operation, its person, the fields edited,
#: and their values as the look saw them.
StaleWrite = tuple[Operation, ContactRow, list[str], dict[str, str]]


def hold_for_members(ctx: RunContext, changed: Changed) -> list[StaleWrite]:
    """Hold back the queued member writes that would overwrite what :func:`members_changed`
    found, and save the members as they are now; returns the writes out in batches that
    would (the values seen are noted on them: :func:`stale_member_writes`)."""
    waiting = []
    for write in stale_member_writes(ctx, changed):
        operation, row, edited, _ = write
        if operation.state == "queued":
            hold(ctx, operation, row, "Mailchimp", edited)
        else:
            waiting.append(write)
    return waiting


def stale_member_writes(ctx: RunContext, changed: Changed) -> Iterator[StaleWrite]:
    """Among each changed member's writes, queued or out in a batch, those that would overwrite
    what changed, each yielded inside the transaction that then saves the member's page as it
    is now. A write out in a batch gets the values seen noted (:func:`note_waiting`). A member
    with a write out is not saved: the listing may show that write itself, which its batch's
    results settle (saved now, it would pass for someone else's change and have the person
    decided again)."""
    pages, started = changed
    if started is None:
        return
    for page in pages:
        ctx.counts["rechecked_mailchimp"] += len(page)
        with ctx.store.transaction():
            found = ctx.store.member_rows(page)
            any_out = ctx.store.writes_out()
            keep = []
            for member in page:
                row = found.get(member.id)
                out = ctx.store.submitted_writes_of(row.id) if row is not None and any_out else []
                if not out:
                    keep.append(member)
                if row is None:
                    continue
                stale = _stale_writes(row, member, [*ctx.store.queued_writes_of(row.id), *out])
                _note(ctx, stale)
                yield from stale
            ctx.store.save_mailchimp_page(keep)
    ctx.members_checked_since = started


def note_waiting(ctx: RunContext, members: Sequence[MailchimpMember]) -> None:
    """What a read of members shows (the fetch's pages) that a write out in a batch would go
    over, noted on that write: the person waits for the batch and is not decided again, so
    once the write has run, ``member_restore`` puts the values back. Only people waiting for a
    batch (``pending``) are looked at, and none while no write is out (most fetches)."""
    if not ctx.store.writes_out():
        return
    found = ctx.store.member_rows(members)
    for member in members:
        row = found.get(member.id)
        if row is not None and row.state == "pending":
            _note(ctx, _stale_writes(row, member, ctx.store.submitted_writes_of(row.id)))


def _stale_writes(
    row: ContactRow, member: MailchimpMember, writes: Iterable[Operation]
) -> list[StaleWrite]:
    """The person's Mailchimp contact writes that would overwrite the member as it is now."""
    stale = []
    for operation in writes:
        if operation.target != "mailchimp" or operation.action in SEGMENT_ACTIONS:
            continue
        edited = member_overwritten(operation, row.mc, member)
        if edited:
            seen = member_values(member_record(member))
            stale.append((operation, row, edited, {n: seen[n] for n in edited if n in seen}))
    return stale


def _note(ctx: RunContext, stale: Iterable[StaleWrite]) -> None:
    """The values a look saw, on the writes out in a batch that may run over them, beside what
    earlier looks noted (``member_restore`` puts them back once the write has run)."""
    for operation, _, _, seen in stale:
        if operation.state == "submitted" and seen:
            ctx.store.note_overwrites(operation.id, {**(operation.overwrites or {}), **seen})


def hold_stale_member(ctx: RunContext, operation: Operation) -> bool:
    """Read the member a direct write goes to, just before it; hold the write back (True) if
    it would overwrite what changed. No member at its address is left to the write's answer."""
    row = ctx.store.contact(operation.contact_id)
    if row is None or operation.action in SEGMENT_ACTIONS:
        return False
    raw = ctx.mailchimp.member_at(str(operation.payload["hash"]))
    ctx.counts["rechecked_mailchimp"] += 1
    try:
        member = None if raw is None else parse_member(raw)
    except MalformedRecord as error:  # the write goes as decided; its answer is checked too
        log.warning("%s (read before a write)", error)
        return False
    if member is None:
        return False
    edited = member_overwritten(operation, row.mc, member)
    with ctx.store.transaction():
        if edited:
            hold(ctx, operation, row, "Mailchimp", edited)
        ctx.store.save_mailchimp_page([member])
    return bool(edited)


def overwritten(
    sent: Mapping[str, Any], cached: Mapping[str, Any], now: Mapping[str, Any]
) -> list[str]:
    """The names a write would overwrite: changed since read, and not to the value it sends."""
    return sorted(
        name
        for name, value in sent.items()
        if _text(now, name) != _text(cached, name) and _text(now, name) != str(value or "")
    )


def member_overwritten(
    operation: Operation, cached: dict[str, Any] | None, member: MailchimpMember
) -> list[str]:
    """What a member write would overwrite; a member added since the read, or one whose status
    or address changed, is overwritten by any write, unless it already holds what the write
    sends for it (the write itself may have run, its batch not yet settled: a look while a
    batch waits sees that, and nothing of it can be written over)."""
    body = operation.payload["body"]
    now = member_values(member_record(member))
    if cached is None:
        return ["the member (added)"]
    before = {**member_values(cached), **decided_from(operation, "mailchimp")}
    sent = {
        "email_address": str(body.get("email_address", "")).lower(),
        **(body.get("merge_fields") or {}),
    }
    if "status" in body:
        sent["status"] = body["status"]
    edited = set(overwritten(sent, before, now))
    edited.update(
        name
        for name in ("status", "email_address")
        if now[name] != before[name] and now[name] != sent.get(name)
    )
    return sorted(edited)


def decided_from(operation: Operation, side: str) -> dict[str, str]:
    """The values a write was decided from, as its changes recorded them (``old``). The check
    compares what it reads with these, not with the cache: a fetch may have brought a newer
    value since without a new decision (a person waiting for a batch is not decided again, and
    a write a killed run left queued goes out in the next), and the cache would then hide the
    edit from the check."""
    changes = operation.payload.get("changes") or []
    return {
        str(change["field"]): "" if change.get("old") is None else str(change["old"])
        for change in changes
        if isinstance(change, dict) and change.get("side") == side and "field" in change
    }


def member_values(record: Mapping[str, Any]) -> dict[str, str]:
    """A member's status, address and merge fields, as compared."""
    return {
        "status": str(record.get("status", "")),
        "email_address": str(record.get("email", "")).lower(),
        **{tag: str(value) for tag, value in (record.get("fields") or {}).items()},
    }


def _text(values: Mapping[str, Any], name: str) -> str:
    """A value as compared: absent and empty are one (HubSpot answers either)."""
    value = values.get(name)
    return "" if value is None else str(value)


def hold(
    ctx: RunContext, operation: Operation, row: ContactRow, side: str, fields: list[str]
) -> None:
    reason = HELD.format(side=side, fields=", ".join(fields))
    ctx.store.set_operation_state(operation.id, "superseded", reason)
    ctx.store.release_stranded([row.id])
    ctx.store.add_event(ctx.run_id, row.id, "held", reason)
    ctx.counts["held_changed_remotely"] += 1
    log.info("%s: a %s write held back: %s", row.email, operation.target, reason)
