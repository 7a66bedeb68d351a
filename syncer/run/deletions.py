"""Contacts deleted in HubSpot: found by a periodic look at HubSpot's archive, then handled by
``subscription.on_hubspot_delete``.

A deleted contact is archived (restorable for 90 days), and neither search nor the list ever
returns it, so no fetch can see a deletion. HubSpot has no "archived since" query either, so a
run lists the whole archive, at most every ``sync.deleted_check_hours``, and looks for the
people it links. An id in the archive is not proof enough: a merge may leave both old ids
there too, while a read of either still answers the merged record (reference §12.2). So each
one found is read again, and only an id nothing answers is a deletion; an id answered by a
merged record is a merge, and the person is relinked (``identity``). A merge is never a
deletion, whatever the setting.

A deleted person is detached: left out of the sync, reported by `syncer errors`, until an
operator restores the contact and runs `syncer retry`. Under ``unsubscribe`` their member is
unsubscribed first, through the outbox, so the blast-radius guard counts it like any other
unsubscribe; nobody is ever subscribed by this path. A permanent (GDPR) deletion leaves nothing
in the archive; a read or a write meets it instead (``identity``), with the same outcome.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncer.core.records import ContactRow
from syncer.run.context import RunContext
from syncer.run.identity import (
    LEFT_REASON,
    UNSUBSCRIBED_REASON,
    delete_reason,
    resolve,
)

__all__ = ["CHECKED", "LEFT_REASON", "UNSUBSCRIBED_REASON", "check_hubspot_deletions"]

#: The cursor holding when the archive was last looked at (`syncer status` lists it).
CHECKED = "hubspot_deleted"


def check_hubspot_deletions(ctx: RunContext, *, first_sync: bool) -> None:
    """Handle the linked people whose HubSpot contact is in the archive, when a check is due.

    People relinked to a merged record are left dirty, so the reconcile that follows decides
    for them. The first sync only starts the clock: nobody is linked yet, and search never
    links an archived contact.
    """
    every = ctx.config.sync.deleted_check_hours
    now = datetime.now(UTC)
    last = ctx.store.cursor(CHECKED)
    if not every or (
        last and timedelta(0) <= now - datetime.fromisoformat(last) < timedelta(hours=every)
    ):
        return
    if not first_sync:
        ctx.progress.phase("looking for contacts deleted in HubSpot")
        for page in ctx.hubspot.archived_contacts():
            found = [ctx.store.contact_by_hubspot_id(contact.id) for contact in page]
            candidates = [row for row in found if row is not None and _to_handle(ctx, row)]
            if candidates:
                ids = [row.hubspot_id or "" for row in candidates]
                live = ctx.hubspot.read(ids, ctx.hubspot_properties)
                resolve(ctx, candidates, live, by_email=False)
            if ctx.should_stop():
                return
    # Set, not advanced: this clock is the local one, and a check stamped in the future by a
    # clock that was wrong then (a year ahead, say) would otherwise stop every later check.
    ctx.store.set_cursor(CHECKED, now.isoformat())


def _to_handle(ctx: RunContext, row: ContactRow) -> bool:
    """Members only (nothing else would change), each once per setting."""
    if row.mc is None or row.state == "duplicate":
        return False
    return not (row.state == "detached" and row.reason == delete_reason(ctx))
