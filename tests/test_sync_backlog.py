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
