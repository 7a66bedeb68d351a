"""An edit a HubSpot update wrote over after its check: found in the history, put back.

The check just before each batch update (``recheck``) leaves the moment between its read and
the moment HubSpot carries the update out. For a prompt call that moment is milliseconds. An
update sent again after a lost answer or a timeout, or answered late, may be carried out seconds
after the check (its first attempt can even land after the second), over an edit made in the UI
meanwhile, and its answer shows syncer's values as if nothing had happened. HubSpot has no
conditional write, but its property history (``propertiesWithHistory`` on a batch read, 50
contacts a call: reference §12.1, activepieces PR #9359) shows what happened: a version by
anyone newer than the contact's last change as the check saw it, and older than the version
holding syncer's value, is an edit the update wrote over.

Such an edit is written back to HubSpot (the edit wins, as if made after syncer's write) and the
contact as HubSpot then answers goes into the cache, so the next decision carries the edit to
Mailchimp like any HubSpot edit; a ``restored`` event says which fields. Only updates the
client marks unsure (:attr:`~syncer.connectors.hubspot.parse.WriteResult.unsure`) are read
again, and, in the next run, after its fetch and before its decisions would take syncer's
values for landed, the updates sent and never answered (a run killed while it waited, a call
given up on): a run whose updates were answered promptly on their first attempt makes no extra
call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from syncer.connectors.hubspot.client import HISTORY_LIMIT
from syncer.connectors.hubspot.parse import WriteInput, WriteResult
from syncer.core.models import HubSpotContact, parse_time
from syncer.core.records import ContactRow, Operation
from syncer.core.transforms import canonical, normalise
from syncer.errors import RemoteError
from syncer.run.context import Failure, RunContext
from syncer.run.lane import Steps, run_now

log = logging.getLogger("syncer.run")

RESTORED = "restored {fields} in HubSpot: an edit made there while syncer's update was under way"
#: An update whose outcome is in doubt: the operation, its person, the values it left in
#: HubSpot (as HubSpot spells them), and when the contact last changed before it was sent.
Doubt = tuple[Operation, ContactRow, Mapping[str, str], datetime]
#: Unanswered updates looked at per history read: HubSpot's limit with history (§12.1).
PAGE = HISTORY_LIMIT


def answered_late(
    unsure: Sequence[tuple[Operation, ContactRow, HubSpotContact]],
    checked: Mapping[str, HubSpotContact | None],
) -> list[Doubt]:
    """Updates answered after a re-send or late: the values their answer shows, and the
    contact's last change as the check just before them (``checked``, by id) read it."""
    doubts: list[Doubt] = []
    for op, row, answered in unsure:
        before = checked.get(row.hubspot_id or "")
        if before is not None:
            written = {
                name: answered.properties.get(name, normalise(value))
                for name, value in op.payload["properties"].items()
            }
            doubts.append((op, row, written, before.modified))
    return doubts


def unanswered_updates(ctx: RunContext) -> list[Doubt]:
    """The updates earlier runs sent and never heard back about (a run killed while it waited,
    a call given up on), with the contact as the cache has it: as the check before the write
    left it, until the fetch brings what the update wrote."""
    doubts: list[Doubt] = []
    after = 0
    while page := ctx.store.sent_unanswered_updates(after=after, limit=PAGE):
        after = page[-1].id
        rows = ctx.store.contacts_of([op.contact_id for op in page])
        for op in page:
            row = rows.get(op.contact_id)
            since = parse_time(row.hs_modified) if row is not None else None
            if row is not None and row.hubspot_id and since is not None:
                written = {
                    name: canonical(ctx.hubspot.kinds.get(name, ""), normalise(value))
                    for name, value in op.payload["properties"].items()
                }
                doubts.append((op, row, written, since))
    return doubts


def restore_unanswered(ctx: RunContext, doubts: Sequence[Doubt]) -> None:
    """After the fetch, before the decisions: the unanswered updates looked up in their
    contacts' history, 50 a call, and the edits they overwrote put back."""
    for start in range(0, len(doubts), PAGE):
        run_now(restore_steps(ctx, doubts[start : start + PAGE]))


def restore_steps(ctx: RunContext, doubts: Sequence[Doubt]) -> Steps[None]:
    """Read the doubtful updates' contacts with history; write back the edits they overwrote."""
    if not doubts:
        return
    names = sorted({name for _, _, written, _ in doubts for name in written})
    ids = [row.hubspot_id or "" for _, row, _, _ in doubts]
    client = ctx.hubspot
    found = yield lambda: client.read(ids, ctx.hubspot_properties, history=names)
    ctx.counts["history_after_unsure_update"] += len(ids)
    restores: list[tuple[ContactRow, dict[str, str], HubSpotContact]] = []
    for _, row, written, since in doubts:
        contact = found.get(row.hubspot_id or "")
        if contact is not None and contact.id == row.hubspot_id:
            edits = overwritten_edits(written, contact, since)
            if edits:
                restores.append((row, edits, contact))
    if not restores:
        return
    inputs = [WriteInput(str(row.id), edits, row.hubspot_id) for row, edits, _ in restores]
    try:
        results: list[WriteResult] = yield lambda: client.update(inputs)
    except RemoteError as error:  # the edits are named in the run's failures
        for row, edits, _ in restores:
            _lost(ctx, row, edits, str(error))
        return
    by_trace = {result.trace_id: result for result in results}
    with ctx.store.transaction():
        for row, edits, read in restores:
            result = by_trace.get(str(row.id))
            if result is None or result.outcome != "ok" or result.contact is None:
                _lost(ctx, row, edits, result.message if result else "no answer")
                continue
            # The answer echoes only what was written: the rest is as the history read found it.
            now = replace(
                read,
                properties={**read.properties, **result.contact.properties},
                modified=result.contact.modified,
                stamps={},
                versions={},
            )
            ctx.store.save_hubspot_page(
                [now], ctx.run_id, subscription=ctx.config.subscription.hubspot_property
            )
            reason = RESTORED.format(fields=", ".join(sorted(edits)))
            ctx.store.add_event(ctx.run_id, row.id, "restored", reason)
            ctx.counts["restored_overwritten"] += 1
            log.info("%s: %s", row.email, reason)


def overwritten_edits(
    written: Mapping[str, str], contact: HubSpotContact, since: datetime
) -> dict[str, str]:
    """The values an update wrote over: per property it wrote, the newest version made after
    ``since`` that holds another value than the update left, provided the newest version of all
    still holds that value (a newer edit stands on its own, and the fetch takes it)."""
    edits: dict[str, str] = {}
    for name, value in written.items():
        versions = [v for v in contact.versions.get(name, ()) if v.at > since]
        if not versions or versions[0].value != value:
            continue
        other = next((v for v in versions if v.value != value and v.source != "CALCULATED"), None)
        if other is not None:
            edits[name] = other.value
    return edits


def _lost(ctx: RunContext, row: ContactRow, edits: Mapping[str, str], why: str) -> None:
    fields = ", ".join(sorted(edits))
    message = f"{row.email}: an edit of {fields} written over in HubSpot could not be put back"
    ctx.failures.append(Failure(f"{message} ({why}); set it again there"))
    log.error("%s: %s", message, why)
