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
again, so a run whose updates were answered promptly on their first attempt makes no extra call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from syncer.connectors.hubspot.parse import WriteInput, WriteResult
from syncer.core.models import HubSpotContact
from syncer.core.records import ContactRow, Operation
from syncer.core.transforms import normalise
from syncer.errors import RemoteError
from syncer.run.context import Failure, RunContext
from syncer.run.lane import Steps

log = logging.getLogger("syncer.run")

RESTORED = "restored {fields} in HubSpot: an edit made there while syncer's update was under way"
#: An update that came back unsure: the operation, its person, and HubSpot's answer to it.
Unsure = tuple[Operation, ContactRow, HubSpotContact]


def restore_steps(
    ctx: RunContext, unsure: Sequence[Unsure], checked: Mapping[str, HubSpotContact | None]
) -> Steps[None]:
    """Read the unsure updates' contacts with history; write back the edits they overwrote.

    ``checked`` is what the check just before the update read, by contact id: its
    ``lastmodifieddate`` bounds the versions made since.
    """
    if not unsure:
        return
    names = sorted({name for op, _, _ in unsure for name in op.payload["properties"]})
    ids = [row.hubspot_id or "" for _, row, _ in unsure]
    client = ctx.hubspot
    found = yield lambda: client.read(ids, ctx.hubspot_properties, history=names)
    ctx.counts["history_after_unsure_update"] += len(ids)
    restores: list[tuple[ContactRow, dict[str, str]]] = []
    for op, row, answered in unsure:
        contact = found.get(row.hubspot_id or "")
        before = checked.get(row.hubspot_id or "")
        if contact is None or before is None or contact.id != row.hubspot_id:
            continue
        edits = overwritten_edits(op.payload["properties"], answered, contact, before.modified)
        if edits:
            restores.append((row, edits))
    if not restores:
        return
    inputs = [WriteInput(str(row.id), edits, row.hubspot_id) for row, edits in restores]
    try:
        results: list[WriteResult] = yield lambda: client.update(inputs)
    except RemoteError as error:  # the edits are named in the run's failures
        for row, edits in restores:
            _lost(ctx, row, edits, str(error))
        return
    by_trace = {result.trace_id: result for result in results}
    with ctx.store.transaction():
        for row, edits in restores:
            result = by_trace.get(str(row.id))
            if result is None or result.outcome != "ok" or result.contact is None:
                _lost(ctx, row, edits, result.message if result else "no answer")
                continue
            ctx.store.save_hubspot_page(
                [result.contact], ctx.run_id, subscription=ctx.config.subscription.hubspot_property
            )
            reason = RESTORED.format(fields=", ".join(sorted(edits)))
            ctx.store.add_event(ctx.run_id, row.id, "restored", reason)
            ctx.counts["restored_overwritten"] += 1
            log.info("%s: %s", row.email, reason)


def overwritten_edits(
    sent: Mapping[str, object],
    answered: HubSpotContact,
    contact: HubSpotContact,
    checked_at: datetime,
) -> dict[str, str]:
    """The values an update wrote over: per property it sent, the newest version made after
    ``checked_at`` that holds another value than HubSpot's answer to the update, provided the
    newest version of all still holds that answer (a newer edit stands on its own)."""
    edits: dict[str, str] = {}
    for name in sent:
        written = answered.properties.get(name, normalise(sent[name]))
        since = [v for v in contact.versions.get(name, ()) if v.at > checked_at]
        if not since or since[0].value != written:
            continue
        other = next((v for v in since if v.value != written and v.source != "CALCULATED"), None)
        if other is not None:
            edits[name] = other.value
    return edits


def _lost(ctx: RunContext, row: ContactRow, edits: Mapping[str, str], why: str) -> None:
    fields = ", ".join(sorted(edits))
    message = f"{row.email}: an edit of {fields} written over in HubSpot could not be put back"
    ctx.failures.append(Failure(f"{message} ({why}); set it again there"))
    log.error("%s: %s", message, why)
