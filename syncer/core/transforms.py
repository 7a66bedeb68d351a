"""Value conversions between a HubSpot property and a Mailchimp merge field.

Values are compared as normalised strings: HubSpot sends every value as a string (``null`` when
empty), Mailchimp sends ``""`` for empty and numbers as numbers. A transform maps one side's
representation onto the other's; comparing a HubSpot value converted ``to_mailchimp`` with the
Mailchimp value is how the reconciler decides whether the sides agree.
"""

from __future__ import annotations

import re
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
        fmt = mapping.date_format or ISO_DATE

        def to_mailchimp(value: str) -> str:
            return in_date_format(as_date(value), fmt)

        def to_hubspot(value: str) -> str:
            return as_date(from_date_format(value, fmt))

        return Conversion(_non_empty(to_mailchimp), _non_empty(to_hubspot))
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


ISO_DATE = "YYYY-MM-DD"
_DATE_PART = re.compile(r"(YYYY|MM|DD)")
_DATE_GROUPS = {"YYYY": r"(?P<YYYY>\d{4})", "MM": r"(?P<MM>\d{2})", "DD": r"(?P<DD>\d{2})"}


def in_date_format(iso: str, fmt: str) -> str:
    """An ISO date written in a Mailchimp field's ``date_format`` (``MM/DD/YYYY``, ``DD/MM``...).

    Mailchimp takes a date only in its field's format (reference §12.3). A value that is no ISO
    date is passed through, so the vendor's own validation reports it.
    """
    found = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", iso)
    if found is None or fmt == ISO_DATE:
        return iso
    parts = {"YYYY": found.group(1), "MM": found.group(2), "DD": found.group(3)}
    return "".join(parts.get(piece, piece) for piece in _DATE_PART.split(fmt))


def from_date_format(text: str, fmt: str) -> str:
    """A value in a field's ``date_format`` as an ISO date; a birthday (no year), or a value not
    in the format, is passed through as it is."""
    pattern = "".join(_DATE_GROUPS.get(piece, re.escape(piece)) for piece in _DATE_PART.split(fmt))
    found = re.fullmatch(pattern, text.strip())
    if found is None or "YYYY" not in found.groupdict():
        return text
    return f"{found['YYYY']}-{found['MM']}-{found['DD']}"
