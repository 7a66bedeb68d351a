"""When each request arrived, ran and was answered: a test-only record (``GET /_sim/timeline``).

Not a vendor behaviour. The request counts (``/_sim/requests``) say how many calls came, not
when; the soak reads this to tell, for an edit a run wrote over (issue 11.7), which window the
write came through: a call slowed inside the vendor, a batch that started after syncer's last
look at it, a batch left waiting by a run that had ended. Times are the machine's wall clock
(``time.time()``), not the simulated clock, so a test can set them beside its own.

Each entry: ``key`` (``"PUT /3.0/lists/{list_id}/members/{subscriber_hash}"``; an operation a
Mailchimp batch ran is ``"batch PUT ..."``), ``path``, ``query`` (the names given), ``subjects``
(the records it names: contact ids, a subscriber hash, a batch id), ``arrived``, ``ran`` (when
its handler began, after a ``slow`` fault's wait; ``None`` when it was refused before), ``done``,
``status`` and ``fault``. Past :data:`LIMIT` entries the oldest go.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

LIMIT = 200_000
#: An entry as the timeline keeps it and ``GET /_sim/timeline`` answers it.
Entry = dict[str, Any]


class Timeline:
    """The entries, oldest first; cleared with the simulator."""

    def __init__(self) -> None:
        self._entries: deque[Entry] = deque(maxlen=LIMIT)
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def begin(self, key: str, path: str, query: dict[str, list[str]]) -> Entry:
        """An entry for a request that has just arrived; :meth:`end` files it."""
        return {"key": key, "path": path, "query": sorted(query), "arrived": time.time()}

    def end(self, entry: Entry, status: int, subjects: list[str], fault: str | None) -> None:
        entry.setdefault("ran", None)
        entry.update(done=time.time(), status=status, subjects=subjects, fault=fault)
        with self._lock:
            self._entries.append(entry)

    def since(self, moment: float) -> list[Entry]:
        """The entries of the requests that arrived at ``moment`` or later."""
        with self._lock:
            return [entry for entry in self._entries if entry["arrived"] >= moment]
