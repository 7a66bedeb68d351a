"""The segments part of the configuration: ``tags``, ``tags_to_hubspot``, ``scope``, ``segments``.

Kept beside :mod:`syncer.config` (which builds it into :class:`~syncer.config.Config`) so the
contact sync's settings and the segment rules each fit in a file one can read at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncer.config.validation import Key, Section

ON_LEAVE = ("keep", "untag", "unsubscribe", "archive")


@dataclass(frozen=True)
class HubSpotCondition:
    """Who a rule means on the HubSpot side: members of a list, or a property with a value."""

    hubspot_list: str | None = None
    hubspot_property: str | None = None
    value: str | None = None

    @property
    def describe(self) -> str:
        if self.hubspot_list is not None:
            return f"HubSpot list {self.hubspot_list!r}"
        return f"HubSpot {self.hubspot_property} = {self.value!r}"


@dataclass(frozen=True)
class TagRule:
    condition: HubSpotCondition
    tag: str


@dataclass(frozen=True)
class ScopeConfig:
    hubspot: HubSpotCondition | None
    mailchimp_tag: str | None
    on_leave: str

    @property
    def limited(self) -> bool:
        return self.hubspot is not None or self.mailchimp_tag is not None


@dataclass(frozen=True)
class TagMirror:
    """Members' tags mirrored into one HubSpot multi-checkbox property (``tags_to_hubspot``)."""

    property: str
    #: The tags to mirror; ``None``: every tag.
    only: frozenset[str] | None

    def mirrored(self, tags: frozenset[str] | tuple[str, ...]) -> list[str]:
        """The member's tags the property holds, sorted. A tag with ``;`` in its name cannot be
        one value of a multi-checkbox (HubSpot separates values with ``;``), so it is left out."""
        chosen = (t for t in tags if ";" not in t and (self.only is None or t in self.only))
        return sorted(set(chosen))


@dataclass(frozen=True)
class SegmentsConfig:
    tags: tuple[TagRule, ...]
    scope: ScopeConfig
    list_read_minutes: float
    mirror: TagMirror | None = None

    @property
    def lists(self) -> list[str]:
        """Every HubSpot list a rule names (as configured: a name or an id), once each."""
        named = [rule.condition.hubspot_list for rule in self.tags]
        named.append(self.scope.hubspot.hubspot_list if self.scope.hubspot else None)
        return sorted({name for name in named if name is not None})

    @property
    def properties(self) -> list[str]:
        """HubSpot properties the rules read, which the contact fetch must ask for."""
        named = [rule.condition.hubspot_property for rule in self.tags]
        named.append(self.scope.hubspot.hubspot_property if self.scope.hubspot else None)
        return sorted({name for name in named if name is not None})

    @property
    def managed_tags(self) -> list[str]:
        return sorted({rule.tag for rule in self.tags})

    @property
    def active(self) -> bool:
        """Whether the tag and scope passes run (the mirror rides on the contact sync)."""
        return bool(self.tags) or self.scope.limited


TAG_SCHEMA: Section = {
    "hubspot_list": Key(str, default=None, nullable=True),
    "hubspot_property": Key(str, default=None, nullable=True),
    "value": Key(str, default=None, nullable=True),
    "mailchimp_tag": Key(str),
}

SCHEMA: Section = {
    "tags": Key(list, default=[], items=TAG_SCHEMA),
    "tags_to_hubspot": {
        "property": Key(str, default=None, nullable=True),
        "only": Key(list, default=None, nullable=True),
    },
    "scope": {
        "hubspot_list": Key(str, default=None, nullable=True),
        "hubspot_filter": {
            "property": Key(str, default=None, nullable=True),
            "value": Key(str, default=None, nullable=True),
        },
        "mailchimp_tag": Key(str, default=None, nullable=True),
        "on_leave": Key(str, default="keep", choices=ON_LEAVE),
    },
    "segments": {
        "list_read_minutes": Key(float, default=15.0, minimum=0),
    },
}


