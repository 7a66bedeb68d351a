"""Preferences in the soak (issue 18): Mailchimp groups and GDPR marketing permissions edited on
either side every round, and checked on both at the end.

The audience gets two groups, ``Invites`` (``Events``) and ``Topics`` (``News``, ``Offers``), and
GDPR fields with the permissions ``Email`` and ``Direct Mail``; HubSpot gets ``wants_events`` and
``gdpr_email`` (yes/no) and ``topics`` (multiple checkboxes). The config maps ``Events`` as an
opt-in interest (``consent: true``), the whole ``Topics`` group to ``topics``, and ``Email`` to
``gdpr_email``. Nobody has answered anything when the soak begins.

Each round some settled people nobody else edits this round (taken out of the round's spare, so
no mid-run edit and no event touches them) get one preference edit on one side:

* HubSpot: a grant or a withdrawal (``"true"``/``"false"``) of ``gdpr_email`` or
  ``wants_events``, a clear (``""``: unknown, so Mailchimp keeps its value and HubSpot stays
  blank), or a new set of ``topics``;
* Mailchimp: the permission or the interest turned on or off, or a new choice of topics. A
  Mailchimp grant fills a blank HubSpot value; a Mailchimp withdrawal leaves a blank one blank.

The model keeps both sides' expected values per person. The checks: every linked person's
values on both sides as the model says (people an event took part of excepted: a HubSpot merge
keeps the newer of two people's values) (a member created since the last edit, after a bounced
address was fixed, carries HubSpot's values only), and no member anywhere holds the ``Email``
permission at an address of someone never granted it (a grant is never invented).
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random
from typing import Any

from tests.support.preference_properties import HUBSPOT_PROPERTIES, TOPICS
from tests.support.sandbox import SandboxDriver
from tests.support.soak import Person, World
from tests.support.soak_sides import Sides

GROUPS = [
    {"title": "Invites", "interests": ["Events"]},
    {"title": "Topics", "interests": ["News", "Offers"]},
]
PERMISSIONS = ["Email", "Direct Mail"]
SECTIONS: dict[str, Any] = {
    "interests": [
        {"hubspot": "wants_events", "category": "Invites", "mailchimp": "Events", "consent": True},
        {"hubspot": "topics", "category": "Topics"},
    ],
    "permissions": [{"hubspot": "gdpr_email", "mailchimp": "Email"}],
}
#: Share of people given a preference edit per round (at least a few).
SHARE, AT_LEAST = 0.01, 4
CONSENT = ("gdpr_email", "wants_events")
ANSWERS = ("true", "false")
#: HubSpot clears of a consent value (``""``); ``()`` turns them off. They found a base bug: a
#: group or permission write left the address as its Mailchimp value in the base.
CLEAR: tuple[str, ...] = ("",)


@dataclass
class Expected:
    """One person's preference values as both sides should hold them."""

    gdpr_email: str = ""  # HubSpot: "", "true" or "false"
    wants_events: str = ""
    mc_gdpr_email: bool = False  # Mailchimp: enabled or not
    mc_wants_events: bool = False
    topics: frozenset[str] = frozenset()
    #: The member the last edit saw (``unique_email_id``): another one since was created by a
    #: run, from HubSpot's values alone.
    member: str = ""


