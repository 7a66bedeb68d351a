"""Changes HubSpot's search indexes minutes late (reference §12.4) still reach Mailchimp.

Measured here rather than assumed: with runs every 5 minutes and a 2-minute overlap, a change
indexed 45 minutes late has fallen behind the cursor by the time search shows it. Without the
periodic wider re-read it is never synced; with it (every 60 minutes, 120 back) it is synced by
the first wider re-read after it shows, within 21 runs (105 minutes) at most.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from syncer.cli import cli
from syncer.errors import ExitCode
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver

RUN_EVERY_S = 300
STRAGGLER_S = 45 * 60
MOST_RUNS = 21


def runs_until_synced(sim: SandboxDriver, config: Path, contact_id: str) -> int | None:
    """How many 5-minute runs it takes the late change to reach Mailchimp (None: not in 21)."""
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
