"""HubSpot's error bodies, in one place so every endpoint fails the way HubSpot fails.

Three shapes exist. A whole request fails with ``{status, message, correlationId, category}``
(plus ``errors``/``context`` for validation failures). A batch answered with 207 carries one
``StandardError`` per group of failed inputs; the official SDK refuses such an object unless it has
all of ``status, category, message, context, errors, links``. Rate-limit refusals have their own
shape (``errorType``, ``policyName``), copied from recorded 429s.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from syncer.sandbox.server import SimError

#: The simulated account ("portal") and private app; they appear inside HubSpot's messages.
PORTAL_ID = 62515001
APP_ID = 1512050
CONTACT_TYPE_ID = "0-1"
CONTENT_TYPE = "application/json;charset=utf-8"
CORRELATION_HEADER = "X-HubSpot-Correlation-Id"

NOT_FOUND_IN_BATCH = (
    "Could not get some CONTACT objects, they may be deleted or not exist. "
    "Check that ids are valid."
)
_CATEGORY_BY_STATUS = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    405: "VALIDATION_ERROR",
    409: "CONFLICT",
    423: "LOCKED",
}
_RATE_LIMITS = {
    "TEN_SECONDLY_ROLLING": (
        "You have reached your ten_secondly_rolling limit.",
        f"publicapi:private_app-api-calls-ten-secondly:{APP_ID}:{PORTAL_ID}",
    ),
    "SECONDLY": (
        "You have reached your secondly limit.",
        f"publicapi:private_app-api-calls-search-secondly:{APP_ID}:{PORTAL_ID}",
    ),
    "DAILY": ("You have reached your daily limit.", ""),
}


def api_error(status: int, category: str, message: str, **extra: Any) -> SimError:
    """A whole-request failure; ``extra`` (``errors``, ``context``...) joins the body."""
    return SimError(status, category, message, **extra)


def error_body(error: SimError, correlation_id: str) -> dict[str, Any]:
    """Render any :class:`SimError`, including the plumbing's generic ones, in HubSpot's shape."""
    category = error.title
    if not category.replace("_", "").isalpha() or not category.isupper():
        category = _CATEGORY_BY_STATUS.get(
            error.status, "INTERNAL_ERROR" if error.status >= 500 else "VALIDATION_ERROR"
        )
    message = error.detail or error.title
    return {
        "status": "error",
        "message": message,
        "correlationId": correlation_id,
        **error.extra,
        "category": category,
    }


def rate_limit_body(policy: str) -> dict[str, Any]:
    """The 429 body for ``TEN_SECONDLY_ROLLING``, ``SECONDLY`` (search) or ``DAILY``."""
    message, group = _RATE_LIMITS[policy]
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
    }
    if group:
        body["groupName"] = group
    else:  # the recorded daily body still carries the pre-2020 requestId
        body["requestId"] = str(uuid.uuid4())
    return body


@dataclass(frozen=True)
class Problem:
    """One rejected property value, as HubSpot's ``PropertyValidationResult`` describes it."""

    name: str
    code: str
    message: str
    value: str | None = None

    def validation_result(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "isValid": False,
            "message": self.message,
            "error": self.code,
            "name": self.name,
            "localizedErrorMessage": self.message,
        }
        if self.value is not None:
            result["propertyValue"] = self.value
        result["portalId"] = PORTAL_ID
        return result


@dataclass(frozen=True)
class Failure:
    """Why one batch input (or a whole request) was refused, before deciding which it becomes."""

    status: int
    category: str
    message: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: How the failure reads as one input's error in a 207, when that differs from ``message``.
    input_message: str | None = None
    #: What a 207 error adds to its ``context`` for each input (each value joins a list).
    input_context: dict[str, str] = field(default_factory=dict)

    def as_error(self) -> SimError:
        extra = {"errors": self.errors} if self.errors else {}
        return api_error(self.status, self.category, self.message, **extra)


def invalid_values(problems: list[Problem]) -> Failure:
    """HubSpot's VALIDATION_ERROR: results embedded as JSON in the message, and as ``errors``."""
    embedded = json.dumps([p.validation_result() for p in problems], separators=(",", ":"))
    errors = [
        {"message": p.message, "code": p.code, "context": {"propertyName": [p.name]}}
        for p in problems
    ]
    return Failure(400, "VALIDATION_ERROR", f"Property values were not valid: {embedded}", errors)


def already_exists(existing_id: int) -> Failure:
    """A create whose email (or an additional email) belongs to a contact already.

    A whole request names the contact in its message (ISS python #51, nodejs #545); one input
    of a 207 carries it in ``context.existingId`` instead (amp-labs/connectors fixture
    ``batch/create/contacts/err-partial-success.json``, reference §12.6), and the simulator
    leaves the message bare, so a client must read the context.
    """
    return Failure(
        409,
        "CONFLICT",
        f"Contact already exists. Existing ID: {existing_id}",
        input_message="Contact already exists",
        input_context={"existingId": str(existing_id)},
    )


def already_has_value(prop: str, value: str, target: str, existing_id: int) -> Failure:
    """The 400 an update gets when it would give a contact another contact's email."""
    coordinates = (
        f"PropertyValueCoordinates{{portalId={PORTAL_ID}, objectTypeId={CONTACT_TYPE_ID}, "
        f"propertyName={prop}, value={value}}}"
    )
    return Failure(
        400,
        "VALIDATION_ERROR",
        f"Cannot set {coordinates} on {target}. {existing_id} already has that value.",
    )


def email_taken(prop: str, email: str, owner: int, target: int | None) -> Failure:
    """A write giving ``target`` (``None``: a new contact) an email that ``owner`` has: HubSpot
    answers a create with 409 and an update with the 400 "already has that value"."""
    if target is None:
        return already_exists(owner)
    return already_has_value(prop, email, str(target), owner)


def duplicate_ids(ids: list[str]) -> SimError:
    return api_error(
        400,
        "VALIDATION_ERROR",
        f"Duplicate IDs found in batch input: [{', '.join(ids)}]. IDs must be unique",
        context={"ids": ids},
    )


class ErrorGroups:
    """Per-input batch failures grouped as HubSpot groups them: one error per category+message."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, failure: Failure, *, object_id: str | None, trace_id: str | None) -> None:
        message = failure.input_message or failure.message
        group = self._groups.setdefault(
            (failure.category, message),
            {
                "status": "error",
                "category": failure.category,
                "message": message,
                "context": {},
                "errors": failure.errors,
                "links": {},
            },
        )
        if object_id is not None:
            group["context"].setdefault("ids", []).append(object_id)
        if trace_id is not None:
            group["context"].setdefault("objectWriteTraceId", []).append(trace_id)
        for key, value in failure.input_context.items():
            group["context"].setdefault(key, []).append(value)

    def as_list(self) -> list[dict[str, Any]]:
        return list(self._groups.values())
