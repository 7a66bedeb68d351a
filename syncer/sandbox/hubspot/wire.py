"""HubSpot's wire conventions: how its API reads parameters and bodies and shows contacts.

Shared by every endpoint so that they agree on the details: property lists come as repeated or
comma-separated parameters, values are strings, a requested property with no value is ``null``, a
requested name that is not a property is left out, timestamps are ISO 8601 with milliseconds and
``Z``, and JSON answers carry HubSpot's exact content type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncer.sandbox.hubspot.errors import CONTENT_TYPE, api_error
from syncer.sandbox.hubspot.props import DEFAULT_NAMES, PropertyDef, ms_iso, stored_number
from syncer.sandbox.hubspot.store import Contact, Record, Version
from syncer.sandbox.server import Request, Response


def reply(payload: Any, status: int = 200) -> Response:
    """A JSON answer with HubSpot's exact content type."""
    return Response.json(payload, status, content_type=CONTENT_TYPE)


def names_param(raw: Iterable[Any] | str | None) -> list[str] | None:
    """Property names from repeated parameters, comma-separated ones, or a JSON list of either."""
    if raw is None:
        return None
    items = [raw] if isinstance(raw, str) else raw
    names = [name.strip() for item in items for name in str(item).split(",")]
    return [name for name in names if name] or None


def json_object(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise api_error(400, "VALIDATION_ERROR", "Invalid input JSON: expected an object")
    return body


def properties_of(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``properties`` object of a write body or batch input."""
    raw = item.get("properties")
    if not isinstance(raw, dict):
        raise api_error(400, "VALIDATION_ERROR", "Invalid input JSON: properties must be an object")
    return raw


def flag(request: Request, name: str) -> bool:
    return (request.arg(name) or "false").lower() == "true"


def integer(raw: str | None, name: str) -> int:
    if raw is None or not raw.strip().isdigit():
        raise api_error(400, "VALIDATION_ERROR", f"{name} must be a non-negative integer")
    return int(raw)


def render(
    record: Record,
    names: Iterable[str] | None,
    known: Mapping[str, PropertyDef],
    *,
    history: Contact | None = None,
    history_names: Iterable[str] = (),
    epoch_dates: bool = False,
) -> dict[str, Any]:
    """A contact as HubSpot shows it; ``epoch_dates`` shows date and datetime values as
    epoch-millisecond strings, as HubSpot has been recorded to (reference §12.5)."""
    values = record.values
    shown = (lambda name, value: _epoch(known[name], value)) if epoch_dates else _as_stored
    body: dict[str, Any] = {
        "id": str(record.id),
        "properties": {
            name: shown(name, values.get(name))
            for name in (names or DEFAULT_NAMES)
            if name in known
        },
        "createdAt": ms_iso(record.created),
        "updatedAt": ms_iso(record.updated),
        "archived": record.archived_at is not None,
    }
    if record.archived_at is not None:
        body["archivedAt"] = ms_iso(record.archived_at)
    if history is not None:
        body["propertiesWithHistory"] = {
            name: [
                _version(entry, shown(name, entry.value)) for entry in history.history.get(name, [])
            ]
            for name in history_names
            if name in known
        }
    return body


def written(
    contact: Contact,
    changes: Mapping[str, str],
    known: Mapping[str, PropertyDef],
    *,
    created: bool = False,
    epoch_dates: bool = False,
) -> dict[str, Any]:
    """The answer to a write: the written properties plus the ones HubSpot always echoes."""
    echoed = ["hs_object_id", "lastmodifieddate", *(["createdate"] if created else [])]
    names = dict.fromkeys([*changes, *echoed])
    return render(contact.state, names, known, epoch_dates=epoch_dates)


def _as_stored(name: str, value: str | None) -> str | None:
    return value


def _epoch(prop: PropertyDef, value: str | None) -> str | None:
    """A stored date (``YYYY-MM-DD``) or datetime (ISO) as epoch milliseconds, else as stored."""
    if not value or prop.type not in ("date", "datetime"):
        return value
    number = stored_number(prop.type, value)
    return value if number is None else str(int(number))


def _version(entry: Version, value: str | None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "value": value,
        "timestamp": ms_iso(entry.at),
        "sourceType": entry.source_type,
    }
    if entry.source_id:
        shown["sourceId"] = entry.source_id
        if entry.source_id.startswith("userId:"):
            shown["updatedByUserId"] = int(entry.source_id.removeprefix("userId:"))
    return shown
