"""Value conversions between a HubSpot property and a Mailchimp merge field.

Values are compared as normalised strings: HubSpot sends every value as a string (``null`` when
empty), Mailchimp sends ``""`` for empty and numbers as numbers. A transform maps one side's
representation onto the other's; comparing a HubSpot value converted ``to_mailchimp`` with the
Mailchimp value is how the reconciler decides whether the sides agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from syncer.config import FieldMapping

_TRUE = frozenset({"true", "yes", "1", "y", "on"})
_FALSE = frozenset({"false", "no", "0", "n", "off"})


def normalise(value: Any) -> str:
    """One representation for every remote value: ``None`` is empty, ``5.0`` is ``5``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


Convert = Callable[[str], str]


@dataclass(frozen=True)
class Conversion:
    """How one mapping's values cross between the sides, chosen once per mapping.

    The reconciler converts every mapped value of every contact it decides, so the choice of
    conversion is made when the rules are built, not per value.
    """

    to_mailchimp: Convert
    to_hubspot: Convert
    #: Both conversions leave every value as it is: the sides agree when the values are equal.
    plain: bool = False


def conversion(mapping: FieldMapping) -> Conversion:
    if mapping.values:
        reverse = {mailchimp: hubspot for hubspot, mailchimp in mapping.values.items()}
        return Conversion(_lookup(dict(mapping.values)), _lookup(reverse))
    if mapping.transform == "date":
        return Conversion(_non_empty(as_date), _non_empty(as_date))
    if mapping.transform == "boolean":
        return Conversion(_flag("Yes", "No"), _flag("true", "false"))
    return Conversion(_unchanged, _unchanged, plain=True)


def _unchanged(value: str) -> str:
    return value


def _lookup(table: dict[str, str]) -> Convert:
    """Mapped values translate; anything else passes through for the vendor to judge."""
    return lambda value: table.get(value, value) if value else ""


def _non_empty(convert: Convert) -> Convert:
    return lambda value: convert(value) if value else ""


def _flag(true: str, false: str) -> Convert:
    def convert(value: str) -> str:
        flag = as_bool(value) if value else None
        return value if flag is None else (true if flag else false)

    return convert


def as_bool(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def as_date(value: str) -> str:
    """``YYYY-MM-DD`` from a date, an ISO datetime or epoch milliseconds (HubSpot sends all three).

    A value that is none of them is passed through, so the vendor's own validation reports it.
    """
    text = value.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC).date().isoformat()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


def canonical(kind: str, value: str) -> str:
    """One spelling of a HubSpot ``date`` or ``datetime`` value, whichever HubSpot answered.

    HubSpot answers dates as ``YYYY-MM-DD`` or epoch milliseconds, and datetimes as ISO 8601 or
    epoch milliseconds (reference §12.5), even for one property across calls. Values compare
    equal only in one form: dates as ``YYYY-MM-DD``, datetimes as ISO 8601 UTC with milliseconds
    and ``Z``, HubSpot's documented output. Other kinds, empty values and values that are no
    date at all pass through unchanged.
    """
    if not value or kind not in ("date", "datetime"):
        return value
    if kind == "date":
        return as_date(value)
    text = value.strip()
    try:
        if text.isdigit():
            moment = datetime.fromtimestamp(int(text) / 1000, UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return value
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
