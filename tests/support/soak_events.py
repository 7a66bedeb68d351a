"""The soak's events: what HubSpot, Mailchimp or their users do besides editing a field.

Each round deals out a few of them (every kind in turn), to settled people nobody else edits that
round: a contact deleted in HubSpot, two people merged as HubSpot merges (a new record with a new
id, ``hs_merged_object_ids``; ``syncer.sandbox.hubspot.merges``), an e-mail changed onto an
address the other side gives someone else, an opt-out beside a value Mailchimp refuses, and a
duplicate contact imported with a linked person's e-mail.

What a correct sync does with each is DESIGN's rule, not the world model's three-way merge: so
each event takes the people it touches out of the model (``Person.apart``), never edits them
again, and records an :class:`Expectation`, checked against both simulators at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

from tests.support.sandbox import SandboxDriver
from tests.support.soak import Person, World

KINDS = (
    "deleted in HubSpot",
    "merged in HubSpot",
    "HubSpot e-mail onto a cleaned member's address",
    "Mailchimp e-mail onto a HubSpot contact's address",
    "opt-out beside a refused value",
    "duplicate contact",
)
#: Over the 255 characters of a Mailchimp text merge field; HubSpot takes it.
LONG = "Maximiliana-" * 25
CONTACTS = "/crm/v3/objects/contacts"


@dataclass
class Ends:
    """Both simulators at the end: every unarchived contact by id, every member by e-mail."""

    contacts: dict[str, dict[str, Any]]
    members: dict[str, dict[str, Any]]

    def contacts_at(self, address: str) -> list[str]:
        return [cid for cid, c in self.contacts.items() if c.get("email", "").lower() == address]


@dataclass
class Expectation:
    what: str
    check: Callable[[Ends], list[str]]
    #: Addresses this event accounts for, which no model person holds in the end.
    addresses: set[str] = field(default_factory=set)


class Events:
    """Deals out and makes each round's events, keeping their expectations."""

    def __init__(self, sim: SandboxDriver, world: World, rng: Random) -> None:
        self.sim, self.world, self.rng = sim, world, rng
        self.expectations: list[Expectation] = []
        #: Duplicate contacts' ids: left out of the model's view of HubSpot.
        self.duplicates: set[str] = set()
        self._deck: list[str] = []

    def deal(self, spare: list[Person], count: int, label: str) -> None:
        """Make ``count`` events among ``spare`` (settled people nobody edits this round)."""
        for _ in range(count):
            if not self._deck:
                self._deck = list(KINDS)
                self.rng.shuffle(self._deck)
            kind = self._deck.pop()
            if self._make(kind, spare, label):
                self.world.kinds[f"event: {kind}"] += 1

    def addresses(self) -> set[str]:
        """Every address an event accounts for, apart people's included."""
        found = {a for e in self.expectations for a in e.addresses}
        return found | {a for p in self.world if p.apart for a in p.emails}

    # -- the events ----------------------------------------------------------------------------

    def _make(self, kind: str, spare: list[Person], label: str) -> bool:
        linked = [p for p in spare if p.in_hubspot and p.status in ("subscribed", "unsubscribed")]
        if kind == "deleted in HubSpot":
            return self._delete(self._take(linked), label)
        if kind == "merged in HubSpot":
            return self._merge(self._take(linked), self._take(linked), label)
        if kind == "HubSpot e-mail onto a cleaned member's address":
            holders = [p for p in self.world if p.status == "cleaned" and not p.in_hubspot]
            holders = [p for p in holders if not p.frozen]
            return self._hubspot_collision(self._take(linked), self._take(holders), label)
        if kind == "Mailchimp e-mail onto a HubSpot contact's address":
            crm_only = [p for p in spare if p.in_hubspot and p.status is None]
            return self._mailchimp_collision(self._take(linked), self._take(crm_only), label)
        subscribed = [p for p in linked if p.status == "subscribed"]
        if kind == "opt-out beside a refused value":
            return self._refused(self._take(subscribed), label)
        return self._duplicate(self._take(linked), label)

    def _take(self, people: list[Person]) -> Person | None:
        while people:
            person = people.pop(self.rng.randrange(len(people)))
            if not person.frozen:
                person.frozen = True
                return person
        return None

    def _delete(self, person: Person | None, label: str) -> bool:
        if person is None:
            return False
        response = self.sim.http.delete(
            f"{self.sim.hs_url}{CONTACTS}/{person.hubspot_id}",
            headers=self.sim.hs_headers,
            timeout=30,
        )
        assert response.status_code == 204, response.text
        status, first, email = person.status, person.first, person.email
        self._apart(person, f"{label}: deleted in HubSpot")

        def check(ends: Ends) -> list[str]:
            # DESIGN §5/§6 (on_hubspot_delete: leave): never recreated, the member left alone.
            again = ends.contacts_at(email)
            wrong = [f"a contact again: {again}"] if again else []
            return wrong + _member_is(ends, email, status, first)

        self._expect(f"{email} deleted in HubSpot", check, set())
        return True

    def _merge(self, primary: Person | None, other: Person | None, label: str) -> bool:
        if primary is None or other is None:
            return False
        response = self.sim.http.post(
            f"{self.sim.hs_url}{CONTACTS}/merge",
            json={"primaryObjectId": primary.hubspot_id, "objectIdToMerge": other.hubspot_id},
            headers=self.sim.hs_headers,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        merged = str(response.json()["id"])
        # The merged record: the primary's values, the other's filling its blanks (merges.py).
        primary.hubspot_id = merged
        primary.first = primary.first or other.first
        primary.last = primary.last or other.last
        primary.stage = primary.stage or other.stage
        primary.note(f"{label}: person {other.key} merged into this contact, now {merged}")
        status, first, email = other.status, other.first, other.email
        self._apart(other, f"{label}: merged into person {primary.key}'s contact {merged}")

        def check(ends: Ends) -> list[str]:
            # DESIGN §5: a merge is never a deletion; the other member is reported, untouched.
            again = ends.contacts_at(email)
            wrong = [f"a contact of its own again: {again}"] if again else []
            return wrong + _member_is(ends, email, status, first)

        self._expect(f"{email} merged into {primary.email}", check, set())
        return True

    def _hubspot_collision(self, mover: Person | None, holder: Person | None, label: str) -> bool:
        if mover is None or holder is None:
            return False
        taken, old = holder.email, mover.email
        self.sim.hubspot_edit(str(mover.hubspot_id), {"email": taken})
        status, first, contact_id = mover.status, mover.first, str(mover.hubspot_id)
        self._apart(mover, f"{label}: HubSpot e-mail changed onto {taken}, a cleaned member's")
        self._apart(holder, f"{label}: its address given to person {mover.key} in HubSpot")

        def check(ends: Ends) -> list[str]:
            # Issue 11.1: the mover is held with the reason; nobody's member moves or changes.
            contact = ends.contacts.get(contact_id) or {}
            wrong = [] if contact.get("email") == taken else [f"contact {contact_id} {contact}"]
            wrong += _member_is(ends, old, status, first)
            return wrong + _member_is(ends, taken, "cleaned", None)

        self._expect(f"{old} renamed onto {taken} in HubSpot", check, {taken, old})
        return True

    def _mailchimp_collision(self, mover: Person | None, owner: Person | None, label: str) -> bool:
        if mover is None or owner is None:
            return False
        taken, old = owner.email, mover.email
        self.sim.mailchimp_edit(old, {"email_address": taken})
        status, first, owner_first = mover.status, mover.first, owner.first
        self._apart(mover, f"{label}: Mailchimp e-mail changed onto {taken}, a contact's")
        self._apart(owner, f"{label}: its address given to person {mover.key} in Mailchimp")

        def check(ends: Ends) -> list[str]:
            # Issue 11.1: the mover is held; its contact keeps its address, the owner's stays.
            wrong = _contact_is(ends, old, first) + _contact_is(ends, taken, owner_first)
            return wrong + _member_is(ends, taken, status, first)

        self._expect(f"{old} renamed onto {taken} in Mailchimp", check, {taken, old})
        return True

    def _refused(self, person: Person | None, label: str) -> bool:
        if person is None:
            return False
        self.sim.hubspot_edit(str(person.hubspot_id), {"firstname": LONG, "newsletter": "false"})
        first, email = person.first, person.email
        self._apart(person, f"{label}: opted out in HubSpot beside a first name Mailchimp refuses")

        def check(ends: Ends) -> list[str]:
            # Issue 11.3: the opt-out arrives on its own; the refused value stays out.
            return _contact_is(ends, email, LONG) + _member_is(ends, email, "unsubscribed", first)

        self._expect(f"{email} opted out with a refused name", check, set())
        return True

    def _duplicate(self, person: Person | None, label: str) -> bool:
        if person is None:
            return False
        twin = {"email": person.email, "firstname": f"Twin {person.key}", "newsletter": "true"}
        (twin_id,) = self.sim.seed_hubspot([{"properties": twin}])
        self.duplicates.add(twin_id)
        person.note(f"{label}: a duplicate contact {twin_id} imported with this e-mail")

        def check(ends: Ends) -> list[str]:
            # DESIGN §5: the oldest is linked, the others reported and never written.
            contact = ends.contacts.get(twin_id) or {}
            same = all(contact.get(k) == v for k, v in twin.items())
            return [] if same else [f"the duplicate {twin_id} was written: {contact}"]

        self._expect(f"a duplicate of {person.email}", check, set())
        return True

    # -- bookkeeping ---------------------------------------------------------------------------

    def _apart(self, person: Person, why: str) -> None:
        person.apart, person.frozen = why, True
        person.note(why)

    def _expect(self, what: str, check: Callable[[Ends], list[str]], addresses: set[str]) -> None:
        self.expectations.append(Expectation(what, check, addresses))

    def check(self, ends: Ends) -> list[str]:
        return [f"{e.what}: {'; '.join(bad)}" for e in self.expectations if (bad := e.check(ends))]


def _member_is(ends: Ends, email: str, status: str | None, first: str | None) -> list[str]:
    member = ends.members.get(email)
    if member is None:
        return [f"no member {email}"]
    wrong = [] if member["status"] == status else [f"member {email} {member['status']}"]
    shown = member["merge_fields"].get("FNAME", "")
    if first is not None and shown != first:
        wrong.append(f"member {email} FNAME {shown!r}")
    return wrong


def _contact_is(ends: Ends, email: str, first: str) -> list[str]:
    ids = ends.contacts_at(email)
    if len(ids) != 1:
        return [f"contacts at {email}: {ids}"]
    shown = ends.contacts[ids[0]].get("firstname") or ""
    return [] if shown == first else [f"contact {email} firstname {shown!r}"]
