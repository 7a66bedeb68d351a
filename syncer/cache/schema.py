"""The cache's schema, as forward-only migrations.

A released migration is never edited: a change to the schema is a new function below the others.
JSON columns hold the remote sides' values as fetched, so adding a mapped field needs no migration.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("syncer")
KNOWN: list[str] = []


def migration(function: Callable[[Database], None]) -> Callable[[Database], None]:
    """Register a migration and remember its name, to recognise a cache from a newer syncer."""
    KNOWN.append(function.__name__)
    return migrations()(function)


@migration
def m001_initial(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL,             -- normalised: trimmed, lower-cased
            hubspot_id TEXT UNIQUE,
            hubspot_created TEXT,            -- createdate, to pick the oldest of duplicates
            mailchimp_id TEXT,               -- subscriber hash as Mailchimp returned it
            unique_email_id TEXT UNIQUE,     -- stable across Mailchimp email changes
            hs TEXT,                         -- JSON: last fetched HubSpot side, null if absent
            hs_modified TEXT,                -- lastmodifieddate of that fetch
            hs_times TEXT,                   -- JSON: {property: [value, timestamp]} from history
            mc TEXT,                         -- JSON: last fetched Mailchimp member, null if absent
            mc_changed TEXT,                 -- last_changed of that fetch
            base TEXT,                       -- JSON: what both sides last agreed on
            state TEXT NOT NULL DEFAULT 'todo',  -- ok todo pending failed blocked detached dup.
            reason TEXT,                     -- why failed, blocked, detached or a duplicate
            dirty INTEGER NOT NULL DEFAULT 1,    -- fetched since the last reconcile
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX contacts_email ON contacts(email)")
    db.execute("CREATE INDEX contacts_mailchimp_id ON contacts(mailchimp_id)")
    db.execute("CREATE INDEX contacts_dirty ON contacts(dirty) WHERE dirty = 1")
    db.execute("CREATE INDEX contacts_state ON contacts(state) WHERE state != 'ok'")
    db.execute(
        """
        CREATE TABLE cursors (
            source TEXT PRIMARY KEY,         -- hubspot | mailchimp
            value TEXT NOT NULL,             -- the server's own timestamp, never local time
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            mode TEXT NOT NULL,              -- real | dry
            outcome TEXT,                    -- running ok partial failed guarded interrupted
            error TEXT,
            counts TEXT NOT NULL DEFAULT '{}',
            api_calls TEXT NOT NULL DEFAULT '{}',
            hubspot_usage TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE batches (
            id TEXT PRIMARY KEY,             -- Mailchimp's batch id
            run_id INTEGER,
            submitted_at TEXT NOT NULL,
            status TEXT NOT NULL,            -- Mailchimp's status, or 'processed'
            total INTEGER NOT NULL,
            finished INTEGER NOT NULL DEFAULT 0,
            errored INTEGER NOT NULL DEFAULT 0,
            progress_at TEXT NOT NULL,       -- local time of the last change in `finished`
            completed_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE operations (
            id INTEGER PRIMARY KEY,          -- also the batch operation_id / objectWriteTraceId
            contact_id INTEGER NOT NULL REFERENCES contacts(id),
            target TEXT NOT NULL,            -- hubspot | mailchimp
            action TEXT NOT NULL,            -- create | update | upsert | ...
            payload TEXT NOT NULL,           -- JSON
            agreed TEXT NOT NULL DEFAULT '{}',  -- JSON: base values that hold once this succeeds
            state TEXT NOT NULL,             -- queued submitted succeeded failed blocked superseded
            batch_id TEXT REFERENCES batches(id),
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            run_id INTEGER,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        "CREATE INDEX operations_open ON operations(state) WHERE state IN ('queued', 'submitted')"
    )
    db.execute("CREATE INDEX operations_contact ON operations(contact_id)")
    db.execute("CREATE INDEX operations_batch ON operations(batch_id)")
    db.execute(
        """
        CREATE TABLE changes (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL,
            contact_id INTEGER NOT NULL,
            side TEXT NOT NULL,              -- hubspot | mailchimp
            field TEXT NOT NULL,
            old TEXT,
            new TEXT,
            at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX changes_contact ON changes(contact_id)")
    db.execute(
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            run_id INTEGER,
            contact_id INTEGER,
            kind TEXT NOT NULL,              -- conflict | blocked | failed | duplicate | linked ...
            field TEXT,
            detail TEXT NOT NULL,
            at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX events_contact ON events(contact_id)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migration
def m002_segments(db: Database) -> None:
    """HubSpot list memberships as last read, and who the segment rules still have to look at."""
    db.execute(
        """
        CREATE TABLE segment_lists (
            key TEXT PRIMARY KEY,            -- the list as configured: a name or an id
            list_id TEXT NOT NULL,           -- HubSpot's (ILS) list id
            name TEXT NOT NULL,
            processing_type TEXT NOT NULL,   -- MANUAL | DYNAMIC | SNAPSHOT
            size INTEGER,
            read_at TEXT                     -- local time of the last complete membership read
        )
        """
    )
    db.execute(
        """
        CREATE TABLE list_members (
            list_id TEXT NOT NULL,
            hubspot_id TEXT NOT NULL,
            PRIMARY KEY (list_id, hubspot_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX list_members_contact ON list_members(hubspot_id)")
    db.execute(
        """
        CREATE TABLE list_reads (            -- a membership read under way, swapped in when whole
            list_id TEXT NOT NULL,
            hubspot_id TEXT NOT NULL,
            PRIMARY KEY (list_id, hubspot_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE TABLE segment_todo (contact_id INTEGER PRIMARY KEY)")
    db.execute(
        """
        CREATE TABLE segment_scope (
            contact_id INTEGER PRIMARY KEY,
            in_scope INTEGER NOT NULL,
            at TEXT NOT NULL
        )
        """
    )


@migration
def m003_scope_leave_action(db: Database) -> None:
    """What a person who left the scope got (``on_leave`` then), for `syncer status`."""
    db.execute("ALTER TABLE segment_scope ADD COLUMN left_action TEXT")


@migration
def m004_contact_cause(db: Database) -> None:
    """What kind of problem ``reason`` describes (``syncer.core.causes``), for the hints."""
    db.execute("ALTER TABLE contacts ADD COLUMN cause TEXT")


@migration
def m005_engagement(db: Database) -> None:
    """Campaign activity for linked people, its cursors, and what of it HubSpot has been told.

    ``campaigns`` holds each campaign's cursor (Mailchimp's time when its last complete walk
    began: everything before it was there to be read) and the walk under way (its ``since`` and
    next offset, moved in the transaction that saves the page below it), so a run or a backfill
    stopped mid-campaign resumes there.
    ``engagement`` is one row per person and campaign: the recorded events and the HubSpot note
    they became. A note's create is marked ``sent`` before the request leaves; a ``sent`` note
    without an id is looked for on the contact (by the marker in its body) before it is ever
    created again. ``engagement_people`` holds the contact properties last written.
    """
    db.execute(
        """
        CREATE TABLE campaigns (
            id TEXT PRIMARY KEY,             -- Mailchimp's campaign id
            title TEXT NOT NULL,
            send_time TEXT NOT NULL,         -- Mailchimp's send_time
            activity_cursor TEXT,            -- Mailchimp's time: activity before it is recorded
            walk_since TEXT,                 -- the walk under way: its since ('' for all)
            walk_offset INTEGER,             -- and the offset of its next page
            walk_started TEXT,               -- and Mailchimp's time at its first answer
            sends_done INTEGER NOT NULL DEFAULT 0,  -- its recipients read (record: send)
            gone_at TEXT,                    -- local time it was found deleted
            seen_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE engagement (
            contact_id INTEGER NOT NULL,     -- contacts.id (no foreign key: a merge folds rows)
            campaign_id TEXT NOT NULL,
            events TEXT NOT NULL,            -- JSON: [[action, at, detail], ...], sorted, unique
            note_id TEXT,                    -- the HubSpot note, once its create is answered
            note_state TEXT NOT NULL,        -- todo | sent | ok | failed
            note_hash TEXT,                  -- of the body HubSpot last accepted
            attempts INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (contact_id, campaign_id)
        )
        """
    )
    db.execute("CREATE INDEX engagement_notes ON engagement(note_state) WHERE note_state != 'ok'")
    db.execute("CREATE INDEX engagement_campaign ON engagement(campaign_id)")
    db.execute(
        """
        CREATE TABLE engagement_people (
            contact_id INTEGER PRIMARY KEY,
            written TEXT,                    -- JSON: the properties HubSpot last accepted
            dirty INTEGER NOT NULL DEFAULT 1,    -- activity recorded since the last write
            due_at TEXT,                     -- Mailchimp's time a count next leaves its window
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX engagement_people_dirty ON engagement_people(dirty) WHERE dirty = 1")
    db.execute("CREATE INDEX engagement_people_due ON engagement_people(due_at)")
    db.execute(
        """
        CREATE TABLE engagement_issues (     -- what `syncer errors` lists, until it is resolved
            key TEXT PRIMARY KEY,            -- person:<id> | note:<id>:<campaign> | member:<hash>
                                             -- | campaign:<id>
            contact_id INTEGER,
            email TEXT,
            campaign_id TEXT,
            cause TEXT NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL
        )
        """
    )


@migration
def m006_operation_overwrites(db: Database) -> None:
    """A Mailchimp write a look found about to overwrite an edit it could no longer keep from
    running (its batch started, or its cancel came too late): the member's values as the look
    saw them, JSON, to put back if the write ran over them (``syncer.run.member_restore``)."""
    db.execute("ALTER TABLE operations ADD COLUMN overwrites TEXT")
