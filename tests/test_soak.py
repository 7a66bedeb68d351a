"""Soak: rounds of random edits and events on both sides, 5% faults of every kind, SIGKILLs
aimed at every phase of a run; then quiet runs, and checks of both simulators.

Both simulators are seeded (``--soak-people``, 2,000 by default), synced once, then for
``--soak-rounds`` rounds (10) people are edited on both sides (names, the subscription either way,
e-mail changes, new people, cleaned addresses, lifecycle stages), a few events happen (a HubSpot
deletion, a merge as HubSpot makes one, e-mail changes onto an address the other side gives
someone else, an opt-out beside a value Mailchimp refuses, a duplicate contact), contacts join and
leave the HubSpot list mapped to a tag, and ``syncer run`` runs as a subprocess against simulators
injecting 5% faults of every kind while a thread edits more people (some just as the run carries
their other side's edit across: ``soak_live``). About half the rounds' runs are SIGKILLed (never
two in a row; the next run must take the lock over), each inside a phase dealt out in turn:
start-up, collecting old batches, fetching, reconciling, HubSpot writes, Mailchimp submission,
batch results. One round runs ``--full``, one is followed by ``syncer retry --all``. Fault-free
runs then go on until one writes nothing and leaves no batch open, and everything is checked;
then a scope is added to the running sync and moved for two more faulty rounds, quiet runs
again, and everything is checked again. The checks read only the simulators, never syncer's
cache: linked people agree, every edit arrived (the newest of each field on either side, mid-run
edits included), each event ended as DESIGN says, nobody is duplicated, every linked member
carries exactly the tags the segments config implies (and the Mailchimp-side tag edits of each
round reach the HubSpot mirror property), nobody's status moved in the scope stage,
syncer never *asked* for a bare ``subscribed`` for anyone who had opted out (the status-request
log, refused requests included) and no opt-out was resubscribed, and the last run wrote nothing.

Everything random comes from the seed (``--soak-seeds``, two in CI), printed on failure with
each run's journal and where its kills landed; a kill aims at a phase, not a line, so a replay
makes the same edits but may kill a few lines away. ``-o log_cli=true --log-cli-level=INFO``
shows the journal of a passing soak too. Large: ten seeds at 5,000 people, see the README.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.support import soak_checks as checks
from tests.support.sandbox import SandboxDriver
from tests.support.soak_driver import Soak, log
from tests.support.soak_events import Ends
from tests.support.soak_sides import PROPERTIES


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "soak_seed" in metafunc.fixturenames:
        seeds = metafunc.config.getoption("--soak-seeds")
        metafunc.parametrize("soak_seed", seeds, ids=[f"seed{seed}" for seed in seeds])


@pytest.fixture
def soak_rounds(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--soak-rounds"))


def final_checks(soak: Soak, sim: SandboxDriver) -> None:
    """Every check, on both simulators as they stand (see the module docstring)."""
    sides = soak.sides()
    soak.live.judge(sides)
    ends = Ends(
        {str(c["id"]): c["properties"] for c in sim.hubspot_contacts(PROPERTIES)},
        sim.mailchimp_by_email(),
    )
    stages = {cid: c.get("lifecyclestage") or "" for cid, c in ends.contacts.items()}
    apart = soak.events.addresses()
    for check, problems in (
        ("linked people disagree", checks.linked_fields_agree(sides, soak.events)),
        ("edits lost", checks.model_holds(soak.world, sides)),
        ("events ended wrong", soak.events.check(ends)),
        ("duplicates", checks.no_duplicates(soak.world, sides, soak.events)),
        ("tags differ from the segments", soak.segments.check(sides, stages, apart)),
        ("tags mirror differs from the members", soak.segments.mirror_check(sides, apart)),
        ("engagement differs from the activity", soak.engagement.check(sides.hubspot_ids)),
        ("statuses moved in the scope stage", soak.segments.statuses_held(sides)),
        ("consent: a bare subscribe asked", checks.consent_requested(sim.status_requests())),
        ("consent broken", checks.consent_transitions(soak.world, sim.transitions())),
        ("outside edits refused mid-soak", soak.refused),
        ("preferences differ", soak.preferences.check(sides, soak.events.duplicates)),
    ):
        assert not problems, f"{check} ({len(problems)}):\n" + "\n".join(problems[:15])


@pytest.mark.slow
@pytest.mark.soak
def test_soak_edits_events_faults_and_kills_converge(
    sim: SandboxDriver, tmp_path: Path, soak_people: int, soak_rounds: int, soak_seed: int
) -> None:
    rng = random.Random(soak_seed)
    soak = Soak(sim, tmp_path, rng, soak_people, soak_rounds)
    started = time.monotonic()
    try:
        soak.start()
        for round_no in range(1, soak_rounds + 1):
            soak.round(round_no)
        soak.settle()  # 5. ends with a run that wrote nothing, or raises
        final_checks(soak, sim)
        soak.scope_stage()  # issue 17: a scope added and moved, then quiet again
        final_checks(soak, sim)
    except AssertionError as error:
        raise AssertionError(
            f"soak seed {soak_seed} ({soak_people} people, {soak_rounds} rounds; rerun with "
            f"--soak-seeds {soak_seed}): {error}\n{soak.journal()}"
        ) from None
    finally:
        seconds = time.monotonic() - started
        log.info("soak seed %d: %s\n%.0f s", soak_seed, soak.journal(), seconds)
