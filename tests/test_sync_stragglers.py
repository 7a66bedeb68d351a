"""Changes HubSpot's search indexes minutes late (reference §12.4) still reach Mailchimp.

Measured here rather than assumed: with runs every 5 minutes and a 2-minute overlap, a change
indexed 45 minutes late has fallen behind the cursor by the time search shows it. Without the
periodic wider re-read it is never synced; with it (every 60 minutes, 120 back) it is synced by
the wider re-read whose slice of time holds it, which reads it once it is at least 60 minutes
old (the window less the period) and at most a period and a run later: within 26 runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncer.cli import cli
from syncer.errors import ExitCode
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver

RUN_EVERY_S = 300
STRAGGLER_S = 45 * 60
MOST_RUNS = 26


def runs_until_synced(sim: SandboxDriver, config: Path, contact_id: str) -> int | None:
    """How many 5-minute runs it takes the late change to reach Mailchimp (None: not in 26)."""
    sim.configure("hubspot", {"straggler_rate": 1.0, "straggler_lag_ms": STRAGGLER_S * 1000})
    sim.hubspot_edit(contact_id, {"lastname": "LateEdit"})
    sim.configure("hubspot", {"straggler_rate": 0.0})
    for run in range(1, MOST_RUNS + 1):
        sim.advance(RUN_EVERY_S)
        result = CliRunner().invoke(cli, ["--config", str(config), "run"])
        assert result.exit_code == ExitCode.OK, result.output
        if sim.mailchimp_by_email()[email("shared", 0)]["merge_fields"]["LNAME"] == "LateEdit":
            return run
    return None


@pytest.mark.parametrize(("every", "synced"), [(60, True), (0, False)], ids=["reread", "never"])
def test_a_change_indexed_45_minutes_late_is_synced_by_the_wider_reread(
    sim: SandboxDriver, tmp_path: Path, every: int, synced: bool
) -> None:
    ids = sim.seed_world(InitialWorld(shared=3, hubspot_only=0, mailchimp_only=0, conflicts=0))
    sync = {"overlap_seconds": 120, "reread_every_minutes": every, "reread_window_minutes": 120}
    config = sim.write_config(tmp_path, sync={**sync, "batch_poll_seconds": 0.05})
    assert CliRunner().invoke(cli, ["--config", str(config), "run"]).exit_code == ExitCode.OK

    taken = runs_until_synced(sim, config, ids[0])

    if synced:
        assert taken is not None
        assert STRAGGLER_S // RUN_EVERY_S < taken <= MOST_RUNS
    else:
        assert taken is None, "the overlap alone never catches a change indexed this late"


BURST = 12
THREE_HOURS_OF_RUNS = 36


def test_a_burst_is_re_read_once_by_five_minute_runs_over_three_hours(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """The wider re-reads' slices follow each other: a burst of edits is read by the run after
    it and re-read by exactly one wider re-read, however many re-reads the window spans."""
    ids = sim.seed_world(InitialWorld(shared=BURST, hubspot_only=0, mailchimp_only=0, conflicts=0))
    sync = {"overlap_seconds": 120, "reread_every_minutes": 60, "reread_window_minutes": 120}
    config = sim.write_config(tmp_path, sync={**sync, "batch_poll_seconds": 0.05})
    assert CliRunner().invoke(cli, ["--config", str(config), "run"]).exit_code == ExitCode.OK
    sim.advance(RUN_EVERY_S)
    for contact_id in ids[:BURST]:
        sim.hubspot_edit(contact_id, {"lastname": "Burst"})

    read, rereads = [], 0
    for _ in range(THREE_HOURS_OF_RUNS):
        sim.advance(RUN_EVERY_S)
        result = CliRunner().invoke(cli, ["--config", str(config), "run", "--json"])
        assert result.exit_code == ExitCode.OK, result.output
        counts = json.loads(result.stdout)["counts"]
        read.append(counts.get("fetched_hubspot", 0))
        rereads += counts.get("hubspot_rereads", 0)

    assert read[0] == BURST  # the run after the burst reads it
    assert rereads >= 2, "three hours of runs hold two wider re-reads at least"
    assert sum(read[1:]) == BURST, read  # and one wider re-read, of them all, re-reads it
