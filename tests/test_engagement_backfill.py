"""`syncer engagement --backfill --since DATE`: history loaded with a progress bar, resumable
after a stop (it carries on from the page it reached, it does not start again), and a dry run
that shows what it would write and writes nothing.

Three campaigns of 1,200 recipients, nearly all of whom opened: two pages of activity each
(pages are 1,000, the API's maximum), so a stop can land between two pages of one campaign.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncer.cache.store import Store
from syncer.config import load_config
from syncer.core.engagement import marked_campaign
from tests.engagement_support import engaged_config, invoke, notes, run_json
from tests.support.people import InitialWorld
from tests.support.sandbox import SandboxDriver, wait_until
from tests.test_output_modes import ANSI, in_terminal

pytestmark = pytest.mark.timeout(240)

PEOPLE = 1200
WORLD = InitialWorld(shared=PEOPLE, hubspot_only=0, mailchimp_only=0, conflicts=0)
#: The activity read, as the run counts it and as the simulator logs it.
ACTIVITY = "GET /reports/{campaign_id}/email-activity"
ACTIVITY_SIM = ACTIVITY.replace("GET /", "GET /3.0/")
CREATE = "POST /crm/v3/objects/notes/batch/create"
PROPERTIES = "POST /crm/v3/objects/contacts/batch/update"
SINCE = "2026-01-01"
#: A fresh backfill's activity reads: two pages for each of the three campaigns.
FRESH_READS = 6


def history(sim: SandboxDriver, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A synced audience, and three campaigns sent 10, 9 and 8 days ago with their activity
    (one open and at most one click each, so no two events of a person share a second)."""
    sim.seed_world(WORLD)
    config = engaged_config(sim, tmp_path, campaign_days=3)
    assert invoke(config, "check", "--fix").exit_code == 0
    assert run_json(config)["outcome"] == "ok", "the contact sync links everyone"
    seeded = sim._post(
        f"{sim.mc_root}/_sim/campaigns/seed",
        {
            "campaigns": 3,
            "spacing_hours": 24,
            "first_send": _days_ago(10),
            "open_rate": 0.95,
            "click_rate": 0.2,
            "bounce_rate": 0.01,
            "unsubscribe_rate": 0,
            "opens_per_opener": 1,
            "clicks_per_clicker": 1,
            "seed": 16,
        },
    )
    return config, dict(seeded)


def recorded_events(config: Path) -> Counter[str]:
    store = Store(load_config(config).state_path)
    try:
        rows = store.db.query("SELECT events FROM engagement")
        return Counter(event[0] for row in rows for event in json.loads(row["events"]))
    finally:
        store.close()


def backfill(config: Path, *args: str) -> dict[str, Any]:
    done = invoke(config, "engagement", "--backfill", "--since", SINCE, "--json", *args)
    assert done.exit_code == 0, done.output
    return dict(json.loads(done.stdout))


def reads(report: dict[str, Any]) -> int:
    return int(report["api_calls"]["mailchimp"]["by_endpoint"].get(ACTIVITY, 0))


def test_a_backfill_killed_midway_resumes_where_it_stopped_and_loses_nothing(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config, seeded = history(sim, tmp_path)
    # Every activity answer is held back after it was made; the run is killed once the fourth
    # read has been asked for: the first campaign and the second's first page are saved.
    sim.configure("mailchimp", {"slow_s": 2.0})
    sim.faults("mailchimp", {"rate": 1, "kinds": ["late"], "paths": [ACTIVITY_SIM]})
    command = [sys.executable, "-m", "syncer", "--config", str(config), "engagement"]
    with subprocess.Popen(
        [*command, "--backfill", "--since", SINCE],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as process:
        try:
            wait_until(
                lambda: sim.requests("mailchimp")["counts"].get(ACTIVITY_SIM, 0) >= 4,
                120,
                "the backfill never reached the second campaign's second page",
            )
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    sim.faults("mailchimp", {"rate": 0})
    assert notes(sim) == [], "killed before any note was written"

    resumed = backfill(config)
    assert resumed["outcome"] == "ok", resumed
    # The first campaign: one read for what is new since its cursor; the second: its second
    # page only; the third: both pages. Started again, it would read all six.
    assert reads(resumed) == 4, resumed["api_calls"]["mailchimp"]["by_endpoint"]
    assert reads(resumed) < FRESH_READS
    expected = {"open": seeded["opens"], "click": seeded["clicks"], "bounce": seeded["bounces"]}
    assert recorded_events(config) == expected, "an event lost or counted twice"

    made = notes(sim)
    keys = Counter(
        (tuple(note["contacts"]), marked_campaign(note["properties"]["hs_note_body"]))
        for note in made
    )
    assert set(keys.values()) == {1}, "a duplicate note"
    assert {campaign for _, campaign in keys} == set(seeded["campaigns"])
    assert len(made) == resumed["counts"]["engagement_notes_created"]
    again = backfill(config)
    assert again["counts"].get("engagement_notes_created", 0) == 0
    assert len(notes(sim)) == len(made), "a second backfill makes no note"


def test_the_backfill_dry_run_shows_what_it_would_write_and_writes_nothing(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config, seeded = history(sim, tmp_path)
    writes = sim.writes("hubspot")
    planned = invoke(config, "engagement", "--backfill", "--since", SINCE, "--dry-run", "--json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    actions = Counter(write["action"] for write in plan["writes"])
    assert actions["note_create"] > 2 * PEOPLE, "a note per person per campaign with activity"
    assert 0 < actions["engagement"] <= PEOPLE, "each person's properties once"
    assert sim.writes("hubspot") == writes
    assert notes(sim) == []
    assert recorded_events(config) == Counter(), "the dry run keeps nothing"
    text = invoke(config, "engagement", "--backfill", "--since", SINCE, "--dry-run")
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith("Dry run: nothing was written to HubSpot or Mailchimp")
    assert text.stdout.count("  HubSpot note_create:") == actions["note_create"]
    assert "    hs_note_body: '' -> \"<p>Opened 'Newsletter 1' 1 time" in text.stdout

    loaded = backfill(config)
    assert loaded["counts"]["engagement_notes_created"] == actions["note_create"]
    assert loaded["counts"]["engagement_contacts_written"] == actions["engagement"]
    assert reads(loaded) == FRESH_READS
    assert loaded["api_calls"]["hubspot"]["by_endpoint"][CREATE] == -(
        -actions["note_create"] // 100
    )
    assert recorded_events(config)["open"] == seeded["opens"]


def test_in_a_terminal_the_backfill_draws_a_progress_bar(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config, _ = history(sim, tmp_path)
    drawn = ANSI.sub(
        "", in_terminal("--config", str(config), "engagement", "--backfill", "--since", SINCE)
    )
    assert "reading the activity of 3 campaigns" in drawn
    assert "━" in drawn, "no progress bar on a terminal"


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()