class Preferences:
    """The groups and permissions, their edits, and their checks."""

    def __init__(self, sim: SandboxDriver, world: World, rng: Random) -> None:
        self.sim, self.world, self.rng = sim, world, rng
        self.expected: dict[int, Expected] = {}
        self.ids: dict[str, str] = {}  # interest name -> id, and "Email" -> permission id
        #: Who was ever granted the Email permission (by an edit on either side), and where.
        self.granted: set[int] = set()
        self.granted_at: set[str] = set()
        self.edits = 0

    def sections(self) -> dict[str, Any]:
        return SECTIONS

    def start(self) -> None:
        """Before the first sync: the audience's groups and GDPR fields, HubSpot's properties."""
        self.sim._post(
            f"{self.sim.mc_root}/_sim/seed",
            {"interest_categories": GROUPS, "marketing_permissions": PERMISSIONS, "members": []},
        )
        self.sim.seed_hubspot([], HUBSPOT_PROPERTIES)
        root = f"{self.sim.mc_url}/lists/{self.sim.list_id}/interest-categories"
        for category in self._get(root)["categories"]:
            for interest in self._get(f"{root}/{category['id']}/interests")["interests"]:
                self.ids[interest["name"]] = interest["id"]

    # -- edits ---------------------------------------------------------------------------------

    def edit(
        self, spare: list[Person], sides: Sides, ignored: set[str], round_no: int, label: str
    ) -> None:
        """Give some settled ``spare`` people one preference edit each, on one side; they leave
        ``spare`` (nobody else edits them this round) and are not edited next round (the
        world's rule: every edit is through a completed run before the next)."""
        contacts = self._contacts(ignored)
        ready = [
            p
            for p in spare
            if not p.frozen
            and p.in_hubspot
            and p.status in ("subscribed", "unsubscribed")
            and p.email in sides.mailchimp
            and not self.mismatches(p, contacts, sides)
        ]
        count = max(AT_LEAST, int(len(self.world.people) * SHARE))
        # Half of them edited before, so that clears, withdrawals and regrants come round too.
        again = [p for p in ready if p.key in self.expected]
        chosen = self.rng.sample(again, min(count // 2, len(again)))
        fresh = [p for p in ready if p.key not in self.expected]
        chosen += self.rng.sample(fresh, min(count - len(chosen), len(fresh)))
        for person in chosen:
            spare.remove(person)
            person.edited = round_no
            member = sides.mailchimp[person.email]
            if not self.ids.get("Email"):
                self.ids["Email"] = _permission_id(member)
            state = self.expected.setdefault(person.key, Expected())
            state.member = member["unique_email_id"]
            side = self.rng.choice(("HubSpot", "Mailchimp"))
            kind = self.rng.choice((*CONSENT, "topics"))
            what = (
                self._hubspot_edit(person, state, kind)
                if side == "HubSpot"
                else self._mailchimp_edit(person, state, kind)
            )
            self.edits += 1
            self.world.kinds[f"preference: {side} {what}"] += 1
            person.note(f"{label} {side} preference: {what}")

    def _hubspot_edit(self, person: Person, state: Expected, kind: str) -> str:
        if kind == "topics":
            value = self._new_topics(state.topics)
            state.topics = value
            sent = ";".join(sorted(value))
        else:
            held = getattr(state, kind)
            sent = self.rng.choice([v for v in (*ANSWERS, *CLEAR) if v != held])
            setattr(state, kind, sent)
            if sent:  # a clear is no answer: Mailchimp keeps its value
                setattr(state, f"mc_{kind}", sent == "true")
            if kind == "gdpr_email" and sent == "true":
                self._grant(person)
        response = self.sim.http.post(
            f"{self.sim.hs_url}/_sim/edit",
            json={"id": person.hubspot_id, "properties": {kind: sent}},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return f"{kind}={sent!r}"

    def _mailchimp_edit(self, person: Person, state: Expected, kind: str) -> str:
        body: dict[str, Any]
        if kind == "topics":
            value = self._new_topics(state.topics)
            state.topics = value
            body = {"interests": {self.ids[name]: name in value for name in TOPICS}}
            what = f"topics={sorted(value)}"
        else:
            on = not getattr(state, f"mc_{kind}")
            setattr(state, f"mc_{kind}", on)
            if on or getattr(state, kind):  # a withdrawal leaves a blank HubSpot value blank
                setattr(state, kind, "true" if on else "false")
            if kind == "gdpr_email":
                body = {
                    "marketing_permissions": [
                        {"marketing_permission_id": self.ids["Email"], "enabled": on}
                    ]
                }
                if on:
                    self._grant(person)
            else:
                body = {"interests": {self.ids["Events"]: on}}
            what = f"{kind} {'on' if on else 'off'}"
        response = self.sim.http.patch(
            f"{self.sim.mc_url}/lists/{self.sim.list_id}/members/{person.email}",
            json=body,
            auth=self.sim.mc_auth,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return what

    def _grant(self, person: Person) -> None:
        self.granted.add(person.key)
        self.granted_at.add(person.email)

    def _new_topics(self, held: frozenset[str]) -> frozenset[str]:
        choices = [frozenset(), frozenset({"News"}), frozenset({"Offers"}), frozenset(TOPICS)]
        return self.rng.choice([c for c in choices if c != held])

    # -- checks --------------------------------------------------------------------------------

    def check(self, sides: Sides, ignored: set[str]) -> list[str]:
        """Every linked person's preferences as the model says, and no grant invented."""
        contacts = self._contacts(ignored)
        problems = [
            f"person {p.key}: {', '.join(wrong)} ({p.describe()})"
            for p in self.world
            if (wrong := self.mismatches(p, contacts, sides))
        ]
        granted = self.granted_at | {
            address for p in self.world if p.key in self.granted for address in p.emails
        }
        problems += [
            f"{address}: Email permission granted, never by anyone"
            for address, member in sorted(sides.mailchimp.items())
            if _enabled(member) and address not in granted | self._events_addresses()
        ]
        return problems

    def mismatches(
        self, person: Person, contacts: dict[str, dict[str, Any]], sides: Sides
    ) -> list[str]:
        if person.apart or person.frozen or not person.in_hubspot:
            return []  # an event's people: a HubSpot merge, say, keeps the newer of two values
        state = self.expected.get(person.key, Expected())
        wrong = []
        contact = contacts.get(person.email)
        if contact is not None:
            for name in CONSENT:
                if (contact.get(name) or "") != getattr(state, name):
                    wrong.append(f"HubSpot {name} {contact.get(name)!r}")
            if _names(contact.get("topics") or "") != state.topics:
                wrong.append(f"HubSpot topics {contact.get('topics')!r}")
        member = sides.mailchimp.get(person.email)
        if member is None or member["status"] == "cleaned":
            return wrong
        new_member = bool(state.member) and member["unique_email_id"] != state.member
        chosen = {name for name in TOPICS if member["interests"].get(self.ids[name])}
        for name, shown in (
            ("gdpr_email", _enabled(member)),
            ("wants_events", bool(member["interests"].get(self.ids["Events"]))),
        ):
            wanted = getattr(state, name) == "true" if new_member else getattr(state, f"mc_{name}")
            if shown != wanted:
                wrong.append(f"Mailchimp {name} {shown}")
        if chosen != state.topics:
            wrong.append(f"Mailchimp topics {sorted(chosen)}")
        return wrong

    def _events_addresses(self) -> set[str]:
        """Addresses of people an event took part of (a merge may carry another's grant)."""
        return {address for p in self.world if p.frozen or p.apart for address in p.emails}

    def summary(self) -> str:
        return f"preferences: {self.edits} edits, {len(self.granted)} people granted Email"

    def _contacts(self, ignored: set[str]) -> dict[str, dict[str, Any]]:
        found = self.sim.hubspot_contacts(["email", *CONSENT, "topics"])
        return {
            c["properties"]["email"].lower(): c["properties"]
            for c in found
            if str(c["id"]) not in ignored
        }

    def _get(self, url: str) -> dict[str, Any]:
        response = self.sim.http.get(url, params={"count": 100}, auth=self.sim.mc_auth, timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())


def _names(value: str) -> frozenset[str]:
    return frozenset(part for part in value.split(";") if part)


def _permission_id(member: dict[str, Any]) -> str:
    return str(
        next(
            p["marketing_permission_id"]
            for p in member["marketing_permissions"]
            if p["text"] == "Email"
        )
    )


def _enabled(member: dict[str, Any]) -> bool:
    return any(
        p["text"] == "Email" and p["enabled"] for p in member.get("marketing_permissions") or []
    )
