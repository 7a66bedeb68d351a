"""Before a run decides anything: which ids the preferences mappings name in this audience.

The file names groups, interests and permissions as people see them in Mailchimp (or by id);
the ids are read at the start of every run that maps one (a call for the groups, one per group,
one member for the permissions) and filled into the configuration the run uses. A name or id
the audience does not have (an interest someone deleted, a permission of another audience, an
audience whose GDPR fields are off) stops the run before any write, with exit code 2 and the
key path, because a write naming it would be refused whole, the person's other changes with it.
"""

from __future__ import annotations

import difflib
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from syncer.config import Config
from syncer.config.preferences import InterestMapping, PermissionMapping, PreferencesConfig
from syncer.connectors.hubspot.properties import HubSpotProperties
from syncer.connectors.mailchimp.client import MailchimpClient
from syncer.connectors.mailchimp.groups import Group, interest_groups, marketing_permissions
from syncer.core import causes
from syncer.core.models import CATEGORY_KEY, INTEREST_KEY, PERMISSION_KEY, Decision
from syncer.core.preferences import unknown_choices
from syncer.core.records import ContactRow
from syncer.core.segments import checkbox_values
from syncer.errors import ConfigError
from syncer.run.context import Failure, RunContext

log = logging.getLogger("syncer.run")

HINT = (
    "Name each group, interest and permission as Mailchimp shows it (or by id); "
    "`syncer check` lists what the audience has."
)


#: The cache's meta key for what the last run resolved the mappings to (`syncer status`).
RESOLVED = "preferences_resolved"


def resolve_preferences(ctx: RunContext) -> None:
    """Fill the run's configuration with the audience's ids, and keep what they were (by name
    and member value key, per HubSpot property) for `syncer status`, which makes no calls."""
    ctx.config = with_preferences(ctx.config, ctx.mailchimp)
    preferences = ctx.config.preferences
    if preferences.active:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        ctx.store.set_meta(RESOLVED, json.dumps({"at": stamp, "mappings": _resolved(preferences)}))


def _resolved(preferences: PreferencesConfig) -> dict[str, Any]:
    found: dict[str, Any] = {
        m.hubspot: {
            "names": [name for _, name in m.resolved],
            "keys": [INTEREST_KEY + interest_id for interest_id, _ in m.resolved],
        }
        for m in preferences.interests
        if m.resolved
    }
    for permission in preferences.permissions:
        if permission.permission_id:
            found[permission.hubspot] = {
                "names": [permission.text or permission.mailchimp],
                "keys": [PERMISSION_KEY + permission.permission_id],
            }
    return found


def with_preferences(config: Config, mailchimp: MailchimpClient) -> Config:
    """``config`` with every interest and permission mapping's ids filled in."""
    preferences = config.preferences
    if not preferences.active:
        return config
    problems: list[str] = []
    groups = interest_groups(mailchimp) if preferences.interests else []
    interests = tuple(
        _interest(mapping, groups, f"interests[{index}]", problems)
        for index, mapping in enumerate(preferences.interests)
    )
    known = marketing_permissions(mailchimp) if preferences.permissions else []
    permissions = tuple(
        _permission(mapping, known, f"permissions[{index}]", problems)
        for index, mapping in enumerate(preferences.permissions)
    )
    if problems:
        raise ConfigError(problems, hint=HINT)
    return replace(
        config, preferences=replace(preferences, interests=interests, permissions=permissions)
    )


def _interest(
    mapping: InterestMapping, groups: list[Group], where: str, problems: list[str]
) -> InterestMapping:
    group = next((g for g in groups if mapping.category in (g.id, g.title)), None)
    if group is None:
        titles = [g.title for g in groups]
        problems.append(
            f"{where}.category: the audience has no group {mapping.category!r} "
            f"({_nearest(mapping.category, titles, 'its groups')})"
        )
        return mapping
    if mapping.whole_category:
        return replace(mapping, category_id=group.id, resolved=group.interests)
    chosen = [pair for pair in group.interests if mapping.mailchimp in pair]
    if not chosen:
        names = [name for _, name in group.interests]
        problems.append(
            f"{where}.mailchimp: group {group.title!r} has no interest {mapping.mailchimp!r} "
            f"({_nearest(str(mapping.mailchimp), names, 'its interests')})"
        )
        return mapping
    return replace(mapping, category_id=group.id, resolved=(chosen[0],))


def _permission(
    mapping: PermissionMapping,
    known: list[tuple[str, str]] | None,
    where: str,
    problems: list[str],
) -> PermissionMapping:
    if known is None:
        return mapping  # an empty audience: nothing to read them from, nobody to write them to
    chosen = [pair for pair in known if mapping.mailchimp in pair]
    if not chosen:
        texts = [text for _, text in known]
        problems.append(
            f"{where}.mailchimp: the audience has no marketing permission {mapping.mailchimp!r} "
            + (
                f"({_nearest(mapping.mailchimp, texts, 'its permissions')})"
                if texts
                else "(its GDPR fields are not enabled)"
            )
        )
        return mapping
    return replace(mapping, permission_id=chosen[0][0], text=chosen[0][1])


