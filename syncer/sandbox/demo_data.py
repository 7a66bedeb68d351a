"""The demo's people: a few hundred on each side, overlapping, with the cases worth seeing.

Deterministic (seeded), so the demo tells the same story every time: names that differ on the two
sides, a recent unsubscribe in Mailchimp, an address Mailchimp cleaned after bounces, an address
Mailchimp refuses as fake, and Dana, who opts out while syncer's first batch waits to run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

FIRST = [
    "Ada",
    "Ben",
    "Chloé",
    "Dev",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jo",
    "Kemal",
    "Lena",
    "Mateo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tomás",
    "Uma",
    "Vik",
]
LAST = [
    "Abbott",
    "Baker",
    "Chen",
    "Diallo",
    "Evans",
    "Fischer",
    "García",
    "Hughes",
    "Ito",
    "Jansen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Rossi",
    "Silva",
]
DOMAINS = ["northwind.io", "fabrikam-mail.com", "contoso.net", "tailspin.dev", "adatum.org"]
STAGES = ["subscriber", "lead", "marketingqualifiedlead", "customer"]

CLEANED = "bounced.inbox@contoso.net"
FAKE = "someone@example.com"
UNSUBSCRIBED = "ben.baker@northwind.io"
LATE_OPT_OUT = "dana.diallo@tailspin.dev"


@dataclass
class DemoData:
    hubspot: list[dict[str, Any]] = field(default_factory=list)
    mailchimp: list[dict[str, Any]] = field(default_factory=list)
    conflicts: int = 0

    def late_opt_out(self) -> dict[str, Any]:
        """Dana's member record, unsubscribed before HubSpot's wish, appearing mid-run."""
        return _member(LATE_OPT_OUT, "Dana", "Diallo", "unsubscribed", _ago(hours=30))


def build(
    seed: int = 2026, shared: int = 180, hubspot_only: int = 120, mailchimp_only: int = 70
) -> DemoData:
    rng = random.Random(seed)
    data = DemoData()
    people = _people(rng, shared + hubspot_only + mailchimp_only)
    for index, (email, first, last) in enumerate(people):
        in_hubspot = index < shared + hubspot_only
        in_mailchimp = index < shared or index >= shared + hubspot_only
        wants = rng.random() < 0.8
        if in_hubspot:
            data.hubspot.append(_contact(email, first, last, wants, rng))
        if in_mailchimp:
            member_first = first
            if in_hubspot and rng.random() < 0.1:
                member_first = first + "ie"  # renamed on one side
                data.conflicts += 1
            status = "subscribed" if wants or not in_hubspot else "unsubscribed"
            data.mailchimp.append(
                _member(email, member_first, last, status, _ago(hours=rng.randint(2, 200)))
            )
    data.hubspot.append(_contact(CLEANED, "Bo", "Unced", True, rng))
    data.mailchimp.append(_member(CLEANED, "Bo", "Unced", "cleaned", _ago(hours=3)))
    data.hubspot.append(_contact(FAKE, "Sam", "Ple", True, rng))
    data.hubspot.append(_contact(UNSUBSCRIBED, "Ben", "Baker", True, rng, hours=72))
    data.mailchimp.append(_member(UNSUBSCRIBED, "Ben", "Baker", "unsubscribed", _ago(hours=1)))
    data.hubspot.append(_contact(LATE_OPT_OUT, "Dana", "Diallo", True, rng, hours=4))
    return data


def _people(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    people: list[tuple[str, str, str]] = []
    seen = {CLEANED, FAKE, UNSUBSCRIBED, LATE_OPT_OUT}
    while len(people) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 999)}@{rng.choice(DOMAINS)}".lower()
        if email not in seen:
            seen.add(email)
            people.append((email, first, last))
    return people


def _contact(
    email: str, first: str, last: str, wants: bool, rng: random.Random, hours: float = 100
) -> dict[str, Any]:
    stamp = _ago(hours=hours)
    return {
        "properties": {
            "email": email,
            "firstname": first,
            "lastname": last,
            "lifecyclestage": rng.choice(STAGES),
            "newsletter": "true" if wants else "false",
            "notes_last_contacted": (_ago(hours=rng.randint(1, 900))[:10] + "T09:30:00.000Z"),
        },
        "timestamps": {name: stamp for name in ("email", "firstname", "lastname", "newsletter")},
        "createdate": _ago(hours=hours + 500),
    }


def _member(email: str, first: str, last: str, status: str, changed: str) -> dict[str, Any]:
    return {
        "email_address": email,
        "status": status,
        "merge_fields": {"FNAME": first, "LNAME": last},
        "last_changed": changed,
    }


def _ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


def _ascii(name: str) -> str:
    return name.translate(str.maketrans("éáíóú", "eaiou")).lower()
