"""Reading answers: JSON bodies, what a successful one must hold, and the vendors' error texts.

Pure: values in, values out. The HTTP layer applies these to every answer, so a client states
what its endpoint always returns (``expect=has_list("results")``) instead of trusting a 200.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

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
