"""The preferences part of the configuration: ``interests`` (Mailchimp groups) and ``permissions``
(GDPR marketing permissions), each mapped to HubSpot properties.

Names in the file are what people see in Mailchimp (a group's title, an interest's name, a
permission's text), or ids; which ids they are is read from the audience at the start of each run
(:mod:`syncer.run.preferences`), so the resolved ids are filled in there, never written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncer.config.direction import DIRECTIONS, WINNERS, Directed
from syncer.config.validation import Key, Section


@dataclass(frozen=True)
class InterestMapping(Directed):
    """One interest to a boolean property, or (``mailchimp`` unset) a whole group to one
    multiple-checkboxes property whose values are the interests' names."""

    hubspot: str
    category: str
    mailchimp: str | None = None
    direction: str = "both"
    winner: str = "latest"
    #: The interest is an opt-in to mail: on equal timestamps the withdrawal wins, and a blank
    #: HubSpot value is "unknown", never a withdrawal sent to Mailchimp.
    consent: bool = False
    #: Filled in per run: ``(interest id, name)`` of the mapped interest, or of every interest of
    #: the group for a multiple-checkboxes property.
    resolved: tuple[tuple[str, str], ...] = ()
    category_id: str | None = None

    @property
    def whole_category(self) -> bool:
        return self.mailchimp is None


@dataclass(frozen=True)
class PermissionMapping(Directed):
    """One GDPR marketing permission to a boolean property. Always consent: a withdrawal on
    either side wins over stale data, a grant is never invented, ties go to the withdrawal."""

    hubspot: str
    mailchimp: str
    direction: str = "both"
    #: Filled in per run: the permission's ``marketing_permission_id`` in this audience, and
    #: its text (what the journal calls it).
    permission_id: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class PreferencesConfig:
    interests: tuple[InterestMapping, ...] = ()
    permissions: tuple[PermissionMapping, ...] = ()

    @property
    def properties(self) -> list[str]:
        """The HubSpot properties the mappings read, which the contact fetch must ask for."""
        return [mapping.hubspot for mapping in self.mappings]

    @property
    def active(self) -> bool:
        return bool(self.interests or self.permissions)

    @property
    def mappings(self) -> tuple[InterestMapping | PermissionMapping, ...]:
        return (*self.interests, *self.permissions)


INTEREST_SCHEMA: Section = {
    "hubspot": Key(str),
    "category": Key(str),
    "mailchimp": Key(str, default=None, nullable=True),
    "direction": Key(str, default="both", choices=DIRECTIONS),
    "winner": Key(str, default="latest", choices=WINNERS),
    "consent": Key(bool, default=False),
}
PERMISSION_SCHEMA: Section = {
    "hubspot": Key(str),
    "mailchimp": Key(str),
    "direction": Key(str, default="both", choices=DIRECTIONS),
}
SCHEMA: Section = {
    "interests": Key(list, default=[], items=INTEREST_SCHEMA),
    "permissions": Key(list, default=[], items=PERMISSION_SCHEMA),
}


def check(values: dict[str, Any], problems: list[str]) -> None:
    """Rules across keys: each HubSpot property is one mapping's alone; one mapping per interest
    or permission; consent interests are decided by the newer side."""
    used = _used_elsewhere(values)
    seen_mailchimp: dict[tuple[str, str | None], str] = {}
    for section in ("interests", "permissions"):
        for index, mapping in enumerate(values.get(section) or []):
            if not isinstance(mapping, dict) or not mapping.get("hubspot"):
                continue
            where = f"{section}[{index}]"
            name = mapping["hubspot"]
            if name in used:
                problems.append(f"{where}.hubspot: {name} is already used by {used[name]}")
            used.setdefault(name, where)
            target = (
                (f"category:{mapping.get('category')}", mapping.get("mailchimp"))
                if section == "interests"
                else ("permission", mapping.get("mailchimp"))
            )
            if target in seen_mailchimp:
                problems.append(
                    f"{where}: maps the same Mailchimp value as {seen_mailchimp[target]}"
                )
            seen_mailchimp.setdefault(target, where)
            if section == "interests":
                _check_interest(mapping, where, problems)
    _check_groups(values.get("interests") or [], problems)


def _check_interest(mapping: dict[str, Any], where: str, problems: list[str]) -> None:
    if not mapping.get("consent"):
        return
    if mapping.get("mailchimp") is None:
        problems.append(
            f"{where}.consent: only for one interest (mailchimp: its name), not a whole group"
        )
    if mapping.get("winner", "latest") != "latest":
        problems.append(
            f"{where}.winner: an opt-in interest (consent: true) is decided by the newer side; "
            "remove winner"
        )


def _check_groups(mappings: list[Any], problems: list[str]) -> None:
    """A group mapped whole writes every one of its interests: none may be mapped alone too."""
    whole = {
        m.get("category"): index
        for index, m in enumerate(mappings)
        if isinstance(m, dict) and m.get("mailchimp") is None
    }
    for index, m in enumerate(mappings):
        if isinstance(m, dict) and m.get("mailchimp") is not None and m.get("category") in whole:
            problems.append(
                f"interests[{index}].category: group {m['category']} is mapped whole by "
                f"interests[{whole[m['category']]}], which writes each of its interests"
            )


def _used_elsewhere(values: dict[str, Any]) -> dict[str, str]:
    subscription = values.get("subscription") or {}
    used = {
        subscription.get("hubspot_property"): "subscription.hubspot_property",
        subscription.get("status_property"): "subscription.status_property",
        (values.get("tags_to_hubspot") or {}).get("property"): "tags_to_hubspot.property",
        "email": "syncer itself (the address)",
    }
    for index, mapping in enumerate(values.get("fields") or []):
        if isinstance(mapping, dict):
            used.setdefault(mapping.get("hubspot"), f"fields[{index}]")
    return {str(name): where for name, where in used.items() if name}


def build(values: dict[str, Any]) -> PreferencesConfig:
    return PreferencesConfig(
        interests=tuple(
            InterestMapping(
                hubspot=m["hubspot"],
                category=str(m["category"]),
                mailchimp=None if m["mailchimp"] is None else str(m["mailchimp"]),
                direction=m["direction"],
                winner=m["winner"],
                consent=m["consent"],
            )
            for m in values["interests"]
        ),
        permissions=tuple(
            PermissionMapping(m["hubspot"], str(m["mailchimp"]), m["direction"])
            for m in values["permissions"]
        ),
    )
