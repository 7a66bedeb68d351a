"""The SQLite subscriber cache: the only module that speaks SQL.

Methods are named by what the engine means (``start_run``, ``advance_cursor``...) and each is one
transaction, so a run killed at any line leaves the file in a state the next run understands.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from syncer.cache.base import dumps, loads, utc_now
from syncer.cache.creation import (
    AUDIENCE,
    CREATED,
    building_path,
    created_record,
    unfinished_builds,
)
from syncer.cache.engagement import EngagementStore
from syncer.cache.failures import cache_failure
from syncer.cache.identity import IdentityStore
from syncer.cache.outbox import OutboxStore
from syncer.cache.preferences import PreferenceStore
from syncer.cache.schema import KNOWN, migrations
from syncer.cache.segments import SegmentStore
from syncer.core.records import ContactRow
from syncer.errors import CacheOfAnotherAudience, StateError

#: Why a run is ``abandoned``: it was found ``running`` with nobody holding the lock.
ABANDONED = "the run ended without recording an outcome (killed, or the machine stopped)"

log = logging.getLogger("syncer.cache")

#: SQLite's page cache, in KiB.
CACHE_KIB = 32 * 1024
#: The page cache while a run saves what it reads (:meth:`Store.reading_cache`), in KiB.
READ_CACHE_KIB = 64 * 1024
#: WAL pages between automatic checkpoints (400 MB).
CHECKPOINT_PAGES = 100_000


class Store(IdentityStore, OutboxStore, SegmentStore, EngagementStore, PreferenceStore):
    """An open cache file, migrated to the current schema."""

    def __init__(self, path: Path, *, create: bool = True, why: str = "created directly") -> None:
        """``create`` False (the read-only commands) refuses a missing or empty file rather
        than starting a new cache where a typo'd ``state_path`` points; a new cache records
        ``why`` it was created (see :mod:`syncer.cache.creation`)."""
        self.path = path
        if not create and not _has_cache(path):
            raise StateError(
                f"no cache at {path}",
                hint="Check state_path in the configuration; the first `syncer run` creates it.",
            )
        try:
            if not _has_cache(path):
                _create_whole(path, why)
                log.warning("no cache at %s: created a new one, so this is a first sync", path)
            self.db = _connect(path)
            self._migrate()
        except sqlite3.DatabaseError as error:
            known = cache_failure(error, path)
            raise known or StateError(f"the cache {path} cannot be used: {error}") from None

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        """Bring the schema up to date, one process at a time.

        Commands opening a new cache together would each find the same migrations pending and
        race to create the same tables ("table contacts already exists"). So the migrations
        run inside one ``BEGIN IMMEDIATE`` transaction, which the others wait for, then find
        nothing left to do. An up-to-date cache is opened without taking the write lock.
        """
        if self._check_schema():
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if not self._check_schema():
                migrations.apply(self.db)
                self.db.execute(f"PRAGMA user_version={len(migrations.applied(self.db))}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _check_schema(self) -> bool:
        """Whether every migration is applied; a migration this syncer does not know is an
        error (a newer syncer wrote the file)."""
        exists = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
        ).fetchone()
        applied = {m.name for m in migrations.applied(self.db)} if exists else set()
        newer = sorted(applied - set(KNOWN))
        if newer:
            raise StateError(
                f"the cache {self.path} was written by a newer syncer (migration {newer[0]})",
                hint="Upgrade syncer, or point state_path at a new file.",
            )
        return applied == set(KNOWN)

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    # -- runs ------------------------------------------------------------------------------------

    def start_run(self, mode: str) -> int:
        """Record a run starting; the caller holds the run lock, so any run still ``running``
        is one that died without recording its end (SIGKILL, a crash, a power cut)."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE runs SET outcome = 'abandoned', error = ? WHERE outcome = 'running'",
                [ABANDONED],
            )
            cursor = self.db.execute(
                "INSERT INTO runs (started_at, mode, outcome) VALUES (?, ?, 'running')",
                [utc_now(), mode],
            )
        return int(cursor.lastrowid or 0)

    def finish_run(
        self,
        run_id: int,
        outcome: str,
        *,
        counts: dict[str, int],
        api_calls: dict[str, dict[str, int]],
        error: str | None = None,
        hubspot_usage: dict[str, Any] | None = None,
    ) -> None:
        with self.db.atomic():
            self.db.execute(
                """UPDATE runs SET ended_at = ?, outcome = ?, error = ?, counts = ?,
                   api_calls = ?, hubspot_usage = ? WHERE id = ?""",
                [
                    utc_now(),
                    outcome,
                    error,
                    dumps(counts),
                    dumps(api_calls),
                    None if hubspot_usage is None else dumps(hubspot_usage),
                    run_id,
                ],
            )

    def has_completed_run(self) -> bool:
        """Whether a real run ever finished; until one has, the sync is still its first."""
        row = self.db.execute(
            "SELECT 1 FROM runs WHERE mode = 'real' AND outcome IN ('ok', 'partial') LIMIT 1"
        ).fetchone()
        return row is not None

    def created_on_purpose(self) -> bool:
        """Whether the cache records why it was created: every cache this syncer creates does
        (a run creates one only on a new state folder, or with ``--full``); an older syncer's
        cache does not, and its first sync is never exempt from the blast-radius guard."""
        return self.get_meta(CREATED) is not None

    def hold_to_audience(self, list_id: str) -> None:
        """Record the Mailchimp audience this cache syncs, or refuse another one: its people,
        bases and cursors belong to the audience it was made for."""
        held = self.get_meta(AUDIENCE)
        if held is None:
            self.set_meta(AUDIENCE, list_id)
        elif held != list_id:
            raise CacheOfAnotherAudience(
                f"the cache {self.path} holds the sync of Mailchimp audience {held}, "
                f"not of {list_id} (mailchimp.list_id)"
            )

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self.select("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit])
        return [
            dict(
                row,
                counts=loads(row["counts"]),
                api_calls=loads(row["api_calls"]),
                hubspot_usage=loads(row["hubspot_usage"]),
            )
            for row in rows
        ]

    # -- cursors ---------------------------------------------------------------------------------

    def cursor(self, source: str) -> str | None:
        row = self.db.execute("SELECT value FROM cursors WHERE source = ?", [source]).fetchone()
        return None if row is None else str(row[0])

    def advance_cursor(self, source: str, value: str) -> None:
        """Move a cursor forward (never back), once what was fetched below it is committed."""
        with self.transaction():
            self.db.execute(
                """INSERT INTO cursors (source, value, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT(source) DO UPDATE SET value = max(value, excluded.value),
                   updated_at = excluded.updated_at""",
                [source, value, utc_now()],
            )

    def set_cursor(self, source: str, value: str) -> None:
        """Set a cursor, back as well as forward: for stamps of the local clock (when the
        deletion check last ran), never for a server's cursor."""
        with self.transaction():
            self.db.execute(
                """INSERT INTO cursors (source, value, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT(source) DO UPDATE SET value = excluded.value,
                   updated_at = excluded.updated_at""",
                [source, value, utc_now()],
            )

    def cursors(self) -> dict[str, str]:
        return {row["source"]: row["value"] for row in self.select("SELECT * FROM cursors")}

    # -- operators' views ----------------------------------------------------------------------

    def problem_contacts(self) -> list[dict[str, Any]]:
        """Failed, blocked and duplicate people with their reason, for `errors` and `status`."""
        return list(
            self.select(
                """SELECT id, email, state, reason, cause, updated_at FROM contacts
                   WHERE state IN ('failed', 'blocked', 'detached', 'duplicate')
                   ORDER BY state, email"""
            )
        )

    def contact_renamed_from(self, email: str) -> ContactRow | None:
        """The person whose address syncer last changed away from ``email``, if any."""
        found = self.db.execute(
            "SELECT contact_id FROM changes WHERE field IN ('email', 'email_address') "
            "AND lower(old) = ? ORDER BY id DESC LIMIT 1",
            [email],
        ).fetchone()
        return None if found is None else self.contact(int(found[0]))

    def batch_history(self, limit: int) -> list[dict[str, Any]]:
        """Recent Mailchimp batches, each with its operations counted by outcome."""
        batches = list(
            self.select("SELECT * FROM batches ORDER BY submitted_at DESC, id LIMIT ?", [limit])
        )
        for batch in batches:
            batch["outcomes"] = {
                row["state"]: row["n"]
                for row in self.select(
                    "SELECT state, count(*) AS n FROM operations WHERE batch_id = ? GROUP BY state",
                    [batch["id"]],
                )
            }
        return batches

    def contact_history(self, contact_id: int) -> dict[str, list[dict[str, Any]]]:
        """Everything recorded about one person: decisions and field changes, oldest first."""
        return {
            "events": list(
                self.select(
                    "SELECT run_id, kind, field, detail, at FROM events WHERE contact_id = ? "
                    "ORDER BY id",
                    [contact_id],
                )
            ),
            "changes": list(
                self.select(
                    "SELECT run_id, side, field, old, new, at FROM changes WHERE contact_id = ? "
                    "ORDER BY id",
                    [contact_id],
                )
            ),
            "operations": list(
                self.select(
                    "SELECT id, target, action, state, batch_id, attempts, error, updated_at "
                    "FROM operations WHERE contact_id = ? ORDER BY id",
                    [contact_id],
                )
            ),
        }

    def retry_contacts(self, contact_ids: list[int] | None) -> int:
        """`syncer retry`: failed writes go back in the queue and the people are decided again.

        Returns how many people were touched; ``None`` means every failed or blocked person,
        and everyone with an engagement problem (a refused note, a contact gone).
        """
        with self.transaction():
            if contact_ids is None:
                contact_ids = [
                    row["id"] for row in self.problem_contacts() if row["state"] != "duplicate"
                ]
                contact_ids += sorted(set(self.engagement_problem_people()) - set(contact_ids))
            self.requeue_failed(contact_ids)
            self.retry_engagement(contact_ids)
            self.db.execute(
                "UPDATE contacts SET dirty = 1, state = 'todo', reason = NULL, cause = NULL "
                "WHERE id IN (SELECT value FROM json_each(?)) "
                "AND state IN ('failed', 'blocked', 'detached')",
                [dumps(contact_ids)],
            )
        return len(contact_ids)

    def last_alert(self) -> str | None:
        return self.get_meta("alert_state")

    @contextmanager
    def reading_cache(self) -> Iterator[None]:
        """A larger page cache while fetched pages are saved: a transaction of several seconds'
        pages changes people all over the contacts table, and once its changed pages outgrow
        the cache SQLite spills them into the WAL before the commit, so a page changed again
        later in the transaction is written again. Bounded (peak memory must not grow with the
        audience), and given back after the read."""
        self.db.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
        try:
            yield
        finally:
            self.db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")

    # -- meta ------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )


def _has_cache(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _connect(path: Path) -> Database:
    db = Database(path)
    # First, so that every statement below waits for another process's lock (a run and
    # status opening a brand-new cache together) rather than failing at once.
    db.execute("PRAGMA busy_timeout=5000")
    # WAL with synchronous=NORMAL: a commit is in the WAL file once written, so a killed
    # process (SIGKILL, the crash tests' case) loses nothing committed; only a power cut can
    # lose the last commits, never corrupt the file, and the next run fetches again.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    # A page cache that holds a run's working set (SQLite's default is 2 MB): a transaction
    # larger than the cache spills pages into the WAL and writes them again.
    db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    # Checkpoint every 400 MB of WAL, not 4: a page rewritten by many commits is copied into
    # the file once per checkpoint, and a first sync rewrites each person's page several times
    # (saved from one side, then the other, decided, settled). The WAL is emptied into the file
    # when the run closes the cache.
    db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
    return db


def _create_whole(path: Path, why: str) -> None:
    """Build a new cache beside ``path`` and rename it into place, so a cache is either there
    whole, with its schema and the record of why it was created, or not at all: a zero-length
    cache is never syncer's doing (:mod:`syncer.cache.creation` refuses one). The file is
    readable by its owner only, created so before SQLite would create it world-readable."""
    building = building_path(path, os.getpid())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(building, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600))
    except OSError as error:
        raise StateError(f"cannot create the cache {path}: {error.strerror}") from None
    try:
        db = _connect(building)
        migrations.apply(db)
        db.execute(f"PRAGMA user_version={len(migrations.applied(db))}")
        with db.atomic():
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)", [CREATED, created_record(why)]
            )
        db.close()
        os.replace(building, path)
    finally:
        building.unlink(missing_ok=True)
    for unfinished in unfinished_builds(path):  # a cache is there now: they meant nothing
        unfinished.unlink(missing_ok=True)
