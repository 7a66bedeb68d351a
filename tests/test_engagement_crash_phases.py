"""The phases of engagement tests/test_engagement_crash.py does not kill in: the campaign
listing, and the look-up after a lost create (the contacts' note associations, then the notes'
bodies), each killed in turn after a first kill left notes whose ids were never recorded. Each
time the next runs leave one note per person and every open counted once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engagement_support import notes, run_json
from tests.support.sandbox import SandboxDriver, wait_until
from tests.test_engagement_crash import CREATE, PEOPLE, asked, killed_at, prepared, settled

pytestmark = pytest.mark.timeout(180)

CAMPAIGNS = "GET /3.0/campaigns"
ASSOCIATIONS = "GET /crm/v4/objects/contacts/{contactId}/associations/notes"
BODIES = "POST /crm/v3/objects/notes/batch/read"


def test_killed_while_listing_the_campaigns(sim: SandboxDriver, tmp_path: Path) -> None:
    config, _ = prepared(sim, tmp_path)
    killed_at(sim, config, "mailchimp", CAMPAIGNS, asked(sim, "mailchimp", CAMPAIGNS))
    settled(sim, config, opens=1)


@pytest.mark.parametrize("endpoint", [ASSOCIATIONS, BODIES], ids=["associations", "bodies"])
def test_killed_again_while_looking_for_the_notes_a_kill_left(
    sim: SandboxDriver, tmp_path: Path, endpoint: str
) -> None:
    config, _ = prepared(sim, tmp_path)
    killed_at(sim, config, "hubspot", CREATE, lambda: len(notes(sim)) == len(PEOPLE))
    before = sim.requests("hubspot")["counts"].get(endpoint, 0)
    killed_at(
        sim,
        config,
        "hubspot",
        endpoint,
        lambda: sim.requests("hubspot")["counts"].get(endpoint, 0) > before,
    )
    settled(sim, config, opens=1)


def test_a_create_that_lands_after_the_client_gave_up_is_found_not_made_twice(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """HubSpot carries out a create whose answer came too late for syncer (a read timeout):
    the look-up right after finds nothing yet, so the run must leave the notes to be looked for
    again by the next run, which finds them, instead of creating them a second time."""
    config, _ = prepared(sim, tmp_path)
    late = sim.write_config(
        tmp_path,
        engagement={"enabled": True, "every_minutes": 0},
        sync={"batch_wait_seconds": 10, "batch_poll_seconds": 0.05, "overlap_seconds": 120},
        http={"read_timeout": 0.5, "max_tries": 2},
    )
    sim.configure("hubspot", {"slow_s": 1.5})
    sim.faults("hubspot", {"rate": 1, "kinds": ["slow"], "paths": [CREATE]})
    gave_up = run_json(late)
    sim.faults("hubspot", {"rate": 0})
    assert gave_up["counts"].get("engagement_notes_created", 0) == 0, gave_up
    wait_until(lambda: len(notes(sim)) == len(PEOPLE), 30, "the late create never landed")
    settled(sim, config, opens=1)
