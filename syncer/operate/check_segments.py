"""`syncer check` for segments: every mapped list exists, the scope tag exists, the properties
the rules read exist; each missing one named with the nearest that do."""

from __future__ import annotations

import difflib

from syncer.config import Config
from syncer.connectors.hubspot.client import HubSpotClient
from syncer.connectors.hubspot.lists import HubSpotLists
from syncer.connectors.mailchimp.client import MailchimpClient
from syncer.operate.check import Finding


def check_segments(
    config: Config, hubspot: HubSpotClient, mailchimp: MailchimpClient
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
    return findings


def _missing(nearest: list[str]) -> str:
    if not nearest:
        return "does not exist"
    return f"does not exist; did you mean {', '.join(repr(name) for name in nearest)}?"
