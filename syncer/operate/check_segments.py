"""`syncer check` for segments: every mapped list exists, the scope tag exists, the properties
the rules read exist; each missing one named with the nearest that do. The tags mirror's
property must be a multiple checkboxes property with an option for every tag it holds: ``--fix``
creates it, or adds the missing options (a run adds options for new tags by itself too)."""

from __future__ import annotations

import difflib

from syncer.config import Config
from syncer.connectors.hubspot.client import HubSpotClient
from syncer.connectors.hubspot.lists import HubSpotLists
from syncer.connectors.hubspot.properties import HubSpotProperties
from syncer.connectors.mailchimp.client import MailchimpClient
from syncer.operate.check import Finding


def check_segments(
    config: Config, hubspot: HubSpotClient, mailchimp: MailchimpClient, *, fix: bool = False
) -> list[Finding]:
    segments = config.segments
    findings: list[Finding] = []
    lists = HubSpotLists(hubspot.api)
    for key in segments.lists:
        found = lists.find(key)
        what = f"HubSpot list {key!r}"
        if found is None:
            findings.append(Finding(what, False, _missing(lists.nearest(key))))
        else:
            size = "" if found.size is None else f", {found.size} members"
            findings.append(Finding(what, True, f"list {found.id}, {found.kind}{size}"))
    if segments.properties:
        known = hubspot.properties()
        for name in segments.properties:
            nearest = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
            ok = name in known
            findings.append(
                Finding(f"HubSpot property {name}", ok, "exists" if ok else _missing(nearest))
            )
    tag = segments.scope.mailchimp_tag
    if tag:
        tags = mailchimp.tags()
        ok = tag in tags
        nearest = difflib.get_close_matches(tag, tags, n=3, cutoff=0.5)
        findings.append(
            Finding(f"Mailchimp tag {tag!r}", ok, "exists" if ok else _missing(nearest))
        )
    if segments.mirror is not None:
        findings.append(_check_mirror(config, hubspot, mailchimp, fix))
    return findings


def _check_mirror(
    config: Config, hubspot: HubSpotClient, mailchimp: MailchimpClient, fix: bool
) -> Finding:
    """The mirror's property, and an option for each tag it must hold: the ``only`` tags, or
    every tag the audience has."""
    mirror = config.segments.mirror
    assert mirror is not None
    wanted = mirror.only if mirror.only is not None else mailchimp.tags()
    tags = set(mirror.mirrored(tuple(wanted)))
    properties = HubSpotProperties(hubspot.api)
    what = f"HubSpot property {mirror.property} (tags_to_hubspot)"
    found = properties.get(mirror.property)
    if found is None:
        if not fix:
            return Finding(what, False, "missing (`syncer check --fix` creates it)")
        label = mirror.property.replace("_", " ").capitalize()
        properties.create_checkbox(mirror.property, label, tags)
        return Finding(what, True, f"created (multiple checkboxes, {len(tags)} options)", True)
    if found.read_only or not found.multi_checkbox:
        kind = "read-only" if found.read_only else f"{found.type}/{found.field_type}"
        return Finding(what, False, f"must be a writable multiple checkboxes property, is {kind}")
    missing = sorted(tags - found.values)
    unused = sorted(found.values - tags)
    extra = f"; options no tag uses: {', '.join(map(repr, unused))}" if unused else ""
    if missing and fix:
        properties.add_options(found, missing)
        return Finding(what, True, f"added options {', '.join(map(repr, missing))}{extra}", True)
    if missing:
        detail = (
            f"no option yet for {', '.join(map(repr, missing))} (`syncer check --fix` adds "
            f"them; a run adds options as it needs them){extra}"
        )
        return Finding(what, True, detail)
    return Finding(what, True, f"multiple checkboxes, {len(found.values)} options{extra}")


def _missing(nearest: list[str]) -> str:
    if not nearest:
        return "does not exist"
    return f"does not exist; did you mean {', '.join(repr(name) for name in nearest)}?"
