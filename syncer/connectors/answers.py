"""Reading answers: JSON bodies, what a successful one must hold, and the vendors' error texts.

Pure: values in, values out. The HTTP layer applies these to every answer, so a client states
what its endpoint always returns (``expect=has_list("results")``) instead of trusting a 200.
"""

from __future__ import annotations

import email.utils
import json
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from syncer.errors import AuthError, RemoteError, RetriableError

#: Statuses that mean "not now": retried like a 5xx.
REFUSED_STATUSES = frozenset({423, 429, 502, 503, 504})


class Skipped:
    """The malformed records a client left out, each noted once, until the run takes them to
    report. Safe to share between the threads reading one side."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._notes: dict[str, None] = {}

    def note(self, text: str) -> None:
        with self._lock:
            self._notes[text] = None

    def take(self) -> list[str]:
        with self._lock:
            notes, self._notes = list(self._notes), {}
        return notes


#: Says what a successful answer lacks (``None``: nothing); see :func:`has`.
AnswerCheck = Callable[[Any], str | None]


def has(**kinds: type) -> AnswerCheck:
    """A check that an answer is an object holding each key with a value of its type.

    A 200 without what its endpoint always returns (a search without ``results``, a page of
    members without ``members``) is a broken answer, not an empty one: read as empty, it would
    end a walk early and move a cursor past everything it never showed.
    """

    def check(data: Any) -> str | None:
        if not isinstance(data, dict):
            return "a JSON object"
        missing = [
            f"`{key}` ({kind.__name__})"
            for key, kind in kinds.items()
            if not _is_a(data.get(key), kind)
        ]
        return ", ".join(missing) or None

    return check


def has_list(*keys: str) -> AnswerCheck:
    """A check that an answer holds a list under at least one of ``keys`` (HubSpot's batch
    answers carry ``results``, ``errors`` or both)."""

    def check(data: Any) -> str | None:
        if isinstance(data, dict) and any(isinstance(data.get(key), list) for key in keys):
            return None
        return " or ".join(f"`{key}` (list)" for key in keys)

    return check


def _is_a(value: Any, kind: type) -> bool:
    """``isinstance``, except that JSON's ``true`` is not a number."""
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


#: What :func:`parse_json` returns for a body that is not JSON.
GARBLED = object()


def parse_json(content: bytes) -> Any:
    """The decoded body, ``None`` when empty, :data:`GARBLED` when not JSON."""
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return GARBLED


def error_title_detail(body: Any) -> tuple[str, str]:
    """Mailchimp's problem documents carry title/detail; HubSpot's errors category/message."""
    if not isinstance(body, dict):
        return "", ""
    title = body.get("title") or body.get("category") or body.get("errorType") or ""
    detail = body.get("detail") or body.get("message") or ""
    return str(title), str(detail)


def describe_error(body: Any) -> str:
    title, detail = error_title_detail(body)
    return " - ".join(part for part in (title, detail) if part)


def failure(what: str, status: int, body: Any, headers: Mapping[str, str]) -> RemoteError:
    """The one classifier of failed answers: 429, 5xx and a bare 403 (load) are retriable,
    401/403 are about credentials, any other 4xx is final; ``what`` names the call."""
    described = describe_error(body)
    message = f"{what} answered {status}" + (f": {described}" if described else "")
    if status in REFUSED_STATUSES or status >= 500 or (status == 403 and body is None):
        return RetriableError(message, retry_after=retry_after(headers), status=status, body=body)
    if status in (401, 403):
        return AuthError(message, status=status, body=body)
    title, detail = error_title_detail(body)
    return RemoteError(message, status=status, title=title, detail=detail, body=body)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` as seconds, from either of its two forms.

    A date is measured against the answer's own ``Date``, never the local clock (the two need
    not agree); without one it gives no figure, and the usual backoff applies.
    """
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    moment, sent = server_time(value), server_time(headers.get("Date"))
    if moment is None or sent is None:
        return None
    return max(0.0, (moment - sent).total_seconds())


def server_time(header: str | None) -> datetime | None:
    """An HTTP date (``Date``, ``Retry-After``) as an aware datetime, ``None`` if unreadable."""
    if not header:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
