"""Deciding while a first sync reads: each person as soon as both of their sides are known.

A first sync reads everyone, and waiting for the whole read before deciding anybody leaves all
of the reconciler's work, and the writes it queues, for after the read. Mailchimp's audience is
read far faster than HubSpot's contacts (both at once, ``fetch``), so from the moment it is
complete, every HubSpot contact saved has both of its sides known, and its person is decided
then, a chunk at a time, between the pages HubSpot's read is still saving. What depends on the
whole read still waits for its end, in the reconcile after it:

- people with only a Mailchimp member: a HubSpot contact with their address may still come, so
  their HubSpot create is decided once all of HubSpot is read. When the guard does not count
  them (a first sync's exemption), the creates go out 100 a call while that reconcile decides
  the rest, and the guard then counts the linked people as the decisions found them, not the
  ones these creates linked;
- the oldest-duplicate rule: two HubSpot contacts with one email arrive in either order (the list
  reads ids upwards, search downwards). When the older arrives after the person was decided with
  the newer, the cache links the older and supersedes the writes still queued for the person,
  who is decided again; their base, which this run's decision set with the other contact, goes
  back to a first sync's (empty), so the new decision is the one a run deciding after the read
  would have made;
- segment scopes and the tags mirror, which decide who is in: a first sync with segments decides
  after the read, as every other run does.

What the decisions queue goes out during the read too, each call off the saving thread
(``lane``): HubSpot's property history, for the people whose conflict needs it, in whole calls of
50 (those left over wait for the reconcile after the read), HubSpot's updates 100 a call, each
after its re-read (``recheck``), and Mailchimp's batches, each as
soon as 1,000 member writes are queued, after a look at the members changed since the read
(``recheck``, as before every round of member writes). Writes the blast-radius guard counts
(unsubscribes, consent withdrawals, and creates unless the first sync is exempt) stay queued
until the guard has seen the whole run, after the read; a guard that stops the run has let
through only what it does not count.

Only a first sync without segments decides while reading: it decides for everyone, which is
where the time goes. A run with cursors reads a few changes, decided in a moment after the read.
Nothing else changes: each decision is stored with its outbox rows in one transaction
(DESIGN §4), and cursors move only after the whole read, so a stop or a crash mid-read leaves
the undecided dirty for the next run, which reads everything again (it finds the decided
unchanged) and decides the rest.
"""

from __future__ import annotations

import logging
from array import array

from syncer.cache.contacts import PageStats
from syncer.connectors.hubspot.client import BATCH_LIMIT as HUBSPOT_BATCH
from syncer.connectors.hubspot.client import HISTORY_LIMIT
from syncer.connectors.mailchimp.client import BATCH_LIMIT
from syncer.connectors.mailchimp.records import BatchStatus
from syncer.core.models import HubSpotContact
from syncer.core.records import ContactRow, Operation
from syncer.errors import AuthError, RateLimitExhausted, RemoteError
from syncer.run import decide
from syncer.run.context import RunContext
from syncer.run.lane import Lane, Steps
from syncer.run.recheck import Changed, hold_for_members, members_changed
from syncer.run.write_hubspot import Unresolved, note_write_error, send_steps
from syncer.run.write_mailchimp import member_operations, record_submitted

log = logging.getLogger("syncer.run")

#: Chunks decided after each saved page at most, so the pages waiting to be saved keep moving
#: while the people saved before Mailchimp's read was complete are caught up with.
CHUNKS_A_PAGE = 2
#: The writes the blast-radius guard counts, which wait for it (creates only when not exempt).
GUARDED = ("unsubscribe", "create")
#: The counter of the HubSpot calls made beside the decisions, by action.
WRITTEN_COUNTS = {
    "update": "hubspot_updates_while_reading",
    "create": "hubspot_creates_while_deciding",
}


