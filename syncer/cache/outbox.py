"""The outbox and Mailchimp batches: remote writes decided, submitted, and settled."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from syncer.cache.base import StoreBase, dumps, loads, utc_now
from syncer.core.models import FieldChange
from syncer.core.records import NewOperation, Operation
from syncer.core.segments import SEGMENT_ACTIONS

OPEN_STATES = ("queued", "submitted")


@dataclass(frozen=True)
class BatchRow:
    id: str
    run_id: int | None
    submitted_at: str
    status: str
    total: int
    finished: int
    errored: int
    progress_at: str


#: Queued writes to a target after an id, but the actions given and consent withdrawals.
_UNGUARDED = (
    "state = 'queued' AND target = ? AND id > ? "
    "AND action NOT IN (SELECT value FROM json_each(?)) "
    "AND coalesce(json_extract(payload, '$.withdraws'), 0) = 0"
)

#: The ``meta`` key of :meth:`OutboxStore.guard_passed_through`.
_GUARD_PASSED = "guard_passed_through"

SUPERSEDED_REASON = "superseded by a newer decision before it was sent"


class OutboxStore(StoreBase):
    def queue_operations(
        self,
        contact_id: int,
        operations: Sequence[NewOperation],
        run_id: int | None,
        *,
        supersede: bool = True,
    ) -> None:
        """Queue a contact's new writes; a newer decision supersedes unsent older ones.

        Segment writes (tags, archives) are decided apart from the contact sync: each kind
        supersedes only its own, so neither decision drops the other's write.
        """
        now = utc_now()
        if supersede:
            segments = [op.action in SEGMENT_ACTIONS for op in operations]
            self.db.execute(
                "UPDATE operations SET state = 'superseded', error = ?, updated_at = ? "
                "WHERE contact_id = ? AND state = 'queued' AND (action IN (?, ?, ?)) = ?",
                [SUPERSEDED_REASON, now, contact_id, *SEGMENT_ACTIONS, int(any(segments))],
            )
        for operation in operations:
            self.db.execute(
                """INSERT INTO operations (contact_id, target, action, payload, agreed, state,
                   run_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)""",
                [
                    contact_id,
                    operation.target,
                    operation.action,
                    dumps(operation.payload),
                    dumps(operation.agreed),
                    run_id,
                    now,
                    now,
                ],
            )

    def queued_operations(
        self, target: str, *, after: int = 0, limit: int = -1, creates: bool | None = None
    ) -> list[Operation]:
        """Queued writes to ``target`` by id, a page at a time: those after id ``after``, at
        most ``limit`` (-1: all); ``creates`` True or False keeps only creates or the others.
        The writers read a page per call, so the outbox is never in memory whole."""
        kinds = "" if creates is None else f"AND (action = 'create') = {int(creates)} "
        return self._operations(
            "SELECT * FROM operations WHERE state = 'queued' AND target = ? AND id > ? "  # noqa: S608 - fixed text
            f"{kinds}ORDER BY id LIMIT ?",
            [target, after, limit],
        )

    def sent_unanswered_updates(self, *, after: int, limit: int) -> list[Operation]:
        """Queued HubSpot updates already sent (a run killed while it waited, a call given up
        on): whether and when they landed is unknown. By id, a page at a time."""
        return self._operations(
            "SELECT * FROM operations WHERE state = 'queued' AND target = 'hubspot' "
            "AND action = 'update' AND attempts > 0 AND id > ? ORDER BY id LIMIT ?",
            [after, limit],
        )

    def unguarded_operations(
        self,
        target: str,
        held: Sequence[str],
        *,
        after: int,
        limit: int,
        creates: bool | None = None,
    ) -> list[Operation]:
        """Like :meth:`queued_operations`, without the writes the blast-radius guard counts:
        the ``held`` actions and those withdrawing consent (``withdraws``, from the plan)."""
        kinds = "" if creates is None else f"AND (action = 'create') = {int(creates)} "
        return self._operations(
            f"SELECT * FROM operations WHERE {_UNGUARDED} {kinds}ORDER BY id LIMIT ?",  # noqa: S608 - fixed text
            [target, after, dumps(list(held)), limit],
        )

    def succeeded_creates(self, target: str, first: int, last: int) -> int:
        """How many creates to ``target`` with ids from ``first`` to ``last`` succeeded (a key
        range: cheap however large the outbox)."""
        row = self.db.execute(
            "SELECT count(*) FROM operations WHERE id BETWEEN ? AND ? AND target = ? "
            "AND action = 'create' AND state = 'succeeded'",
            [first, last, target],
        ).fetchone()
        return int(row[0])

    def unguarded_count(self, target: str, held: Sequence[str], *, after: int) -> int:
        """How many :meth:`unguarded_operations` there are after id ``after``."""
        row = self.db.execute(
            f"SELECT count(*) FROM operations WHERE {_UNGUARDED}",  # noqa: S608 - fixed text
            [target, after, dumps(list(held))],
        ).fetchone()
        return int(row[0])

    def queued_count(self, target: str) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM operations WHERE state = 'queued' AND target = ?", [target]
        ).fetchone()
        return int(row[0])

    def queued_writes_of(self, contact_id: int) -> list[Operation]:
        """A person's queued contact writes (not segment ones), oldest first."""
        return self._operations(
            "SELECT * FROM operations WHERE contact_id = ? AND state = 'queued' "
            "AND action NOT IN (?, ?, ?) ORDER BY id",
            [contact_id, *SEGMENT_ACTIONS],
        )

    def writes_out(self) -> bool:
        """Whether any write is out in a batch: one look at the open operations' index (the
        repeated ``IN`` is what lets SQLite use that partial index)."""
        row = self.db.execute(
            "SELECT 1 FROM operations WHERE state IN ('queued', 'submitted') "
            "AND state = 'submitted' LIMIT 1"
        ).fetchone()
        return row is not None

    def submitted_writes_of(self, contact_id: int) -> list[Operation]:
        """A person's contact writes out in a batch (not segment ones), oldest first."""
        return self._operations(
            "SELECT * FROM operations WHERE contact_id = ? AND state = 'submitted' "
            "AND action NOT IN (?, ?, ?) ORDER BY id",
            [contact_id, *SEGMENT_ACTIONS],
        )

    def operations_in_batch(self, batch_id: str) -> list[Operation]:
        return self._operations(
            "SELECT * FROM operations WHERE batch_id = ? AND state = 'submitted' ORDER BY id",
            [batch_id],
        )

    def open_operation_count(self, contact_id: int) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM operations "
            "WHERE contact_id = ? AND state IN ('queued', 'submitted')",
            [contact_id],
        ).fetchone()
        return int(row[0])

    def with_open_operations(self, contact_ids: Sequence[int]) -> set[int]:
        """Those of these people with a write queued or submitted."""
        return {
            int(row[0])
            for row in self.db.execute(
                "SELECT DISTINCT contact_id FROM operations WHERE state IN ('queued', 'submitted') "
                "AND contact_id IN (SELECT value FROM json_each(?))",
                [dumps(list(contact_ids))],
            )
        }

    def queued_counts(self, *, after: int = 0) -> dict[str, int]:
        """Queued writes after id ``after`` by action, for the blast-radius guard and the dry-run
        plan, and under ``withdrawals`` those that withdraw a consent value (marked so by the
        plan)."""
        counts = {
            f"{row['target']}:{row['action']}": int(row["n"])
            for row in self.select(
                "SELECT target, action, count(*) AS n FROM operations "
                "WHERE state = 'queued' AND id > ? GROUP BY target, action",
                [after],
            )
        }
        (row,) = self.select(
            "SELECT count(*) AS n FROM operations WHERE state = 'queued' AND id > ? "
            "AND json_extract(payload, '$.withdraws') = 1",
            [after],
        )
        counts["withdrawals"] = int(row["n"])
        return counts

    def guard_passed_through(self) -> int:
        """The newest write a run's blast-radius guard has let through (0: none yet). Writes are
        never deleted, so ids only grow: every write up to it was counted by a guard that passed
        (or was overridden), and a run that cannot send them all carries them on to the next,
        whose guard must not count them again as if they were its own."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [_GUARD_PASSED]).fetchone()
        return 0 if row is None else int(row[0])

    def pass_guard(self) -> None:
        """Record that the guard let through every write queued so far."""
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO meta (key, value) SELECT ?, coalesce(max(id), 0) FROM operations "
                "WHERE true ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [_GUARD_PASSED],
            )

    def mark_sent(self, operation_ids: Sequence[int]) -> None:
        """Count an attempt as the request leaves, before its answer: a run killed while it waits
        leaves the write known as sent, so a next decision that finds its values knows it landed."""
        self.db.execute(
            "UPDATE operations SET attempts = attempts + 1, updated_at = ? "
            "WHERE id IN (SELECT value FROM json_each(?))",
            [utc_now(), dumps(list(operation_ids))],
        )

    def note_unanswered(self, operation_id: int, error: str) -> None:
        """A sent write whose answer was lost stays queued (a repeat is harmless), with why."""
        self.db.execute(
            "UPDATE operations SET error = ?, updated_at = ? WHERE id = ?",
            [error, utc_now(), operation_id],
        )

    def note_overwrites(self, operation_id: int, values: dict[str, str]) -> None:
        """A submitted Mailchimp write may run over these values a look saw (``member_restore``)."""
        self.db.execute(
            "UPDATE operations SET overwrites = ?, updated_at = ? WHERE id = ?",
            [dumps(values), utc_now(), operation_id],
        )

    def set_operation_state(self, operation_id: int, state: str, error: str | None = None) -> None:
        attempts = 1 if state in ("queued", "failed") else 0
        self.db.execute(
            "UPDATE operations SET state = ?, error = ?, attempts = attempts + ?, updated_at = ?, "
            "batch_id = CASE WHEN ? = 'queued' THEN NULL ELSE batch_id END WHERE id = ?",
            [state, error, attempts, utc_now(), state, operation_id],
        )

    def requeue_failed(self, contact_ids: Iterable[int]) -> int:
        """Put these people's failed writes back in the queue; returns how many."""
        cursor = self.db.execute(
            "UPDATE operations SET state = 'queued', error = NULL, updated_at = ? "
            "WHERE state = 'failed' AND contact_id IN (SELECT value FROM json_each(?))",
            [utc_now(), dumps(list(contact_ids))],
        )
        return int(cursor.rowcount)

    def _operations(self, sql: str, params: list[Any]) -> list[Operation]:
        return [_operation(row) for row in self.select(sql, params)]

    def queued_with_emails(self) -> list[tuple[str, Operation]]:
        """Every queued write with its person's email, in a stable order (for the dry-run plan)."""
        rows = self.select(
            """SELECT o.*, c.email AS contact_email FROM operations o
               JOIN contacts c ON c.id = o.contact_id
               WHERE o.state = 'queued' ORDER BY c.email, o.target, o.id"""
        )
        return [(str(row["contact_email"]), _operation(row)) for row in rows]

    def run_events(self, run_id: int, kinds: Sequence[str]) -> list[dict[str, Any]]:
        return list(
            self.select(
                """SELECT e.kind, e.field, e.detail, c.email FROM events e
                   LEFT JOIN contacts c ON c.id = e.contact_id
                   WHERE e.run_id = ? AND e.kind IN (SELECT value FROM json_each(?))
                   ORDER BY c.email, e.field, e.id""",
                [run_id, dumps(list(kinds))],
            )
        )

    # -- journal ---------------------------------------------------------------------------------

    def add_changes(
        self, run_id: int | None, contact_id: int, changes: Iterable[FieldChange]
    ) -> None:
        now = utc_now()
        self.db.conn.executemany(
            "INSERT INTO changes (run_id, contact_id, side, field, old, new, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (run_id or 0, contact_id, change.side, change.field, change.old, change.new, now)
                for change in changes
            ],
        )

    # -- Mailchimp batches -----------------------------------------------------------------------

    def record_batch(
        self, batch_id: str, status: str, operation_ids: Sequence[int], run_id: int | None
    ) -> None:
        """Store the batch id and mark its operations submitted, in one transaction."""
        now = utc_now()
        with self.transaction():
            self.db.execute(
                """INSERT INTO batches (id, run_id, submitted_at, status, total, progress_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                [batch_id, run_id, now, status, len(operation_ids), now],
            )
            self.db.conn.executemany(
                "UPDATE operations SET state = 'submitted', batch_id = ?, updated_at = ? "
                "WHERE id = ?",
                [(batch_id, now, operation_id) for operation_id in operation_ids],
            )

    def mark_pending(self, contact_ids: Sequence[int]) -> None:
        """People whose writes went out in a batch wait for its results (``pending``), in one
        statement rather than a read and a rewrite of each row."""
        with self.transaction():
            self.db.execute(
                "UPDATE contacts SET state = 'pending', updated_at = ? "
                "WHERE id IN (SELECT value FROM json_each(?)) AND state IN ('todo', 'ok')",
                [utc_now(), dumps(list(contact_ids))],
            )

    def unmark_pending(self, contact_ids: Sequence[int]) -> None:
        """People whose batch was cancelled wait for it no more: a fetch may decide them again."""
        self.db.execute(
            "UPDATE contacts SET state = 'todo', updated_at = ? WHERE state = 'pending' "
            "AND id IN (SELECT value FROM json_each(?))",
            [utc_now(), dumps(list(contact_ids))],
        )

    def release_stranded(self, contact_ids: Sequence[int] | None = None) -> int:
        """Take out of waiting (``pending``) the people, of these or of all, with no write of
        theirs still queued or out, to be decided again; returns how many.

        A person waits while any write of theirs is in flight, and the answer that settles the
        last one releases them; a write held back or superseded instead has no answer, so
        without this nobody would, and the person would never be decided again."""
        sql = (
            "UPDATE contacts SET state = 'todo', dirty = 1, updated_at = ? WHERE state = 'pending' "
            "AND NOT EXISTS (SELECT 1 FROM operations WHERE operations.contact_id = contacts.id "
            "AND operations.state IN ('queued', 'submitted'))"
        )
        params: list[Any] = [utc_now()]
        if contact_ids is not None:
            sql += " AND id IN (SELECT value FROM json_each(?))"
            params.append(dumps(list(contact_ids)))
        return int(self.db.execute(sql, params).rowcount)

    def open_batches(self) -> list[BatchRow]:
        return [
            BatchRow(**{name: row[name] for name in BatchRow.__dataclass_fields__})
            for row in self.select(
                "SELECT * FROM batches WHERE status NOT IN ('processed', 'cancelled') "
                "ORDER BY submitted_at, id"
            )
        ]

    def update_batch(self, batch_id: str, status: str, finished: int, errored: int) -> None:
        """Progress from Mailchimp; ``progress_at`` moves only when operations finished."""
        now = utc_now()
        with self.transaction():
            self.db.execute(
                """UPDATE batches SET status = ?, errored = ?,
                   progress_at = CASE WHEN finished != ? THEN ? ELSE progress_at END,
                   finished = ? WHERE id = ?""",
                [status, errored, finished, now, finished, batch_id],
            )

    def set_batch_status(self, batch_id: str, status: str) -> None:
        """Record what syncer does to a batch (``cancelling``, ``cancelled``) before and after."""
        self.db.execute(
            "UPDATE batches SET status = ?, completed_at = CASE WHEN ? = 'cancelled' "
            "THEN ? ELSE completed_at END WHERE id = ?",
            [status, status, utc_now(), batch_id],
        )

    def close_batch(self, batch_id: str) -> None:
        self.db.execute(
            "UPDATE batches SET status = 'processed', completed_at = ? WHERE id = ?",
            [utc_now(), batch_id],
        )


def _operation(row: dict[str, Any]) -> Operation:
    return Operation(
        id=int(row["id"]),
        contact_id=int(row["contact_id"]),
        target=str(row["target"]),
        action=str(row["action"]),
        payload=loads(row["payload"]),
        agreed=loads(row["agreed"]),
        state=str(row["state"]),
        batch_id=row["batch_id"],
        attempts=int(row["attempts"]),
        error=row["error"],
        overwrites=loads(row["overwrites"]) if row.get("overwrites") else None,
    )
