"""Both simulators as the soak reads them, and where they differ from the world model."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tests.support.sandbox import SandboxDriver
from tests.support.soak import Person

PROPERTIES = ["email", "firstname", "lastname", "lifecyclestage", "newsletter"]


@dataclass
class Sides:
    """Both simulators as read through their APIs (faults off), keyed by lower-cased e-mail."""

    contacts: list[dict[str, Any]]
    members: list[dict[str, Any]]

    @classmethod
    def read(cls, sim: SandboxDriver, ignored: set[str] | frozenset[str] = frozenset()) -> Sides:
        """Both sides; contacts whose id is ``ignored`` (duplicates an event made, each with a
        check of its own) are left out of the contacts compared."""
        contacts = [c for c in sim.hubspot_contacts(PROPERTIES) if str(c["id"]) not in ignored]
        return cls(contacts, sim.mailchimp_members())

    @cached_property
    def hubspot(self) -> dict[str, dict[str, Any]]:
        return {c["properties"]["email"].lower(): c["properties"] for c in self.contacts}

    @cached_property
    def hubspot_ids(self) -> dict[str, str]:
        return {c["properties"]["email"].lower(): str(c["id"]) for c in self.contacts}

    @cached_property
    def mailchimp(self) -> dict[str, dict[str, Any]]:
        return {m["email_address"].lower(): m for m in self.members}

    def mismatches(self, person: Person) -> list[str]:
        """Where the sides differ from what the model expects for ``person`` (empty: nowhere).

        A person an event took out of the model has a check of its own (and is never edited
        again)."""
        if person.apart:
            return []
        contact = self.hubspot.get(person.email)
        member = self.mailchimp.get(person.email)
        wrong = []
        if not person.in_hubspot:
            if contact is not None:
                wrong.append("an unexpected HubSpot contact")
        elif contact is None:
            wrong.append("no HubSpot contact")
        else:
            expected = {
                "firstname": person.first,
                "lastname": person.last,
                "lifecyclestage": person.stage,
                "newsletter": "true" if person.wants else "false",
            }
            for name, value in expected.items():
                if (contact.get(name) or "") != value:
                    wrong.append(f"HubSpot {name} {contact.get(name)!r}")
        if person.status is None:
            if member is not None:
                wrong.append(f"an unexpected Mailchimp member ({member['status']})")
            return wrong
        if member is None:
            return [*wrong, "no Mailchimp member"]
        fields = member["merge_fields"]
        expected = {"FNAME": person.first, "LNAME": person.last, "LCSTAGE": person.stage}
        if member["status"] == "cleaned":
            expected = {}  # nothing is written to a cleaned member (DESIGN §6): its fields stay
        for tag, value in expected.items():
            if fields.get(tag, "") != value:
                wrong.append(f"Mailchimp {tag} {fields.get(tag)!r}")
        if member["status"] != person.status:
            wrong.append(f"Mailchimp status {member['status']}")
        return wrong
