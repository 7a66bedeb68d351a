"""Date and birthday merge values, in the field's own ``options.date_format``.

Mailchimp takes a date merge value only in the format its field is set to (e.g. ``MM/DD/YYYY``)
and answers anything else with "Please enter the date", and a birthday it cannot read with
"Please enter a month (01-12) and a day (01-31)" (reference §12.3; observed answers in
ibericode/mailchimp-for-wordpress #662 and mailchimp/mc-magento2 #987, where a ``YYYY-MM-DD``
value sent to an ``MM/DD`` birthday was refused). Values are returned as they were stored, in
the field's format.

Where the reference is silent, the simulator's choice: a field created without a format gets
``YYYY-MM-DD`` (date) or ``MM/DD`` (birthday).
"""

from __future__ import annotations

import re
from datetime import date

DATE_MESSAGE = "Please enter the date"
BIRTHDAY_MESSAGE = "Please enter a month (01-12) and a day (01-31)"
DEFAULT_FORMATS = {"date": "YYYY-MM-DD", "birthday": "MM/DD"}
DATE_FORMATS = ("MM/DD/YYYY", "DD/MM/YYYY", "YYYY-MM-DD")
BIRTHDAY_FORMATS = ("MM/DD", "DD/MM")
_TOKENS = {"YYYY": r"(?P<year>\d{4})", "MM": r"(?P<month>\d{2})", "DD": r"(?P<day>\d{2})"}


def field_format(kind: str, options: dict[str, object]) -> str:
    """The format a date or birthday field takes; one it does not know falls back to the default."""
    known = DATE_FORMATS if kind == "date" else BIRTHDAY_FORMATS
    chosen = str(options.get("date_format") or "")
    return chosen if chosen in known else DEFAULT_FORMATS[kind]


def check_date(kind: str, text: str, options: dict[str, object]) -> str | None:
    """``None`` when ``text`` is a valid value for the field, else Mailchimp's message."""
    found = _pattern(field_format(kind, options)).match(text)
    if kind == "birthday":
        valid = (
            found is not None and 1 <= int(found["month"]) <= 12 and 1 <= int(found["day"]) <= 31
        )
        return None if valid else BIRTHDAY_MESSAGE
    if found is None:
        return DATE_MESSAGE
    try:
        date(int(found["year"]), int(found["month"]), int(found["day"]))
    except ValueError:
        return DATE_MESSAGE
    return None


def _pattern(fmt: str) -> re.Pattern[str]:
    parts = re.split(r"(YYYY|MM|DD)", fmt)
    return re.compile("^" + "".join(_TOKENS.get(part, re.escape(part)) for part in parts) + "$")
