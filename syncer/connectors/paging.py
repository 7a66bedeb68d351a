"""Offset pagination that survives a result set changing under it.

Both vendors page a sorted result set by offset. When a record changes during the walk it moves to
the end of a set sorted by modification time, and everything after its old place shifts one to
the left: a plain walk then silently skips a record. So pages overlap by a few records, and each
page must begin with a record already seen; when it does not, the set shifted by more than the
overlap and the walk steps back until it does. Records are de-duplicated by id against the last
few pages read (:class:`RecentIds`), never against the whole walk: memory stays flat however
large the audience, and the only record read again beyond that reach is one that changed during
the walk and moved to the end, whose newer version is worth reading.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from syncer.errors import RemoteError


@dataclass(frozen=True)
class NextPage:
    """Where to read next: ``offset`` or ``None`` when the walk is complete."""

    offset: int | None
    stepped_back: bool = False


class RecentIds(Container[str]):
    """The ids of the last ``capacity`` records read, oldest forgotten first.

    A page's overlap and a step back only ever reach a few pages behind the walk, so that is
    all a walk must remember to page and de-duplicate correctly.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: Iterable[str]) -> None:
        for key in ids:
            self._ids[key] = None
            self._ids.move_to_end(key)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


def next_offset(
    offset: int, page_ids: Sequence[str], page_size: int, overlap: int, seen: Container[str]
) -> NextPage:
    """The offset after a page read at ``offset``, given the ids seen *before* this page.

    ``seen`` is not modified; the caller adds the page's ids after calling.
    """
    if offset > 0 and page_ids and page_ids[0] not in seen:
        return NextPage(max(0, offset - max(overlap, 1)), stepped_back=True)
    if len(page_ids) < page_size:
        return NextPage(None)
    return NextPage(offset + page_size - overlap)


class LoopGuard:
    """Stops a walk that cannot be converging, instead of paging forever."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self.count = 0

    def tick(self) -> None:
        self.count += 1
        if self.count > self.limit:
            raise RemoteError(
                f"{self.what}: still paging after {self.limit} pages; the API's answers do not end",
                hint="Run again; if it repeats, report it with `syncer --debug run` output.",
            )


Item = TypeVar("Item")


def chunks(items: Sequence[Item], size: int) -> Iterator[Sequence[Item]]:
    """Consecutive slices of at most ``size`` (Python 3.11 has no ``itertools.batched``)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
