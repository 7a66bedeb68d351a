"""Trying a call again within bounds: a count and a total time per call, waits that grow with
jitter (or the server's own ``Retry-After``), none past the run's cutoff, and a write whose
answer was lost looked for before it is sent again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import backoff

from syncer.errors import OutOfTime, RetriableError

log = logging.getLogger("syncer.http")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts and total time bound every call; waits grow with jitter."""

    max_tries: int = 6
    max_time: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0


def with_retries(
    attempt: Callable[[float], T],
    policy: RetryPolicy,
    time_left: Callable[[], float | None],
    redact: Callable[[str], str],
    *,
    repeatable: bool = True,
    recover: Callable[[float], T | None] | None = None,
) -> T:
    """Run ``attempt(call_end)`` until it succeeds or the policy's bounds are spent
    (``call_end``: the ``time.monotonic()`` by which the whole call must be over).

    A call that is not ``repeatable`` is tried again only after a 429, which the server refused
    before doing anything. With ``recover``, an attempt that may have been carried out (no
    answer, a garbled one, a 5xx) is first looked for, given the seconds since the call began:
    what it finds stands for the answer, and only if it finds nothing is the call made again.
    """
    started = time.monotonic()
    call_end = started + policy.max_time
    failed: list[RetriableError] = []

    def one_attempt() -> T:
        if recover is not None and failed and _may_have_landed(failed[-1]):
            found = recover(time.monotonic() - started)
            if found is not None:
                return found
        try:
            return attempt(call_end)
        except RetriableError as error:
            failed.append(error)
            raise

    def log_retry(details: Any) -> None:
        log.warning(
            "%s; retrying in %.1f s (attempt %d of %d)",
            redact(str(details["exception"])),
            details["wait"],
            details["tries"] + 1,
            policy.max_tries,
        )

    retrying = backoff.on_exception(
        lambda: _waits(policy, time_left),
        RetriableError,
        max_tries=policy.max_tries,
        max_time=policy.max_time,
        jitter=None,
        giveup=lambda error: not repeatable and getattr(error, "status", None) != 429,
        on_backoff=log_retry,
        logger=None,
    )(one_attempt)
    try:
        return retrying()
    except RetriableError as error:
        elapsed = time.monotonic() - started
        raise RetriableError(
            f"{error.message} (gave up after {elapsed:.0f} s of retries)",
            error.hint,
            status=error.status,
            body=error.body,
        ) from None


def _may_have_landed(error: RetriableError) -> bool:
    """Whether the server may have carried out a request that failed so: no answer, a garbled
    one, or a server error (a gateway's 502 or 504 may come after the work); not a 429."""
    return error.status is None or error.status >= 500 or 200 <= error.status < 300


def _waits(
    policy: RetryPolicy, time_left: Callable[[], float | None]
) -> Generator[float, Any, None]:
    """Backoff's wait generator: exponential with full jitter, or the server's own figure.

    backoff sends each caught exception into the generator, which is how a ``Retry-After``
    reaches the wait; a server-given wait is clamped but never jittered. A wait that would end
    past the run's cutoff is not waited: the call ends now, as out of time.
    """
    attempt = 0
    error = yield 0.0
    while True:
        given = getattr(error, "retry_after", None)
        if given is not None:
            wait = min(float(given), policy.max_retry_after)
        else:
            wait = random.uniform(0, min(policy.max_delay, policy.base_delay * 2**attempt))
        attempt += 1
        left = time_left()
        if left is not None and wait >= left:
            raise OutOfTime("a retry would wait past the run's time")
        error = yield wait
