"""The soak test's world: who exists, what both sides should end up holding, and random edits.

The model is the test's own account of every outside edit, never syncer's records. Its rules are
chosen so that the expected final value does not depend on when syncer got to an edit:

* a person is edited only while both sides show what the model expects, and never in two rounds
  in a row (nor do two rounds in a row kill the run), so every edit has been fetched and written
  by a run that completed before the person is edited again;
* inside a round, HubSpot edits happen at ``EARLY`` or ``LATE``, all Mailchimp edits at ``MIDDLE``
  (the clock moves between), so for ``winner: latest`` (first name, e-mail) the later phase wins;
  Mailchimp only dates a whole member (``last_changed``), which is why all its edits of a round
  share one phase;
* the last name is configured ``winner: hubspot``: Mailchimp edits it only in the same round as
  HubSpot does, and loses;
* the subscription and the e-mail are edited on at most one side per person and round;
* a cleaned Mailchimp-only member never becomes a contact, and when HubSpot fixes the address of
  a cleaned person, the bounced member is let go (it stays, cleaned, as a Mailchimp-only record
  of its own) and the fixed address becomes a new member if the person wants the newsletter;
  such a fix is the person's only edit that round.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.support.people import DOMAIN

EARLY, MIDDLE, LATE = "early", "middle", "late"
STAGES = ("subscriber", "lead", "marketingqualifiedlead", "opportunity", "customer", "other")
#: Names outside ASCII and with punctuation, so a normalisation bug shows up as a mismatch.
NAME_STEMS = ("Ann", "Zoë", "José", "Łukasz", "O'Brien", "Åsa", "李", "Nguyễn", "Mary-Kate")


@dataclass
class Person:
    """One human being and the values both sides should hold for them once the sync settles."""

    key: int
    email: str
    first: str
    last: str
    wants: bool
    #: Mailchimp status, ``None`` while the person has no member.
    status: str | None
    stage: str = ""
    #: False for a cleaned member nobody in HubSpot stands for (never made a contact).
    in_hubspot: bool = True
    hubspot_id: str | None = None
    #: The last round with an outside edit; seeded people are synced before round 1 begins.
    edited: int = -1
    #: Never edited again (an event made the person's future depend on more than the rules).
    frozen: bool = False
    #: Set when an event (a deletion, a merge, a held e-mail change...) takes the person out of
    #: this model: what both sides must show is then that event's own check (``soak_events``).
    apart: str = ""
    emails: set[str] = field(default_factory=set)
    history: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.emails.add(self.email)

    def note(self, text: str) -> None:
        self.history.append(text)

    def describe(self) -> str:
        expected = (
            f"email={self.email} first={self.first!r} last={self.last!r} stage={self.stage!r} "
            f"newsletter={self.wants} status={self.status}"
        )
        return f"person {self.key} (expected {expected}); history: " + " | ".join(self.history)

    # -- what an outside edit means for the expected end state ---------------------------------

    def hubspot_edit(self, properties: dict[str, str]) -> None:
        """A person editing the contact in HubSpot's UI."""
        self.first = properties.get("firstname", self.first)
        self.last = properties.get("lastname", self.last)
        self.stage = properties.get("lifecyclestage", self.stage)
        if "email" in properties:
            self.email = properties["email"]
            self.emails.add(self.email)
        if "newsletter" in properties:
            self.wants = properties["newsletter"] == "true"
            self.status = _status_after_hubspot(self.wants, self.status)

    def let_go(self, key: int) -> Person:
        """HubSpot fixed this cleaned person's address: the bounced member goes its own way.

        The member keeps every address it had, with their status history; the person keeps
        only the new one, and gets a new member once synced if they want the newsletter.
        """
        member = Person(
            key=key,
            email=self.email,
            first=self.first,
            last=self.last,
            wants=False,
            status="cleaned",
            stage=self.stage,
            in_hubspot=False,
            emails=set(self.emails),
        )
        member.note(f"the member person {self.key} let go when HubSpot fixed the address")
        self.emails.clear()
        self.status = "subscribed" if self.wants else None
        return member

    def mailchimp_patch(self, change: MailchimpChange) -> None:
        """An edit of the member's fields; its last name always loses to HubSpot's (see above)."""
        self.first = change.merge_fields.get("FNAME", self.first)
        if change.new_email is not None:
            self.email = change.new_email
            self.emails.add(self.email)

    def mailchimp_action(self, action: str) -> None:
        if action == "unsubscribe":
            self.status, self.wants = "unsubscribed", False
        elif action in ("confirm", "resubscribe"):
            self.status, self.wants = "subscribed", True
        else:
            self.status = "cleaned"


def _status_after_hubspot(wants: bool, status: str | None) -> str | None:
    """DESIGN §6's table, from HubSpot's side: what the member becomes once the sync settles."""
    if status == "cleaned":
        return status
    if not wants:
        return "unsubscribed" if status in ("subscribed", "pending") else status
    if status is None:
        return "subscribed"
    return "pending" if status == "unsubscribed" else status


