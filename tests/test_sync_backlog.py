"""A run with more Mailchimp writes than ``sync.max_open_batches`` holds at once: it keeps
submitting as its batches finish, and what it cannot finish waits, counted, for the next run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from syncer.cache.store import Store
from syncer.cli import cli
from tests.support.people import InitialWorld
from tests.support.sandbox import SandboxDriver

#: 2,500 people on both sides whose Mailchimp values lag HubSpot's: three batches of updates.
WORLD = InitialWorld(shared=2500, hubspot_only=0, mailchimp_only=0, conflicts=0)
ONE_BATCH = {"max_open_batches": 1, "batch_poll_seconds": 0.05, "overlap_seconds": 120}


def run_json(config: Path) -> tuple[Result, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["--config", str(config), "run", "--json"])
    return result, json.loads(result.stdout) if result.stdout.startswith("{") else {}


def queued(tmp_path: Path) -> int:
    store = Store(tmp_path / "state" / "syncer.db")
    try:
        return store.queued_count("mailchimp")
    finally:
        store.close()


def test_a_run_keeps_submitting_until_its_queue_is_empty(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_world(WORLD)
    config = sim.write_config(tmp_path, sync={**ONE_BATCH, "batch_wait_seconds": 10})

    result, report = run_json(config)

    assert result.exit_code == 0, result.output
    assert queued(tmp_path) == 0
    assert report["counts"]["batches_processed"] == 3
    assert report["counts"]["mailchimp_left_queued"] == 0
    assert report["counts"]["written_mailchimp"] == WORLD.shared


def test_writes_a_run_cannot_finish_are_counted_and_left_for_the_next_run(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_world(WORLD)
    config = sim.write_config(tmp_path, sync={**ONE_BATCH, "batch_wait_seconds": 0.3})
    sim.configure("mailchimp", {"batch_paused": True})

    result, report = run_json(config)

    # Mailchimp being slow is no failure: the run is ok, says what waits, and the next run goes on.
    assert result.exit_code == 0, result.output
    assert report["outcome"] == "ok"
    assert report["counts"]["batches_open"] == 1
    assert report["counts"]["mailchimp_left_queued"] == 1500
    text = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert "1,500 Mailchimp writes wait for the next run" in text.stdout, text.stdout

    sim.configure("mailchimp", {"batch_paused": False})
    sim.advance(60)
    config.write_text(
        config.read_text().replace("batch_wait_seconds: 0.3", "batch_wait_seconds: 10")
    )
    again, report = run_json(config)
    assert again.exit_code == 0, again.output
    assert report["counts"]["mailchimp_left_queued"] == 0
    assert report["counts"]["written_mailchimp"] == WORLD.shared
    assert queued(tmp_path) == 0


def test_the_guard_does_not_count_again_the_writes_an_earlier_run_let_through(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    # 5,000 HubSpot-only people, the even half wanting the newsletter: 2,500 Mailchimp creates.
    world = InitialWorld(shared=0, hubspot_only=5000, mailchimp_only=0, conflicts=0)
    ids = sim.seed_world(world)
    config = sim.write_config(tmp_path, sync={**ONE_BATCH, "batch_wait_seconds": 0.3})
    sim.configure("mailchimp", {"batch_paused": True})
    first, report = run_json(config)
    assert first.exit_code == 0, first.output
    assert report["counts"]["mailchimp_left_queued"] == 1500

    # The first sync's guard let its creates through (exempt): they are no mass creation now.
    plan = CliRunner().invoke(cli, ["--config", str(config), "run", "--dry-run", "--json"])
    guard = json.loads(plan.stdout)["guard"]
    assert not guard["tripped"]
    assert next(c for c in guard["checks"] if c["what"] == "creations")["count"] == 0
    carried, report = run_json(config)
    assert carried.exit_code == 0, carried.output
    assert report["counts"]["mailchimp_left_queued"] == 1500

    # Writes this run decides are counted, and a run the guard stopped lets nothing through.
    for contact_id in ids[1:121:2]:
        sim.hubspot_edit(contact_id, {"newsletter": "true"})
    sim.advance(60)
    planned = CliRunner().invoke(cli, ["--config", str(config), "run", "--dry-run"])
    assert planned.exit_code == 5
    assert "  60 creations > limit 25" in planned.stdout, planned.stdout
    for _ in range(2):
        stopped = CliRunner().invoke(cli, ["--config", str(config), "run"])
        assert stopped.exit_code == 5
        assert "60 creations > limit 25" in stopped.stderr, stopped.stderr

    sim.configure("mailchimp", {"batch_paused": False})
    sim.advance(60)
    config.write_text(
        config.read_text().replace("batch_wait_seconds: 0.3", "batch_wait_seconds: 10")
    )
    forced = CliRunner().invoke(cli, ["--config", str(config), "run", "--force"])
    assert forced.exit_code == 0, forced.output
    assert queued(tmp_path) == 0
    assert len(sim.mailchimp_members()) == 2560
