"""One remote call at a time off the thread that owns the cache, and what follows it back on it.

The cache is only ever touched from one thread (``fetch`` saves every page there). A write or a
history read made while the read goes on must not hold that thread for the call's length (a
call waiting for HubSpot's window would stop every page behind it), yet what comes before and
after the call is cache work. So the owning thread prepares the call, a :class:`Lane` makes it
in a worker thread, and :meth:`Lane.poll`, called by the owning thread between pages, runs the
continuation with the answer, or raises the call's error there, as if the call had been made
in line. Work with more than one call is a generator of :data:`Steps`: it yields each call and
is resumed with its answer, so the same code runs in line (:func:`run_now`) or in a lane
(:meth:`Lane.run`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")
#: Cache work with remote calls between: yields each call, is sent its answer, returns a T.
Steps = Generator[Callable[[], Any], Any, T]


def run_now(steps: Steps[T]) -> T:
    """Run ``steps`` in this thread, each call in line."""
    try:
        call = next(steps)
        while True:
            try:
                answer = call()
            except BaseException as error:  # noqa: BLE001 - raised inside the steps, at the yield
                call = steps.throw(error)
            else:
                call = steps.send(answer)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


class Lane:
    """Calls one after another in one worker thread, each continued by the owning thread."""

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._call: Future[Any] | None = None
        self._then: Callable[[Any], None] | None = None

    @property
    def busy(self) -> bool:
        return self._call is not None

    def start(self, call: Callable[[], Any], then: Callable[[Any], None]) -> None:
        """Make ``call`` in the worker; ``then`` gets its answer from :meth:`poll`."""
        if self._call is not None:
            raise RuntimeError("a lane makes one call at a time")
        self._then = then
        self._call = self._pool.submit(call)

    def run(self, steps: Steps[T], done: Callable[[T], None]) -> None:
        """Run ``steps``, each call in the worker (its error raised inside the steps, as
        :func:`run_now` does); ``done`` gets what they return."""

        def resume(outcome: tuple[bool, Any]) -> None:
            answered, value = outcome
            try:
                call = steps.send(value) if answered else steps.throw(value)
            except StopIteration as end:
                done(end.value)
                return
            self.start(lambda: _outcome(call), resume)

        resume((True, None))

    def poll(self) -> None:
        """Continue the call, if it has answered (its error is raised here)."""
        call, then = self._call, self._then
        if call is None or then is None or not call.done():
            return
        self._call = self._then = None
        then(call.result())

    def drain(self) -> None:
        """Wait for the calls, continuing each (a continuation may start another)."""
        while self._call is not None:
            wait([self._call])
            self.poll()

    def close(self) -> None:
        """Let a call still going finish (calls are bounded by their timeouts), unanswered."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def wait_any(lanes: Sequence[Lane], timeout: float | None) -> None:
    """Wait until a call of one of the busy ``lanes`` answers, or ``timeout`` seconds pass."""
    calls = [lane._call for lane in lanes if lane._call is not None]
    if calls:
        wait(calls, timeout=timeout, return_when=FIRST_COMPLETED)


def _outcome(call: Callable[[], Any]) -> tuple[bool, Any]:
    """A call's answer, or its error, to hand to the steps waiting for it."""
    try:
        return True, call()
    except Exception as error:  # noqa: BLE001 - raised inside the steps, at their yield
        return False, error
