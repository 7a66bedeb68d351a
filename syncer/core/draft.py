"""A decision being assembled, and which side of a difference is newer.

The field merge and the subscription merge both add to one :class:`Draft` for a person; it is
frozen into the immutable :class:`~syncer.core.models.Decision` the engine records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from syncer.core.models import (
    EMAIL_KEY,
    Conflict,
    Decision,
    FieldChange,
    HubSpotSide,
    Pair,
    Side,
)

#: The decision for a person whose sides agree and whose base is up to date (immutable, shared).
IN_SYNC = Decision()
Newer = Literal["hubspot", "mailchimp", "tie"]


@dataclass
class Draft:
    """The decision being assembled; frozen into a :class:`Decision` at the end."""

    hubspot: dict[str, str] = field(default_factory=dict)
    mailchimp_fields: dict[str, str] = field(default_factory=dict)
    mailchimp_email: str | None = None
    mailchimp_status: str | None = None
    agreed_now: dict[str, Pair] = field(default_factory=dict)
    after_hubspot: dict[str, Pair] = field(default_factory=dict)
    after_mailchimp: dict[str, Pair] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    changes: list[FieldChange] = field(default_factory=list)
    needs_history: list[str] = field(default_factory=list)
    blocked: str | None = None
    #: Why nothing may be written to the member (cleaned, or a status syncer does not know):
    #: a write the merge would make blocks the person with this reason instead.
    member_closed: str | None = None

    def close_member(self, reason: str) -> None:
        self.member_closed = reason

    def write_hubspot(self, key: str, name: str, old: str, new: str, pair: Pair) -> None:
        self.hubspot[name] = new
        self.after_hubspot[key] = pair
        self.changes.append(FieldChange("hubspot", name, old, new))

    def write_mailchimp(self, key: str, name: str, old: str, new: str, pair: Pair) -> None:
        if self.member_closed is not None:
            self.blocked = self.blocked or self.member_closed
            return
        if key == EMAIL_KEY:
            self.mailchimp_email = new
        else:
            self.mailchimp_fields[name] = new
        self.after_mailchimp[key] = pair
        self.changes.append(FieldChange("mailchimp", name, old, new))

    def freeze(self, *, create_hubspot: bool = False, create_mailchimp: bool = False) -> Decision:
        if self.needs_history:
            return Decision(needs_history=tuple(sorted(set(self.needs_history))))
        if not (self.changes or self.conflicts or self.agreed_now or self.blocked):
            # Every write, a create included, is also a change: this person is in sync.
            return IN_SYNC
        return Decision(
            hubspot=dict(sorted(self.hubspot.items())),
            create_hubspot=create_hubspot,
            mailchimp_fields=dict(sorted(self.mailchimp_fields.items())),
            mailchimp_email=self.mailchimp_email,
            mailchimp_status=self.mailchimp_status,
            create_mailchimp=create_mailchimp,
            agreed_now=self.agreed_now,
            agreed_after_hubspot=self.after_hubspot,
            agreed_after_mailchimp=self.after_mailchimp,
            conflicts=tuple(self.conflicts),
            changes=tuple(self.changes),
            blocked=self.blocked,
        )


def newer_side(hubspot: HubSpotSide, name: str, mailchimp_changed: datetime) -> Newer | None:
    """Which side's value is newer: ``hubspot``, ``mailchimp``, ``tie``, or ``None`` (need history).

    HubSpot's per-property timestamp is at most its contact's ``lastmodifieddate``, so a contact
    last modified before the member changed is older without reading its history. Mailchimp's
    ``last_changed`` has whole seconds: its change happened somewhere in that second, so a
    HubSpot timestamp inside the same second cannot be told apart from it and is a tie.
    """
    if hubspot.modified < mailchimp_changed:
        return "mailchimp"
    stamp = hubspot.times.get(name)
    if stamp is None:
        return "mailchimp" if hubspot.history_fetched else None
    second, member_second = stamp.replace(microsecond=0), mailchimp_changed.replace(microsecond=0)
    if second == member_second:
        return "tie"
    return "hubspot" if second > member_second else "mailchimp"


def side_label(side: Side) -> str:
    return "HubSpot" if side == "hubspot" else "Mailchimp"