def check(values: dict[str, Any], problems: list[str]) -> None:
    """The rules a schema cannot say: one source per rule, one rule per tag."""
    seen: dict[str, int] = {}
    for index, rule in enumerate(values.get("tags") or []):
        if not isinstance(rule, dict) or not rule.get("mailchimp_tag"):
            continue
        where = f"tags[{index}]"
        _check_source(rule, "hubspot_list", "hubspot_property", where, problems)
        tag = str(rule["mailchimp_tag"]).strip()
        if not tag or len(tag) > 100:
            problems.append(f"{where}.mailchimp_tag: must be 1 to 100 characters")
        if tag.lower() in seen:
            problems.append(
                f"{where}.mailchimp_tag: {tag} is already set by tags[{seen[tag.lower()]}]"
            )
        seen.setdefault(tag.lower(), index)
    _check_mirror(values, problems)
    scope = values.get("scope") or {}
    flt = scope.get("hubspot_filter") or {}
    if (flt.get("property") is None) != (flt.get("value") is None):
        problems.append("scope.hubspot_filter: needs both property and value")
    if scope.get("hubspot_list") and flt.get("property"):
        problems.append("scope: use either hubspot_list or hubspot_filter, not both")
    if scope.get("on_leave") == "untag" and not scope.get("mailchimp_tag") and not seen:
        problems.append("scope.on_leave: untag needs tags to remove (scope.mailchimp_tag or tags)")


def _check_mirror(values: dict[str, Any], problems: list[str]) -> None:
    """The mirror's property is syncer's alone, and each named tag can be one of its values."""
    mirror = values.get("tags_to_hubspot") or {}
    name, only = mirror.get("property"), mirror.get("only")
    if only is not None and name is None:
        problems.append("tags_to_hubspot.only: needs tags_to_hubspot.property")
    if only is not None and not only:
        problems.append("tags_to_hubspot.only: name at least one tag, or leave it out for all")
    for index, tag in enumerate(only or []):
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 100 or ";" in tag:
            problems.append(
                f"tags_to_hubspot.only[{index}]: must be a tag name of 1 to 100 characters "
                "without ';' (HubSpot separates checkbox values with it)"
            )
    if name is None:
        return
    subscription = values.get("subscription") or {}
    used = {
        subscription.get("hubspot_property"): "subscription.hubspot_property",
        subscription.get("status_property"): "subscription.status_property",
        ((values.get("scope") or {}).get("hubspot_filter") or {}).get("property"): "scope",
    }
    for index, mapping in enumerate(values.get("fields") or []):
        if isinstance(mapping, dict):
            used.setdefault(mapping.get("hubspot"), f"fields[{index}]")
    for index, rule in enumerate(values.get("tags") or []):
        if isinstance(rule, dict):
            used.setdefault(rule.get("hubspot_property"), f"tags[{index}]")
    if name in used:
        problems.append(
            f"tags_to_hubspot.property: {name} is already used by {used[name]}; the mirror "
            "needs a property of its own"
        )


def _check_source(
    rule: dict[str, Any], list_key: str, property_key: str, where: str, problems: list[str]
) -> None:
    has_list, has_property = rule.get(list_key) is not None, rule.get(property_key) is not None
    if has_list == has_property:
        problems.append(f"{where}: give either {list_key} or {property_key} (with value)")
    elif has_property and rule.get("value") is None:
        problems.append(f"{where}.value: required with {property_key}")
    elif has_list and rule.get("value") is not None:
        problems.append(f"{where}.value: only goes with {property_key}")


def build(values: dict[str, Any]) -> SegmentsConfig:
    scope = values["scope"]
    flt = scope["hubspot_filter"]
    hubspot: HubSpotCondition | None = None
    if scope["hubspot_list"]:
        hubspot = HubSpotCondition(hubspot_list=str(scope["hubspot_list"]))
    elif flt["property"]:
        hubspot = HubSpotCondition(hubspot_property=flt["property"], value=flt["value"])
    return SegmentsConfig(
        tags=tuple(
            TagRule(
                HubSpotCondition(rule["hubspot_list"], rule["hubspot_property"], rule["value"]),
                str(rule["mailchimp_tag"]).strip(),
            )
            for rule in values["tags"]
        ),
        scope=ScopeConfig(hubspot, scope["mailchimp_tag"], scope["on_leave"]),
        list_read_minutes=values["segments"]["list_read_minutes"],
        mirror=_mirror(values["tags_to_hubspot"]),
    )


def _mirror(values: dict[str, Any]) -> TagMirror | None:
    if values["property"] is None:
        return None
    only = values["only"]
    return TagMirror(
        values["property"], None if only is None else frozenset(str(t).strip() for t in only)
    )