@dataclass
class MailchimpChange:
    """Everything done to one member in a round: one PATCH, then at most one status action."""

    address: str
    new_email: str | None = None
    merge_fields: dict[str, str] = field(default_factory=dict)
    #: ``unsubscribe``/``confirm`` (the person clicks), ``resubscribe`` (signs up again through a
    #: form), ``clean`` (Mailchimp gives up after bounces).
    action: str | None = None

    def patch(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.new_email is not None:
            body["email_address"] = self.new_email
        if self.merge_fields:
            body["merge_fields"] = dict(self.merge_fields)
        return body


class World:
    """Every person and their seeds; :mod:`tests.support.soak_plan` plans each round's edits."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.count = count
        self.people: list[Person] = []
        #: How many edits of each kind were planned, for the journal.
        self.kinds: Counter[str] = Counter()

    def __iter__(self) -> Iterator[Person]:
        return iter(self.people)

    def hubspot_edit(self, person: Person, properties: dict[str, str]) -> None:
        """Someone edits ``person`` in HubSpot's UI (see the module's rules for a cleaned one)."""
        if "email" in properties and person.status == "cleaned":
            self.people.append(person.let_go(len(self.people)))
        person.hubspot_edit(properties)

    # -- the seed ------------------------------------------------------------------------------

    def seed(self, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """HubSpot contacts and Mailchimp members as they stand before the first sync.

        60% of people are on both sides (some with first or last names that differ, or are
        blank on one side), 20% only in HubSpot, 20% only in Mailchimp. Seeded first names
        that differ are dated hours apart, so ``winner: latest`` has a clear answer.
        """
        contacts: list[dict[str, Any]] = []
        members: list[dict[str, Any]] = []
        base = now - timedelta(days=10)
        count = self.count
        for key in range(count):
            where = key * 10 // count
            hubspot_at = base + timedelta(hours=self.rng.uniform(0, 100))
            mailchimp_at = base + timedelta(hours=self.rng.uniform(0, 100))
            person = self.new_person(key, f"p{key:05d}@{DOMAIN}")
            if where < 6:
                hs_first, mc_first, hubspot_at, mailchimp_at = self._first_names(
                    person, hubspot_at, mailchimp_at
                )
                hs_last, mc_last = self._last_names(person)
                person.wants, person.status = self.rng.choice(SHARED_CONSENT)
                contacts.append(_contact(person, hs_first, hs_last, hubspot_at, base))
                members.append(_member(person, mc_first, mc_last, mailchimp_at))
            elif where < 8:
                person.status = "subscribed" if person.wants else None
                contacts.append(_contact(person, person.first, person.last, hubspot_at, base))
            else:
                person.status = self.rng.choice(MAILCHIMP_ONLY_STATUSES)
                person.wants = person.status == "subscribed"  # pending is no opt-in yet
                person.in_hubspot = person.status != "cleaned"
                person.stage = ""
                members.append(_member(person, person.first, person.last, mailchimp_at))
            person.note(f"seeded ({'both' if where < 6 else 'hubspot' if where < 8 else 'mc'})")
            self.people.append(person)
        return contacts, members

    def _first_names(
        self, person: Person, hubspot_at: datetime, mailchimp_at: datetime
    ) -> tuple[str, str, datetime, datetime]:
        """Each side's seeded first name and date; ``person.first`` is the one that must win."""
        roll = self.rng.random()
        if roll >= 0.2:
            return person.first, person.first, hubspot_at, mailchimp_at
        if roll >= 0.16:  # blank in HubSpot: filled from Mailchimp
            return "", person.first, hubspot_at, mailchimp_at
        loser = self.name("Seed", person.key)
        older, newer = sorted((hubspot_at, mailchimp_at))
        newer += timedelta(hours=2)
        if roll < 0.08:  # HubSpot renamed more recently
            return person.first, loser, newer, older
        return loser, person.first, older, newer

    def _last_names(self, person: Person) -> tuple[str, str]:
        roll = self.rng.random()
        if roll < 0.06:  # both set and different: `winner: hubspot`
            return person.last, self.name("Loser", person.key)
        if roll < 0.1:  # blank in Mailchimp: filled from HubSpot
            return person.last, ""
        return person.last, person.last

    def new_person(self, key: int, email: str) -> Person:
        return Person(
            key=key,
            email=email,
            first=self.name("F", key),
            last=self.name("L", key),
            wants=self.rng.random() < 0.5,
            status=None,
            stage=self.rng.choice(STAGES),
        )

    def name(self, prefix: str, key: int) -> str:
        return f"{self.rng.choice(NAME_STEMS)} {prefix}{key}-{self.rng.randrange(10**6)}"


SHARED_CONSENT = (
    *[(True, "subscribed")] * 15,
    *[(False, "unsubscribed")] * 3,
    (True, "pending"),
    (False, "cleaned"),
    (True, "cleaned"),
)
MAILCHIMP_ONLY_STATUSES = (*["subscribed"] * 15, *["unsubscribed"] * 3, "pending", "cleaned")


def _contact(person: Person, first: str, last: str, at: datetime, base: datetime) -> dict[str, Any]:
    properties = {
        "email": person.email,
        "firstname": first,
        "lastname": last,
        "lifecyclestage": person.stage,
        "newsletter": "true" if person.wants else "false",
    }
    return {
        "properties": {name: value for name, value in properties.items() if value},
        "timestamps": {name: at.isoformat() for name in properties},
        "createdate": (base - timedelta(days=1)).isoformat(),
    }


def _member(person: Person, first: str, last: str, at: datetime) -> dict[str, Any]:
    return {
        "email_address": person.email,
        "status": person.status,
        "merge_fields": {"FNAME": first, "LNAME": last},
        "last_changed": at.isoformat(),
    }
