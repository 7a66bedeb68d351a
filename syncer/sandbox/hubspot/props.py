"""HubSpot contact properties: their definitions and how HubSpot validates and stores values.

Every value travels and is stored as a string. Normalising turns what a client may send into the
one string HubSpot keeps: numbers keep their decimal text (``1e-14`` is refused, as HubSpot refuses
it), booleans are ``"true"``/``"false"``, datetimes become ISO 8601 with milliseconds and ``Z``,
dates become ``YYYY-MM-DD`` and emails are lower-cased (see ``identity``). HubSpot's docs disagree
on how dates come back (ISO or an epoch-ms string); the simulator answers ``YYYY-MM-DD`` and
accepts both forms on input. ``""`` clears.
Error codes and messages copy recorded HubSpot answers (``INVALID_INTEGER``, ``INVALID_OPTION``,
``INVALID_DATE``, ``PROPERTY_DOESNT_EXIST``); ``READ_ONLY_VALUE`` and ``INVALID_LONG`` (a bad
datetime) are the simulator's best guess. As HubSpot does, creating a ``bool`` property requires
exactly the options ``true`` and ``false``; ``hs_email_optout`` is read-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from syncer.sandbox.clock import iso_millis, parse_iso
from syncer.sandbox.hubspot.errors import api_error
from syncer.sandbox.hubspot.identity import valid_email

FIELD_TYPES: dict[str, frozenset[str]] = {
    "string": frozenset(
        {"text", "textarea", "file", "html", "phonenumber", "calculation_equation"}
    ),
    "number": frozenset({"number", "calculation_equation"}),
    "bool": frozenset({"booleancheckbox", "calculation_equation"}),
    "enumeration": frozenset(
        {"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"}
    ),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
}
NUMERIC_TYPES = frozenset({"number", "date", "datetime"})
#: Derived from the record itself; nobody writes them, not even the UI or a seed.
INTRINSIC = frozenset({"createdate", "lastmodifieddate", "hs_object_id"})
DEFAULT_NAMES = ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname")
MAX_TEXT = 65536
_DAY_MS = 86_400_000
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_EPOCH = re.compile(r"-?\d+")


class InvalidValue(ValueError):
    """A value HubSpot would refuse for its property; ``code`` is HubSpot's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Option:
    label: str
    value: str
    display_order: int = 0
    hidden: bool = False
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "displayOrder": self.display_order,
            "hidden": self.hidden,
            "description": self.description,
        }


@dataclass(frozen=True)
class PropertyDef:
    name: str
    label: str
    type: str
    field_type: str
    group_name: str = "contactinformation"
    description: str = ""
    options: tuple[Option, ...] = ()
    read_only: bool = False
    hubspot_defined: bool = False
    created_at: int = 0
    allowed: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed", frozenset(option.value for option in self.options))

    def to_json(self) -> dict[str, Any]:
        """The ``Property`` object, with every field the SDK's model insists on."""
        stamp = ms_iso(self.created_at)
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": [option.to_json() for option in self.options],
            "displayOrder": -1,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": False,
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "formField": not self.read_only,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }


def _options(*values: str) -> tuple[Option, ...]:
    return tuple(
        Option(value.replace("_", " ").title(), value, i) for i, value in enumerate(values)
    )


BOOL_OPTIONS = (Option("Yes", "true", 0), Option("No", "false", 1))


def _default(
    name: str,
    label: str,
    kind: str = "string",
    field_type: str = "text",
    options: tuple[Option, ...] = (),
    *,
    read_only: bool = False,
) -> PropertyDef:
    return PropertyDef(
        name, label, kind, field_type, options=options, read_only=read_only, hubspot_defined=True
    )


