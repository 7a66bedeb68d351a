"""The soak's checks at the end: the simulators' own state and logs, never syncer's cache.

Each returns its problems (empty: the check holds); ``tests/test_soak.py`` asserts them in turn.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from syncer.sandbox.mailchimp.requested import opted_out_subscribes
from tests.support.soak import World
from tests.support.soak_events import Events
from tests.support.soak_sides import Sides


def linked_fields_agree(sides: Sides, events: Events) -> list[str]:
    """1. Every member has the contact with its e-mail, and the two-way fields agree.

    Cleaned members alone may stand without one: they never become contacts, and a bounced
    member HubSpot found a new address for is let go. Nothing is ever written to a cleaned
    member either (DESIGN §6), so its fields may lag behind HubSpot's. The addresses an event
    accounts for (a deleted contact's member, a held e-mail change) have checks of their own.
    """
    problems = []
    apart = events.addresses()
    for address, member in sorted(sides.mailchimp.items()):
        contact = sides.hubspot.get(address)
        if address in apart or contact is None or member["status"] == "cleaned":
            if contact is None and member["status"] != "cleaned" and address not in apart:
                problems.append(f"{address}: a member without a HubSpot contact of that e-mail")
            continue
        for name, tag in (("firstname", "FNAME"), ("lastname", "LNAME")):
            if (contact.get(name) or "") != member["merge_fields"].get(tag, ""):
                problems.append(
                    f"{address}: {name} {contact.get(name)!r} != {tag} "
                    f"{member['merge_fields'].get(tag)!r}"
                )
    return problems


def model_holds(world: World, sides: Sides) -> list[str]:
    """2. Both sides hold, for every person, the final value of every edit (and of the seed)."""
    return [
        f"{'; '.join(wrong)} -- {person.describe()}"
        for person in world
        if (wrong := sides.mismatches(person))
    ]


def no_duplicates(world: World, sides: Sides, events: Events) -> list[str]:
    """3. E-mails are unique on each side and every record is a known person's final address
    (or one an event accounts for; a duplicate contact an event imported is checked apart)."""
    problems = []
    for side, addresses in (
        ("HubSpot", [c["properties"]["email"].lower() for c in sides.contacts]),
        ("Mailchimp", [m["email_address"].lower() for m in sides.members]),
    ):
        twice = [address for address, n in Counter(addresses).items() if n > 1]
        if twice:
            problems.append(f"{side} holds these e-mails more than once: {twice[:10]}")
        final = {
            p.email for p in world if (p.in_hubspot if side == "HubSpot" else p.status is not None)
        }
        strays = sorted(set(addresses) - final - events.addresses())
        if strays:
            owners = {address: p.key for p in world for address in p.emails}
            shown = [f"{address} (person {owners.get(address)})" for address in strays[:10]]
            problems.append(f"{side} holds {len(strays)} records under no final e-mail: {shown}")
    return problems


def consent_requested(requests: list[dict[str, Any]]) -> list[str]:
    """4a. syncer never *asked* for a bare ``subscribed`` for anyone who had opted out or was
    cleaned, refused or not (the simulator's status-request log, DESIGN §2.1); ``pending``,
    the confirmation route, is how an opt-in after an opt-out goes."""
    return [
        f"asked {r['via']} {r['method']} status {r['asks']} of {r['email']} "
        f"({r['standing'] or 'a permanently deleted address'}) at {r['at']}"
        for r in opted_out_subscribes(requests)
    ]


def consent_transitions(world: World, transitions: list[dict[str, Any]]) -> list[str]:
    """4b. Nobody unsubscribed or cleaned was later subscribed by the API or a batch."""
    owner = {address: p.key for p in world for address in p.emails}
    opted_out: set[int] = set()
    problems = []
    for step in transitions:
        key = owner.get(step["email"].lower())
        if key is None:
            problems.append(f"a status change of an address nobody had: {step}")
        elif step["to"] in ("unsubscribed", "cleaned"):
            opted_out.add(key)
        elif step["to"] == "subscribed" and step["via"] in ("api", "batch") and key in opted_out:
            problems.append(
                f"resubscribed after opting out: {step} -- {world.people[key].describe()}"
            )
    return problems
