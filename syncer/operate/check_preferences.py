"""`syncer check` for groups and marketing permissions: the names resolve in this audience, and
each whole group's HubSpot property has an option per interest.

A whole group is written to HubSpot as the names of the chosen interests, and HubSpot refuses a
value that is not one of a multiple-checkboxes property's options (``INVALID_OPTION``): so the
property needs an option for every interest of the group. ``--fix`` adds the ones missing (the
generic field check has created the property itself); a run adds them too before it writes.
"""

from __future__ import annotations

from syncer.config import Config
from syncer.config.preferences import InterestMapping
from syncer.connectors.hubspot.client import HubSpotClient
from syncer.connectors.hubspot.properties import HubSpotProperties
from syncer.connectors.mailchimp.client import MailchimpClient
from syncer.core.wording import plural
from syncer.errors import ConfigError
from syncer.operate.check import Finding
from syncer.run.preferences import with_preferences

WHAT = "Mailchimp groups and permissions"


def check_preferences(
    config: Config, hubspot: HubSpotClient, mailchimp: MailchimpClient, *, fix: bool
) -> list[Finding]:
    if not config.preferences.active:
        return []
    try:
        resolved = with_preferences(config, mailchimp).preferences
    except ConfigError as error:
        return [Finding(WHAT, False, problem) for problem in error.problems]
    interests = sum(len(m.resolved) for m in resolved.interests)
    permissions = sum(1 for m in resolved.permissions if m.permission_id)
    findings = [
        Finding(
            WHAT,
            True,
            f"{plural(interests, 'interest')} and {plural(permissions, 'permission')} found",
        )
    ]
    findings.extend(
        _group_options(mapping, index, hubspot, fix)
        for index, mapping in enumerate(resolved.interests)
        if mapping.whole_category and mapping.to_hubspot
    )
    return findings


def _group_options(
    mapping: InterestMapping, index: int, hubspot: HubSpotClient, fix: bool
) -> Finding:
    what = f"HubSpot property {mapping.hubspot} options (interests[{index}])"
    names = {name for _, name in mapping.resolved}
    properties = HubSpotProperties(hubspot.api)
    found = properties.get(mapping.hubspot)
    if found is None or not found.multi_checkbox:
        return Finding(what, False, "needs a multiple checkboxes property (see above)")
    missing = sorted(names - found.values)
    if not missing:
        return Finding(what, True, f"an option for each of the group's {len(names)} interests")
    if fix:
        properties.add_options(found, missing)
        return Finding(what, True, f"added {', '.join(map(repr, missing))}", fixed=True)
    detail = f"no option yet for {', '.join(map(repr, missing))}"
    return Finding(what, True, f"{detail} (`syncer check --fix` adds them; a run adds them too)")
