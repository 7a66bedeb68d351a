"""Rows of the cache as typed values, and how a contact row becomes the reconciler's view."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from syncer.core.models import ContactView, HubSpotSide, MailchimpSide, Pair, parse_time

NEVER = datetime.fromtimestamp(0, UTC)


@dataclass
class ContactRow:
    id: int
    email: str
    hubspot_id: str | None = None
    hubspot_created: str | None = None
    mailchimp_id: str | None = None
    unique_email_id: str | None = None
    hs: dict[str, str] | None = None
    hs_modified: str | None = None
    hs_times: dict[str, Any] | None = None
    mc: dict[str, Any] | None = None
    mc_changed: str | None = None
    base: dict[str, list[str]] = field(default_factory=dict)
    state: str = "todo"
    reason: str | None = None
    dirty: int = 1
    cause: str | None = None  # the kind of problem ``reason`` describes (syncer.core.causes)
    #: The cache's indexed columns as last read or written, for the cache to rewrite only those
    #: that changed (an index entry is rewritten whenever its column is set, even to itself).
    stored: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def view(self) -> ContactView:
        return ContactView(
            hubspot=self.hubspot_side(), mailchimp=self.mailchimp_side(), base=self.pairs()
        )

    def pairs(self) -> dict[str, Pair]:
        return {key: (pair[0], pair[1]) for key, pair in self.base.items()}

    def hubspot_side(self) -> HubSpotSide | None:
        if self.hs is None:
            return None
        modified = parse_time(self.hs_modified) or NEVER
        times: dict[str, datetime] = {}
        fetched = False
        if self.hs_times and self.hs_times.get("at") == self.hs_modified:
            fetched = True
            for name, (value, stamp) in self.hs_times.get("values", {}).items():
                moment = parse_time(stamp)
                if value == self.hs.get(name, "") and moment is not None:
                    times[name] = moment
        return HubSpotSide(values=self.hs, modified=modified, times=times, history_fetched=fetched)

    def mailchimp_side(self) -> MailchimpSide | None:
        if self.mc is None:
            return None
        since = {key: parse_time(stamp) for key, stamp in self.mc.get("since", {}).items()}
        return MailchimpSide(
            email=str(self.mc.get("email", "")),
            status=str(self.mc.get("status", "")),
            fields=dict(self.mc.get("fields", {})),
            last_changed=parse_time(self.mc_changed) or NEVER,
            since={key: moment for key, moment in since.items() if moment is not None},
            tags=tuple(self.mc.get("tags") or ()),
        )


@dataclass(frozen=True)
class Operation:
    """An outbox row: one remote write the reconciler decided."""

    id: int
    contact_id: int
    target: str
    action: str
    payload: dict[str, Any]
    agreed: dict[str, list[str]]
    state: str
    batch_id: str | None = None
    attempts: int = 0
    error: str | None = None
    #: A Mailchimp write that may have run over an edit: the values a look saw (m006).
    overwrites: dict[str, str] | None = None


@dataclass(frozen=True)
class NewOperation:
    """A write to queue: what a decision turned into, before it has an outbox id."""

    target: str
    action: str
    payload: dict[str, Any]
    agreed: dict[str, list[str]]
