"""The cache's part of engagement: campaigns and their cursors, activity, notes, properties.

Every method is one transaction. A page of activity is saved with the walk's next offset in the
same transaction, so a walk stopped anywhere resumes at the page after the last one saved; the
campaign's cursor moves only when its walk is complete. A note's create is marked ``sent``
(committed) before the request leaves, so a crash between HubSpot's create and the recording
of its id leaves a row that says "look for me first".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncer.cache.base import StoreBase, dumps, loads, utc_now
from syncer.core.engagement import Campaign, Event, merge_events

#: People whose activity is recorded: linked to a HubSpot contact, not let go of.
LINKED = "c.hubspot_id IS NOT NULL AND c.state NOT IN ('detached', 'duplicate')"


@dataclass(frozen=True)
class Member:
    """Who an activity record's member is to the cache: a person, and whether they are linked."""

    contact_id: int
    linked: bool


@dataclass(frozen=True)
class NoteRow:
    rowid: int
    contact_id: int
    email: str
    hubspot_id: str
    campaign: Campaign
    events: list[list[str]]
    note_id: str | None
    note_hash: str | None


@dataclass(frozen=True)
class PersonRow:
    contact_id: int
    email: str
    hubspot_id: str
    written: dict[str, str]


class EngagementStore(StoreBase):
    # -- campaigns -------------------------------------------------------------------------------

    def remember_campaigns(self, campaigns: Iterable[Campaign]) -> None:
        with self.db.atomic():
            self.db.conn.executemany(
                """INSERT INTO campaigns (id, title, send_time, seen_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET title = excluded.title,
                   send_time = excluded.send_time, seen_at = excluded.seen_at, gone_at = NULL""",
                [(c.id, c.title, c.send_time, utc_now()) for c in campaigns],
            )

    def campaign_row(self, campaign_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM campaigns WHERE id = ?", [campaign_id]))
        return rows[0] if rows else None

    def campaign_rows(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM campaigns ORDER BY send_time, id"))

    def start_walk(self, campaign_id: str, since: str) -> tuple[str, int]:
        """The walk to read: the one under way (its ``since`` and offset), else a new one."""
        with self.db.atomic():
            row = self.campaign_row(campaign_id) or {}
            if row.get("walk_offset") is not None:
                return str(row["walk_since"] or ""), int(row["walk_offset"])
            self.db.execute(
                "UPDATE campaigns SET walk_since = ?, walk_offset = 0, walk_started = NULL "
                "WHERE id = ?",
                [since, campaign_id],
            )
        return since, 0

    def finish_walk(self, campaign_id: str) -> str | None:
        """The walk is complete: the cursor moves up to the walk's start (never back), the walk
        is cleared. Returns the cursor."""
        with self.db.atomic():
            self.db.execute(
                """UPDATE campaigns SET activity_cursor = CASE
                     WHEN walk_started IS NULL THEN activity_cursor
                     WHEN activity_cursor IS NULL OR activity_cursor < walk_started
                       THEN walk_started
                     ELSE activity_cursor END,
                   walk_since = NULL, walk_offset = NULL, walk_started = NULL WHERE id = ?""",
                [campaign_id],
            )
            row = self.campaign_row(campaign_id) or {}
        return row.get("activity_cursor")

    def mark_sends_done(self, campaign_id: str) -> None:
        with self.db.atomic():
            self.db.execute("UPDATE campaigns SET sends_done = 1 WHERE id = ?", [campaign_id])

    def campaign_gone(self, campaign_id: str) -> None:
        """Deleted in Mailchimp: nothing more is read; what was recorded stays."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE campaigns SET gone_at = ?, walk_since = NULL, walk_offset = NULL "
                "WHERE id = ?",
                [utc_now(), campaign_id],
            )

    # -- activity --------------------------------------------------------------------------------

    def members(self, hashes: Sequence[str], emails: Sequence[str]) -> dict[str, Member]:
        """The cache's people for these subscriber hashes (or, failing that, addresses)."""
        found: dict[str, Member] = {}
        for row in self.db.query(
            f"""SELECT c.id, c.mailchimp_id, c.email, {LINKED} AS linked FROM contacts c
                WHERE c.mailchimp_id IN (SELECT value FROM json_each(:h))
                OR c.email IN (SELECT value FROM json_each(:e))""",  # noqa: S608 - fixed text
            {"h": dumps(list(hashes)), "e": dumps(list(emails))},
        ):
            member = Member(int(row["id"]), bool(row["linked"]))
            for key in (row["mailchimp_id"], row["email"]):
                if key and (key not in found or member.linked):
                    found[key] = member
        return found

    def save_activity(
        self,
        campaign_id: str,
        by_contact: Mapping[int, Sequence[Event]],
        record: frozenset[str],
        *,
        next_offset: int | None = None,
        started: str | None = None,
    ) -> int:
        """Add a page's events; move the walk past the page (``next_offset``, with the server's
        time at the walk's first answer, ``started``). Returns how many events were new."""
        added_total = 0
        now = utc_now()
        with self.db.atomic():
            known = {
                int(row["contact_id"]): row
                for row in self.db.query(
                    "SELECT contact_id, events, note_state FROM engagement WHERE campaign_id = ? "
                    "AND contact_id IN (SELECT value FROM json_each(?))",
                    [campaign_id, dumps(list(by_contact))],
                )
            }
            for contact_id, events in by_contact.items():
                old = known.get(contact_id)
                merged, added = merge_events(loads(old["events"]) if old else [], events, record)
                if not added:
                    continue
                added_total += added
                state = "sent" if old and old["note_state"] == "sent" else "todo"
                self.db.execute(
                    """INSERT INTO engagement (contact_id, campaign_id, events, note_state,
                       updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(contact_id, campaign_id)
                       DO UPDATE SET events = excluded.events, note_state = excluded.note_state,
                       updated_at = excluded.updated_at""",
                    [contact_id, campaign_id, dumps(merged), state, now],
                )
                self.db.execute(
                    """INSERT INTO engagement_people (contact_id, dirty, updated_at)
                       VALUES (?, 1, ?) ON CONFLICT(contact_id) DO UPDATE SET dirty = 1""",
                    [contact_id, now],
                )
            self.db.execute(
                "UPDATE campaigns SET walk_offset = coalesce(?, walk_offset), "
                "walk_started = coalesce(walk_started, ?) WHERE id = ?",
                [next_offset, started, campaign_id],
            )
        return added_total

    # -- notes -----------------------------------------------------------------------------------

    def notes_in_state(self, state: str, after: int, limit: int) -> list[NoteRow]:
        rows = self.db.query(
            f"""SELECT e.rowid AS rowid, e.contact_id, c.email, c.hubspot_id, e.campaign_id,
                       k.title, k.send_time, e.events, e.note_id, e.note_hash
                FROM engagement e JOIN contacts c ON c.id = e.contact_id
                JOIN campaigns k ON k.id = e.campaign_id
                WHERE e.note_state = ? AND e.rowid > ? AND {LINKED}
                ORDER BY e.rowid LIMIT ?""",  # noqa: S608 - fixed text
            [state, after, limit],
        )
        return [
            NoteRow(
                rowid=int(row["rowid"]),
                contact_id=int(row["contact_id"]),
                email=str(row["email"]),
                hubspot_id=str(row["hubspot_id"]),
                campaign=Campaign(row["campaign_id"], row["title"], row["send_time"]),
                events=loads(row["events"]),
                note_id=row["note_id"],
                note_hash=row["note_hash"],
            )
            for row in rows
        ]

    def note_count(self, state: str) -> int:
        return int(
            self.db.execute(
                "SELECT count(*) FROM engagement e JOIN contacts c ON c.id = e.contact_id "  # noqa: S608
                f"WHERE e.note_state = ? AND {LINKED}",
                [state],
            ).fetchone()[0]
        )

    def set_note_states(self, rowids: Sequence[int], state: str, *, attempt: bool = False) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE engagement SET note_state = ?, attempts = attempts + ?, updated_at = ? "
                "WHERE rowid IN (SELECT value FROM json_each(?))",
                [state, int(attempt), utc_now(), dumps(list(rowids))],
            )

    def record_notes(self, written: Iterable[tuple[int, str | None, str | None, str]]) -> None:
        """``(rowid, note_id, hash of the body HubSpot holds, state)`` for each note."""
        with self.db.atomic():
            self.db.conn.executemany(
                "UPDATE engagement SET note_id = ?, note_hash = ?, note_state = ?, "
                "updated_at = ? WHERE rowid = ?",
                [(note, digest, state, utc_now(), rowid) for rowid, note, digest, state in written],
            )

    # -- contact properties ----------------------------------------------------------------------

    def people_due(self, now: str, after: int, limit: int) -> list[PersonRow]:
        """People whose properties may differ from what was written: new activity, or a count
        whose oldest event has left its window (``due_at`` passed, by Mailchimp's clock)."""
        rows = self.db.query(
            f"""SELECT p.contact_id, c.email, c.hubspot_id, p.written
                FROM engagement_people p JOIN contacts c ON c.id = p.contact_id
                WHERE (p.dirty = 1 OR p.due_at <= ?) AND p.contact_id > ? AND {LINKED}
                ORDER BY p.contact_id LIMIT ?""",  # noqa: S608 - fixed text
            [now, after, limit],
        )
        return [
            PersonRow(
                int(row["contact_id"]),
                str(row["email"]),
                str(row["hubspot_id"]),
                loads(row["written"]) or {},
            )
            for row in rows
        ]

    def people_due_count(self, now: str) -> int:
        return int(
            self.db.execute(
                "SELECT count(*) FROM engagement_people p "  # noqa: S608 - fixed text
                "JOIN contacts c ON c.id = p.contact_id "
                f"WHERE (p.dirty = 1 OR p.due_at <= ?) AND {LINKED}",
                [now],
            ).fetchone()[0]
        )

    def campaigns_of(self, contact_ids: Sequence[int]) -> dict[int, list[tuple[Campaign, Any]]]:
        found: dict[int, list[tuple[Campaign, Any]]] = {i: [] for i in contact_ids}
        for row in self.db.query(
            """SELECT e.contact_id, e.events, k.id, k.title, k.send_time FROM engagement e
               JOIN campaigns k ON k.id = e.campaign_id
               WHERE e.contact_id IN (SELECT value FROM json_each(?))
               ORDER BY k.send_time, k.id""",
            [dumps(list(contact_ids))],
        ):
            campaign = Campaign(row["id"], row["title"], row["send_time"])
            found[int(row["contact_id"])].append((campaign, loads(row["events"])))
        return found

    def record_people(
        self, written: Iterable[tuple[int, dict[str, str] | None, str | None]]
    ) -> None:
        """``(contact_id, properties HubSpot now holds or None if unchanged, due_at)``."""
        with self.db.atomic():
            for contact_id, values, due in written:
                self.db.execute(
                    "UPDATE engagement_people SET written = coalesce(?, written), dirty = 0, "
                    "due_at = ?, updated_at = ? WHERE contact_id = ?",
                    [None if values is None else dumps(values), due, utc_now(), contact_id],
                )

    # -- problems --------------------------------------------------------------------------------

    def report_engagement_issue(
        self,
        key: str,
        cause: str,
        reason: str,
        *,
        contact_id: int | None = None,
        email: str | None = None,
        campaign_id: str | None = None,
    ) -> None:
        with self.db.atomic():
            self.db.execute(
                """INSERT INTO engagement_issues (key, contact_id, email, campaign_id, cause,
                   reason, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET
                   cause = excluded.cause, reason = excluded.reason, at = excluded.at""",
                [key, contact_id, email, campaign_id, cause, reason, utc_now()],
            )

    def clear_engagement_issues(self, keys: Sequence[str]) -> None:
        with self.db.atomic():
            self.db.execute(
                "DELETE FROM engagement_issues WHERE key IN (SELECT value FROM json_each(?))",
                [dumps(list(keys))],
            )

    def engagement_problem_people(self) -> list[int]:
        """People with an engagement problem to retry: a reported issue or a refused note."""
        return [
            int(row["contact_id"])
            for row in self.db.query(
                "SELECT contact_id FROM engagement_issues WHERE contact_id IS NOT NULL "
                "UNION SELECT contact_id FROM engagement WHERE note_state = 'failed'"
            )
        ]

    def retry_engagement(self, contact_ids: Sequence[int]) -> None:
        """`syncer retry`: these people's refused notes are written again by the next run, their
        properties computed and written again, and their problems cleared (one that persists
        is reported again by that run)."""
        ids = dumps(list(contact_ids))
        with self.db.atomic():
            self.db.execute(
                "UPDATE engagement SET note_state = 'todo', updated_at = ? WHERE note_state = "
                "'failed' AND contact_id IN (SELECT value FROM json_each(?))",
                [utc_now(), ids],
            )
            self.db.execute(
                "UPDATE engagement_people SET dirty = 1 "
                "WHERE contact_id IN (SELECT value FROM json_each(?))",
                [ids],
            )
            self.db.execute(
                "DELETE FROM engagement_issues "
                "WHERE contact_id IN (SELECT value FROM json_each(?))",
                [ids],
            )

    def engagement_issues(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM engagement_issues ORDER BY cause, email, key"))

    # -- operators' views ------------------------------------------------------------------------

    def engagement_of(self, contact_id: int) -> list[dict[str, Any]]:
        """One person's recorded campaigns, newest first, for `syncer show`."""
        return [
            dict(row, events=loads(row["events"]))
            for row in self.db.query(
                """SELECT e.campaign_id, k.title, k.send_time, e.events, e.note_id, e.note_state
                   FROM engagement e JOIN campaigns k ON k.id = e.campaign_id
                   WHERE e.contact_id = ? ORDER BY k.send_time DESC, k.id""",
                [contact_id],
            )
        ]

    def engagement_written(self, contact_id: int) -> dict[str, str]:
        row = self.db.execute(
            "SELECT written FROM engagement_people WHERE contact_id = ?", [contact_id]
        ).fetchone()
        return (loads(row[0]) or {}) if row else {}
