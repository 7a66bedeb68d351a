"""The engagement part of the configuration: what people did with the newsletters, into HubSpot.

Kept beside :mod:`syncer.config` (which builds it into :class:`~syncer.config.Config`) like the
segment rules. Off by default: it reads every recent campaign's activity, which costs calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from syncer.config.validation import Key, Section

#: What can be recorded, in the order a note tells it.
RECORDABLE = ("send", "open", "click", "bounce", "unsubscribe", "abuse")
DEFAULT_RECORD = ["open", "click", "bounce", "unsubscribe"]
TIMELINES = ("notes", "none")
#: The contact properties syncer writes, by config key, with their HubSpot type and label.
PROPERTIES: dict[str, tuple[str, str, str, str]] = {
    # key: (default name, type, fieldType, label)
    "last_open": ("mailchimp_last_open", "datetime", "date", "Last Mailchimp open"),
    "last_click": ("mailchimp_last_click", "datetime", "date", "Last Mailchimp click"),
    "last_bounce": ("mailchimp_last_bounce", "datetime", "date", "Last Mailchimp bounce"),
    "last_campaign": ("mailchimp_last_campaign", "string", "text", "Last Mailchimp campaign"),
    "opens": ("mailchimp_opens_90d", "number", "number", "Mailchimp opens (window)"),
    "clicks": ("mailchimp_clicks_90d", "number", "number", "Mailchimp clicks (window)"),
}
#: HubSpot's internal names: lower-case letters, digits and underscores, starting with a letter.
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


@dataclass(frozen=True)
class EngagementConfig:
    enabled: bool
    campaign_days: float
    every_minutes: float
    record: frozenset[str]
    timeline: str
    #: HubSpot property name by key (:data:`PROPERTIES`); a key set to null is not written.
    properties: dict[str, str]
    count_days: float
    group: str
    group_label: str

    @property
    def notes(self) -> bool:
        return self.enabled and self.timeline == "notes"

    def property_spec(self, key: str) -> tuple[str, str, str]:
        """(type, fieldType, label) of the property behind ``key``, for `check --fix`."""
        _, kind, field_type, label = PROPERTIES[key]
        if key in ("opens", "clicks"):
            label = f"{label.removesuffix(' (window)')} in {self.count_days:g} days"
        return kind, field_type, label


SCHEMA: Section = {
    "engagement": {
        "enabled": Key(bool, default=False),
        "campaign_days": Key(float, default=30.0, minimum=1, maximum=3650),
        "every_minutes": Key(float, default=60.0, minimum=0),
        "record": Key(list, default=DEFAULT_RECORD),
        "timeline": Key(str, default="notes", choices=TIMELINES),
        "properties": {
            key: Key(str, default=default, nullable=True)
            for key, (default, *_rest) in PROPERTIES.items()
        },
        "count_days": Key(float, default=90.0, minimum=1, maximum=3650),
        "group": Key(str, default="mailchimp_engagement"),
        "group_label": Key(str, default="Mailchimp engagement"),
    },
}


def check(values: dict[str, Any], problems: list[str]) -> None:
    """The rules a schema cannot say: known actions, valid and unshared property names."""
    section = values.get("engagement") or {}
    record = section.get("record")
    if isinstance(record, list):
        if not record:
            problems.append("engagement.record: name at least one of " + ", ".join(RECORDABLE))
        for index, action in enumerate(record):
            if action not in RECORDABLE:
                problems.append(
                    f"engagement.record[{index}]: must be one of {', '.join(RECORDABLE)} "
                    f"(got {action!r})"
                )
        if len(set(map(str, record))) != len(record):
            problems.append("engagement.record: names an action twice")
    group = section.get("group")
    if isinstance(group, str) and not _NAME.match(group):
        problems.append(
            f"engagement.group: must be a HubSpot internal name: lower-case letters, digits "
            f"and _, starting with a letter (got {group!r})"
        )
    _check_properties(values, section.get("properties") or {}, problems)


def _check_properties(values: dict[str, Any], named: dict[str, Any], problems: list[str]) -> None:
    """Each engagement property is a valid name, syncer's alone (nothing else maps it)."""
    used = _used_elsewhere(values)
    mine: dict[str, str] = {}
    for key, name in named.items():
        if not isinstance(name, str):
            continue
        where = f"engagement.properties.{key}"
        if not _NAME.match(name):
            problems.append(
                f"{where}: must be a HubSpot internal name: lower-case letters, digits and _, "
                f"starting with a letter (got {name!r})"
            )
        elif name in used:
            problems.append(
                f"{where}: {name} is already used by {used[name]}; engagement needs "
                "properties of its own"
            )
        elif name in mine:
            problems.append(f"{where}: {name} is also engagement.properties.{mine[name]}")
        mine.setdefault(name, key)


def _used_elsewhere(values: dict[str, Any]) -> dict[str, str]:
    subscription = values.get("subscription") or {}
    mirror = values.get("tags_to_hubspot") or {}
    used = {
        "email": "the email",
        subscription.get("hubspot_property"): "subscription.hubspot_property",
        subscription.get("status_property"): "subscription.status_property",
        mirror.get("property"): "tags_to_hubspot.property",
    }
    for section in ("fields", "interests", "permissions"):
        for index, mapping in enumerate(values.get(section) or []):
            if isinstance(mapping, dict):
                used.setdefault(mapping.get("hubspot"), f"{section}[{index}]")
    return {str(name): where for name, where in used.items() if name}


def build(values: dict[str, Any]) -> EngagementConfig:
    section = values["engagement"]
    return EngagementConfig(
        enabled=section["enabled"],
        campaign_days=section["campaign_days"],
        every_minutes=section["every_minutes"],
        record=frozenset(section["record"]),
        timeline=section["timeline"],
        properties={k: v for k, v in section["properties"].items() if v is not None},
        count_days=section["count_days"],
        group=section["group"],
        group_label=section["group_label"],
    )
