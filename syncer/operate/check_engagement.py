"""`syncer check` for engagement: its HubSpot property group and contact properties.

``--fix`` creates the group (``engagement.group``) and each missing property in it, with the
type its values need (date-times for the last open, click and bounce; a number for the counts;
text for the last campaign). A property that exists with another type, or read-only, is
reported and never changed: syncer would write values it cannot hold.
"""

from __future__ import annotations

from syncer.config import Config
from syncer.connectors.hubspot.client import HubSpotClient, PropertyInfo
from syncer.connectors.hubspot.notes import HubSpotNotes
from syncer.connectors.mailchimp.client import MailchimpClient
from syncer.operate.check import Finding


def check_engagement(
    config: Config, hubspot: HubSpotClient, mailchimp: MailchimpClient, *, fix: bool = False
) -> list[Finding]:
    engagement = config.engagement
    if not engagement.enabled or not engagement.properties:
        return []
    findings: list[Finding] = []
    notes = HubSpotNotes(hubspot.api)
    what = f"HubSpot property group {engagement.group} (engagement)"
    group_ok = notes.group_exists(engagement.group)
    if group_ok:
        findings.append(Finding(what, True, "exists"))
    elif fix:
        notes.create_group(engagement.group, engagement.group_label)
        findings.append(Finding(what, True, f"created ({engagement.group_label!r})", fixed=True))
        group_ok = True
    else:
        findings.append(Finding(what, False, "missing (`syncer check --fix` creates it)"))
    known = hubspot.properties()
    for key, name in engagement.properties.items():
        kind, field_type, label = engagement.property_spec(key)
        where = f"HubSpot property {name} (engagement.properties.{key})"
        found = known.get(name)
        if found is not None:
            findings.append(_existing(where, found, kind))
        elif fix and group_ok:
            hubspot.create_property(name, label, kind, field_type, group=engagement.group)
            findings.append(Finding(where, True, f"created ({kind})", fixed=True))
        else:
            findings.append(Finding(where, False, "missing (`syncer check --fix` creates it)"))
    return findings


def _existing(where: str, found: PropertyInfo, kind: str) -> Finding:
    if found.read_only:
        return Finding(where, False, "is read-only: engagement needs a property it can write")
    if found.type != kind:
        return Finding(where, False, f"is of type {found.type}; engagement writes {kind} values")
    return Finding(where, True, f"exists ({kind})")
