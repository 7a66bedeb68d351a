"""The engagement tables: walks resume at the page after the last one saved, cursors move only
when a walk is complete (never back), events are recorded once, notes keep their state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer.cache.store import Store
from syncer.core.engagement import Campaign
from syncer.core.records import ContactRow

CAMPAIGN = Campaign("c1", "November newsletter", "2026-11-03T10:00:00+00:00")
RECORD = frozenset({"open", "click"})
OPEN = ("open", "2026-11-03T11:00:00+00:00", "")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "syncer.db")
    try:
        yield opened
    finally:
        opened.close()


def person(store: Store, email: str, hubspot_id: str | None) -> int:
    with store.transaction():
        row = store.insert_contact(
            ContactRow(id=0, email=email, hubspot_id=hubspot_id, mailchimp_id=f"hash-{email}")
        )
    return row.id


def test_a_walk_resumes_where_its_last_saved_page_left_it(store: Store) -> None:
    ann = person(store, "ann@example.com", "101")
    store.remember_campaigns([CAMPAIGN])
    assert store.start_walk("c1", "") == ("", 0)
    store.save_activity(
        "c1", {ann: [OPEN]}, RECORD, next_offset=1000, started="2026-11-03T12:00:00+00:00"
    )
    # killed here: the next start resumes the same walk at the next page
    assert store.start_walk("c1", "2026-11-04T00:00:00+00:00") == ("", 1000)
    assert store.campaign_row("c1")["activity_cursor"] is None  # type: ignore[index]
    assert store.finish_walk("c1") == "2026-11-03T12:00:00+00:00"
    assert store.start_walk("c1", "2026-11-03T11:55:00+00:00") == (
        "2026-11-03T11:55:00+00:00",
        0,
    )


def test_a_cursor_never_moves_back(store: Store) -> None:
    store.remember_campaigns([CAMPAIGN])
    store.start_walk("c1", "")
    store.save_activity("c1", {}, RECORD, next_offset=0, started="2026-11-05T00:00:00+00:00")
    store.finish_walk("c1")
    store.start_walk("c1", "2026-11-04T23:55:00+00:00")
    store.save_activity("c1", {}, RECORD, next_offset=0, started="2026-11-04T00:00:00+00:00")
    assert store.finish_walk("c1") == "2026-11-05T00:00:00+00:00"


def test_events_read_twice_are_recorded_once_and_a_sent_note_stays_to_be_found(
    store: Store,
) -> None:
    ann = person(store, "ann@example.com", "101")
    store.remember_campaigns([CAMPAIGN])
    assert store.save_activity("c1", {ann: [OPEN]}, RECORD) == 1
    assert store.save_activity("c1", {ann: [OPEN]}, RECORD) == 0
    (row,) = store.notes_in_state("todo", 0, 100)
    store.set_note_states([row.rowid], "sent", attempt=True)
    click = ("click", "2026-11-03T11:05:00+00:00", "https://example.com/")
    assert store.save_activity("c1", {ann: [click]}, RECORD) == 1
    assert [r.contact_id for r in store.notes_in_state("sent", 0, 100)] == [ann]
    store.record_notes([(row.rowid, "9001", "hash", "ok")])
    assert store.save_activity("c1", {ann: [("open", "2026-11-04T08:00:00+00:00", "")]}, RECORD)
    (again,) = store.notes_in_state("todo", 0, 100)
    assert (again.note_id, len(again.events)) == ("9001", 3)


def test_members_are_found_by_hash_or_address_and_only_linked_people_count(store: Store) -> None:
    ann = person(store, "ann@example.com", "101")
    bob = person(store, "bob@example.com", None)
    found = store.members(["hash-ann@example.com", "nobody"], ["bob@example.com"])
    assert found["hash-ann@example.com"].contact_id == ann
    assert found["hash-ann@example.com"].linked
    assert found["bob@example.com"].contact_id == bob
    assert not found["bob@example.com"].linked
    assert "nobody" not in found
