"""Incremental reading of HubSpot contacts through search, past its 10,000-result window.

A search query pages by offset and stops answering at 10,000 results. So the walk re-windows:
when a window fills, the next query starts at the newest ``lastmodifieddate`` seen. When one
timestamp alone fills a window (HubSpot's own bulk jobs stamp thousands of contacts alike), that
timestamp is paged by ``hs_object_id`` instead, and the walk resumes strictly after it. Records
are de-duplicated by id and modification time across windows and overlapping pages. A window
ends only where HubSpot offers no next page (or at the window's cap): ``total`` is capped at
10,000 too, so having seen ``total`` records proves nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from syncer.connectors.hubspot.parse import record_id
from syncer.connectors.paging import LoopGuard, next_offset
from syncer.core.models import parse_time

SEARCH_LIMIT = 200
SEARCH_CAP = 10_000
PAGE_OVERLAP = 10
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Search = Callable[[dict[str, Any]], dict[str, Any]]


def changed_contact_pages(
    search: Search,
    since: datetime,
    *,
    limit: int = SEARCH_LIMIT,
    cap: int = SEARCH_CAP,
    overlap: int = PAGE_OVERLAP,
    until: datetime | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Raw contacts modified at or after ``since`` (and before ``until``, when given), oldest
    first, each version once."""
    yielded: dict[str, int] = {}
    guard = LoopGuard(1_000_000, "hubspot: reading changed contacts")
    lower, operator = to_ms(since), "GTE"
    upper = None if until is None else to_ms(until)
    while True:
        newest: int | None = None
        offset: int | None = 0
        seen: set[str] = set()
        while offset is not None and offset + limit <= cap:
            guard.tick()
            data = search(_window_query(lower, operator, limit, offset, upper))
            results = list(data.get("results") or [])
            ids = [record_id(raw) or f"#{offset + i}" for i, raw in enumerate(results)]
            following = next_offset(offset, ids, limit, overlap, seen)
            seen.update(ids)
            fresh = _fresh(results, yielded)
            if fresh:
                yield fresh
            stamps = [_modified_ms(raw) for raw in results]
            newest = max([newest or lower, *stamps])
            # Only the absence of a next page ends a window: HubSpot's ``total`` stops at
            # 10,000 however many match (reference §12.3), so it says nothing about the end.
            at_end = not following.stepped_back and not data.get("paging")
            offset = None if at_end else following.offset
        if offset is None:
            return
        if newest is None or newest <= lower:
            yield from _one_timestamp(search, lower, limit, yielded, guard)
            operator = "GT"
        else:
            lower, operator = newest, "GTE"
        # A later window asks only for what is stamped at or after ``lower``: the versions
        # older than that cannot come back, so the walk forgets them (memory stays flat
        # however many contacts changed).
        yielded = {key: stamp for key, stamp in yielded.items() if stamp >= lower}


def _one_timestamp(
    search: Search, moment: int, limit: int, yielded: dict[str, int], guard: LoopGuard
) -> Iterator[list[dict[str, Any]]]:
    """Every contact stamped exactly ``moment``, paged by id so the window cap never applies."""
    last_id = 0
    while True:
        guard.tick()
        data = search(
            {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "lastmodifieddate",
                                "operator": "EQ",
                                "value": str(moment),
                            },
                            {
                                "propertyName": "hs_object_id",
                                "operator": "GT",
                                "value": str(last_id),
                            },
                        ]
                    }
                ],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "limit": limit,
                "after": "0",
            }
        )
        results = list(data.get("results") or [])
        fresh = _fresh(results, yielded)
        if fresh:
            yield fresh
        if len(results) < limit:
            return
        numbered = [int(key) for raw in results if (key := record_id(raw)) is not None]
        if not numbered:
            return
        last_id = max(numbered)


def search_answer_lacks(data: Any, query: dict[str, Any]) -> str | None:
    """What a search answer to ``query`` lacks that HubSpot always sends (``None``: nothing).

    ``results`` and ``total`` are always there; ``paging`` is there whenever more results follow.
    A full page without it while ``total`` counts more is a cut-off answer: read as the end, it
    would end the walk and move the cursor past every result it never showed. (``total`` may
    be capped at 10,000, so it is only ever trusted to say that more follow.)
    """
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        return "`results` (list)"
    total = data.get("total")
    if not isinstance(total, int) or isinstance(total, bool):
        return "`total` (int)"
    offset, limit = int(query.get("after") or 0), int(query.get("limit") or 0)
    count = len(data["results"])
    following = ((data.get("paging") or {}).get("next") or {}).get("after")
    if count and count >= limit and offset + count < total and not following:
        return "`paging` (a full page, and more results counted)"
    return None


def _window_query(
    lower: int, operator: str, limit: int, offset: int, upper: int | None
) -> dict[str, Any]:
    filters = [{"propertyName": "lastmodifieddate", "operator": operator, "value": str(lower)}]
    if upper is not None:
        # Search filters take LT on a date (reference hubspot-crm-api.md, search operators;
        # developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm).
        filters.append({"propertyName": "lastmodifieddate", "operator": "LT", "value": str(upper)})
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "limit": limit,
        "after": str(offset),
    }


def _fresh(results: list[dict[str, Any]], yielded: dict[str, int]) -> list[dict[str, Any]]:
    """The records not yet yielded in this version; remembers the ones it returns. A record
    without an id is passed on each time, for the client to skip and report."""
    fresh = []
    for raw in results:
        key, stamp = record_id(raw), _modified_ms(raw)
        if key is None:
            fresh.append(raw)
        elif yielded.get(key) != stamp:
            yielded[key] = stamp
            fresh.append(raw)
    return fresh


def _modified_ms(raw: Any) -> int:
    """A record's ``lastmodifieddate`` in epoch ms; 0 when it has none that reads as a time."""
    properties = raw.get("properties") if isinstance(raw, dict) else None
    if not isinstance(properties, dict):
        return 0
    try:
        moment = parse_time(properties.get("lastmodifieddate") or raw.get("updatedAt"))
    except (TypeError, ValueError, AttributeError):
        return 0
    return to_ms(moment) if moment is not None else 0


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds, exactly (float seconds would round some of them down)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)
