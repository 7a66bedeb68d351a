"""A run killed with SIGKILL at each phase of engagement: the next run leaves no duplicate note
and no lost event.

The dangerous moment is a note's create: HubSpot has made the note, the run dies before it
records the note's id. The row was marked ``sent`` before the request left, so the next run
looks for the note on the contact (by its marker) instead of creating a second one. A create
refused outright (a 503) leaves the same mark, and the note is created once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from syncer.core.engagement import marked_campaign
from tests.engagement_support import engaged_config, invoke, notes, record, run_json, send_campaign
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver, wait_until

pytestmark = pytest.mark.timeout(180)

WORLD = InitialWorld(shared=4, hubspot_only=0, mailchimp_only=0, conflicts=0)
CREATE = "POST /crm/v3/objects/notes/batch/create"
UPDATE = "POST /crm/v3/objects/notes/batch/update"
CONTACTS = "POST /crm/v3/objects/contacts/batch/update"
ACTIVITY = "GET /3.0/reports/{campaign_id}/email-activity"
PEOPLE = [email("shared", i) for i in range(3)]


def prepared(sim: SandboxDriver, tmp_path: Path) -> tuple[Path, str]:
    sim.seed_world(WORLD)
    config = engaged_config(sim, tmp_path)
    assert invoke(config, "check", "--fix").exit_code == 0
    assert run_json(config)["outcome"] == "ok"
    campaign = send_campaign(sim, "November newsletter")
    for person in PEOPLE:
        record(sim, campaign, {"email": person, "action": "open"})
    return config, campaign


def killed_at(
    sim: SandboxDriver, config: Path, side: str, endpoint: str, landed: Callable[[], bool]
) -> None:
    """Run, with ``endpoint`` answered late (it is carried out, then the answer waits);
    SIGKILL the run once ``landed`` holds."""
    sim.configure(side, {"slow_s": 3})
    sim.faults(side, {"rate": 1, "kinds": ["late"], "paths": [endpoint]})
    with subprocess.Popen(
        [sys.executable, "-m", "syncer", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as process:
        try:
            wait_until(landed, 60, f"{endpoint} never landed")
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    sim.faults(side, {"rate": 0})
    sim.configure(side, {"slow_s": 2.0})


def asked(sim: SandboxDriver, side: str, endpoint: str) -> Callable[[], bool]:
    return lambda: sim.requests(side)["counts"].get(endpoint, 0) > 0


def settled(sim: SandboxDriver, config: Path, opens: int) -> None:
    """Runs until quiet (bounded), then: one note per person, each saying ``opens`` opens, and
    the open counts on every contact."""
    for _ in range(3):
        sim.advance(5)
        report = run_json(config)
        assert report["outcome"] == "ok", report
    made = notes(sim)
    per_person = Counter(tuple(n["contacts"]) for n in made)
    assert len(made) == len(PEOPLE), made
    assert set(per_person.values()) == {1}, "a duplicate note"
    times = "time" if opens == 1 else "times"
    for note in made:
        body = note["properties"]["hs_note_body"]
        assert marked_campaign(body)
        assert f"Opened 'November newsletter' {opens} {times}" in body
    contacts = sim.hubspot_by_email(["email", "mailchimp_opens_90d"])
    assert {contacts[p]["mailchimp_opens_90d"] for p in PEOPLE} == {str(opens)}


def test_killed_after_the_notes_were_created_before_their_ids_were_recorded(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config, _ = prepared(sim, tmp_path)
    killed_at(sim, config, "hubspot", CREATE, lambda: len(notes(sim)) == len(PEOPLE))
    settled(sim, config, opens=1)


def test_killed_while_a_note_update_was_answered(sim: SandboxDriver, tmp_path: Path) -> None:
    config, campaign = prepared(sim, tmp_path)
    run_json(config)
    sim.advance(2)
    for person in PEOPLE:
        record(sim, campaign, {"email": person, "action": "open"})
    killed_at(sim, config, "hubspot", UPDATE, asked(sim, "hubspot", UPDATE))
    settled(sim, config, opens=2)


def test_killed_while_the_properties_were_written(sim: SandboxDriver, tmp_path: Path) -> None:
    config, _ = prepared(sim, tmp_path)
    killed_at(sim, config, "hubspot", CONTACTS, asked(sim, "hubspot", CONTACTS))
    settled(sim, config, opens=1)


def test_killed_while_reading_the_activity(sim: SandboxDriver, tmp_path: Path) -> None:
    config, _ = prepared(sim, tmp_path)
    killed_at(sim, config, "mailchimp", ACTIVITY, asked(sim, "mailchimp", ACTIVITY))
    settled(sim, config, opens=1)


def test_a_create_refused_outright_is_made_once_later(sim: SandboxDriver, tmp_path: Path) -> None:
    config, _ = prepared(sim, tmp_path)
    sim.faults("hubspot", {"rate": 1, "kinds": ["503"], "paths": [CREATE]})
    report = run_json(config)
    assert report["counts"]["engagement_notes_created"] == 0
    assert report["api_calls"]["hubspot"]["by_endpoint"][CREATE] == 1, "never retried blindly"
    assert notes(sim) == []
    sim.faults("hubspot", {"rate": 0})
    settled(sim, config, opens=1)
