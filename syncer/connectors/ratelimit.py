"""Client-side rate limiting: keep under the vendors' limits instead of living on 429s.

The arithmetic (:class:`RollingWindow`) is pure and takes the time as an argument; the
:class:`HubSpotThrottle` wraps it with a clock and a sleep so tests can drive it without waiting.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass


class RollingWindow:
    """At most ``limit`` events in any ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = max(1, limit)
        self.window = window
        self._events: deque[float] = deque()

    def delay(self, now: float) -> float:
        """Seconds to wait from ``now`` before one more event fits in the window."""
        while self._events and self._events[0] <= now - self.window:
            self._events.popleft()
        if len(self._events) < self.limit:
            return 0.0
        return self._events[0] + self.window - now

    def record(self, now: float) -> None:
        self._events.append(now)


class ArrivalWindow:
    """At most ``limit`` requests in any ``window`` seconds *as the server counts them*: on
    arrival, which the client cannot see.

    A request arrives at the server some time between being sent and being answered. Counting it
    at its send time (as :class:`RollingWindow` does) lets two requests sent a window apart arrive
    closer together when the first was slower on the way, and the server refuses the second.
    Counted from its answer, and as taking a place while it is in flight, a request sent once the
    ``limit``-th answer before it is a window old arrives after that one, however the network
    delays either: no refusal, at a rate of ``limit`` per window plus a round trip.
    """

    #: Seconds to wait when every place is taken by a request still in flight.
    IN_FLIGHT_WAIT = 0.01

    def __init__(self, limit: int, window: float) -> None:
        self.limit = max(1, limit)
        self.window = window
        self.in_flight = 0
        self._answered: deque[float] = deque()

    def delay(self, now: float) -> float:
        """Seconds to wait from ``now`` before one more request may be sent."""
        while self._answered and self._answered[0] <= now - self.window:
            self._answered.popleft()
        if self.in_flight + len(self._answered) < self.limit:
            return 0.0
        if self._answered:
            return self._answered[0] + self.window - now
        return self.IN_FLIGHT_WAIT

    def sent(self) -> None:
        self.in_flight += 1

    def answered(self, now: float) -> None:
        """The request's answer (or its failure) is in: it counts from ``now``."""
        self.in_flight = max(0, self.in_flight - 1)
        self._answered.append(now)


@dataclass
class HubSpotUsage:
    """What HubSpot's rate-limit headers last said; `syncer status` reports the daily share."""

    daily_limit: int | None = None
    daily_remaining: int | None = None

    @property
    def daily_used_share(self) -> float | None:
        if not self.daily_limit or self.daily_remaining is None:
            return None
        return 1 - self.daily_remaining / self.daily_limit


class HubSpotThrottle:
    """Spaces requests under HubSpot's rolling ten-second limit and search's per-second limit.

    The windows count our own requests; the ``X-HubSpot-RateLimit-Remaining`` header adds what
    other apps of the same account use, which our own count cannot see. HubSpot counts searches
    as they arrive, 5 a second per account (reference, "Search limits"), so searches are paced by
    :class:`ArrivalWindow`: every :meth:`before_request` must be followed by one
    :meth:`after_response`, answered or not.
    """

    SEARCH_MARKER = "/search"

    def __init__(
        self,
        requests_per_10s: int,
        search_per_second: int,
        *,
        margin: int = 2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._general = RollingWindow(max(1, requests_per_10s - margin), 10.0)
        self._search = ArrivalWindow(search_per_second, 1.0)
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.usage = HubSpotUsage()

    def before_request(self, endpoint: str) -> None:
        search = self.SEARCH_MARKER in endpoint
        while True:
            with self._lock:
                now = self._clock()
                if search:
                    wait = self._search.delay(now)
                else:
                    wait = max(self._general.delay(now), self._paused_until - now)
                if wait <= 0:
                    if search:
                        self._search.sent()
                    else:
                        self._general.record(now)
                    return
            # Sleep without the lock: a search waiting for its bucket must not hold back a call
            # that fits in the ten-second window.
            self._sleep(wait)

    def after_response(self, endpoint: str, headers: Mapping[str, str]) -> None:
        """After every request sent, answered or not (``headers`` empty without an answer)."""
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        interval = _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds") or 10_000
        with self._lock:
            if self.SEARCH_MARKER in endpoint:
                self._search.answered(self._clock())
            if remaining is not None and remaining <= self._margin:
                self._paused_until = self._clock() + interval / 10_000
            daily = _int_header(headers, "X-HubSpot-RateLimit-Daily")
            if daily is not None:
                self.usage.daily_limit = daily
                self.usage.daily_remaining = _int_header(
                    headers, "X-HubSpot-RateLimit-Daily-Remaining"
                )


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
