"""Walking a whole audience holds a few pages in memory, never every id read (issue 15).

The walks are fed by answers computed on the fly (nothing proportional to the audience exists
outside the walk), and ``tracemalloc`` measures what the walk itself holds at its peak: reading
four times as many records must not need more memory.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from syncer.connectors.http import ApiResponse
from syncer.connectors.hubspot.search import changed_contact_pages, to_ms
from syncer.connectors.mailchimp.client import PAGE_SIZE, MailchimpClient
from syncer.connectors.paging import RecentIds
from tests.support.sandbox import SandboxDriver

START = datetime(2026, 1, 1, tzinfo=UTC)
#: What reading four times as many records may add to a walk's peak: far less than their ids.
GROWTH_BYTES = 600_000


def _peak_bytes(walk: Iterator[list[Any]]) -> tuple[int, int]:
    """Records a walk yields, and the most memory it held while yielding them (a generator
    does nothing until it is iterated: all of the walk's work is traced)."""
    tracemalloc.start()
    try:
        count = 0
        for page in walk:
            count += len(page)
            del page
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _member(index: int) -> dict[str, Any]:
    return {
        "id": f"{index:032x}",
        "email_address": f"m{index}@northwind-mail.com",
        "unique_email_id": f"u{index}",
        "status": "subscribed",
        "merge_fields": {"FNAME": "Ada"},
        "last_changed": (START + timedelta(seconds=index)).isoformat(),
        "tags": [],
        "tags_count": 0,
    }


def _audience(size: int) -> Callable[..., ApiResponse]:
    """Mailchimp's member list answered page by page, members made as they are asked for."""

    def request(template: str, params: dict[str, Any], expect: Any = None) -> ApiResponse:
        offset = int(params["offset"])
        count = 0 if params.get("status") == "archived" else size
        members = [_member(i) for i in range(offset, min(offset + int(params["count"]), count))]
        return ApiResponse(200, {"members": members, "total_items": count}, {})

    return request


def test_a_member_walk_holds_the_same_memory_for_four_times_the_audience(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = sim.config(tmp_path)
    peaks = []
    for size in (10 * PAGE_SIZE, 40 * PAGE_SIZE):
        client = MailchimpClient(config.mailchimp, config.http)
        client._audience_request = _audience(size)  # type: ignore[method-assign]
        read, peak = _peak_bytes(client.changed_members(None, ["FNAME"]))
        assert read == size
        peaks.append(peak)
    assert peaks[1] - peaks[0] < GROWTH_BYTES, peaks


def _search(size: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """HubSpot's search over contacts stamped one a second, answered by arithmetic."""
    first = to_ms(START)

    def search(body: dict[str, Any]) -> dict[str, Any]:
        (rule,) = body["filterGroups"][0]["filters"]
        lower = (int(rule["value"]) - first + 999) // 1000
        lower += int(rule["operator"] == "GT" and (int(rule["value"]) - first) % 1000 == 0)
        offset, limit = int(body["after"]), int(body["limit"])
        ids = range(lower + offset, min(lower + offset + limit, size))
        results = [
            {
                "id": str(i + 1),
                "properties": {
                    "lastmodifieddate": (START + timedelta(seconds=i)).isoformat(),
                },
            }
            for i in ids
        ]
        more = lower + offset + limit < size
        return {
            "total": min(size - lower, 10_000),
            "results": results,
            **({"paging": {"next": {"after": str(offset + limit)}}} if more else {}),
        }

    return search


def test_a_changed_contacts_walk_holds_the_same_memory_for_four_times_the_changes() -> None:
    peaks = []
    for size in (20_000, 80_000):
        read, peak = _peak_bytes(changed_contact_pages(_search(size), START))
        assert read == size
        peaks.append(peak)
    assert peaks[1] - peaks[0] < GROWTH_BYTES, peaks


def test_recent_ids_forget_the_oldest_and_keep_what_was_read_again() -> None:
    recent = RecentIds(3)
    recent.add(["a", "b", "c"])
    recent.add(["a", "d"])
    assert all(key in recent for key in ("a", "c", "d"))
    assert "b" not in recent
    assert len(recent) == 3
