"""Engagement's HubSpot writes: one note per person per campaign, and the contact properties.

Notes, crash-safe without an idempotent create:

1. Before a create leaves, its rows are marked ``sent`` (committed). Its answer records each
   note's id (``ok``). A create refused for a person is ``failed``, reported in `syncer errors`.
2. A row still ``sent`` (the run was killed between the create and the recording of its id, or
   the answer never came) is looked for before anything else: the contact's associated notes
   are read, and the one whose body carries this campaign's marker is the note. Found, its id is
   recorded; not found, it is created. So a SIGKILL at any moment never makes a second note.
   The run that sent a create whose answer did not come looks for its notes too, but leaves
   those it does not find to the next run: HubSpot may still be carrying out a request whose
   answer syncer gave up waiting for (a read timeout), and creating again now would make the
   note twice (the soak found this).
3. A note with an id is updated in place when its body changes (more opens, a click).

Contact properties are computed from everything recorded for the person and written through the
contacts batch update (100 a call), only when they differ from what was last written.

In a dry run nothing is written: each write is added to the plan instead.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from syncer.cache.engagement import NoteRow, PersonRow
from syncer.connectors.hubspot.notes import BATCH, HubSpotNotes, NoteInput, NoteResult
from syncer.connectors.hubspot.parse import WriteInput
from syncer.core import causes
from syncer.core.engagement import marked_campaign, note_body, person_engagement, summarise
from syncer.errors import RemoteError, RetriableError
from syncer.run.context import Failure, RunContext

log = logging.getLogger("syncer.run")


def write_engagement(ctx: RunContext, now: datetime) -> None:
    """Write what the recorded activity says; ``now`` is Mailchimp's clock, for the counts."""
    config = ctx.config.engagement
    if config.notes:
        notes = HubSpotNotes(ctx.hubspot.api)
        ctx.progress.phase("writing engagement notes", ctx.store.note_count("todo"))
        find_sent_notes(ctx, notes)
        sent = _write_notes(ctx, notes)
        find_sent_notes(ctx, notes, sent_now=sent)
    if config.properties:
        _write_properties(ctx, now)


def digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def _body(row: NoteRow) -> str:
    return note_body(row.campaign, summarise(row.events), str(row.rowid))


def find_sent_notes(
    ctx: RunContext, notes: HubSpotNotes, *, sent_now: frozenset[int] = frozenset()
) -> None:
    """Resolve notes whose create may have reached HubSpot: find each on its contact by marker.

    A row in ``sent_now`` (its create left during this run) that is not found stays ``sent``,
    to be looked for by the next run: its create may still be under way in HubSpot."""
    after = 0
    while not ctx.should_stop() and (rows := ctx.store.notes_in_state("sent", after, BATCH)):
        after = rows[-1].rowid
        if ctx.dry_run:
            continue  # the plan shows them as creates; a real run looks for them first
        attached = notes.notes_of([row.hubspot_id for row in rows])
        bodies = notes.bodies([note for ids in attached.values() for note in ids])
        found: list[tuple[int, str | None, str | None, str]] = []
        for row in rows:
            mine = sorted(
                (n for n in attached.get(row.hubspot_id, []) if n in bodies),
                key=lambda n: (len(n), n),
            )
            match = next((n for n in mine if marked_campaign(bodies[n]) == row.campaign.id), None)
            if match is None:
                if row.rowid not in sent_now:
                    found.append((row.rowid, None, None, "todo"))
                continue
            held = digest(bodies[match])
            state = "ok" if held == digest(_body(row)) else "todo"
            found.append((row.rowid, match, held, state))
            ctx.counts["engagement_notes_found"] += 1
        ctx.store.record_notes(found)


