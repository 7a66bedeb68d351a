"""Signals that ask a run to stop: Ctrl-C, SIGTERM (cron daemons, systemd, `timeout`) and SIGHUP
(the terminal closing).

The first signal only sets a flag the phases check between pages and batches, so the run ends
recorded as interrupted at its next safe point. A second signal stops it at once, for when a
slow call is in the way; but GNU `timeout` signals the whole process group, so one TERM can
arrive twice in the same instant: a repeat of the same signal within a second is the same
request, not the operator's second one.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

from syncer.run.context import Deadline

log = logging.getLogger("syncer.run")

STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Seconds within which a repeat of the same signal counts as the first one.
REPEAT_WINDOW = 1.0


@contextmanager
def signals_stop(deadline: Deadline) -> Iterator[None]:
    """While the block runs, a stopping signal interrupts ``deadline``; a second one raises."""
    first: dict[str, float | int] = {}

    def ask(signum: int, frame: object) -> None:
        now = time.monotonic()
        if deadline.interrupted:
            repeat = signum == first["signal"] and now - first["at"] < REPEAT_WINDOW
            if repeat:
                return
            raise KeyboardInterrupt
        first.update(signal=signum, at=now)
        deadline.interrupt()
        log.warning(
            "%s: stopping at the next safe point (send it again to stop at once)",
            signal.Signals(signum).name,
        )

    previous = {number: signal.signal(number, ask) for number in STOPPING}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
