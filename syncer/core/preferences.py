"""Mailchimp groups and GDPR marketing permissions as merge rules (DESIGN §6, §13 "Preferences").

Each mapping becomes a :class:`~syncer.core.rules.Rule` the field merge runs like any other, over
keys the Mailchimp client reads into the member's values: ``@interest:<id>`` and
``@permission:<id>`` hold ``true`` or ``false``. A whole group mapped to one multiple-checkboxes
property is read as the ``;``-joined, sorted names of its chosen interests and written back as
every interest of the group, chosen or not (the key ``@category:<id>``).

Booleans compare by meaning: a blank HubSpot value and Mailchimp's ``false`` agree, so nobody who
never answered is given an answer on either side. Consent rules (every permission, and an
interest marked ``consent: true``) add: a blank HubSpot value is "unknown", never a withdrawal
sent to Mailchimp, and on equal timestamps the withdrawal wins.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from syncer.config.preferences import InterestMapping, PreferencesConfig
from syncer.core.models import CATEGORY_KEY, INTEREST_KEY, PERMISSION_KEY
from syncer.core.rules import Rule
from syncer.core.transforms import as_bool


def flag(value: str) -> str:
    """``true`` for a yes, ``false`` for a no and for no answer at all."""
    return "true" if as_bool(value) is True else "false"


def _same_flag(hubspot_value: str, mailchimp_value: str) -> bool:
    return flag(hubspot_value) == flag(mailchimp_value)


def preference_rules(preferences: PreferencesConfig) -> list[Rule]:
    """A rule per mapping whose ids this run resolved (an unresolved one decides nothing)."""
    rules = [
        _category_rule(mapping) if mapping.whole_category else _interest_rule(mapping)
        for mapping in preferences.interests
        if mapping.resolved
    ]
    rules.extend(
        Rule(
            key=mapping.hubspot,
            hubspot_name=mapping.hubspot,
            mailchimp_name=PERMISSION_KEY + mapping.permission_id,
            to_mailchimp=flag,
            to_hubspot=flag,
            same=_same_flag,
            flows_to_mailchimp=mapping.to_mailchimp,
            flows_to_hubspot=mapping.to_hubspot,
            consent=True,
        )
        for mapping in preferences.permissions
        if mapping.permission_id
    )
    return rules


def _interest_rule(mapping: InterestMapping) -> Rule:
    interest_id = mapping.resolved[0][0]
    return Rule(
        key=mapping.hubspot,
        hubspot_name=mapping.hubspot,
        mailchimp_name=INTEREST_KEY + interest_id,
        to_mailchimp=flag,
        to_hubspot=flag,
        same=_same_flag,
        flows_to_mailchimp=mapping.to_mailchimp,
        flows_to_hubspot=mapping.to_hubspot,
        winner=mapping.winner,
        consent=mapping.consent,
    )


def _category_rule(mapping: InterestMapping) -> Rule:
    names = frozenset(name for _, name in mapping.resolved)

    def chosen(text: str) -> str:
        return ";".join(sorted(_parts(text) & names))

    def over_hubspot(mailchimp_value: str, hubspot_value: str) -> str:
        return ";".join(sorted(_parts(mailchimp_value) | (_parts(hubspot_value) - names)))

    def read(values: Mapping[str, str]) -> str:
        return ";".join(
            sorted(name for i, name in mapping.resolved if values.get(INTEREST_KEY + i) == "true")
        )

    return Rule(
        key=mapping.hubspot,
        hubspot_name=mapping.hubspot,
        mailchimp_name=CATEGORY_KEY + str(mapping.category_id),
        to_mailchimp=chosen,
        to_hubspot=chosen,
        same=lambda h, m: chosen(h) == chosen(m),
        flows_to_mailchimp=mapping.to_mailchimp,
        flows_to_hubspot=mapping.to_hubspot,
        winner=mapping.winner,
        read_mailchimp=read,
        over_hubspot=over_hubspot,
    )


def _parts(text: str) -> set[str]:
    return {part.strip() for part in text.split(";")} - {""}


def unknown_choices(hubspot_values: Mapping[str, str], preferences: PreferencesConfig) -> list[str]:
    """What is wrong with a person's whole-group HubSpot values: each name that is no interest
    of its group (a typo'd option, an interest deleted since), with the nearest one. Such a name
    is left out of what goes to Mailchimp (so it withdraws nothing) and kept in HubSpot."""
    problems = []
    for mapping in preferences.interests:
        if not (mapping.whole_category and mapping.resolved and mapping.to_mailchimp):
            continue
        names = [name for _, name in mapping.resolved]
        for value in sorted(_parts(hubspot_values.get(mapping.hubspot, "")) - set(names)):
            near = difflib.get_close_matches(value, names, n=1)
            problems.append(
                f"HubSpot {mapping.hubspot} holds {value!r}, which is no interest of Mailchimp "
                f"group {mapping.category!r} "
                + (
                    f"(did you mean {near[0]!r}?)"
                    if near
                    else f"(its interests: {', '.join(names)})"
                )
            )
    return problems


def member_preferences(
    values: Mapping[str, str], preferences: PreferencesConfig
) -> tuple[dict[str, bool], dict[str, bool]]:
    """A decision's preference values as Mailchimp's ``interests`` and
    ``marketing_permissions`` (``{id: enabled}``); every other key is left out."""
    groups = {str(m.category_id): m.resolved for m in preferences.interests if m.whole_category}
    interests: dict[str, bool] = {}
    permissions: dict[str, bool] = {}
    for key, value in values.items():
        if key.startswith(INTEREST_KEY):
            interests[key.removeprefix(INTEREST_KEY)] = value == "true"
        elif key.startswith(PERMISSION_KEY):
            permissions[key.removeprefix(PERMISSION_KEY)] = value == "true"
        elif key.startswith(CATEGORY_KEY):
            picked = set(value.split(";"))
            for interest_id, name in groups.get(key.removeprefix(CATEGORY_KEY), ()):
                interests[interest_id] = name in picked
    return interests, permissions


def consent_keys(preferences: PreferencesConfig) -> frozenset[str]:
    """The consent values' keys on both sides: member value keys (``@permission:<id>``, an opt-in
    interest's ``@interest:<id>``) and the HubSpot properties mapped to them."""
    keys: set[str] = set()
    for permission in preferences.permissions:
        if permission.permission_id:
            keys |= {PERMISSION_KEY + permission.permission_id, permission.hubspot}
    for interest in preferences.interests:
        if interest.consent and interest.resolved:
            keys |= {INTEREST_KEY + interest.resolved[0][0], interest.hubspot}
    return frozenset(keys)


def withdraws(changes: Iterable[Mapping[str, str]], keys: frozenset[str]) -> bool:
    """Whether a write's changes take back consent that was given (a yes becoming a no)."""
    return any(
        change.get("field") in keys
        and flag(change.get("old", "")) == "true"
        and change.get("new") == "false"
        for change in changes
    )
