"""Segments in a run: read the mapped HubSpot lists, apply the scope, queue tag writes.

Three steps around the contact sync's reconcile pass (see :func:`syncer.run.engine._prepare`):

0. :func:`read_all_tags` completes the tags of members with more than the member listing's 50,
   so the scope, the tag rules and the mirror judge by all of them (one call per such member).
1. :func:`read_lists` resolves every configured list (a missing one stops the run before any
   write, exit 2, naming the nearest lists) and re-reads those whose last complete read is older
   than ``segments.list_read_minutes``; HubSpot has no changed-since read of memberships.
2. :func:`apply_scope` decides, before reconciling, who is in scope: people outside are left out
   of the reconcile pass (nothing about them is synced or created), people entering are queued
   for it like new people, and people leaving get ``scope.on_leave`` once.
3. :func:`queue_tags`, after reconciling, queues one tags write per member whose managed tags
   differ from what HubSpot says, each change with its reason in the journal.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from syncer.connectors.hubspot.lists import HubSpotLists
from syncer.core import causes
from syncer.core.plan import member_unsubscribe
from syncer.core.records import ContactRow, NewOperation
from syncer.core.segments import (
    UNTAG,
    Facts,
    TagChange,
    archive_operation,
    in_scope,
    leave_changes,
    leave_verdict,
    linked_hash,
    tag_changes,
    tag_operation,
    with_queued,
)
from syncer.errors import ConfigError, RemoteError
from syncer.run.context import RunContext

log = logging.getLogger("syncer.run")

CHUNK = 500
FINGERPRINT = "segments_fingerprint"
READDRESSED = "tag writes queued for the member's old address go to where it is now"


def read_all_tags(ctx: RunContext) -> None:
    """Read every tag of each fetched member the listing gave only 50 of (``tags_count`` says)."""
    segments = ctx.config.segments
    if not (segments.active or segments.mirror):
        return
    after = 0
    while not ctx.should_stop() and (rows := ctx.store.partial_tag_rows(after, CHUNK)):
        for row in rows:
            if row.mc is None or not row.mailchimp_id:
                continue
            tags = ctx.mailchimp.member_tags(row.mailchimp_id)
            with ctx.store.transaction():
                row.mc["tags"] = sorted(set(tags))
                row.mc.pop("tags_partial", None)
                ctx.store.save_contact(row)
            ctx.counts["member_tag_reads"] += 1
        after = rows[-1].id


def read_lists(ctx: RunContext, *, full: bool) -> dict[str, str]:
    """Resolve the configured lists to ids and refresh the memberships that are due."""
    config = ctx.config.segments
    if config.scope.mailchimp_tag:
        check_scope_tag(ctx.mailchimp.tags(), config.scope.mailchimp_tag)
    keys = config.lists
    if not keys:
        return {}
    lists = HubSpotLists(ctx.hubspot.api)
    resolved = {key: _resolve(ctx, lists, key) for key in keys}
    due_before = datetime.now(UTC) - timedelta(minutes=config.list_read_minutes)
    for key, list_id in resolved.items():
        if ctx.should_stop():
            break
        read_at = (ctx.store.known_list(key) or {}).get("read_at")
        if full or read_at is None or datetime.fromisoformat(read_at) <= due_before:
            _read(ctx, lists, key, list_id)
    return resolved


def _resolve(ctx: RunContext, lists: HubSpotLists, key: str) -> str:
    known = ctx.store.known_list(key)
    if known is not None:
        return str(known["list_id"])
    found = lists.find(key)
    if found is None:
        raise missing_list(lists, key)
    ctx.store.remember_list(key, found.id, found.name, found.processing_type)
    log.info("HubSpot list %r is list %s (%s)", key, found.id, found.kind)
    return found.id


def missing_list(lists: HubSpotLists, key: str) -> ConfigError:
    nearest = lists.nearest(key)
    hint = (
        f"Did you mean {', '.join(repr(name) for name in nearest)}? Lists are named as in HubSpot, "
        "or given by their id (the number in the list's URL)."
        if nearest
        else "Name the list as HubSpot shows it, or give its id (the number in its URL)."
    )
    return ConfigError([f"HubSpot has no list {key!r} (named in tags or scope)"], hint=hint)


def check_scope_tag(tags: list[str], wanted: str) -> None:
    """A scope on a tag nobody carries would put everyone out of scope: refuse it."""
    if wanted in tags:
        return
    nearest = difflib.get_close_matches(wanted, tags, n=3, cutoff=0.5)
    hint = f"Did you mean {', '.join(repr(name) for name in nearest)}?" if nearest else None
    raise ConfigError(
        [f"scope.mailchimp_tag: the audience has no tag {wanted!r} (tags are case-sensitive)"],
        hint=hint or "Create the tag in Mailchimp first, or fix scope.mailchimp_tag.",
    )


def _read(ctx: RunContext, lists: HubSpotLists, key: str, list_id: str) -> None:
    """Read one list whole; swap it in only when complete, so a stop or a crash changes nothing."""
    ctx.progress.phase(f"reading HubSpot list {key!r}")
    with ctx.store.transaction():
        ctx.store.start_list_read(list_id)
    try:
        for page in lists.members(list_id):
            with ctx.store.transaction():
                ctx.store.add_list_read(list_id, page)
            ctx.counts["list_members_read"] += len(page)
            ctx.progress.advance(len(page))
            if ctx.should_stop():
                return
    except RemoteError as error:
        if error.status == 404:  # deleted since it was resolved
            ctx.store.forget_list(key)
            raise missing_list(lists, key) from None
        raise
    joined, left = ctx.store.finish_list_read(key, list_id)
    ctx.counts["list_reads"] += 1
    log.info("HubSpot list %r read: %d queued for joining, %d for leaving", key, joined, left)


def apply_scope(ctx: RunContext, list_ids: dict[str, str]) -> None:
    """Queue everyone fetched for the segment rules; keep out-of-scope people out of reconcile."""
    config = ctx.config.segments
    if not config.active:
        return
    ctx.store.queue_dirty_for_segments()
    fingerprint = _fingerprint(ctx)
    if ctx.store.get_meta(FINGERPRINT) != fingerprint:
        ctx.store.queue_everyone_for_segments()
        ctx.store.set_meta(FINGERPRINT, fingerprint)
    if not config.scope.limited:
        return
    ctx.progress.phase("applying the scope", ctx.store.segment_todo_count())
    after = 0
    while not ctx.should_stop() and (rows := ctx.store.segment_todo(after, CHUNK)):
        queued = ctx.store.queued_tag_writes([row.id for row in rows])
        with ctx.store.transaction():
            for row in rows:
                _scope_one(ctx, row, list_ids, queued.get(row.id, []))
        after = rows[-1].id
        ctx.progress.advance(len(rows))


def _scope_one(
    ctx: RunContext, row: ContactRow, list_ids: dict[str, str], queued: list[dict[str, Any]]
) -> None:
    scope = ctx.config.segments.scope
    facts = Facts.of(row, ctx.store.lists_of(row.hubspot_id), queued)
    now_in = in_scope(scope, facts, list_ids)
    was_in = ctx.store.was_in_scope(row.id)
    if was_in is None:
        # Never decided: a person syncer had synced (both sides agreed on a base) before the
        # scope existed was in; on a first sync nobody was, so nobody leaves.
        was_in = bool(row.base) and row.hs is not None and row.mc is not None
    leaving = was_in and not now_in
    ctx.store.set_scope(row.id, now_in, scope.on_leave if leaving else None)
    if now_in and not was_in:
        row.dirty = 1
        ctx.store.save_contact(row)
        ctx.store.add_event(ctx.run_id, row.id, "scope", "entered the sync's scope")
        ctx.counts["scope_entered"] += 1
    elif not now_in:
        if row.dirty:
            row.dirty = 0
            ctx.store.save_contact(row)
        if leaving:
            _leave(ctx, row, facts)


def _leave(ctx: RunContext, row: ContactRow, facts: Facts) -> None:
    action = ctx.config.segments.scope.on_leave
    ctx.counts["scope_left"] += 1
    operations: list[NewOperation] = []
    status = facts.member_status
    if action == "untag" and (changes := leave_changes(ctx.config.segments, facts)):
        operations.append(tag_operation(row, changes, UNTAG))
    elif action == "unsubscribe" and status in ("subscribed", "pending"):
        operations.append(member_unsubscribe(row))
    elif action == "archive" and status is not None and status != "archived":
        operations.append(archive_operation(row))
    detail = f"left the sync's scope (on_leave: {action})"
    ctx.store.add_event(ctx.run_id, row.id, "scope", detail)
    if operations:
        ctx.store.queue_operations(row.id, operations, ctx.run_id)


def queue_tags(ctx: RunContext, list_ids: dict[str, str]) -> None:
    """After reconciling: one tags write for each member whose managed tags are not as HubSpot
    says. Everyone looked at leaves the to-do list, except those whose member is not settled: one
    on its way (a create), or a rename queued or refused."""
    config = ctx.config.segments
    if not config.active:
        return
    after = 0
    while not ctx.should_stop() and (rows := ctx.store.segment_todo(after, CHUNK)):
        queued = ctx.store.queued_tag_writes([row.id for row in rows])
        renaming = ctx.store.renames_queued([row.id for row in rows])
        waiting = {row.id for row in rows if row.id in renaming or _rename_refused(row)}
        with ctx.store.transaction():
            for row in rows:
                if config.tags and row.id not in waiting and _synced(ctx, row):
                    earlier = queued.get(row.id, [])
                    facts = Facts.of(row, ctx.store.lists_of(row.hubspot_id), earlier)
                    _queue(ctx, row, tag_changes(config, facts, list_ids), earlier)
            ctx.store.segments_decided(
                row.id for row in rows if row.id not in waiting and not _member_coming(ctx, row)
            )
        after = rows[-1].id


def _rename_refused(row: ContactRow) -> bool:
    """The person's rename was refused (another member holds the new address): their tags wait
    until it is made, like the rest of their Mailchimp writes. Sent to the new address they
    tagged that other member, whose own decision took the tag back off: a write every run."""
    return row.state in ("failed", "blocked") and row.cause == causes.MAILCHIMP_ADDRESS_TAKEN


def _member_coming(ctx: RunContext, row: ContactRow) -> bool:
    """No member yet, but a write that may create one is on its way: the person stays to be
    decided again once the member exists (its answer changes nothing that would queue them)."""
    return row.mc is None and ctx.store.open_operation_count(row.id) > 0


def _synced(ctx: RunContext, row: ContactRow) -> bool:
    return not ctx.config.segments.scope.limited or bool(ctx.store.was_in_scope(row.id))


def _queue(
    ctx: RunContext, row: ContactRow, changes: list[TagChange], earlier: list[dict[str, Any]]
) -> None:
    """Queue the decision's changes; the tag writes still queued go with them in one write,
    which supersedes them (the decision judged the member as if they had been sent). Tag writes
    queued for a member that has moved since (renamed in Mailchimp while they waited: a killed
    run, an outage) go again as one write to where it is now: at the old address they would
    find nobody."""
    moved = any(payload.get("hash") != linked_hash(row) for payload in earlier)
    if not changes and not moved:
        return
    operation = tag_operation(row, with_queued(earlier, changes))
    ctx.store.queue_operations(row.id, [operation], ctx.run_id)
    if moved:
        ctx.store.add_event(ctx.run_id, row.id, "tag", READDRESSED)
    for change in changes:
        verb = "add" if change.active else "remove"
        ctx.store.add_event(
            ctx.run_id,
            row.id,
            "tag",
            f"{verb} tag {change.tag!r}: {change.reason}",
            field=change.tag,
        )
        ctx.counts["tags_added" if change.active else "tags_removed"] += 1


def segments_verdict(ctx: RunContext, queued: Mapping[str, int]) -> str | None:
    """The blast-radius guard's word on people leaving the scope, from the queued writes it
    counts (``queued_counts``)."""
    return leave_verdict(queued, ctx.store.linked_count(), ctx.config.safety)


def _fingerprint(ctx: RunContext) -> str:
    """The rules as configured: when they change, everyone is decided again."""
    config = ctx.config.segments
    text = json.dumps(
        {
            "tags": [[r.condition.describe, r.tag] for r in config.tags],
            "scope": [
                config.scope.hubspot.describe if config.scope.hubspot else None,
                config.scope.mailchimp_tag,
            ],
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]
