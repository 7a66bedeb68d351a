"""The cache file: private, WAL, migrated forward, and refusing a newer schema."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from syncer.cache.schema import KNOWN
from syncer.cache.store import Store
from syncer.core.records import ContactRow
from syncer.errors import StateError


def test_created_private_in_wal_mode_with_a_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "state" / "syncer.db"
    store = Store(path)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.schema_version == len(KNOWN)
        tables = set(store.db.table_names())
        assert {"contacts", "cursors", "operations", "batches", "runs", "changes"} <= tables
    finally:
        store.close()


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "syncer.db"
    Store(path).close()
    store = Store(path)
    try:
        applied = store.db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
        assert applied == len(KNOWN)
    finally:
        store.close()


def test_a_cache_from_a_newer_syncer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "syncer.db"
    store = Store(path)
    store.db["_sqlite_migrations"].insert(
        {"migration_set": "syncer", "name": "m999_future", "applied_at": "2030-01-01"}
    )
    store.close()
    with pytest.raises(StateError, match="newer syncer"):
        Store(path)


def test_a_file_that_is_not_sqlite_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "syncer.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="is not a syncer cache"):
        Store(path)


def test_runs_are_recorded(tmp_path: Path) -> None:
    store = Store(tmp_path / "syncer.db")
    try:
        run = store.start_run("real")
        store.finish_run(run, "ok", counts={"fetched": 3}, api_calls={"GET /x": 2})
        (row,) = store.runs()
        assert (row["mode"], row["outcome"], row["counts"], row["api_calls"]) == (
            "real",
            "ok",
            {"fetched": 3},
            {"GET /x": 2},
        )
    finally:
        store.close()


def test_saving_a_decision_keeps_what_was_decided_and_leaves_the_fetched_sides(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "syncer.db")
    try:
        row = store.insert_contact(
            ContactRow(id=0, email="ada@example.org", hs={"firstname": "Ada"}, mc={"status": "x"})
        )
        row.hs, row.mc = {"firstname": "changed in memory only"}, None
        row.base = {"firstname": ["Ada", "Ada"]}
        row.hs_times = {"at": "2026-01-01T00:00:00+00:00", "values": {}}
        row.state, row.reason, row.dirty = "blocked", "a reason", 0
        store.save_decision(row)
        saved = store.contact(row.id)
    finally:
        store.close()
    assert saved is not None
    assert (saved.hs, saved.mc) == ({"firstname": "Ada"}, {"status": "x"})
    assert saved.base == row.base
    assert saved.hs_times == row.hs_times
    assert (saved.state, saved.reason, saved.dirty) == ("blocked", "a reason", 0)
