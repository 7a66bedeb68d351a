"""Contacts deleted in HubSpot: found by a periodic look at HubSpot's archive, then handled by
``subscription.on_hubspot_delete``.

A deleted contact is archived (restorable for 90 days), and neither search nor the list ever
returns it, so no fetch can see a deletion. HubSpot has no "archived since" query either, so a
run lists the whole archive, at most every ``sync.deleted_check_hours``, and looks for the
people it links. The archive's answer is the proof of a deletion; a write that merely finds a
contact missing leaves the member alone and is reported, whatever the setting.

Either way the person is detached: left out of the sync, reported by `syncer errors`, until an
operator restores the contact and runs `syncer retry`. Under ``unsubscribe`` their member is
unsubscribed first, through the outbox, so the blast-radius guard counts it like any other
unsubscribe; nobody is ever subscribed by this path.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from syncer.core.models import SUBSCRIBED_STATUSES
from syncer.core.plan import member_unsubscribe
from syncer.core.records import ContactRow
from syncer.run.context import RunContext

log = logging.getLogger("syncer.run")

#: The cursor holding when the archive was last looked at (`syncer status` lists it).
CHECKED = "hubspot_deleted"

LEFT_REASON = "the HubSpot contact was archived or deleted; the Mailchimp member is left as it is"
UNSUBSCRIBED_REASON = (
    "the HubSpot contact was archived or deleted; the Mailchimp member is unsubscribed "
    "(`subscription.on_hubspot_delete`)"
)


def check_hubspot_deletions(ctx: RunContext, *, first_sync: bool) -> None:
    """Handle the linked people whose HubSpot contact is in the archive, when a check is due.

    The first sync only starts the clock: nobody is linked yet, and search never links an
    archived contact.
    """
    every = ctx.config.sync.deleted_check_hours
    now = datetime.now(UTC)
    last = ctx.store.cursor(CHECKED)
    if not every or (last and now - datetime.fromisoformat(last) < timedelta(hours=every)):
        return
    if not first_sync:
        ctx.progress.phase("looking for contacts deleted in HubSpot")
        for page in ctx.hubspot.archived_contacts():
            with ctx.store.transaction():
                for contact in page:
                    row = ctx.store.contact_by_hubspot_id(contact.id)
                    if row is not None and _to_handle(ctx, row):
                        detach_deleted(ctx, row)
            if ctx.should_stop():
                return
    ctx.store.advance_cursor(CHECKED, now.isoformat())


def detach_deleted(ctx: RunContext, row: ContactRow) -> None:
    """Leave a person whose HubSpot contact is deleted out of the sync, as configured."""
    reason = _reason(ctx)
    if reason == UNSUBSCRIBED_REASON and (row.mc or {}).get("status") in SUBSCRIBED_STATUSES:
        ctx.store.queue_operations(row.id, [member_unsubscribe(row)], ctx.run_id)
    row.state, row.reason = "detached", reason
    ctx.store.save_contact(row)
    ctx.store.add_event(ctx.run_id, row.id, "detached", reason)
    ctx.counts["hubspot_deleted"] += 1
    log.info("contact %d: its HubSpot contact is deleted; %s", row.id, reason.split("; ")[-1])


def _to_handle(ctx: RunContext, row: ContactRow) -> bool:
    """Members only (nothing else would change), each once per setting."""
    if row.mc is None or row.state == "duplicate":
        return False
    return not (row.state == "detached" and row.reason == _reason(ctx))


def _reason(ctx: RunContext) -> str:
    if ctx.config.subscription.on_hubspot_delete == "unsubscribe":
        return UNSUBSCRIBED_REASON
    return LEFT_REASON
