"""Value types that flow between the clients, the cache, the reconciler and the writers.

Everything here is immutable and free of I/O. Remote values are kept as normalised strings
(see :mod:`syncer.core.transforms`); timestamps are aware UTC datetimes parsed from the servers' own
clocks, never the local one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, NamedTuple

Side = Literal["hubspot", "mailchimp"]

#: Keys of the base (and of conflicts) besides the mapped HubSpot property names.
EMAIL_KEY = "@email"
SUBSCRIPTION_KEY = "@subscription"
STATUS_MIRROR_KEY = "@status"
TAGS_MIRROR_KEY = "@tags"
#: Keys of a member's values that hold its groups and marketing permissions (``true``/``false``),
#: and of a decision's write of a whole group (its chosen interests' names).
INTEREST_KEY = "@interest:"
PERMISSION_KEY = "@permission:"
CATEGORY_KEY = "@category:"
PREFERENCE_KEYS = (INTEREST_KEY, PERMISSION_KEY, CATEGORY_KEY)

SUBSCRIBED_STATUSES = frozenset({"subscribed", "pending"})
MAILCHIMP_STATUSES = frozenset(
    {"subscribed", "pending", "unsubscribed", "cleaned", "transactional", "archived"}
)


def parse_time(text: str | None) -> datetime | None:
    """A server timestamp (ISO 8601 with ``Z`` or an offset, or epoch ms) as aware UTC."""
    if not text:
        return None
    text = text.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Version(NamedTuple):
    """One entry of a HubSpot property's history: the value, when it was set, and by whom
    (``sourceType``: ``CRM_UI``, ``API``, ``CALCULATED``, ...)."""

    value: str
    at: datetime
    source: str


@dataclass(frozen=True)
class HubSpotContact:
    """A contact as the HubSpot client returns it (only the properties syncer asked for)."""

    id: str
    properties: Mapping[str, str]
    modified: datetime
    created: datetime | None = None
    archived: bool = False
    #: Per property, the current value and when it was set, when history was read.
    stamps: Mapping[str, tuple[str, datetime]] = field(default_factory=dict)
    #: Per property, every version HubSpot answered, newest first, when history was read.
    versions: Mapping[str, tuple[Version, ...]] = field(default_factory=dict)

    @property
    def email(self) -> str:
        return self.properties.get("email", "")

    @property
    def merged_ids(self) -> tuple[str, ...]:
        """The ids HubSpot merged into this record (``hs_merged_object_ids``, reference §12.2)."""
        raw = self.properties.get("hs_merged_object_ids", "")
        return tuple(part.strip() for part in raw.split(";") if part.strip())


@dataclass(frozen=True)
class MailchimpMember:
    """An audience member as the Mailchimp client returns it."""

    id: str
    email: str
    unique_email_id: str
    status: str
    merge_fields: Mapping[str, str]
    last_changed: datetime
    #: Tag names, as the member listing gives them (its first 50).
    tags: tuple[str, ...] = ()
    #: How many tags the member has (``tags_count``); more than ``tags`` holds means the
    #: listing left some out, and the member's own tags endpoint has them all.
    tags_count: int = 0

    @property
    def tags_partial(self) -> bool:
        return self.tags_count > len(self.tags)


@dataclass(frozen=True)
class HubSpotSide:
    """What the reconciler knows of the HubSpot contact."""

    values: Mapping[str, str]
    modified: datetime
    #: Timestamps of the *current* values, from property history, when they have been fetched.
    times: Mapping[str, datetime] = field(default_factory=dict)
    #: True once history was read: a property missing from ``times`` was then never set.
    history_fetched: bool = False

    @property
    def email(self) -> str:
        return self.values.get("email", "")


@dataclass(frozen=True)
class MailchimpSide:
    email: str
    status: str
    fields: Mapping[str, str]
    last_changed: datetime
    #: When each value (``status``, ``email_address``, a merge tag) was first seen as it is now.
    #: ``last_changed`` moves on every edit, syncer's own included, so for a value that has not
    #: changed since an earlier fetch, that fetch's ``last_changed`` is the tighter bound.
    since: Mapping[str, datetime] = field(default_factory=dict)
    #: Tag names, as far as the cache knows them.
    tags: tuple[str, ...] = ()

    def changed_at(self, key: str) -> datetime:
        """The latest moment the value under ``key`` can have been set."""
        return self.since.get(key, self.last_changed)


Pair = tuple[str, str]


@dataclass(frozen=True)
class ContactView:
    """One person as the reconciler sees them: both sides and what they last agreed on."""

    hubspot: HubSpotSide | None
    mailchimp: MailchimpSide | None
    #: key -> (HubSpot value, Mailchimp value) as of the last time both sides agreed.
    base: Mapping[str, Pair] = field(default_factory=dict)


@dataclass(frozen=True)
class Conflict:
    """Both sides changed one field to different values; ``winner`` decided which stays."""

    key: str
    hubspot_value: str
    mailchimp_value: str
    winner: Side
    reason: str


@dataclass(frozen=True)
class FieldChange:
    """One value the run will change on one side (the journal's unit)."""

    side: Side
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Decision:
    """What to do about one contact. Empty writes and no blocker means it is in sync."""

    hubspot: Mapping[str, str] = field(default_factory=dict)
    create_hubspot: bool = False
    mailchimp_fields: Mapping[str, str] = field(default_factory=dict)
    mailchimp_email: str | None = None
    mailchimp_status: str | None = None
    create_mailchimp: bool = False
    #: Base pairs true now (the sides already agree), and those that hold once a write succeeds.
    agreed_now: Mapping[str, Pair] = field(default_factory=dict)
    agreed_after_hubspot: Mapping[str, Pair] = field(default_factory=dict)
    agreed_after_mailchimp: Mapping[str, Pair] = field(default_factory=dict)
    conflicts: tuple[Conflict, ...] = ()
    changes: tuple[FieldChange, ...] = ()
    blocked: str | None = None
    #: HubSpot properties whose value timestamps are needed before deciding (history fetch).
    needs_history: tuple[str, ...] = ()
    #: Let go of the member: the contact's fixed address replaces one Mailchimp cleaned.
    detach_member: bool = False
    #: Why nothing is done about a person who is not blocked (a cleaned member no contact has):
    #: recorded once, so nobody is left out of the sync without a trace.
    note: str | None = None

    @property
    def writes_hubspot(self) -> bool:
        return bool(self.hubspot)

    @property
    def writes_mailchimp(self) -> bool:
        return bool(
            self.mailchimp_fields
            or self.mailchimp_email
            or self.mailchimp_status
            or self.create_mailchimp
        )