def _write_notes(ctx: RunContext, notes: HubSpotNotes) -> frozenset[int]:
    """Write the notes to write; returns the rows whose create left, for the look-up after."""
    sent: set[int] = set()
    after = 0
    while not ctx.should_stop() and (rows := ctx.store.notes_in_state("todo", after, BATCH)):
        after = rows[-1].rowid
        bodies = {row.rowid: _body(row) for row in rows}
        unchanged = [r.rowid for r in rows if r.note_id and r.note_hash == digest(bodies[r.rowid])]
        if unchanged:
            ctx.store.set_note_states(unchanged, "ok")
        updates = [r for r in rows if r.note_id and r.rowid not in unchanged]
        creates = [r for r in rows if not r.note_id]
        if ctx.dry_run:
            _plan_notes(ctx, updates, "note_update", bodies)
            _plan_notes(ctx, creates, "note_create", bodies)
            continue
        if updates:
            _update_notes(ctx, notes, updates, bodies)
        if creates:
            sent.update(row.rowid for row in creates)
            _create_notes(ctx, notes, creates, bodies)
        ctx.progress.advance(len(rows))
    return frozenset(sent)


def _inputs(rows: list[NoteRow], bodies: dict[int, str]) -> list[NoteInput]:
    return [
        NoteInput(
            trace_id=str(row.rowid),
            contact_id=row.hubspot_id,
            body=bodies[row.rowid],
            timestamp=row.campaign.send_time,
            note_id=row.note_id,
        )
        for row in rows
    ]


def _update_notes(
    ctx: RunContext, notes: HubSpotNotes, rows: list[NoteRow], bodies: dict[int, str]
) -> None:
    results = notes.update(_inputs(rows, bodies))
    done: list[tuple[int, str | None, str | None, str]] = []
    for row, result in zip(rows, results, strict=True):
        if result.outcome == "ok":
            done.append((row.rowid, row.note_id, digest(bodies[row.rowid]), "ok"))
            ctx.counts["engagement_notes_updated"] += 1
        elif result.outcome == "missing":
            # Deleted in HubSpot: it is created again with what is recorded.
            log.warning(
                "note %s of %s is gone from HubSpot; creating it again", row.note_id, row.email
            )
            done.append((row.rowid, None, None, "todo"))
        else:
            _note_refused(ctx, row, result)
            done.append((row.rowid, row.note_id, row.note_hash, "failed"))
    ctx.store.record_notes(done)


def _create_notes(
    ctx: RunContext, notes: HubSpotNotes, rows: list[NoteRow], bodies: dict[int, str]
) -> None:
    """Create with intent recorded first; an answer that may be lost leaves the rows ``sent``."""
    ctx.store.set_note_states([row.rowid for row in rows], "sent", attempt=True)
    try:
        results = notes.create(_inputs(rows, bodies))
    except RetriableError as error:
        log.warning("%s; the notes are looked for on their contacts before any new create", error)
        return
    except RemoteError as error:
        if error.status is None or not 400 <= error.status < 500:
            raise
        # Refused whole (HubSpot validates the batch before creating any): nothing was made.
        _refused_whole(ctx, rows, error)
        return
    done: list[tuple[int, str | None, str | None, str]] = []
    for row, result in zip(rows, results, strict=True):
        if result.outcome == "ok" and result.note_id:
            done.append((row.rowid, result.note_id, digest(bodies[row.rowid]), "ok"))
            ctx.counts["engagement_notes_created"] += 1
            ctx.store.clear_engagement_issues([_note_key(row)])
        elif result.outcome == "error":
            _note_refused(ctx, row, result)
            done.append((row.rowid, None, None, "failed"))
        # "missing" from the answer: left "sent", looked for on the contact next
    ctx.store.record_notes(done)


def _refused_whole(ctx: RunContext, rows: list[NoteRow], error: RemoteError) -> None:
    """A create refused as a whole: find the contacts gone from HubSpot, which an association
    cannot name, report them, and put the others back to be created."""
    found = ctx.hubspot.read([row.hubspot_id for row in rows], [])
    gone = [row for row in rows if found.get(row.hubspot_id) is None]
    for row in gone:
        _contact_gone(ctx, row.contact_id, row.email)
    if not gone:
        for row in rows:
            _note_refused(ctx, row, NoteResult(str(row.rowid), "error", message=error.message))
    ctx.store.set_note_states([row.rowid for row in gone or rows], "failed")
    ctx.store.set_note_states([row.rowid for row in rows if gone and row not in gone], "todo")


def _note_key(row: NoteRow) -> str:
    return f"note:{row.contact_id}:{row.campaign.id}"


