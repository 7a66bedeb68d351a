"""The HubSpot simulator's contacts: records, value history, identity by email, and every write.

A contact is a chain of immutable :class:`Record` versions: a write builds a new record instead of
editing the old one, so the version search still shows during the index lag costs nothing to keep.
The model of that lag is deliberately simple: a contact remembers when it was last written, how
long that write takes to be indexed, and the record it had before; until then, search sees that
earlier record (or nothing, for a contact created within the lag). A burst of writes inside one
lag period therefore stays invisible until the last of them is indexed. Most writes take
``index_lag_ms``; a share ``straggler_rate`` of them (drawn from a generator seeded with
``straggler_seed``, so a test replays) takes ``straggler_lag_ms`` instead: HubSpot's search has
been seen to trail writes by far more than "a few moments" (reference §12.4; estuary/connectors
#2210 holds back an hour).

History is kept newest first. API writes are recorded with ``sourceType`` ``API`` and the app's
id, seeded values and ``/_sim/edit`` as ``CRM_UI`` by a user, derived values as ``CALCULATED``.

Emails identify contacts (see ``identity``); merges and permanent deletions live in ``merges``.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from syncer.sandbox.clock import SimClock, parse_iso
from syncer.sandbox.hubspot.errors import APP_ID, Problem, api_error, invalid_values
from syncer.sandbox.hubspot.identity import (
    EMAIL_PROPERTIES,
    EmailIndex,
    email_entries,
    emails_of,
)
from syncer.sandbox.hubspot.props import (
    DEFAULT_PROPERTIES,
    INTRINSIC,
    InvalidValue,
    PropertyDef,
    ms_iso,
    normalize,
    to_ms,
)

#: Who a seeded value or a ``/_sim/edit`` claims to come from: a person in the HubSpot UI.
UI_USER = "userId:28604240"
FIRST_ID = 101


class Version(NamedTuple):
    """One entry of a property's history (``propertiesWithHistory``)."""

    value: str
    at: int
    source_type: str
    source_id: str


@dataclass(frozen=True)
class Source:
    """Who writes; ``via`` (the request-log key) marks API writes, which ``/_sim/writes`` lists."""

    type: str
    id: str
    via: str | None = None


def api_source(via: str) -> Source:
    return Source("API", str(APP_ID), via)


UI_SOURCE = Source("CRM_UI", UI_USER)
#: HubSpot's own background jobs, and values HubSpot derives (``lastmodifieddate``, merges).
CALCULATED = Source("CALCULATED", "")


@dataclass(slots=True)
class Record:
    """A contact as one reader sees it at one moment; never modified once built."""

    id: int
    created: int
    updated: int
    values: dict[str, str]
    archived_at: int | None = None


@dataclass(slots=True)
class Contact:
    state: Record
    history: dict[str, list[Version]]
    written_at: int = 0
    before: Record | None = None
    #: How long the last write takes to become searchable.
    lag: int = 0

    def visible(self, now: int) -> Record | None:
        """The record search shows at ``now``: the current one once the lag has passed."""
        if self.lag <= 0 or now - self.written_at >= self.lag:
            return self.state
        return self.before


