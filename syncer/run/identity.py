"""Linked HubSpot ids that no longer answer as themselves: merged, or gone for good.

HubSpot gives a merged record a new id, and a read of either old id answers the merged record
(reference §12.2): that is a merge, never a deletion, whatever ``on_hubspot_delete`` says. The
person is relinked to the merged record (``IdentityStore`` decides who keeps the link) and
decided again. An id nothing answers is gone: archived, or permanently deleted (a GDPR delete
leaves nothing in the archive, so only a read or a write can notice it). Unless the archive
already proved the deletion, the person's address is looked up first, in case HubSpot holds
them under another contact; else the person is detached and the delete rule applies
(``deletions.detach_deleted``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from syncer.cache.identity import MERGED_REASON
from syncer.core import causes
from syncer.core.models import SUBSCRIBED_STATUSES, HubSpotContact
from syncer.core.plan import member_unsubscribe
from syncer.core.records import ContactRow
from syncer.run.context import RunContext

log = logging.getLogger("syncer.run")

LEFT_REASON = "the HubSpot contact was archived or deleted; the Mailchimp member is left as it is"
UNSUBSCRIBED_REASON = (
    "the HubSpot contact was archived or deleted; the Mailchimp member is unsubscribed "
    "(`subscription.on_hubspot_delete`)"
)


@dataclass
class Resolution:
    """What became of people whose linked id was read again."""

    #: Cached ids of the people now linked to another contact: they are decided again.
    relinked: list[int] = field(default_factory=list)
    #: People nothing answers for: detached as deleted.
    gone: list[ContactRow] = field(default_factory=list)
    #: People whose contact answered as itself after all.
    present: list[ContactRow] = field(default_factory=list)
    #: People HubSpot merged into a contact kept by someone else with a member of their own.
    merged_away: list[ContactRow] = field(default_factory=list)


def resolve(
    ctx: RunContext,
    rows: Sequence[ContactRow],
    found: Mapping[str, HubSpotContact | None],
    *,
    by_email: bool,
) -> Resolution:
    """Relink the merged, detach the gone (after an email lookup when ``by_email``)."""
    result = Resolution()
    missing: list[ContactRow] = []
    with ctx.store.transaction():
        for row in rows:
            contact = found.get(row.hubspot_id or "")
            if contact is None:
                missing.append(row)
            elif contact.id == row.hubspot_id:
                result.present.append(row)
            else:
                _relink(ctx, row, contact, result)
    by_address = (
        ctx.hubspot.find_by_email([row.email for row in missing], ctx.hubspot_properties)
        if by_email and missing
        else {}
    )
    with ctx.store.transaction():
        for row in missing:
            contact = by_address.get(row.email)
            if contact is not None and contact.id != row.hubspot_id:
                _relink(ctx, row, contact, result)
                continue
            current = ctx.store.contact(row.id)
            if current is not None:
                detach_deleted(ctx, current)
                result.gone.append(current)
    return result


def _relink(ctx: RunContext, row: ContactRow, contact: HubSpotContact, result: Resolution) -> None:
    """Link ``row``'s person to ``contact``, which HubSpot answered for its old id."""
    if row.hubspot_id in contact.merged_ids:
        ctx.store.save_hubspot_page(
            [contact], ctx.run_id, subscription=ctx.config.subscription.hubspot_property
        )
        kept = ctx.store.contact_by_hubspot_id(contact.id)
        current = ctx.store.contact(row.id)
        if current is not None and current.state == "detached":
            result.merged_away.append(current)
        if kept is not None:
            result.relinked.append(kept.id)
        ctx.counts["hubspot_merged"] += 1
        log.info("contact %d: HubSpot merged %s into %s", row.id, row.hubspot_id, contact.id)
        return
    keep = ctx.store.adopt_hubspot_contact(row, contact)
    if keep is None:
        reason = MERGED_REASON.format(contact.id)
        row.state, row.reason, row.cause = "detached", reason, causes.HUBSPOT_MERGED
        ctx.store.save_contact(row)
        ctx.store.add_event(ctx.run_id, row.id, "detached", reason)
        result.merged_away.append(row)
        return
    result.relinked.append(keep)
    ctx.counts["relinked"] += 1


def detach_deleted(ctx: RunContext, row: ContactRow) -> None:
    """Leave a person whose HubSpot contact is deleted out of the sync, as configured."""
    reason = delete_reason(ctx)
    if reason == UNSUBSCRIBED_REASON and (row.mc or {}).get("status") in SUBSCRIBED_STATUSES:
        ctx.store.queue_operations(row.id, [member_unsubscribe(row)], ctx.run_id)
    row.state, row.reason = "detached", reason
    unsubscribed = reason == UNSUBSCRIBED_REASON
    row.cause = causes.HUBSPOT_DELETED_UNSUBSCRIBED if unsubscribed else causes.HUBSPOT_DELETED
    ctx.store.save_contact(row)
    ctx.store.add_event(ctx.run_id, row.id, "detached", reason)
    ctx.counts["hubspot_deleted"] += 1
    log.info("contact %d: its HubSpot contact is deleted; %s", row.id, reason.split("; ")[-1])


def delete_reason(ctx: RunContext) -> str:
    if ctx.config.subscription.on_hubspot_delete == "unsubscribe":
        return UNSUBSCRIBED_REASON
    return LEFT_REASON