def _note_refused(ctx: RunContext, row: NoteRow, result: NoteResult) -> None:
    reason = f"HubSpot refused the note for campaign '{row.campaign.title}': {result.message}"
    ctx.failures.append(Failure(reason, row.email))
    ctx.counts["engagement_failed"] += 1
    ctx.store.report_engagement_issue(
        _note_key(row),
        causes.ENGAGEMENT_NOTE_REFUSED,
        reason,
        contact_id=row.contact_id,
        email=row.email,
        campaign_id=row.campaign.id,
    )


def _contact_gone(ctx: RunContext, contact_id: int, email: str) -> None:
    reason = "the HubSpot contact was deleted: its engagement is not written"
    ctx.failures.append(Failure(reason, email))
    ctx.counts["engagement_failed"] += 1
    ctx.store.report_engagement_issue(
        f"person:{contact_id}",
        causes.ENGAGEMENT_CONTACT_GONE,
        reason,
        contact_id=contact_id,
        email=email,
    )


def _plan_notes(ctx: RunContext, rows: list[NoteRow], action: str, bodies: dict[int, str]) -> None:
    for row in rows:
        ctx.engagement_plan.append(
            {
                "email": row.email,
                "action": action,
                "changes": [
                    {"field": "hs_note_body", "old": "", "new": bodies[row.rowid]},
                    {"field": "hs_timestamp", "old": "", "new": row.campaign.send_time},
                ],
            }
        )


def _write_properties(ctx: RunContext, now: datetime) -> None:
    """Write each due person's engagement properties, 100 contacts a call."""
    config = ctx.config.engagement
    moment = now.isoformat()
    after = 0
    while not ctx.should_stop() and (rows := ctx.store.people_due(moment, after, BATCH)):
        after = rows[-1].contact_id
        history = ctx.store.campaigns_of([row.contact_id for row in rows])
        computed = {
            row.contact_id: person_engagement(
                history[row.contact_id], config.properties, config.count_days, now
            )
            for row in rows
        }
        changed = [row for row in rows if computed[row.contact_id].values != row.written]
        records: list[tuple[int, dict[str, str] | None, str | None]] = [
            (row.contact_id, None, computed[row.contact_id].due)
            for row in rows
            if row not in changed
        ]
        if ctx.dry_run:
            _plan_properties(ctx, changed, computed)
        elif changed:
            records.extend(_update_people(ctx, changed, computed))
        ctx.store.record_people(records)


def _update_people(
    ctx: RunContext, rows: list[PersonRow], computed: dict[int, Any]
) -> list[tuple[int, dict[str, str] | None, str | None]]:
    inputs = [
        WriteInput(f"e{row.contact_id}", computed[row.contact_id].values, row.hubspot_id)
        for row in rows
    ]
    results = ctx.hubspot.update(inputs)
    written: list[tuple[int, dict[str, str] | None, str | None]] = []
    for row, result in zip(rows, results, strict=True):
        key = f"person:{row.contact_id}"
        if result.outcome == "ok":
            values = computed[row.contact_id].values
            written.append((row.contact_id, values, computed[row.contact_id].due))
            ctx.counts["engagement_contacts_written"] += 1
            ctx.store.clear_engagement_issues([key])
        elif result.outcome == "missing":
            _contact_gone(ctx, row.contact_id, row.email)
        else:
            reason = f"HubSpot refused the engagement properties: {result.message}"
            ctx.failures.append(Failure(reason, row.email))
            ctx.counts["engagement_failed"] += 1
            ctx.store.report_engagement_issue(
                key, causes.ENGAGEMENT_REFUSED, reason, contact_id=row.contact_id, email=row.email
            )
    return written


def _plan_properties(ctx: RunContext, rows: list[PersonRow], computed: dict[int, Any]) -> None:
    for row in rows:
        values: dict[str, str] = computed[row.contact_id].values
        ctx.engagement_plan.append(
            {
                "email": row.email,
                "action": "engagement",
                "changes": [
                    {"field": name, "old": row.written.get(name, ""), "new": value}
                    for name, value in sorted(values.items())
                    if row.written.get(name, "") != value
                ],
            }
        )
