"""The simulators' clock: real time plus an offset that tests move forward.

One clock is shared by both simulators of a sandbox so that "five minutes later" means the same on
both sides, which is what lets tests reproduce cursor overlaps and timestamp conflicts.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SimClock:
    """Wall-clock time that can only be moved forward, never back."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()


def iso_seconds(moment: datetime) -> str:
    """Mailchimp's format: whole seconds and an explicit ``+00:00``."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def iso_millis(moment: datetime) -> str:
    """HubSpot's format: milliseconds and ``Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse the ISO 8601 forms both APIs accept (``Z`` or an offset; naive means UTC)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
