"""Soak: rounds of random edits on both sides, 5% faults of every kind, SIGKILLed runs; then quiet.

Both simulators are seeded (``--soak-people``, 2,000 by default), synced once, then for
``--soak-rounds`` rounds (10) people are edited on both sides (names, the subscription either way,
e-mail changes, new people, cleaned addresses) and ``syncer run`` runs as a subprocess against
simulators injecting 5% faults of every kind, in about half the rounds SIGKILLed at a random moment
(never two rounds in a row; the next run must take the lock over). Fault-free runs then go on
until one writes nothing and leaves no batch open. The checks read only the simulators, never
syncer's cache: linked people agree, every edit arrived, nobody is duplicated, no opt-out was
resubscribed by the API, and the last run wrote nothing.

Everything random comes from one seed (``--soak-seed``), printed on failure with each run's
journal; the moments of the kills are real time, so a replay makes the same edits but may kill at
another line. ``-o log_cli=true --log-cli-level=INFO`` shows the journal of a passing soak too.
Large: ``pytest tests/test_soak.py --soak-people 5000 --timeout 1800``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.sandbox import SandboxDriver
from tests.support.soak import World
from tests.support.soak_driver import KILL_SHARE, Sides, Soak, log


@pytest.fixture
def soak_rounds(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--soak-rounds"))


@pytest.fixture
def soak_seed(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--soak-seed"))


# -- the checks: the simulators' own state and logs, never syncer's cache ------------------------


def check_linked_fields_agree(sides: Sides) -> list[str]:
    """1. Every member has the contact with its e-mail, and the two-way fields agree.

    Cleaned members alone may stand without one: they never become contacts, and a bounced
    member HubSpot found a new address for is let go. Nothing is ever written to a cleaned
    member either (DESIGN §6), so its fields may lag behind HubSpot's.
    """
    problems = []
    for address, member in sorted(sides.mailchimp.items()):
        contact = sides.hubspot.get(address)
        if contact is None or member["status"] == "cleaned":
            if contact is None and member["status"] != "cleaned":
                problems.append(f"{address}: a member without a HubSpot contact of that e-mail")
            continue
        for name, tag in (("firstname", "FNAME"), ("lastname", "LNAME")):
            if (contact.get(name) or "") != member["merge_fields"].get(tag, ""):
                problems.append(
                    f"{address}: {name} {contact.get(name)!r} != {tag} "
                    f"{member['merge_fields'].get(tag)!r}"
                )
    return problems


def check_model(world: World, sides: Sides) -> list[str]:
    """2. Both sides hold, for every person, the final value of every edit (and of the seed)."""
    return [
        f"{'; '.join(wrong)} -- {person.describe()}"
        for person in world
        if (wrong := sides.mismatches(person))
    ]


def check_no_duplicates(world: World, sides: Sides) -> list[str]:
    """3. E-mails are unique on each side and every record is a known person's final address."""
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
        strays = sorted(set(addresses) - final)
        if strays:
            owners = {address: p.key for p in world for address in p.emails}
            shown = [f"{address} (person {owners.get(address)})" for address in strays[:10]]
            problems.append(f"{side} holds {len(strays)} records under no final e-mail: {shown}")
    return problems


def check_consent(world: World, transitions: list[dict[str, Any]]) -> list[str]:
    """4. Nobody unsubscribed or cleaned was later subscribed by the API or a batch."""
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


@pytest.mark.slow
@pytest.mark.soak
def test_soak_edits_faults_and_kills_converge(
    sim: SandboxDriver, tmp_path: Path, soak_people: int, soak_rounds: int, soak_seed: int
) -> None:
    rng = random.Random(soak_seed)
    soak = Soak(sim, tmp_path, rng, soak_people)
    started = time.monotonic()
    try:
        soak.start()
        killed = False
        for round_no in range(1, soak_rounds + 1):
            killed = not killed and rng.random() < KILL_SHARE  # never two rounds in a row
            soak.round(round_no, kill=killed)
        soak.settle()  # 5. ends with a run that wrote nothing, or raises
        sides = Sides.read(sim)
        for check, problems in (
            ("linked people disagree", check_linked_fields_agree(sides)),
            ("edits lost", check_model(soak.world, sides)),
            ("duplicates", check_no_duplicates(soak.world, sides)),
            ("consent broken", check_consent(soak.world, sim.transitions())),
            ("outside edits refused mid-soak", soak.refused),
        ):
            assert not problems, f"{check} ({len(problems)}):\n" + "\n".join(problems[:15])
    except AssertionError as error:
        raise AssertionError(
            f"soak seed {soak_seed} ({soak_people} people, {soak_rounds} rounds; rerun with "
            f"--soak-seed {soak_seed}): {error}\n{soak.journal()}"
        ) from None
    finally:
        seconds = time.monotonic() - started
        log.info("soak seed %d: %s\n%.0f s", soak_seed, soak.journal(), seconds)
