"""HubSpot's answers read into syncer's values: contacts, history stamps, batch write results.

A batch write answers with results and errors in any order; each input gets exactly one
:class:`WriteResult`, matched by ``objectWriteTraceId`` (then by id or email), and an input
missing from both lists counts as ``missing`` rather than vanishing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from syncer.core import causes
from syncer.core.models import HubSpotContact, Version, parse_time
from syncer.core.transforms import canonical, normalise
from syncer.errors import MalformedRecord

#: No property types known: every value is read as sent.
_NO_KINDS: Mapping[str, str] = {}
_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
_ALREADY_HAS = re.compile(r"on (\d+)\. (\d+) already has that value")


@dataclass(frozen=True)
class WriteInput:
    """One record to create (``contact_id`` None) or update; ``trace_id`` is the outbox row."""

    trace_id: str
    properties: dict[str, str]
    contact_id: str | None = None


@dataclass(frozen=True)
class WriteResult:
    trace_id: str
    outcome: Literal["ok", "conflict", "missing", "error"]
    contact: HubSpotContact | None = None
    existing_id: str | None = None
    message: str = ""
    #: HubSpot's code for a refused value (``errors[].code``, e.g. ``INVALID_EMAIL``), if given.
    code: str = ""
    cause: str | None = None  # syncer.core.causes: what kind of refusal, for the hint


def match_results(
    chunk: Sequence[WriteInput],
    data: Any,
    *,
    by_id: bool,
    kinds: Mapping[str, str] = _NO_KINDS,
) -> list[WriteResult]:
    """One result per input: matched by trace id, else by id (updates) or email (creates)."""
    data = data if isinstance(data, dict) else {}
    by_trace = {item.trace_id: item for item in chunk}
    by_key = {
        (item.contact_id if by_id else item.properties.get("email", "").lower()): item
        for item in chunk
    }
    results: dict[str, WriteResult] = {}
    for raw in data.get("results", []):
        try:
            contact = parse_contact(raw, kinds)
        except MalformedRecord:
            continue  # its input then counts as missing, and is looked up by email
        item = by_trace.get(str(raw.get("objectWriteTraceId") or "")) or by_key.get(
            contact.id if by_id else contact.email.lower()
        )
        if item is not None:
            results[item.trace_id] = WriteResult(item.trace_id, "ok", contact=contact)
    for error in data.get("errors", []):
        context = error.get("context") or {}
        traces = [str(t) for t in context.get("objectWriteTraceId") or []]
        targets = [by_trace[t] for t in traces if t in by_trace] or [
            by_key[i] for i in (str(x) for x in context.get("ids") or []) if i in by_key
        ]
        existing = [str(x) for x in context.get("existingId") or []]
        for position, item in enumerate(targets):
            # One grouped error may name several inputs: its existingId list then follows its
            # objectWriteTraceId list, position by position; any other shape names nobody.
            named = existing[position] if len(existing) == len(targets) else None
            results[item.trace_id] = _error_result(item, error, named)
    return [
        results.get(item.trace_id)
        or WriteResult(item.trace_id, "missing", message="absent from HubSpot's answer")
        for item in chunk
    ]


def _error_result(item: WriteInput, error: dict[str, Any], existing_id: str | None) -> WriteResult:
    """One input's failure. A create conflict names the existing contact in
    ``context.existingId`` (reference §12.6), else in its message, else nowhere (the caller
    then looks the email up)."""
    message = str(error.get("message") or error.get("category") or "error")
    category = error.get("category")
    problems = [e for e in error.get("errors") or [] if isinstance(e, dict)]
    existing = _EXISTING_ID.search(message)
    if category == "CONFLICT" and (existing_id or existing):
        named = existing_id or (existing.group(1) if existing else None)
        return WriteResult(item.trace_id, "conflict", existing_id=named, message=message)
    if category == "CONFLICT":
        return WriteResult(item.trace_id, "conflict", message=message)
    already = _ALREADY_HAS.search(message)
    if already:
        return WriteResult(item.trace_id, "conflict", existing_id=already.group(2), message=message)
    if category == "OBJECT_NOT_FOUND":
        return WriteResult(item.trace_id, "missing", message=message)
    codes = [str(e.get("code")) for e in problems]
    if problems:
        # The per-property results read better than the message, which embeds them as JSON.
        message = "; ".join(str(p.get("message") or p.get("code") or "invalid") for p in problems)
    return WriteResult(
        item.trace_id,
        "error",
        message=message,
        code=next(iter(codes), ""),
        cause=_refusal_cause(problems),
    )


def _refusal_cause(problems: list[dict[str, Any]]) -> str:
    codes = {str(problem.get("code") or "") for problem in problems}
    if "PROPERTY_DOESNT_EXIST" in codes:
        return causes.HUBSPOT_MISSING_PROPERTY
    return causes.HUBSPOT_INVALID_VALUE if codes else causes.HUBSPOT_REFUSED


def current_stamps(
    history: dict[str, Any], current: Mapping[str, str], kinds: Mapping[str, str] = _NO_KINDS
) -> dict[str, tuple[str, datetime]]:
    """When each property got its current value: the newest history entry holding it.

    The newest entry is not always the current value: a merged record keeps both records'
    histories while its values are the primary's (HubSpot changelog, "Updated merge
    functionality"). With no entry holding the current value, the newest entry stands.
    """
    stamps: dict[str, tuple[str, datetime]] = {}
    for name, entries in history.items():
        dated = [
            (moment, canonical(kinds.get(name, ""), normalise(entry.get("value"))))
            for entry in entries or []
            if (moment := parse_time(entry.get("timestamp"))) is not None
        ]
        holding = [item for item in dated if item[1] == current.get(name, "")]
        if holding or dated:
            moment, value = max(holding or dated)
            stamps[name] = (value, moment)
    return stamps


def versions_of(
    history: dict[str, Any], kinds: Mapping[str, str] = _NO_KINDS
) -> dict[str, tuple[Version, ...]]:
    """Every dated version of each property, newest first (HubSpot's order is unconfirmed,
    reference §2: sorted here)."""
    versions: dict[str, tuple[Version, ...]] = {}
    for name, entries in history.items():
        dated = [
            Version(
                canonical(kinds.get(name, ""), normalise(entry.get("value"))),
                moment,
                str(entry.get("sourceType") or ""),
            )
            for entry in entries or []
            if (moment := parse_time(entry.get("timestamp"))) is not None
        ]
        versions[name] = tuple(sorted(dated, key=lambda version: version.at, reverse=True))
    return versions


def record_id(raw: Any) -> str | None:
    """A record's id when it has a usable one (HubSpot's are digits), else ``None``."""
    value = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).isdigit():
        return str(value)
    return None


def parse_contact(raw: Any, kinds: Mapping[str, str] = _NO_KINDS) -> HubSpotContact:
    """A contact as syncer keeps it: values as normalised strings, dates in one spelling.

    A record without a usable id, or with a field of the wrong shape, raises
    :class:`MalformedRecord` naming what is wrong; the client skips and reports it.
    """
    if not isinstance(raw, dict):
        raise MalformedRecord(f"hubspot: a contact in the answer is a {type(raw).__name__}")
    contact_id = record_id(raw)
    if contact_id is None:
        email = (raw.get("properties") or {}).get("email") if isinstance(raw, dict) else None
        raise MalformedRecord(
            f"hubspot: a contact in the answer has no usable id ({raw.get('id')!r}"
            + (f", email {email}" if isinstance(email, str) else "")
            + ")"
        )
    given = raw.get("properties") or {}
    if not isinstance(given, dict):
        raise MalformedRecord(
            f"hubspot: contact {contact_id} has its properties as {type(given).__name__}, "
            "not an object"
        )
    try:
        properties = {
            str(k): canonical(kinds.get(str(k), ""), normalise(v)) for k, v in given.items()
        }
        modified = _time_of(contact_id, "lastmodifieddate", properties, raw, "updatedAt")
        created = _time_of(contact_id, "createdate", properties, raw, "createdAt")
        history = raw.get("propertiesWithHistory") or {}
        return HubSpotContact(
            id=contact_id,
            properties=properties,
            modified=modified or datetime.fromtimestamp(0, UTC),
            created=created,
            archived=bool(raw.get("archived", False)),
            stamps=current_stamps(history, properties, kinds),
            versions=versions_of(history, kinds),
        )
    except (TypeError, ValueError, AttributeError) as error:
        raise MalformedRecord(
            f"hubspot: contact {contact_id} is malformed ({type(error).__name__}: {error})"
        ) from None


def _time_of(
    contact_id: str, name: str, properties: Mapping[str, str], raw: dict[str, Any], fallback: str
) -> datetime | None:
    value = properties.get(name) or raw.get(fallback)
    try:
        return parse_time(value)
    except (TypeError, ValueError, AttributeError):
        raise MalformedRecord(
            f"hubspot: contact {contact_id} has a {name} that is not a time ({str(value)[:40]!r})"
        ) from None
