"""Mailchimp's batch results collected while HubSpot is written, not after.

The batches a run submits (most of a first sync's during its read) are done on Mailchimp's side
long before HubSpot's writes are: those are paced by HubSpot's 10-s window, so the thread that
owns the cache spends them waiting. A :class:`Collector` makes each HubSpot call in a worker
thread (``lane``) and, while it goes, looks at the oldest open batch in another one, settling
its results on the owning thread between the HubSpot calls' answers. Nothing else changes: each
batch is settled in one transaction as ``write_mailchimp`` does it (the same steps), the batches
are looked at oldest first with the same growing pauses, and the ones still open when HubSpot's
writes end are waited for by ``write_mailchimp`` as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TypeVar

from syncer.errors import SyncerError
from syncer.run.context import RunContext
from syncer.run.lane import Lane, Steps, run_now, wait_any
from syncer.run.write_mailchimp import check_steps, poll_pauses

log = logging.getLogger("syncer.run")

T = TypeVar("T")


class Collector:
    """Runs HubSpot's write calls while Mailchimp's submitted batches are collected."""

    def __init__(self, ctx: RunContext, batch_ids: Sequence[str]) -> None:
        self.ctx = ctx
        self._waiting = set(batch_ids)
        self._pauses = poll_pauses(ctx.config.sync.batch_poll_seconds)
        self._due = time.monotonic() + next(self._pauses)
        self._calls = Lane("hubspot-writes")
        self._checks = Lane("mailchimp-results")

    def left(self) -> list[str]:
        """The batches still open once the look going on is done, for ``write_mailchimp``."""
        self._checks.drain()
        open_ids = [row.id for row in self.ctx.store.open_batches()]
        return [batch_id for batch_id in open_ids if batch_id in self._waiting]

    def run(self, steps: Steps[T]) -> T:
        """Run ``steps`` (a HubSpot write) with each call in a worker, collecting meanwhile; its
        error is raised here, as :func:`~syncer.run.lane.run_now` would."""
        if not self._waiting:
            return run_now(steps)
        done: list[T] = []
        self._calls.run(steps, done.append)
        while self._calls.busy:
            self._checks.poll()
            timeout = None
            if self._waiting and not self._checks.busy:
                timeout = self._due - time.monotonic()
                if timeout <= 0:
                    self._look()
                    continue
            wait_any([self._calls, self._checks], timeout)
            self._calls.poll()
        return done[0]

    def close(self) -> None:
        self._calls.close()
        self._checks.close()

    def _look(self) -> None:
        """Look at the oldest batch still waiting (Mailchimp works through them in order)."""
        open_batches = self.ctx.store.open_batches()
        batch = next((row for row in open_batches if row.id in self._waiting), None)
        if batch is None or self.ctx.should_stop():
            self._waiting = set()
            return
        self._checks.run(self._check(batch.id, check_steps(self.ctx, batch)), self._checked)

    def _check(self, batch_id: str, steps: Steps[bool]) -> Steps[tuple[str, bool]]:
        try:
            return batch_id, (yield from steps)
        except SyncerError as error:
            # Left for write_mailchimp, which looks again and reports what it meets.
            log.warning("batch %s: %s; looked at again after HubSpot's writes", batch_id, error)
            self._waiting = set()
            return batch_id, False

    def _checked(self, outcome: tuple[str, bool]) -> None:
        batch_id, settled = outcome
        if settled:
            self._waiting.discard(batch_id)
            self.ctx.counts["batches_collected_beside_hubspot"] += 1
            self._due = time.monotonic()  # the next one may be done too
        else:
            self._due = time.monotonic() + next(self._pauses)
