"""A soak round's random outside edits: who is edited, on which side, in which phase.

The rules the choices keep (so the expected end state never depends on timing) are the world's,
in :mod:`tests.support.soak`; this module only draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.support.people import DOMAIN
from tests.support.soak import EARLY, LATE, STAGES, MailchimpChange, Person, World


@dataclass
class RoundPlan:
    """One round's outside edits, in the order they are made."""

    hubspot: dict[str, dict[int, dict[str, str]]] = field(
        default_factory=lambda: {EARLY: {}, LATE: {}}
    )
    mailchimp: dict[int, MailchimpChange] = field(default_factory=dict)
    new_contacts: dict[str, list[Person]] = field(default_factory=lambda: {EARLY: [], LATE: []})
    new_members: list[Person] = field(default_factory=list)
    #: Settled people this plan leaves alone, for the round's events and edits made mid-run.
    spare: list[Person] = field(default_factory=list)

    def edits(self) -> int:
        hubspot = sum(len(edits) for edits in self.hubspot.values())
        created = sum(len(people) for people in self.new_contacts.values())
        return hubspot + len(self.mailchimp) + created + len(self.new_members)


@dataclass(frozen=True)
class Volume:
    """How much happens per round, scaled to the number of people."""

    people: int

    @property
    def edited(self) -> int:
        return max(6, self.people * 5 // 100)

    @property
    def new_per_side(self) -> int:
        return max(2, self.people // 400)

    @property
    def cleaned(self) -> int:
        return max(1, self.people // 1000)


class Planner:
    """Draws each round's edits for a :class:`World` from its random generator."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng
        self.volume = Volume(world.count)

    def plan(self, round_no: int, settled: set[int]) -> RoundPlan:
        """Choose this round's edits among the ``settled`` people (both sides as the model
        expects); people edited in the previous round are left alone."""
        plan = RoundPlan()
        eligible = [
            p
            for p in self.world.people
            if p.edited < round_no - 1
            and p.key in settled
            and p.hubspot_id is not None
            and not p.frozen
        ]
        self.rng.shuffle(eligible)
        chosen = eligible[: self.volume.edited]
        cleaned = [
            p
            for p in eligible[self.volume.edited :]
            if p.status in ("subscribed", "pending", "unsubscribed")
        ][: self.volume.cleaned]
        plan.spare = [p for p in eligible[self.volume.edited :] if p not in cleaned]
        for person in chosen:
            person.edited = round_no
            self._edit(person, round_no, plan)
        for person in cleaned:
            person.edited = round_no
            plan.mailchimp[person.key] = MailchimpChange(person.email, action="clean")
        self.world.kinds["cleaned"] += len(cleaned)
        self.world.kinds["new people per side"] += self.volume.new_per_side
        for _ in range(self.volume.new_per_side):
            plan.new_contacts[self.rng.choice((EARLY, LATE))].append(self._arrival(round_no))
            member = self._arrival(round_no)
            member.stage = ""
            member.status = "subscribed" if member.wants else "unsubscribed"
            plan.new_members.append(member)
        return plan

    def _arrival(self, round_no: int) -> Person:
        key = len(self.world.people)
        person = self.world.new_person(key, f"new{key:05d}-r{round_no}@{DOMAIN}")
        person.status = "subscribed" if person.wants else None
        person.edited = round_no
        self.world.people.append(person)
        return person

    def _edit(self, person: Person, round_no: int, plan: RoundPlan) -> None:
        """One to six edits of one person, on either side or both (see the module's rules)."""
        rng = self.rng
        member = person.status is not None
        hubspot: dict[str, dict[str, str]] = {EARLY: {}, LATE: {}}
        change = MailchimpChange(person.email)
        any_phase = rng.choice((EARLY, LATE))
        fills = person.status != "cleaned"  # see _value
        if person.status == "cleaned" and rng.random() < 0.3:
            address = f"p{person.key:05d}-r{round_no}-fixed@{DOMAIN}"
            plan.hubspot[any_phase][person.key] = {"email": address}
            self.world.kinds["e-mail: HubSpot fixes a cleaned address"] += 1
            return
        if rng.random() < 0.5:
            sides = rng.choice(("HubSpot", "Mailchimp", "both")) if member else "HubSpot"
            phase = any_phase
            if sides != "HubSpot":
                change.merge_fields["FNAME"] = self._value(
                    "Fm", person.key, person.first, blank=fills
                )
            if sides == "both":
                phase = rng.choice((EARLY, LATE))
                sides += ", HubSpot later" if phase == LATE else ", Mailchimp later"
            if sides != "Mailchimp":
                hubspot[phase]["firstname"] = self._value(
                    "Fh", person.key, person.first, blank=fills
                )
            self.world.kinds[f"first name: {sides}"] += 1
        if rng.random() < 0.3:
            hubspot[any_phase]["lastname"] = self._value("Lh", person.key, person.last, blank=fills)
            sides = "HubSpot"
            if member and rng.random() < 0.4:
                change.merge_fields["LNAME"] = self._value(
                    "Lm", person.key, person.last, blank=fills
                )
                sides = "both, HubSpot wins"
            self.world.kinds[f"last name: {sides}"] += 1
        if rng.random() < 0.3:
            self._subscription(person, hubspot[any_phase], change)
        if rng.random() < 0.12:
            address = f"p{person.key:05d}-r{round_no}@{DOMAIN}"
            if member and (person.status == "cleaned" or rng.random() < 0.5):
                change.new_email = address
                self.world.kinds["e-mail: Mailchimp"] += 1
            else:
                hubspot[any_phase]["email"] = address
                self.world.kinds["e-mail: HubSpot"] += 1
        if rng.random() < 0.12 or not (
            hubspot[EARLY] or hubspot[LATE] or change.patch() or change.action
        ):
            hubspot[any_phase]["lifecyclestage"] = rng.choice(STAGES)
            self.world.kinds["lifecycle stage"] += 1
        for phase, properties in hubspot.items():
            if properties:
                plan.hubspot[phase][person.key] = properties
        if change.patch() or change.action:
            plan.mailchimp[person.key] = change

    def _subscription(
        self, person: Person, hubspot: dict[str, str], change: MailchimpChange
    ) -> None:
        """Opt in or out, on HubSpot's side or as the person does at Mailchimp."""
        actions = {
            "subscribed": ["unsubscribe"],
            "pending": ["unsubscribe", "confirm"],
            "unsubscribed": ["resubscribe"],
        }.get(person.status or "", [])
        if actions and self.rng.random() < 0.5:
            change.action = self.rng.choice(actions)
            self.world.kinds[f"subscription: Mailchimp {change.action}"] += 1
        else:
            hubspot["newsletter"] = "false" if person.wants else "true"
            self.world.kinds[f"subscription: HubSpot opt-{'out' if person.wants else 'in'}"] += 1

    def _value(self, prefix: str, key: int, current: str, *, blank: bool = True) -> str:
        """A new name; now and then an empty one (clearing is a change like any other), but
        never blank over blank: that changes nothing, so it is no edit (a model counting it as
        one expects HubSpot to win a conflict that never happened). ``blank=False`` for a
        cleaned member's person, on either side: nothing is written to a cleaned member, so its
        fields may never have agreed with HubSpot's, and without a base a blank is filled from
        the other side (DESIGN §6, "no base yet: fill blanks from whichever side has a value")."""
        empty = self.rng.random() < 0.05
        return "" if empty and current and blank else self.world.name(prefix, key)
