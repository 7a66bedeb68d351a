"""The Mailchimp simulator's audience: members, merge fields, tags and the consent state machine.

Callers hold the simulator's lock around every method. Choices made where the reference says
"unconfirmed" or is silent (each tested in ``tests/sandbox/test_mailchimp_*.py``):

* **Archived members are listed only for ``status=archived``**, ``since_last_changed`` queries
  included, so a client has to ask for them on purpose.
* ``since_last_changed`` / ``before_last_changed`` are **exclusive** and compare the wall-clock
  value, the offset dropped: a client without a cursor overlap misses same-second changes.
* ``last_changed`` moves only when a write changes what the member shows (status, address, merge
  fields, interests, email type, language, VIP, tags); writes that change nothing leave it. Tag
  edits move it as other edits do: "last_changed also moves on edits that do not change the
  status (merge fields, tags...)" (Kestra's Mailchimp plugin, ``MemberStatusChangeTrigger``
  docs, on kestra.io); the reference (§4.7) left it unconfirmed.
* **The compliance lock** (``Member.locked``) is set when a member becomes unsubscribed (through the
  API only if config ``api_unsubscribe_locks``), cleaned, or re-created from a permanently deleted
  address, and cleared only when the person confirms a pending subscription. While set,
  ``subscribed`` is refused from any status, so unsubscribed → pending → subscribed by API fails
  until the person clicks. ``cleaned`` refuses ``subscribed`` and ``pending``.
* For a new member ``status_if_new`` wins over ``status``. An archived member comes back through
  PUT (``status``, else ``status_if_new``), POST, or PATCH with a ``status``, under the rules of the
  status it had before archiving. A PUT creating a member whose address does not hash to the path
  is refused. The raw address works as the member id for GET/PUT/PATCH/DELETE only, not for
  ``/tags`` or ``delete-permanent`` (as the reference says).
* The transition log names the channel of each change: ``api``, ``batch``, ``seed``, or ``person``
  for ``/_sim/unsubscribe`` and ``/_sim/confirm``; a permanent delete is a transition to ``null``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from syncer.sandbox.clock import SimClock, iso_seconds
from syncer.sandbox.mailchimp.preferences import Preferences
from syncer.sandbox.mailchimp.schema import (
    MemberWrite,
    MergeField,
    check_email,
    check_merge_values,
    check_required,
    field_error,
)
from syncer.sandbox.server import SimError

NOT_FOUND = "The requested resource could not be found."


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


def member_hash(segment: str) -> str:
    """The member a URL segment names: Mailchimp takes the address in place of its hash."""
    return subscriber_hash(segment.strip()) if "@" in segment else segment.strip().lower()


def stamp(seconds: int | None) -> str:
    """Unset timestamps are ``""`` in Mailchimp, never null."""
    return "" if seconds is None else iso_seconds(datetime.fromtimestamp(seconds, UTC))


def not_found() -> SimError:
    return SimError(404, "Resource Not Found", NOT_FOUND)


@dataclass(slots=True)
class Member:
    seq: int
    id: str
    email: str
    unique_email_id: str
    contact_id: str
    status: str
    last_changed: int
    merge: dict[int, Any] = field(default_factory=dict)
    interests: dict[str, bool] = field(default_factory=dict)
    #: Marketing permissions granted or withdrawn, by id (see :mod:`.preferences`).
    permissions: dict[str, bool] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    email_type: str = "html"
    language: str = ""
    vip: bool = False
    ip_signup: str = ""
    timestamp_signup: int | None = None
    ip_opt: str = ""
    timestamp_opt: int | None = None
    unsubscribe_reason: str = ""
    source: str = "API - Generic"
    locked: bool = False
    archived_from: str | None = None

    @property
    def standing(self) -> str | None:
        """The status the consent rules judge: an archived member keeps the one it had."""
        return self.archived_from if self.status == "archived" else self.status


def unique_email_id(list_id: str, seq: int, taken: Container[str]) -> str:
    """Ten hex digits, never one ``taken``: stable and unique in the account (reference
    mailchimp-marketing-api.md, member fields); ten digits of a hash repeat among a million."""
    key, attempt = f"{list_id}:{seq}", 0
    while (candidate := hashlib.sha256(key.encode()).hexdigest()[:10]) in taken:
        attempt += 1
        key = f"{list_id}:{seq}:{attempt}"
    return candidate


class Audience:
    """The one list a simulator serves."""

    def __init__(
        self, list_id: str, clock: SimClock, settings: Callable[[], Mapping[str, Any]]
    ) -> None:
        self.list_id = list_id
        self.clock = clock
        self.settings = settings
        self.created = self.now()
        self.clear()

    def clear(self) -> None:
        """Back to a new audience: no members, merge fields FNAME and LNAME (ids 1 and 2)."""
        self.members: dict[str, Member] = {}
        self.forgotten: set[str] = set()
        self.fields: dict[int, MergeField] = {
            1: MergeField(1, "FNAME", "First Name", "text", display_order=1),
            2: MergeField(2, "LNAME", "Last Name", "text", display_order=2),
        }
        self.next_merge_id = 3
        self.tag_ids: dict[str, int] = {}
        self.preferences = Preferences(self.list_id)
        #: Tag changes made through the API, for ``/_sim/tag-writes`` (see :mod:`.tags`).
        self.tag_writes: list[dict[str, Any]] = []
        self.transitions: list[dict[str, Any]] = []
        self.emails: list[dict[str, str]] = []
        self.status_counts: Counter[str] = Counter()
        self.last_sub: int | None = None
        self.last_unsub: int | None = None
        self._seq = 0
        self._unique_ids: set[str] = set()  # every one given out, deleted members' too
        self._version = 0
        self._order: tuple[tuple[str, int], list[Member]] | None = None
        self._selection: tuple[tuple[Any, int], list[Member]] | None = None

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    # -- lookups ---------------------------------------------------------------------------------

    def find(self, segment: str, *, allow_email: bool = True) -> Member | None:
        """A member by subscriber hash, or by raw address where the reference allows it."""
        if "@" in segment and not allow_email:
            return None
        return self.members.get(member_hash(segment))

    def require(self, segment: str, *, allow_email: bool = True) -> Member:
        member = self.find(segment, allow_email=allow_email)
        if member is None:
            raise not_found()
        return member

    def fields_by_tag(self) -> dict[str, MergeField]:
        return {definition.tag: definition for definition in self.fields.values()}

    def ordered(self, sort_field: str | None) -> list[Member]:
        """Members in one order, sorted once per store version so a paging walk sorts once."""
        key = (sort_field or "", self._version)
        if self._order is None or self._order[0] != key:
            # Insertion order first (nearly sorted already, so cheap), then a stable sort on top.
            members = sorted(self.members.values(), key=attrgetter("seq"))
            if sort_field == "last_changed":
                members.sort(key=attrgetter("last_changed"))
            elif sort_field is not None:
                members.sort(key=lambda member: getattr(member, sort_field) or 0)
            self._order = (key, members)
        return self._order[1]

    def selection(self, key: Any, build: Callable[[], list[Member]]) -> list[Member]:
        """The members one query shape selects (``key``, paging aside), built once per store
        version: a walk of a large audience filters it once, not once per page."""
        if self._selection is None or self._selection[0] != (key, self._version):
            self._selection = ((key, self._version), build())
        return self._selection[1]

    # -- member writes ---------------------------------------------------------------------------

    def write(
        self, mode: str, segment: str | None, change: MemberWrite, *, via: str, skip_merge: bool
    ) -> Member:
        """One API write (``post``/``put``/``patch``), validated in full before anything changes."""
        self.preferences.check_interests(change.interests or {})
        self.preferences.check_permissions(change.permissions or {})
        member = self.find(segment) if segment is not None else None
        if mode == "post":
            member = self.find(change.email or "")
            if member is not None and member.status != "archived":
                raise SimError(
                    400,
                    "Member Exists",
                    f"{member.email} is already a list member. "
                    "Use PUT to insert or update list members.",
                )
        if member is None:
            if mode == "patch":
                raise not_found()
            return self._create(segment, change, via=via, skip_merge=skip_merge)
        target = change.status
        if target is None and mode == "put" and member.status == "archived":
            target = change.status_if_new
        return self._update(member, change, target, via=via, skip_merge=skip_merge)

    def _create(
        self, segment: str | None, change: MemberWrite, *, via: str, skip_merge: bool
    ) -> Member:
        email = change.email or (segment if segment and "@" in segment else None)
        if email is None:
            raise field_error("email_address", "This value should not be blank.")
        email = check_email(email, self.settings()["fake_domains"])
        if segment is not None and member_hash(segment) != subscriber_hash(email):
            raise field_error("email_address", "The address does not match the hash in the URL.")
        target = change.status_if_new or change.status
        if target is None:
            raise field_error("status_if_new", "This value should not be blank.")
        forgotten = email.lower() in self.forgotten
        if forgotten and target in {"subscribed", "pending"}:
            raise SimError(
                400,
                "Forgotten Email Not Subscribed",
                f"{email} was permanently deleted and cannot be re-imported. "
                "The contact must re-subscribe to get back on the list.",
            )
        merge = check_merge_values(change.merge_fields or {}, self.fields_by_tag())
        if not skip_merge:
            check_required(merge, self.fields.values())
        member = self.add(email, target, via=via, last_changed=self.now(), merge=merge)
        member.locked = member.locked or forgotten
        self._apply_profile(member, change)
        return member

    def _update(
        self, member: Member, change: MemberWrite, target: str | None, *, via: str, skip_merge: bool
    ) -> Member:
        email = member.email
        if change.email is not None and change.email != member.email:
            email = check_email(change.email, self.settings()["fake_domains"])
            self._check_rename(member, email)
        merge = {
            **member.merge,
            **check_merge_values(change.merge_fields or {}, self.fields_by_tag()),
        }
        if not skip_merge:
            check_required(merge, self.fields.values())
        if target is not None:
            self.check_transition(member, target)
        changed = self._apply_profile(member, change) | (merge != member.merge)
        member.merge = merge
        if email != member.email:
            self._rename(member, email)
            changed = True
        if target is not None and target != member.status:
            self.set_status(member, target, via)
            changed = True
        if changed:
            self.touch(member)
        return member

    def _apply_profile(self, member: Member, change: MemberWrite) -> bool:
        """Copy the optional settings and tags a write carries; say whether a setting differed."""
        for name in change.tags:
            self.tag(member, name, active=True)
        changed = False
        for name in MemberWrite.PROFILE:
            value = getattr(change, name)
            if name in ("interests", "permissions") and value is not None:
                value = {**getattr(member, name), **value}
            if value is not None and value != getattr(member, name):
                setattr(member, name, value)
                changed = True
        return changed

    def _check_rename(self, member: Member, email: str) -> None:
        other = self.members.get(subscriber_hash(email))
        if other is member:
            return
        if other is not None or email.lower() in self.forgotten:
            shown = "Deleted" if other is None else other.status.capitalize()
            message = f'"{email}" is already in this list with a status of "{shown}".'
            raise field_error("email address", message)

    def _rename(self, member: Member, email: str) -> None:
        del self.members[member.id]
        member.email = email
        member.id = subscriber_hash(email)
        self.members[member.id] = member

    def check_transition(self, member: Member, target: str) -> None:
        """Mailchimp's consent rules (reference §5): the person, not the API, opts back in."""
        standing = member.standing
        if target == standing:
            return
        cleaned = standing == "cleaned" and target in {"subscribed", "pending"}
        if cleaned or (target == "subscribed" and member.locked):
            raise SimError(
                400,
                "Member In Compliance State",
                f"{member.email} is in a compliance state due to unsubscribe, bounce, "
                "or compliance review and cannot be subscribed.",
            )

    # -- state changes every path goes through ---------------------------------------------------

    def add(
        self, email: str, status: str, *, via: str, last_changed: int, merge: dict[int, Any]
    ) -> Member:
        self._seq += 1
        token = hashlib.sha256(f"{self.list_id}:{self._seq}".encode()).hexdigest()
        unique = unique_email_id(self.list_id, self._seq, self._unique_ids)
        self._unique_ids.add(unique)
        member = Member(
            seq=self._seq,
            id=subscriber_hash(email),
            email=email,
            unique_email_id=unique,
            contact_id=token[32:],
            status="",
            last_changed=last_changed,
            merge=merge,
            timestamp_signup=last_changed if via != "seed" else None,
            source="Import" if via == "seed" else "API - Generic",
        )
        self.members[member.id] = member
        self._version += 1
        self.set_status(member, status, via, at=last_changed)
        return member

    def set_status(self, member: Member, status: str, via: str, at: int | None = None) -> None:
        """Change a status, keeping counts, the lock, opt-in time and the transition log."""
        at = self.now() if at is None else at
        before = member.status or None
        if before is not None:
            self.status_counts[before] -= 1
        self.status_counts[status] += 1
        if status == "archived":
            member.archived_from = before
        elif status == "subscribed":
            member.timestamp_opt = at
            self.last_sub = at
        elif status == "unsubscribed":
            member.locked = (
                member.locked or via != "api" or bool(self.settings()["api_unsubscribe_locks"])
            )
            self.last_unsub = at
        elif status == "cleaned":
            member.locked = True
        if status == "pending":
            self.emails.append({"email": member.email, "type": "confirmation", "at": stamp(at)})
        member.status = status
        self._version += 1  # a listing filtered by status is selected anew
        self.log(member.email, before, status, via, at)

    def log(self, email: str, before: str | None, after: str | None, via: str, at: int) -> None:
        self.transitions.append(
            {"email": email, "from": before, "to": after, "at": stamp(at), "via": via}
        )

    def touch(self, member: Member, at: int | None = None) -> None:
        member.last_changed = self.now() if at is None else at
        self._version += 1

    def archive(self, member: Member, via: str) -> None:
        if member.status == "archived":
            raise not_found()
        self.set_status(member, "archived", via)
        self.touch(member)

    def forget(self, member: Member, via: str) -> None:
        """Permanent delete: the member goes and the address may never be subscribed again."""
        del self.members[member.id]
        self.status_counts[member.status] -= 1
        self.forgotten.add(member.email.lower())
        self._version += 1
        self.log(member.email, member.status, None, via, self.now())

    def tag(self, member: Member, name: str, *, active: bool) -> None:
        """Add or remove one tag; a change moves ``last_changed`` (see the module docstring)."""
        if not active:
            if member.tags.pop(name, None) is not None:
                self.touch(member)
            return
        self.tag_ids.setdefault(name, len(self.tag_ids) + 1)
        if name not in member.tags:
            member.tags[name] = self.now()
            self.touch(member)

    # -- what the person does ----------------------------------------------------------------------

    def person_unsubscribe(self, email: str) -> bool:
        member = self.find(email)
        if member is None or member.status == "archived":
            return False
        member.locked = True
        member.unsubscribe_reason = "N/A (Unsubscribed by the contact)"
        if member.status != "unsubscribed":
            self.set_status(member, "unsubscribed", "person")
            self.touch(member)
        return True

    def person_confirm(self, email: str) -> bool:
        member = self.find(email)
        if member is None or member.status != "pending":
            return False
        member.locked = False
        self.set_status(member, "subscribed", "person")
        self.touch(member)
        return True
