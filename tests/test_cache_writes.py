"""What saving a person costs the cache file: pages of the WAL, measured on a real SQLite file.

An index entry is rewritten whenever an UPDATE sets its column, even to the value it holds, and
the cache's indexes (email, HubSpot id, subscriber hash, unique email id) are in random order:
each such column set for nothing is one more page written per person (issue 15's write
amplification). Saving sets only the indexed columns that changed, and the row saved is still
exactly the row in memory.
"""

from __future__ import annotations

import random
from pathlib import Path

from syncer.cache.store import Store
from syncer.core.records import ContactRow

PEOPLE = 4000
SAVED = 400
#: WAL frame: the page plus its 24-byte header.
FRAME = 4096 + 24


def _store_with_people(path: Path) -> Store:
    store = Store(path)
    rng = random.Random(5)
    with store.transaction():
        for _ in range(PEOPLE):
            key = f"{rng.getrandbits(64):016x}"
            store.insert_contact(
                ContactRow(
                    id=0,
                    email=f"{key}@northwind-mail.com",
                    hubspot_id=str(rng.getrandbits(40)),
                    mailchimp_id=f"{key}{key}",
                    unique_email_id=key[:10],
                    hs={"firstname": "Ada"},
                    mc={"email": f"{key}@northwind-mail.com", "status": "subscribed"},
                )
            )
    return store


def _frames_of(store: Store, path: Path, work: object) -> int:
    """WAL frames one transaction appends (the WAL emptied into the file first)."""
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with store.transaction():
        work()  # type: ignore[operator]
    return Path(f"{path}-wal").stat().st_size // FRAME


def test_saving_people_whose_keys_are_unchanged_writes_their_rows_not_the_indexes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "syncer.db"
    store = _store_with_people(path)
    try:
        chosen = random.Random(6).sample(range(1, PEOPLE + 1), SAVED)
        rows = [row for i in chosen if (row := store.contact(i)) is not None]

        def save() -> None:
            for row in rows:
                row.hs = {"firstname": "Grace"}
                store.save_contact(row)

        def rows_alone() -> None:  # the least any save of these values can write
            for i in chosen:
                store.db.execute(
                    "UPDATE contacts SET hs = ? WHERE id = ?", ['{"firstname":"Alan"}', i]
                )

        saved = _frames_of(store, path, save)
        assert store.contact(chosen[0]).hs == {"firstname": "Grace"}  # type: ignore[union-attr]
        least = _frames_of(store, path, rows_alone)
        assert saved <= least + 2, (saved, least)
    finally:
        store.close()


def test_a_row_changed_by_another_statement_since_it_was_read_is_saved_as_it_is_in_memory(
    tmp_path: Path,
) -> None:
    store = _store_with_people(tmp_path / "syncer.db")
    try:
        row = store.contact(7)
        assert row is not None
        assert row.state == "todo"
        store.mark_pending([7])  # one statement, behind the row's back
        row.hs = {"firstname": "Grace"}
        store.save_contact(row)
        saved = store.contact(7)
        assert saved is not None
        assert (saved.state, saved.hs) == ("todo", {"firstname": "Grace"})
        row.email = "renamed@northwind-mail.com"
        store.save_contact(row)
        assert store.contact_by_email("renamed@northwind-mail.com") is not None
    finally:
        store.close()
