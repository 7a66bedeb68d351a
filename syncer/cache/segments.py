"""The cache's part of segments: HubSpot list memberships, scope, and who is still to decide.

A list's membership is read into ``list_reads`` page by page and swapped into ``list_members``
only when the read is complete, in one transaction that also queues everyone who joined or left:
a read cut short by a stop or a crash changes nothing, and the next run reads the list again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from syncer.cache.base import StoreBase, dumps, loads, utc_now
from syncer.cache.contacts import contact_row
from syncer.core.identity import subscriber_hash
from syncer.core.records import ContactRow
from syncer.core.segments import SEGMENT_ACTIONS, TAG, UNTAG


class SegmentStore(StoreBase):
    # -- lists -----------------------------------------------------------------------------------

    def known_list(self, key: str) -> dict[str, Any] | None:
        rows = list(self.select("SELECT * FROM segment_lists WHERE key = ?", [key]))
        return rows[0] if rows else None

    def known_lists(self) -> list[dict[str, Any]]:
        return list(self.select("SELECT * FROM segment_lists ORDER BY key"))

    def remember_list(self, key: str, list_id: str, name: str, processing_type: str) -> None:
        with self.db.atomic():
            self.db.execute(
                """INSERT INTO segment_lists (key, list_id, name, processing_type)
                   VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET list_id = excluded.list_id,
                   name = excluded.name, processing_type = excluded.processing_type""",
                [key, list_id, name, processing_type],
            )

    def forget_list(self, key: str) -> None:
        """A list gone from HubSpot: resolve its name again next time."""
        with self.db.atomic():
            self.db.execute("DELETE FROM segment_lists WHERE key = ?", [key])

    def start_list_read(self, list_id: str) -> None:
        self.db.execute("DELETE FROM list_reads WHERE list_id = ?", [list_id])

    def add_list_read(self, list_id: str, hubspot_ids: Iterable[str]) -> None:
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO list_reads (list_id, hubspot_id) VALUES (?, ?)",
            [(list_id, hubspot_id) for hubspot_id in hubspot_ids],
        )

    def finish_list_read(self, key: str, list_id: str) -> tuple[int, int]:
        """Swap a complete read in; queue who joined or left. Returns (joined, left)."""
        with self.db.atomic():
            counts = []
            for changed in (_JOINED, _LEFT):
                before = self.segment_todo_count()
                self.db.execute(_QUEUE_CHANGED[changed], {"l": list_id})
                counts.append(self.segment_todo_count() - before)
            self.db.execute("DELETE FROM list_members WHERE list_id = ?", [list_id])
            self.db.execute(
                "INSERT INTO list_members SELECT list_id, hubspot_id FROM list_reads "
                "WHERE list_id = ?",
                [list_id],
            )
            size = self.db.execute(
                "SELECT count(*) FROM list_members WHERE list_id = ?", [list_id]
            ).fetchone()[0]
            self.db.execute("DELETE FROM list_reads WHERE list_id = ?", [list_id])
            self.db.execute(
                "UPDATE segment_lists SET read_at = ?, size = ? WHERE key = ?",
                [utc_now(), size, key],
            )
        return counts[0], counts[1]

    def lists_of(self, hubspot_id: str | None) -> frozenset[str]:
        if hubspot_id is None:
            return frozenset()
        rows = self.db.execute(
            "SELECT list_id FROM list_members WHERE hubspot_id = ?", [hubspot_id]
        ).fetchall()
        return frozenset(str(row[0]) for row in rows)

    # -- who to decide ---------------------------------------------------------------------------

    def queue_dirty_for_segments(self) -> None:
        """Everyone fetched since their last decision: the contact sync is about to decide them."""
        self.db.execute(
            "INSERT OR IGNORE INTO segment_todo SELECT id FROM contacts WHERE dirty = 1"
        )

    def queue_everyone_for_segments(self) -> None:
        self.db.execute("INSERT OR IGNORE INTO segment_todo SELECT id FROM contacts")

    def segment_todo(self, after_id: int, limit: int) -> list[ContactRow]:
        """People to decide, but not those whose writes wait in an open Mailchimp batch
        (``pending``): like the contact sync, they are decided once its results are in, so a
        tags write is judged by the member the batch made and addressed where it put it (an
        earlier run's rename in the batch moves the member)."""
        query = self.select(
            """SELECT contacts.* FROM segment_todo JOIN contacts ON contacts.id = contact_id
               WHERE contacts.id > ? AND state NOT IN ('pending', 'duplicate', 'detached')
               ORDER BY contacts.id LIMIT ?""",
            [after_id, limit],
        )
        return [contact_row(raw) for raw in query]

    def segments_decided(self, contact_ids: Iterable[int]) -> None:
        self.db.conn.executemany(
            "DELETE FROM segment_todo WHERE contact_id = ?", [(cid,) for cid in contact_ids]
        )

    def segment_todo_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM segment_todo").fetchone()[0])

    def queued_tag_writes(self, contact_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """The payloads of tag writes still queued for these people, oldest first, in one query
        for a chunk (most people have none)."""
        found: dict[int, list[dict[str, Any]]] = {}
        for row in self.db.execute(
            """SELECT contact_id, payload FROM operations WHERE state = 'queued'
               AND action IN (?, ?) AND contact_id IN (SELECT value FROM json_each(?))
               ORDER BY id""",
            [TAG, UNTAG, dumps(list(contact_ids))],
        ):
            found.setdefault(int(row[0]), []).append(loads(row[1]))
        return found

    def renames_queued(self, contact_ids: Sequence[int]) -> set[int]:
        """Those of these people with a Mailchimp rename queued (a member write whose address is
        not the one it is sent to), in one query for a chunk."""
        rows = self.db.execute(
            """SELECT contact_id, json_extract(payload, '$.hash'),
                      json_extract(payload, '$.body.email_address') FROM operations
               WHERE state = 'queued' AND target = 'mailchimp' AND action NOT IN (?, ?, ?)
               AND contact_id IN (SELECT value FROM json_each(?))""",
            [*SEGMENT_ACTIONS, dumps(list(contact_ids))],
        )
        return {int(cid) for cid, at, email in rows if email and subscriber_hash(email) != at}

    # -- scope -----------------------------------------------------------------------------------

    def was_in_scope(self, contact_id: int) -> bool | None:
        row = self.db.execute(
            "SELECT in_scope FROM segment_scope WHERE contact_id = ?", [contact_id]
        ).fetchone()
        return None if row is None else bool(row[0])

    def set_scope(self, contact_id: int, in_scope: bool, left_action: str | None = None) -> None:
        """Record the person in or out of scope; ``left_action`` is ``on_leave`` as they leave
        (kept while they stay out, cleared when they come back)."""
        self.db.execute(
            """INSERT INTO segment_scope (contact_id, in_scope, at, left_action)
               VALUES (?, ?, ?, ?) ON CONFLICT(contact_id)
               DO UPDATE SET in_scope = excluded.in_scope, at = excluded.at,
               left_action = CASE WHEN excluded.in_scope = 1 THEN NULL
                                  ELSE coalesce(excluded.left_action, left_action) END""",
            [contact_id, int(in_scope), utc_now(), left_action],
        )

    # -- members with more tags than the listing shows -----------------------------------------

    def partial_tag_rows(self, after_id: int, limit: int) -> list[ContactRow]:
        """People to decide whose member has more tags than the member listing gave."""
        query = self.select(
            """SELECT * FROM contacts WHERE dirty = 1 AND id > ?
               AND json_extract(mc, '$.tags_partial') = 1 ORDER BY id LIMIT ?""",
            [after_id, limit],
        )
        return [contact_row(raw) for raw in query]

    # -- the tags mirror -------------------------------------------------------------------------

    def redecide_linked(self) -> int:
        """Mark everyone on both sides for a new decision (the mirror's rules changed)."""
        cursor = self.db.execute(
            "UPDATE contacts SET dirty = 1 WHERE dirty = 0 AND hs IS NOT NULL AND mc IS NOT NULL"
        )
        return int(cursor.rowcount)

    def queued_hubspot_values(self, name: str) -> set[str]:
        """Every distinct value queued for HubSpot property ``name`` (the mirror's options)."""
        rows = self.db.execute(
            """SELECT DISTINCT json_extract(payload, '$.properties.' || json_quote(?))
               FROM operations WHERE state = 'queued' AND target = 'hubspot'""",
            [name],
        ).fetchall()
        return {str(row[0]) for row in rows if row[0]}

    # -- for `syncer status` ---------------------------------------------------------------------

    def scope_counts(self) -> dict[str, Any]:
        """People in and out of scope, and those who left it by the action they got."""
        rows = self.db.execute(
            "SELECT in_scope, left_action, count(*) FROM segment_scope GROUP BY 1, 2"
        ).fetchall()
        counts: dict[str, Any] = {"in": 0, "out": 0, "left": {}}
        for in_scope, action, count in rows:
            counts["in" if in_scope else "out"] += int(count)
            if not in_scope and action:
                counts["left"][str(action)] = int(count)
        return counts

    def segment_write_counts(self, actions: Iterable[str]) -> dict[str, dict[str, int]]:
        """Mailchimp segment writes (``actions``) waiting to be sent or settled, and those whose
        latest attempt failed, by action."""
        rows = self.db.execute(
            """SELECT action, state, count(*) FROM operations AS o WHERE target = 'mailchimp'
                AND action IN (SELECT value FROM json_each(?))
                AND state IN ('queued', 'submitted', 'failed', 'blocked')
                AND NOT EXISTS (SELECT 1 FROM operations AS later WHERE later.id > o.id
                    AND later.contact_id = o.contact_id AND later.action = o.action)
                GROUP BY action, state""",
            [dumps(list(actions))],
        ).fetchall()
        counts: dict[str, dict[str, int]] = {"pending": {}, "failed": {}}
        for action, state, count in rows:
            group = counts["pending" if state in ("queued", "submitted") else "failed"]
            group[str(action)] = group.get(str(action), 0) + int(count)
        return counts

    def mirror_write_counts(self, name: str) -> dict[str, int]:
        """HubSpot writes carrying property ``name`` still queued, and those whose contact's
        latest HubSpot write failed."""
        row = self.db.execute(
            """SELECT sum(state = 'queued'), sum(state IN ('failed', 'blocked'))
               FROM operations AS o WHERE target = 'hubspot'
               AND state IN ('queued', 'failed', 'blocked')
               AND json_extract(payload, '$.properties.' || json_quote(?)) IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM operations AS later WHERE later.id > o.id
                   AND later.contact_id = o.contact_id AND later.target = 'hubspot')""",
            [name],
        ).fetchone()
        return {"pending": int(row[0] or 0), "failed": int(row[1] or 0)}


_JOINED, _LEFT = "joined", "left"
#: Queue the contacts whose HubSpot id joined (read now, not before) or left (before, not now).
_QUEUE_CHANGED = {
    _JOINED: """INSERT OR IGNORE INTO segment_todo SELECT id FROM contacts WHERE hubspot_id IN (
        SELECT hubspot_id FROM list_reads WHERE list_id = :l
        EXCEPT SELECT hubspot_id FROM list_members WHERE list_id = :l)""",
    _LEFT: """INSERT OR IGNORE INTO segment_todo SELECT id FROM contacts WHERE hubspot_id IN (
        SELECT hubspot_id FROM list_members WHERE list_id = :l
        EXCEPT SELECT hubspot_id FROM list_reads WHERE list_id = :l)""",
}
