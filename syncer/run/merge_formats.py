"""The date formats of Mailchimp's merge fields, read once a run, for the `date` transforms.

Mailchimp takes a date merge value only in its field's own ``options.date_format``
(``MM/DD/YYYY``, ``DD/MM/YYYY``, ``MM/DD`` for a birthday; reference §12.3), and returns it so.
The format is a setting of the audience, which someone may change at any time, so it is read at
the start of every run that maps a date, never assumed: one call, and only then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from syncer.config import Config
from syncer.connectors.mailchimp.client import MergeField


def with_date_formats(config: Config, read: Callable[[], Iterable[MergeField]]) -> Config:
    """``config`` with each date mapping's Mailchimp ``date_format`` filled in; ``read`` is
    called only when a mapping needs a format."""
    if not any(mapping.transform == "date" for mapping in config.fields):
        return config
    formats = {field.tag: field.date_format for field in read()}
    return replace(
        config,
        fields=tuple(
            replace(mapping, date_format=formats.get(mapping.mailchimp) or None)
            if mapping.transform == "date"
            else mapping
            for mapping in config.fields
        ),
    )
