"""How one key flows between the sides: the unit the field merge works on.

Kept apart from :mod:`syncer.core.fields` so the rules for merge fields and those for groups and
marketing permissions (:mod:`syncer.core.preferences`) are built side by side from one type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """How one key flows: which way, how values convert, and who wins a true conflict."""

    key: str
    hubspot_name: str
    mailchimp_name: str
    to_mailchimp: Callable[[str], str]
    to_hubspot: Callable[[str], str]
    same: Callable[[str, str], bool]
    flows_to_mailchimp: bool = True
    flows_to_hubspot: bool = True
    winner: str = "latest"
    #: A consent value (a marketing permission, an opt-in interest): a blank HubSpot value is
    #: "unknown" and never sent to Mailchimp, and on equal timestamps the withdrawal wins.
    consent: bool = False
    #: How to read the Mailchimp value from the member's values, when it is not one key's.
    read_mailchimp: Callable[[Mapping[str, str]], str] | None = None
    #: How a Mailchimp value is written over HubSpot's current one, when part of that must stay
    #: (a group's HubSpot names that are no interest of it: reported, never dropped).
    over_hubspot: Callable[[str, str], str] | None = None