def _nearest(asked: str, names: list[str], what: str) -> str:
    """What the audience has instead, the closest names first (a typo, a renamed interest)."""
    listed = f"{what}: {', '.join(map(repr, names)) or 'none'}"
    near = difflib.get_close_matches(asked, names, n=2, cutoff=0.6)
    return f"did you mean {' or '.join(map(repr, near))}? {listed}" if near else listed


def add_group_options(ctx: RunContext) -> None:
    """Before HubSpot's writes: each whole group's property gets an option for every interest
    its queued values name (HubSpot refuses a value that is no option, ``INVALID_OPTION``, and
    an audience gains interests at any time). One read, only in a run that queued such values;
    one more call only when an option is missing."""
    for index, mapping in enumerate(ctx.config.preferences.interests):
        if not (mapping.whole_category and mapping.to_hubspot):
            continue
        needed: set[str] = set()
        for value in ctx.store.queued_hubspot_values(mapping.hubspot):
            needed |= checkbox_values(value)
        if not needed:
            continue
        properties = HubSpotProperties(ctx.hubspot.api)
        found = properties.get(mapping.hubspot)
        if found is None or found.read_only or not found.multi_checkbox:
            raise ConfigError(
                [
                    f"interests[{index}].hubspot: the HubSpot property {mapping.hubspot} must be "
                    "a writable multiple checkboxes property"
                ],
                hint="`syncer check --fix` creates it with an option per interest.",
            )
        missing = sorted(needed - found.values)
        if missing:
            properties.add_options(found, missing)
            log.info(
                "HubSpot property %s: added options for %s",
                mapping.hubspot,
                ", ".join(repr(name) for name in missing),
            )


def report_unknown_choices(ctx: RunContext, row: ContactRow) -> None:
    """After a decision: a person whose HubSpot group value names no interest of the group is
    marked failed with each such name (listed by `syncer errors`, the run partial). Their
    decision stands: the name was left out of it, so it withdrew nothing and held nothing up."""
    if row.state not in ("ok", "todo") or row.hs is None:
        return
    problems = unknown_choices(row.hs, ctx.config.preferences)
    if not problems:
        return
    reason = "; ".join(problems)
    if row.reason != reason:
        ctx.store.add_event(ctx.run_id, row.id, "failed", reason)
    row.state, row.reason, row.cause = "failed", reason, causes.PREFERENCE_UNKNOWN_CHOICE
    ctx.counts["failed"] += 1
    ctx.failures.append(Failure(reason, row.email))


def journal_preferences(ctx: RunContext, row: ContactRow, decision: Decision) -> None:
    """Say in the person's history, by name, what each group or permission change means: the
    journal's own rows name the values by id (``@permission:<id>``), which nobody reads."""
    names = _names(ctx.config)
    for change in decision.changes:
        field, side = change.field, change.side
        if side == "mailchimp" and field in names:
            what, prop = names[field]
            detail = f"Mailchimp {what}: {_verb(change.new)} (from HubSpot {prop})"
        elif side == "hubspot" and (found := _by_property(names, field)):
            what = found
            detail = f"HubSpot {field} set to {change.new or 'blank'!r} (from Mailchimp {what})"
        else:
            continue
        ctx.store.add_event(ctx.run_id, row.id, "preference", detail, field=field)


def _verb(value: str) -> str:
    if value in ("true", "false"):
        return "on" if value == "true" else "off"
    return f"set to {value!r}" if value else "none chosen"


def _names(config: Config) -> dict[str, tuple[str, str]]:
    """Member value key -> (what it is, by name; the HubSpot property mapped to it)."""
    names: dict[str, tuple[str, str]] = {}
    for mapping in config.preferences.interests:
        if mapping.whole_category:
            key = f"{CATEGORY_KEY}{mapping.category_id}"
            names[key] = (f"group {mapping.category!r}", mapping.hubspot)
        elif mapping.resolved:
            interest_id, name = mapping.resolved[0]
            what = f"interest {name!r} (group {mapping.category!r})"
            names[f"{INTEREST_KEY}{interest_id}"] = (what, mapping.hubspot)
    for permission in config.preferences.permissions:
        if permission.permission_id:
            what = f"marketing permission {(permission.text or permission.mailchimp)!r}"
            names[f"{PERMISSION_KEY}{permission.permission_id}"] = (what, permission.hubspot)
    return names


def _by_property(names: dict[str, tuple[str, str]], prop: str) -> str | None:
    return next((what for what, mapped in names.values() if mapped == prop), None)