class ContactStore:
    """Contacts and property definitions of one simulated portal; callers hold the sim lock."""

    def __init__(self, clock: SimClock, settings: Mapping[str, Any]) -> None:
        self.clock = clock
        self.settings = settings
        self.properties: dict[str, PropertyDef] = {p.name: p for p in DEFAULT_PROPERTIES}
        self.contacts: dict[int, Contact] = {}
        self.ids: list[int] = []
        self.emails = EmailIndex()
        self.next_id = FIRST_ID
        #: Bumped by every change, so cached search results know when they are stale.
        self.version = 0
        self.writes: list[dict[str, str]] = []
        self.stragglers = random.Random(int(settings.get("straggler_seed", 0)))
        #: Each merged-away id -> the record it was merged into.
        self.redirects: dict[int, int] = {}

    @property
    def epoch_dates(self) -> bool:
        """Setting ``dates``: ``epoch_ms`` shows date and datetime values as epoch ms (§12.5)."""
        return self.settings.get("dates") == "epoch_ms"

    def now_ms(self) -> int:
        return to_ms(self.clock.now())

    # -- reading ---------------------------------------------------------------------------------

    def find(self, key: str, id_property: str | None, *, archived: bool = False) -> Contact | None:
        """The contact ``key`` names (a record id, or an email with ``idProperty=email``).

        An id merged away names the merged record (reference §12.2), unless ``archived`` asks
        for the archived record kept under the old id.
        """
        if id_property in (None, "", "hs_object_id"):
            cid = int(key) if key.strip().isdigit() else None
            if cid is not None and not archived:
                cid = self.resolve(cid)
            contact = self.contacts.get(cid) if cid is not None else None
        elif id_property == "email":
            owner = self.emails.owner(key)
            contact = self.contacts.get(owner) if owner is not None else None
            if contact is None and archived:
                matches = self._archived_with(key)
                contact = matches[0] if matches else None
        else:
            raise api_error(
                400, "VALIDATION_ERROR", f"Property {id_property} is not a unique identifier"
            )
        if contact is None or (contact.state.archived_at is not None) != archived:
            return None
        return contact

    def _archived_with(self, email: str) -> list[Contact]:
        key = email.strip().lower()
        return [
            contact
            for contact in self.contacts.values()
            if contact.state.archived_at is not None
            and key in (e.lower() for e in emails_of(contact.state.values))
        ]

    def resolve(self, cid: int) -> int:
        """The id a merged-away id now points to, through every later merge; else ``cid``."""
        for _ in range(len(self.redirects) + 1):
            if cid not in self.redirects:
                return cid
            cid = self.redirects[cid]
        raise AssertionError("merge redirects form a cycle")

    def page(self, after: int, limit: int, *, archived: bool) -> tuple[list[Contact], int | None]:
        """Up to ``limit`` contacts with id >= ``after`` in id order, and the next page's id."""
        found: list[Contact] = []
        for cid in self.ids[bisect.bisect_left(self.ids, after) :]:
            contact = self.contacts[cid]
            if (contact.state.archived_at is not None) != archived:
                continue
            if len(found) == limit:
                return found, cid
            found.append(contact)
        return found, None

    # -- validation ------------------------------------------------------------------------------

    def check(
        self, raw: Mapping[str, Any], current: Record | None, *, trusted: bool = False
    ) -> tuple[dict[str, str], list[Problem]]:
        """Normalised changes and the problems HubSpot would report; ``trusted`` writers (the UI,
        seeds) may set read-only values, but nobody sets the intrinsic ones."""
        changes: dict[str, str] = {}
        problems: list[Problem] = []
        for name, value in raw.items():
            prop = self.properties.get(name)
            if prop is None:
                problems.append(
                    Problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
            elif prop.read_only and (not trusted or name in INTRINSIC):
                message = f'"{name}" is a read only property; its value cannot be set.'
                problems.append(Problem(name, "READ_ONLY_VALUE", message, str(value)))
            else:
                try:
                    old = current.values.get(name) if current else None
                    changes[name] = normalize(prop, value, old)
                except InvalidValue as error:
                    problems.append(Problem(name, error.code, error.message, str(value)))
        return changes, problems

    def conflict(
        self, changes: Mapping[str, str], contact: Contact | None
    ) -> tuple[str, str, int] | None:
        """The first email in ``changes`` owned by another contact: (property, email, owner id)."""
        own = {e.lower() for e in emails_of(contact.state.values)} if contact else set()
        for prop, email in email_entries(changes):
            owner = self.emails.owner(email)
            if owner is not None and email.lower() not in own:
                return prop, email, owner
        return None

    # -- writing ---------------------------------------------------------------------------------

    def add_property(self, prop: PropertyDef) -> bool:
        """Define ``prop`` unless its name exists; say whether it was added."""
        if prop.name in self.properties:
            return False
        self.properties[prop.name] = prop
        self.version += 1
        return True

    def update_property(self, prop: PropertyDef) -> None:
        """Replace the definition of an existing property (its values on contacts stay)."""
        self.properties[prop.name] = prop
        self.version += 1

    def create(self, changes: Mapping[str, str], source: Source) -> Contact:
        at = self.now_ms()
        cid = self._allocate()
        values = {"createdate": ms_iso(at), "hs_object_id": str(cid)}
        history = {name: [Version(value, at, "CALCULATED", "")] for name, value in values.items()}
        contact = Contact(Record(cid, at, at, values), history)
        self.contacts[cid] = contact
        self._apply(contact, changes, source, at)
        self._mark_written(contact, None, at)
        return contact

    def write(
        self, contact: Contact, changes: Mapping[str, str], source: Source, *, at: int | None = None
    ) -> None:
        """Apply validated ``changes``; ``lastmodifieddate`` moves even when no value changes."""
        at = self.now_ms() if at is None else at
        old = contact.state
        self._apply(contact, changes, source, at)
        self._mark_written(contact, old, at)

    def _apply(self, contact: Contact, changes: Mapping[str, str], source: Source, at: int) -> None:
        old = contact.state
        values = dict(old.values)
        for name, value in changes.items():
            if value:
                values[name] = value
            else:
                values.pop(name, None)
            contact.history.setdefault(name, []).insert(
                0, Version(value, at, source.type, source.id)
            )
        values["lastmodifieddate"] = ms_iso(at)
        contact.history.setdefault("lastmodifieddate", []).insert(
            0, Version(values["lastmodifieddate"], at, "CALCULATED", "")
        )
        if any(name in changes for name in EMAIL_PROPERTIES):
            self._reindex(old.id, emails_of(old.values), emails_of(values))
        contact.state = Record(old.id, old.created, at, values, old.archived_at)
        if source.via:
            stamp = ms_iso(at)
            self.writes.extend(
                {
                    "id": str(old.id),
                    "property": name,
                    "value": value,
                    "at": stamp,
                    "via": source.via,
                }
                for name, value in changes.items()
            )

    def archive(self, contact: Contact) -> None:
        old = contact.state
        if old.archived_at is not None:
            return
        at = self.now_ms()
        self._reindex(old.id, emails_of(old.values), [])
        contact.state = Record(old.id, old.created, old.updated, old.values, at)
        self._mark_written(contact, old, at)

    def forget(self, contact: Contact) -> None:
        """Remove ``contact`` for good: no read, listing or archive shows it again."""
        cid = contact.state.id
        self._reindex(cid, emails_of(contact.state.values), [])
        del self.contacts[cid]
        self.ids.pop(bisect.bisect_left(self.ids, cid))
        self.version += 1

    def add(self, contact: Contact) -> None:
        """Take in a contact built elsewhere (a merge's result) under its own, new id."""
        self.contacts[contact.state.id] = contact
        for email in emails_of(contact.state.values):
            self.emails.claim(email, contact.state.id)
        self._mark_written(contact, None, contact.state.updated)

    def allocate(self) -> int:
        return self._allocate()

    def touch(self, ids: list[Any] | None, count: int) -> tuple[int, int]:
        """HubSpot's background jobs: bump these contacts (or the first ``count``) to one
        identical ``lastmodifieddate``; returns how many, and that moment."""
        if ids is not None:
            found = [self.find(str(cid), None) for cid in ids]
            targets = [contact for contact in found if contact is not None]
        else:
            targets, _ = self.page(0, count, archived=False)
        at = self.now_ms()
        for contact in targets:
            self.write(contact, {}, CALCULATED, at=at)
        return len(targets), at

    def seed(self, spec: Mapping[str, Any]) -> int:
        """Load one contact as it already stands (no rate limits, no index lag, no write log)."""
        if not isinstance(spec, Mapping) or not all(
            isinstance(spec.get(key) or {}, Mapping) for key in ("properties", "timestamps")
        ):
            raise TypeError("a contact is an object; its properties and timestamps are objects")
        raw = spec.get("properties") or {}
        source_type = str(spec.get("sourceType") or "CRM_UI")
        changes, problems = self.check(raw, None, trusted=True)
        if problems:
            raise invalid_values(problems).as_error()
        stamps = {
            name: to_ms(parse_iso(text)) for name, text in (spec.get("timestamps") or {}).items()
        }
        if spec.get("createdate"):
            created = to_ms(parse_iso(str(spec["createdate"])))
        else:
            created = min(stamps.values(), default=self.now_ms())
        updated = max([created, *stamps.values()])
        cid = self._allocate()
        values = {name: value for name, value in changes.items() if value}
        values.update(
            createdate=ms_iso(created), hs_object_id=str(cid), lastmodifieddate=ms_iso(updated)
        )
        history = {
            name: [Version(value, stamps.get(name, created), source_type, UI_USER)]
            for name, value in values.items()
            if name not in INTRINSIC
        }
        for name in INTRINSIC:
            at = updated if name == "lastmodifieddate" else created
            history[name] = [Version(values[name], at, "CALCULATED", "")]
        self.contacts[cid] = Contact(Record(cid, created, updated, values), history)
        for email in emails_of(values):
            self.emails.claim(email, cid)
        return cid

    def _allocate(self) -> int:
        cid = self.next_id
        self.next_id += 1
        self.ids.append(cid)
        self.version += 1
        return cid

    def _reindex(self, cid: int, old: list[str], new: list[str]) -> None:
        kept = {e.lower() for e in new}
        for email in old:
            if email.lower() not in kept:
                self.emails.release(email, cid)
        for email in new:
            self.emails.claim(email, cid)

    def _mark_written(self, contact: Contact, previous: Record | None, at: int) -> None:
        """Remember what search shows until this write is indexed (see the module docstring)."""
        self.version += 1
        lag = self._draw_lag()
        if lag <= 0:
            contact.written_at, contact.before, contact.lag = 0, None, 0
            return
        if at - contact.written_at >= contact.lag:
            contact.before = previous
        contact.written_at, contact.lag = at, lag

    def _draw_lag(self) -> int:
        """How long the write being made takes to be indexed."""
        rate = float(self.settings.get("straggler_rate", 0))
        if rate > 0 and self.stragglers.random() < rate:
            return int(self.settings.get("straggler_lag_ms", 0))
        return int(self.settings.get("index_lag_ms", 0))
