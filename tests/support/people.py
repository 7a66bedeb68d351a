"""Sample people for the sync's end-to-end tests, with known conflicts and known winners."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

DOMAIN = "northwind-mail.com"


def email(kind: str, index: int) -> str:
    return f"{kind}{index:04d}@{DOMAIN}"


def iso_ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


@dataclass(frozen=True)
class InitialWorld:
    """300 HubSpot contacts, 250 members, 150 shared; 40 shared differ in first name.

    Shared people 0-19 were renamed in HubSpot more recently (HubSpot must win), 20-39 in
    Mailchimp (Mailchimp must win). HubSpot-only people with an even index want the newsletter.
    """

    shared: int = 150
    hubspot_only: int = 150
    mailchimp_only: int = 100
    conflicts: int = 40

    def hubspot_contacts(self) -> list[dict[str, Any]]:
        contacts = []
        for i in range(self.shared):
            stamp = iso_ago(1 if i < 20 else 30)
            contacts.append(
                {
                    "properties": {
                        "email": email("shared", i),
                        "firstname": f"Hs{i}" if i < self.conflicts else f"First{i}",
                        "lastname": f"Last{i}",
                        "lifecyclestage": "lead",
                        "newsletter": "true",
                    },
                    "timestamps": {
                        name: stamp
                        for name in (
                            "email",
                            "firstname",
                            "lastname",
                            "newsletter",
                            "lifecyclestage",
                        )
                    },
                    "createdate": iso_ago(48),
                }
            )
        for i in range(self.hubspot_only):
            contacts.append(
                {
                    "properties": {
                        "email": email("crm", i),
                        "firstname": f"Crm{i}",
                        "lastname": f"Only{i}",
                        "lifecyclestage": "customer",
                        "newsletter": "true" if i % 2 == 0 else "false",
                        "notes_last_contacted": "2026-03-04T10:00:00.000Z",
                    },
                    "timestamps": {"newsletter": iso_ago(40), "email": iso_ago(40)},
                    "createdate": iso_ago(48),
                }
            )
        return contacts

    def mailchimp_members(self) -> list[dict[str, Any]]:
        members = []
        for i in range(self.shared):
            members.append(
                {
                    "email_address": email("shared", i),
                    "status": "subscribed",
                    "merge_fields": {
                        "FNAME": f"Mc{i}" if i < self.conflicts else f"First{i}",
                        "LNAME": f"Last{i}",
                    },
                    "last_changed": iso_ago(2 if i < 20 else 0.5),
                }
            )
        for i in range(self.mailchimp_only):
            members.append(
                {
                    "email_address": email("list", i),
                    "status": "unsubscribed" if i % 10 == 0 else "subscribed",
                    "merge_fields": {"FNAME": f"List{i}", "LNAME": f"Member{i}"},
                    "last_changed": iso_ago(5),
                }
            )
        return members

    def expected_first_name(self, i: int) -> str:
        if i < 20:
            return f"Hs{i}"
        if i < self.conflicts:
            return f"Mc{i}"
        return f"First{i}"
