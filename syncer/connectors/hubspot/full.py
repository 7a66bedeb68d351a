"""Reading every HubSpot contact for a full sync, from both ends of the id range at once.

HubSpot meters its list endpoint (100 a page) inside the rolling ten-second window and search
(200 a page) in a per-second bucket of its own. A full read therefore goes fastest with both:
the list walks ids upwards while search walks them downwards (``hs_object_id`` below the lowest
seen, a keyset that never meets search's 10,000-result window), and each stops where it meets
the other. Each reader trims what the other already has; a contact read twice at the meeting
point is harmless (the cache recognises it).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from syncer.connectors.hubspot.parse import record_id
from syncer.connectors.paging import LoopGuard

#: The list endpoint: ``after`` -> the answer ``{"results", "paging"}``.
ListPage = Callable[[str | None], dict[str, Any]]
#: Search, newest ids first: ``below`` (``None`` = from the top) -> ``{"results"}``.
SearchPage = Callable[[int | None], dict[str, Any]]

SEARCH_LIMIT = 200


class _Frontier:
    """How far each reader got: ids up to ``listed`` are read upwards, from ``searched`` down.

    ``top`` is the highest id search returned: a contact created moments before is above it
    while search's index lags (reference §12.4), so the list reads the ids above ``top`` too.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.listed = 0
        self.searched: int | None = None
        self.top: int | None = None


class _Ended:
    """A reader's last word on the queue."""


def all_contact_pages(
    list_page: ListPage, search_page: SearchPage
) -> Iterator[list[dict[str, Any]]]:
    """Raw contacts, every one at least once, until both readers have met."""
    pages: queue.Queue[object] = queue.Queue(maxsize=8)
    frontier = _Frontier()
    stop = threading.Event()
    readers = [
        threading.Thread(target=_guarded, args=(reader, pages, stop), daemon=True)
        for reader in (
            lambda: _list_upwards(list_page, frontier, pages, stop),
            lambda: _search_downwards(search_page, frontier, pages, stop),
        )
    ]
    for reader in readers:
        reader.start()
    running = len(readers)
    try:
        while running:
            item = pages.get()
            if isinstance(item, _Ended):
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item  # type: ignore[misc]
    finally:
        stop.set()


def _guarded(read: Callable[[], None], pages: queue.Queue[object], stop: threading.Event) -> None:
    try:
        read()
    except BaseException as error:  # noqa: BLE001 - the error belongs to the consuming thread
        _put(pages, error, stop)
        return
    _put(pages, _Ended(), stop)


def _list_upwards(
    list_page: ListPage, frontier: _Frontier, pages: queue.Queue[object], stop: threading.Event
) -> None:
    after: str | None = None
    met = False
    guard = LoopGuard(1_000_000, "hubspot: listing contacts")
    while not stop.is_set():
        guard.tick()
        data = list_page(after)
        results, odd = _by_id(data.get("results") or [])
        with frontier.lock:
            low, high = frontier.searched, frontier.top
            below = [(key, raw) for key, raw in results if met or low is None or key < low]
            if below and not met:
                frontier.listed = max(frontier.listed, max(key for key, raw in below))
        # Above the highest id search returned, search will never look (its index lags).
        above = [
            (key, raw)
            for key, raw in results
            if not (met or low is None or key < low) and high is not None and key > high
        ]
        if below or above or odd:
            _put(pages, [raw for key, raw in below + above] + odd, stop)
        following = ((data.get("paging") or {}).get("next") or {}).get("after")
        if not following or following == after:
            return
        if not met and len(below) < len(results) and high is not None:
            # Met search's range: what is left is above the highest id search returned.
            met = True
            after = max(str(high + 1), str(following), key=int)
            continue
        after = str(following)


def _search_downwards(
    search_page: SearchPage, frontier: _Frontier, pages: queue.Queue[object], stop: threading.Event
) -> None:
    below: int | None = None
    guard = LoopGuard(1_000_000, "hubspot: searching contacts by id")
    while not stop.is_set():
        guard.tick()
        answered = search_page(below).get("results") or []
        results, odd = _by_id(answered)
        with frontier.lock:
            mine = [(key, raw) for key, raw in results if key > frontier.listed]
            if results and frontier.top is None:
                frontier.top = max(key for key, raw in results)
            if mine:
                lowest = min(key for key, raw in mine)
                frontier.searched = (
                    lowest if frontier.searched is None else min(frontier.searched, lowest)
                )
        if mine or odd:
            _put(pages, [raw for key, raw in mine] + odd, stop)
        if len(mine) < len(results) or len(answered) < SEARCH_LIMIT or not results:
            return
        below = min(key for key, raw in results)


def _by_id(answered: list[Any]) -> tuple[list[tuple[int, Any]], list[Any]]:
    """Records with their numeric ids, and those without one (passed on for the client to
    skip and report; they take no part in where the readers meet)."""
    numbered, odd = [], []
    for raw in answered:
        key = record_id(raw)
        if key is None:
            odd.append(raw)
        else:
            numbered.append((int(key), raw))
    return numbered, odd


def _put(pages: queue.Queue[object], item: object, stop: threading.Event) -> None:
    """Hand a page over; give up once the consumer has stopped listening."""
    while True:
        try:
            pages.put(item, timeout=0.2)
            return
        except queue.Full:
            if stop.is_set():
                return