class Pipeline:
    """The decisions and calls a first sync makes during its read (the module docstring)."""

    def __init__(self, ctx: RunContext, *, creates_exempt: bool) -> None:
        self.ctx = ctx
        #: Mailchimp's whole audience is in the cache: HubSpot's contacts can be decided.
        self.members_read = False
        #: All of HubSpot is in the cache: the Mailchimp-only people's creates may go.
        self.contacts_read = False
        #: People saved from HubSpot and not yet decided, in the order saved.
        self.todo: array[int] = array("q")
        #: People whose decision waits for their contact's history (under a call's worth).
        self.waiting: list[ContactRow] = []
        #: The Mailchimp batches submitted during the read, for the run to wait for.
        self.batches: list[str] = []
        self._held = GUARDED[:1] if creates_exempt else GUARDED
        self._queued_after = 0  # the outbox id up to which member writes went in a batch
        self._sending: set[int] = set()  # the people in the batch being submitted
        self._new_writes = False
        #: HubSpot updates sent during the read whose answer needs a look after it.
        self.unresolved: list[Unresolved] = []
        self._updated_after = 0  # the outbox id up to which HubSpot updates were sent
        self._created = (0, 0)  # the outbox ids of the first and the last HubSpot create sent
        self._writing: set[int] = set()  # the people in the HubSpot update being sent
        self._hubspot = Lane("hubspot-calls")
        self._mailchimp = Lane("mailchimp-batches")

    @staticmethod
    def wanted(ctx: RunContext, *, first_sync: bool, dry_run: bool) -> bool:
        """Whether this run decides while reading (a real first sync without segments)."""
        segments = ctx.config.segments
        return first_sync and not dry_run and not (segments.active or segments.mirror)

    def page_saved(self, source: str, stats: PageStats) -> None:
        """After each saved page: queue its people, decide what can be decided."""
        if source == "hubspot":
            if stats.relinked:
                self._rebase(stats.relinked)
            self.todo.extend(stats.saved)
            self._decide(CHUNKS_A_PAGE)
        self.poll()

    def walk_finished(self, source: str) -> None:
        """A side's whole read is saved; once it is Mailchimp's, HubSpot's people are decided."""
        if source == "mailchimp":
            self.members_read = True
            self._decide(CHUNKS_A_PAGE)
        else:
            self.contacts_read = True
        self.poll()

    def decided(self) -> None:
        """After each chunk the reconcile after the read decided: its creates may be due."""
        self._new_writes = True
        self.poll()

    def poll(self) -> None:
        """Continue the calls that answered; start the next ones that are due."""
        self._hubspot.poll()
        self._mailchimp.poll()
        if self.ctx.should_stop():
            return
        due = self._writes_due() if not (self._hubspot.busy and self._mailchimp.busy) else {}
        if not self._hubspot.busy and len(self.waiting) >= HISTORY_LIMIT:
            rows, self.waiting = self.waiting[:HISTORY_LIMIT], self.waiting[HISTORY_LIMIT:]
            self._hubspot.start(
                lambda: decide.read_history(self.ctx, rows),
                lambda found: self._history_read(rows, found),
            )
        elif due.get("hubspot"):
            self._write_hubspot()
        if due.get("mailchimp"):
            self._submit()

    def finish(self) -> None:
        """After the decisions: wait for the calls still going (a stop waits for them too), and
        make the whole calls still due, so what goes before the guard does not hang on when
        a lane was free between two chunks."""
        while True:
            self._hubspot.drain()
            self._mailchimp.drain()
            self.poll()
            if not (self._hubspot.busy or self._mailchimp.busy):
                return

    def close(self) -> None:
        self._hubspot.close()
        self._mailchimp.close()

    def _decide(self, chunks: int) -> None:
        if not self.members_read:
            return
        while chunks and len(self.todo) >= decide.RECONCILE_CHUNK and not self.ctx.should_stop():
            ids = self.todo[: decide.RECONCILE_CHUNK]
            del self.todo[: decide.RECONCILE_CHUNK]
            rows = []
            for row in self.ctx.store.dirty_among(ids.tolist()):
                if row.id in self._sending or row.id in self._writing:  # once sent, decided
                    self.todo.append(row.id)
                else:
                    rows.append(row)
            waiting = decide.decide_chunk(self.ctx, rows)
            self.ctx.counts["decided_while_reading"] += len(rows) - len(waiting)
            self.waiting.extend(waiting)
            self._new_writes = True
            chunks -= 1

    def _history_read(
        self, rows: list[ContactRow], found: dict[str, HubSpotContact | None]
    ) -> None:
        """Decide with the history read; people saved again since then are decided anew."""
        sent = {row.id: (row.hubspot_id, row.hs_modified) for row in rows}
        now = [
            row
            for row in self.ctx.store.dirty_among(list(sent))
            if sent[row.id] == (row.hubspot_id, row.hs_modified)
        ]
        self.todo.extend(set(sent) - {row.id for row in now})
        decide.decide_found(self.ctx, now, found)
        self.ctx.counts["decided_while_reading"] += len(now)
        self._new_writes = True

    def _writes_due(self) -> dict[str, bool]:
        """Which side may have a call's worth of writes the guard does not count queued
        (HubSpot: 100 updates or creates, looked for by ``_write_hubspot``; Mailchimp: 1,000,
        with room for another open batch)."""
        due = {"hubspot": False, "mailchimp": False}
        if not self._new_writes:
            return due
        self._new_writes = False
        store = self.ctx.store
        due["hubspot"] = not self._hubspot.busy
        # Counting queued member writes scans them (a 1,000,000-a-side first sync leaves
        # 100,000 queued while its open batches are all out): only when one more may go.
        room = len(store.open_batches()) < self.ctx.config.sync.max_open_batches
        due["mailchimp"] = (
            room
            and not self._mailchimp.busy
            and store.unguarded_count("mailchimp", self._held, after=self._queued_after)
            >= BATCH_LIMIT
        )
        # Looked at again after the next decisions, or when a lane's call is done.
        return due

    def _write_hubspot(self) -> None:
        """One batch call of HubSpot writes (``write_hubspot``, recheck and all): once all of
        HubSpot is read, 100 creates the guard does not count, else 100 updates.

        Creates are looked for first: after the read they are queued by the thousand, and the
        look for updates would scan every one of them (on each chunk decided)."""
        store = self.ctx.store
        if self.contacts_read and "create" not in self._held:
            chunk = store.unguarded_operations(
                "hubspot", self._held, after=self._created[1], limit=HUBSPOT_BATCH, creates=True
            )
            if len(chunk) == HUBSPOT_BATCH:
                self._created = (self._created[0] or chunk[0].id, chunk[-1].id)
                self._send_hubspot("create", chunk)
                return
        chunk = store.unguarded_operations(
            "hubspot", GUARDED, after=self._updated_after, limit=HUBSPOT_BATCH
        )
        if len(chunk) == HUBSPOT_BATCH:
            self._updated_after = chunk[-1].id
            self._send_hubspot("update", chunk)

    def _send_hubspot(self, action: str, chunk: list[Operation]) -> None:
        self._writing = {operation.contact_id for operation in chunk}
        self._hubspot.run(
            self._write_steps(action, chunk), lambda found: self._written(action, found)
        )

    def _write_steps(self, action: str, chunk: list[Operation]) -> Steps[list[Unresolved]]:
        try:
            return (yield from send_steps(self.ctx, action, chunk))
        except (AuthError, RateLimitExhausted):
            raise
        except RemoteError as error:
            note_write_error(self.ctx, action, len(chunk), error)
            return []

    def _written(self, action: str, unresolved: list[Unresolved]) -> None:
        self.unresolved.extend(unresolved)
        self._writing = set()
        self.ctx.counts[WRITTEN_COUNTS[action]] += 1
        self._new_writes = True

    def linked_by_creates(self) -> int:
        """The people this pipeline's HubSpot creates linked: the guard counts the linked
        people as the decisions found them, before any of the run's writes."""
        first, last = self._created
        return self.ctx.store.succeeded_creates("hubspot", first, last) if last else 0

    def _submit(self) -> None:
        """First the members changed since the last look (``recheck``: a write that would
        overwrite an edit made since the read is held back), then the batch."""
        since = self.ctx.members_checked_since
        self._mailchimp.start(lambda: members_changed(self.ctx, since), self._rechecked)

    def _rechecked(self, changed: Changed) -> None:
        hold_for_members(self.ctx, changed)
        group = self.ctx.store.unguarded_operations(
            "mailchimp", self._held, after=self._queued_after, limit=BATCH_LIMIT
        )
        if len(group) < BATCH_LIMIT or self.ctx.should_stop():
            return  # some were held: the batch waits for more
        self._queued_after = group[-1].id
        self._sending = {operation.contact_id for operation in group}
        operations = member_operations(group)
        self._mailchimp.start(
            lambda: self.ctx.mailchimp.submit_batch(operations),
            lambda batch: self._submitted(batch, group),
        )

    def _submitted(self, batch: BatchStatus, group: list[Operation]) -> None:
        record_submitted(self.ctx, batch, group)
        self.ctx.counts["batches_while_reading"] += 1
        self.batches.append(batch.id)
        log.info("Mailchimp batch %s (%d writes) submitted during the read", batch.id, len(group))
        self._sending = set()
        self._new_writes = True  # more may be queued already

    def _rebase(self, contact_ids: list[int]) -> None:
        """People linked to an older duplicate: back to a first sync's base (module docstring)."""
        with self.ctx.store.transaction():
            for contact_id in contact_ids:
                row = self.ctx.store.contact(contact_id)
                if row is not None and row.base:
                    row.base = {}
                    self.ctx.store.save_decision(row)
