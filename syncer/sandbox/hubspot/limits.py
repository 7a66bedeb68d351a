"""HubSpot's private-app rate limits, as the simulator enforces them.

- A rolling 10-second window (``ten_second_limit``, default 100) on **real** monotonic time: the
  client's throttle runs on real time too, and moving the simulated clock must not refill it.
- A daily quota (``daily_limit``, default 250,000) per simulated-clock day. HubSpot resets it at
  midnight in the account's time zone; the simulator's account lives in UTC.
- Search has its own per-second bucket (``search_per_second``, default 5) and is exempt from the
  10-second window, as HubSpot's spec marks it; it still counts toward the daily quota.

A refused request takes nothing from any bucket, so a client that backs off recovers as soon as
the window slides. The headers describe the 10-second window and the daily quota after the request;
search answers carry none, and its 429 names the policy ``SECONDLY`` (both unconfirmed).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import date
from typing import Any

from syncer.sandbox.clock import SimClock

INTERVAL_S = 10.0


def _expire(bucket: deque[float], before: float) -> None:
    while bucket and bucket[0] <= before:
        bucket.popleft()


class RateLimits:
    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._search: deque[float] = deque()
        self._day: date | None = None
        self._used = 0

    def admit(self, *, search: bool, settings: Mapping[str, Any]) -> str | None:
        """Take one request from the buckets; return the refusing policy's name, or ``None``."""
        now = time.monotonic()
        if search:
            bucket, span, limit = self._search, 1.0, int(settings["search_per_second"])
            policy = "SECONDLY"
        else:
            bucket, span, limit = self._window, INTERVAL_S, int(settings["ten_second_limit"])
            policy = "TEN_SECONDLY_ROLLING"
        with self._lock:
            self._roll_day()
            if self._used >= int(settings["daily_limit"]):
                return "DAILY"
            _expire(bucket, now - span)
            if len(bucket) >= limit:
                return policy
            bucket.append(now)
            self._used += 1
        return None

    def headers(self, settings: Mapping[str, Any]) -> dict[str, str]:
        """``X-HubSpot-RateLimit-*`` as HubSpot sends them on every non-search response."""
        now = time.monotonic()
        limit, daily = int(settings["ten_second_limit"]), int(settings["daily_limit"])
        secondly = max(1, limit // 10)
        with self._lock:
            self._roll_day()
            _expire(self._window, now - INTERVAL_S)
            in_window = len(self._window)
            last_second = sum(1 for moment in self._window if moment > now - 1.0)
            used = self._used
        return {
            "X-HubSpot-RateLimit-Daily": str(daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, daily - used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(INTERVAL_S * 1000)),
            "X-HubSpot-RateLimit-Max": str(limit),
            "X-HubSpot-RateLimit-Remaining": str(max(0, limit - in_window)),
            "X-HubSpot-RateLimit-Secondly": str(secondly),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, secondly - last_second)),
        }

    def _roll_day(self) -> None:
        today = self._clock.now().date()
        if today != self._day:
            self._day, self._used = today, 0
