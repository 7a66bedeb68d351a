"""An edit a HubSpot update wrote over after its check: found in the history, put back.

The check just before each batch update (``recheck``) leaves the moment between its read and
the moment HubSpot carries the update out: milliseconds for a prompt call, but a call can wait
inside HubSpot before it runs, an update sent again after a lost answer or a timeout can be
carried out seconds after the check (its first attempt can even land after the second), and any
of them over an edit made in the UI meanwhile; the answer shows syncer's values as if nothing
had happened. No threshold on the answer's delay closes that: HubSpot has no conditional write.
Its property history (``propertiesWithHistory`` on a batch read, 50 contacts a call: reference
§12.1, activepieces PR #9359) shows what happened: a version by anyone newer than the contact's
last change as the check saw it, and older than the version holding syncer's value, is an edit
the update wrote over.

So every update's contacts are read back with the history of the properties it wrote, once its
answer is in: one batch read per 50 updated contacts (creates need none: nobody edits a contact
before it exists). Such an edit is written back to HubSpot (the edit wins, as if made after
syncer's write) and the contact as HubSpot then answers goes into the cache, so the next
decision carries the edit to Mailchimp like any HubSpot edit; a ``restored`` event says which
fields. The updates sent and never answered (a run killed while it waited, a call given up on)
are looked at the same way by the next run, after its fetch and before its decisions would take
syncer's values for landed. Left: an edit made between that history read and the write putting
another edit back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
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
#: Updates looked at per history read: HubSpot's limit with history (§12.1).
PAGE = HISTORY_LIMIT


def answered(
    landed: Sequence[tuple[Operation, ContactRow, HubSpotContact]],
    checked: Mapping[str, HubSpotContact | None],
) -> list[Doubt]:
    """Updates HubSpot answered: the values their answer shows, and the contact's last change
    as the check just before them (``checked``, by id) read it."""
    doubts: list[Doubt] = []
    for op, row, answer in landed:
        before = checked.get(row.hubspot_id or "")
        if before is not None:
            written = {
                name: answer.properties.get(name, normalise(value))
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
        restored = run_now(restore_steps(ctx, doubts[start : start + PAGE]))
        with ctx.store.transaction():
            record_restored(ctx, restored)


@dataclass
class Restored:
    """What :func:`restore_steps` put back (the contact as HubSpot then has it) and what it
    could not, for :func:`record_restored` to write down."""

    done: list[tuple[ContactRow, dict[str, str], HubSpotContact]] = field(default_factory=list)
    lost: list[tuple[ContactRow, dict[str, str], str]] = field(default_factory=list)


def restore_steps(ctx: RunContext, doubts: Sequence[Doubt]) -> Steps[Restored]:
    """Read the updates' contacts with history (50 at most: one call); write back the edits
    they overwrote. Remote calls only: the caller records the outcome in the transaction that
    settles the updates, so a run killed before it leaves them unanswered, to be looked at
    again by the next run (which finds any edit already put back the newest, and leaves it)."""
    restored = Restored()
    if not doubts:
        return restored
    names = sorted({name for _, _, written, _ in doubts for name in written})
    ids = [row.hubspot_id or "" for _, row, _, _ in doubts]
    client = ctx.hubspot
    found = yield lambda: client.read(ids, ctx.hubspot_properties, history=names)
    ctx.counts["history_after_update"] += len(ids)
    restores: list[tuple[ContactRow, dict[str, str], HubSpotContact]] = []
    for _, row, written, since in doubts:
        contact = found.get(row.hubspot_id or "")
        if contact is not None and contact.id == row.hubspot_id:
            edits = overwritten_edits(written, contact, since)
            if edits:
                restores.append((row, edits, contact))
    if not restores:
        return restored
    inputs = [WriteInput(str(row.id), edits, row.hubspot_id) for row, edits, _ in restores]
    try:
        results: list[WriteResult] = yield lambda: client.update(inputs)
    except RemoteError as error:  # the edits are named in the run's failures
        restored.lost = [(row, edits, str(error)) for row, edits, _ in restores]
        return restored
    by_trace = {result.trace_id: result for result in results}
    for row, edits, read in restores:
        result = by_trace.get(str(row.id))
        if result is None or result.outcome != "ok" or result.contact is None:
            restored.lost.append((row, edits, result.message if result else "no answer"))
            continue
        # The answer echoes only what was written: the rest is as the history read found it.
        now = replace(
            read,
            properties={**read.properties, **result.contact.properties},
            modified=result.contact.modified,
            stamps={},
            versions={},
        )
        restored.done.append((row, edits, now))
    return restored


def record_restored(ctx: RunContext, restored: Restored) -> None:
    """Inside a transaction: the contacts put back into the cache (after the updates' own
    answers, so they win), a ``restored`` event each; the ones that could not be, failures."""
    for row, edits, now in restored.done:
        ctx.store.save_hubspot_page(
            [now], ctx.run_id, subscription=ctx.config.subscription.hubspot_property
        )
        reason = RESTORED.format(fields=", ".join(sorted(edits)))
        ctx.store.add_event(ctx.run_id, row.id, "restored", reason)
        ctx.counts["restored_overwritten"] += 1
        log.info("%s: %s", row.email, reason)
    for row, edits, why in restored.lost:
        _lost(ctx, row, edits, why)


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
