"""How long work reports itself while it runs: a small interface the engine talks to.

The engine calls :meth:`Progress.phase` and :meth:`Progress.advance`; what that looks like (a rich
progress bar on a terminal, one timestamped log line per phase under cron, nothing at all in a
test) is decided by whoever constructs the engine: this plain one logs, and
:class:`syncer.operate.console.RichProgress` draws bars.
"""

from __future__ import annotations

import logging

log = logging.getLogger("syncer.run")


class Progress:
    """Plain progress: one debug line per phase (`-v` shows them), nothing per item.

    Under cron a run's phases are noise: its summary line says what it did.
    """

    def phase(self, name: str, total: int | None = None) -> None:
        log.debug("%s%s", name, f" ({total})" if total else "")

    def advance(self, amount: int = 1) -> None:
        """One more unit of the current phase done."""

    def done(self) -> None:
        """The run is over; release whatever the display holds."""