DEFAULT_PROPERTIES = (
    _default("email", "Email"),
    _default("firstname", "First Name"),
    _default("lastname", "Last Name"),
    _default("phone", "Phone Number", field_type="phonenumber"),
    _default("mobilephone", "Mobile Phone Number", field_type="phonenumber"),
    _default("company", "Company Name"),
    _default("website", "Website URL"),
    _default("address", "Street Address"),
    _default("city", "City"),
    _default("state", "State/Region"),
    _default("zip", "Postal Code"),
    _default("country", "Country/Region"),
    _default("jobtitle", "Job Title"),
    _default(
        "lifecyclestage",
        "Lifecycle Stage",
        "enumeration",
        "radio",
        _options(
            "subscriber",
            "lead",
            "marketingqualifiedlead",
            "salesqualifiedlead",
            "opportunity",
            "customer",
            "evangelist",
            "other",
        ),
    ),
    _default(
        "hs_lead_status",
        "Lead Status",
        "enumeration",
        "radio",
        _options("NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT"),
    ),
    _default("createdate", "Create Date", "datetime", "date", read_only=True),
    _default("lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
    _default("hs_object_id", "Record ID", "number", "number", read_only=True),
    _default("hs_additional_emails", "Additional email addresses", field_type="textarea"),
    _default("hs_merged_object_ids", "Merged Contact IDs", read_only=True),
    _default(
        "hs_email_optout",
        "Unsubscribed from all email",
        "bool",
        "booleancheckbox",
        BOOL_OPTIONS,
        read_only=True,
    ),
    # HubSpot sets it from logged sales activity; its definition has readOnlyValue true (a
    # recorded properties listing in the tests of hull/hull-connectors, packages/connectors/
    # hull-hubspot). syncer can only read it: a mapping of it must be to_mailchimp.
    _default("notes_last_contacted", "Last Contacted", "datetime", "date", read_only=True),
)


def parse_definition(payload: Any, now_ms: int) -> PropertyDef:
    """A custom property from a ``POST /crm/v3/properties/contacts`` body, checked like HubSpot."""
    if not isinstance(payload, dict):
        raise api_error(400, "VALIDATION_ERROR", "Invalid input JSON: expected an object")
    required = ("name", "label", "type", "fieldType", "groupName")
    missing = [key for key in required if not isinstance(payload.get(key), str) or not payload[key]]
    if missing:
        raise api_error(
            400, "VALIDATION_ERROR", f"Some required fields were not set: [{', '.join(missing)}]"
        )
    kind, field_type = payload["type"], payload["fieldType"]
    if kind not in FIELD_TYPES:
        raise api_error(400, "VALIDATION_ERROR", f"Unknown property type: {kind}")
    if field_type not in FIELD_TYPES[kind]:
        raise api_error(
            400, "VALIDATION_ERROR", f"Field type {field_type} is not valid for type {kind}"
        )
    given = payload.get("options") or []
    if not isinstance(given, list) or not all(
        isinstance(raw, dict)
        and isinstance(raw.get("label"), str)
        and isinstance(raw.get("value"), str)
        for raw in given
    ):
        raise api_error(400, "VALIDATION_ERROR", "Each option needs a string label and value")
    options = tuple(
        Option(
            str(raw["label"]),
            str(raw["value"]),
            int(raw.get("displayOrder", i)),
            bool(raw.get("hidden", False)),
            str(raw.get("description", "")),
        )
        for i, raw in enumerate(given)
    )
    if kind == "bool" and {option.value for option in options} != {"true", "false"}:
        raise api_error(
            400,
            "VALIDATION_ERROR",
            "Boolean properties must have exactly two options; "
            "one with a value of 'true', the other with a value of 'false'.",
        )
    return PropertyDef(
        payload["name"],
        payload["label"],
        kind,
        field_type,
        group_name=payload["groupName"],
        description=str(payload.get("description") or ""),
        options=options,
        created_at=now_ms,
    )


def seeded_definition(payload: dict[str, Any], now_ms: int) -> PropertyDef:
    """A property from ``/_sim/seed``: lenient (booleans get Yes/No options when none are given)."""
    options = [
        raw if isinstance(raw, dict) else {"label": str(raw), "value": str(raw)}
        for raw in payload.get("options") or []
    ]
    if payload.get("type") == "bool" and not options:
        options = [option.to_json() for option in BOOL_OPTIONS]
    defaults = {"label": payload.get("name"), "groupName": "contactinformation"}
    return parse_definition({**defaults, **payload, "options": options}, now_ms)


def normalize(prop: PropertyDef, raw: Any, current: str | None) -> str:
    """The string HubSpot stores for ``raw`` (``""`` clears), or :class:`InvalidValue`."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        text = "true" if raw else "false"
    elif isinstance(raw, int | float):
        text = repr(raw)
    elif isinstance(raw, str):
        text = raw
    else:
        raise InvalidValue("INVALID_PROPERTY_VALUE", f"{raw!r} is not a valid property value.")
    if text == "":
        return ""
    checker = _CHECKERS.get(prop.type)
    return checker(prop, text, current) if checker else _string(prop, text, current)


def _string(prop: PropertyDef, text: str, current: str | None) -> str:
    if len(text) > MAX_TEXT:
        raise InvalidValue("MAX_LENGTH_EXCEEDED", f"Value is longer than {MAX_TEXT} characters.")
    if prop.name == "email":
        text = text.strip()
        if not valid_email(text):
            raise InvalidValue("INVALID_EMAIL", f"Email address {text} is invalid")
        return text.lower()
    if prop.name == "hs_additional_emails":
        for part in filter(None, text.split(";")):
            if not valid_email(part.strip()):
                raise InvalidValue("INVALID_EMAIL", f"Email address {part} is invalid")
        return text.lower()
    return text


def _number(prop: PropertyDef, text: str, current: str | None) -> str:
    if not _NUMBER.fullmatch(text.strip()):
        raise InvalidValue("INVALID_INTEGER", f"{text} was not a valid number.")
    return text.strip()


def _option_error(prop: PropertyDef, text: str) -> InvalidValue:
    allowed = ", ".join(option.value for option in prop.options)
    return InvalidValue("INVALID_OPTION", f"{text} was not one of the allowed options: [{allowed}]")


def _choice(prop: PropertyDef, text: str, current: str | None) -> str:
    if prop.field_type != "checkbox":
        if text not in prop.allowed:
            raise _option_error(prop, text)
        return text
    # Multi-checkbox: ";"-separated; a leading ";" appends to the current values.
    chosen = [part for part in text.split(";") if part]
    for part in chosen:
        if part not in prop.allowed:
            raise _option_error(prop, part)
    if text.startswith(";") and current:
        chosen = current.split(";") + chosen
    return ";".join(dict.fromkeys(chosen))


def _instant(text: str) -> int:
    """Epoch ms from an epoch-ms string or any ISO 8601 form."""
    if _EPOCH.fullmatch(text):
        return int(text)
    return to_ms(parse_iso(text))


def _date(prop: PropertyDef, text: str, current: str | None) -> str:
    try:
        ms = _instant(text.strip())
    except ValueError:
        raise InvalidValue("INVALID_DATE", f"{text} is not a valid date.") from None
    if ms % _DAY_MS:
        moment = datetime.fromtimestamp(ms / 1000, UTC)
        clock = moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
        raise InvalidValue("INVALID_DATE", f"{text} is at {clock} UTC, not midnight!")
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def _datetime(prop: PropertyDef, text: str, current: str | None) -> str:
    try:
        return ms_iso(_instant(text.strip()))
    except (ValueError, OverflowError, OSError):
        raise InvalidValue("INVALID_LONG", f"{text} was not a valid long.") from None


def _bool(prop: PropertyDef, text: str, current: str | None) -> str:
    if text not in ("true", "false"):
        raise _option_error(prop, text)
    return text


_CHECKERS = {
    "number": _number,
    "enumeration": _choice,
    "date": _date,
    "datetime": _datetime,
    "bool": _bool,
}


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@lru_cache(maxsize=65536)
def ms_iso(ms: int) -> str:
    """HubSpot's timestamp format (ISO 8601, milliseconds, ``Z``) for epoch milliseconds."""
    return iso_millis(datetime.fromtimestamp(ms / 1000, UTC))


@lru_cache(maxsize=65536)
def stored_number(kind: str, text: str) -> float | None:
    """A stored value as a number for comparing and sorting (``None`` if it is not one)."""
    try:
        if kind == "date":
            return float(
                to_ms(datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC))
            )
        if kind == "datetime":
            return float(_instant(text))
        return float(text)
    except ValueError:
        return None


def filter_number(kind: str, raw: Any) -> float:
    """A search filter value as a number: epoch ms (or ISO) for dates and datetimes."""
    text = str(raw).strip()
    if kind == "number":
        return float(text)
    return float(_instant(text))
