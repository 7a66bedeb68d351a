"""Issue 11.8: a first sync never starts by accident, and only one started on purpose is exempt
from the blast-radius guard's limit on creations."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from syncer.cli import cli
from syncer.errors import ExitCode
from tests.support.people import InitialWorld
from tests.support.sandbox import SandboxDriver
from tests.support.state import sql


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def synced_once(sim: SandboxDriver, tmp_path: Path) -> Path:
    sim.seed_world(InitialWorld(shared=20, hubspot_only=6, mailchimp_only=6, conflicts=0))
    config = sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == ExitCode.OK
    sim.advance(60)
    return config


def remote_calls(sim: SandboxDriver) -> tuple[int, int]:
    return sim.requests("hubspot")["total"], sim.requests("mailchimp")["total"]


def remove_cache(state: Path, *, leave_empty: bool) -> None:
    """What `rm` or a truncating mistake does to a cache; the lock file is left, as it is."""
    for path in (state / "syncer.db", state / "syncer.db-wal", state / "syncer.db-shm"):
        path.unlink(missing_ok=True)
    if leave_empty:
        (state / "syncer.db").write_bytes(b"")


@pytest.mark.parametrize(
    ("leave_empty", "found"),
    [
        (False, "no cache at {db}, but syncer.db.lock beside it shows syncer ran there"),
        (True, "the cache {db} is an empty file"),
    ],
)
def test_a_lost_cache_stops_the_run_until_full_asks_for_a_first_sync(
    sim: SandboxDriver, tmp_path: Path, leave_empty: bool, found: str
) -> None:
    config = synced_once(sim, tmp_path)
    state = tmp_path / "state"
    remove_cache(state, leave_empty=leave_empty)
    before = remote_calls(sim)
    for args in (("run",), ("run", "--dry-run")):
        refused = invoke(config, *args)
        assert refused.exit_code == ExitCode.CONFIG, refused.output
        db = state / "syncer.db"
        assert f"{found.format(db=db)}: a new first sync would start by accident" in (
            refused.stderr
        )
        assert "`syncer run --full`" in refused.stderr
        assert "Traceback" not in refused.output
    assert remote_calls(sim) == before, "nothing was read or written"
    assert (state / "syncer.db").exists() == leave_empty, "no cache was made in its place"

    started = invoke(config, "run", "--full")
    assert started.exit_code == ExitCode.OK, started.output
    assert invoke(config, "run").exit_code == ExitCode.OK


def test_an_empty_cache_file_in_a_new_folder_is_no_first_sync_either(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = sim.write_config(tmp_path)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "syncer.db").write_bytes(b"")
    refused = invoke(config, "run")
    assert refused.exit_code == ExitCode.CONFIG
    assert "is an empty file: a new first sync would start by accident" in refused.stderr


def test_a_new_state_folder_still_starts_a_first_sync_and_leaves_no_empty_cache_behind(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = synced_once(sim, tmp_path)
    state = tmp_path / "state"
    assert sorted(path.name for path in state.iterdir()) == ["syncer.db", "syncer.db.lock"]
    assert invoke(config, "run").exit_code == ExitCode.OK


def test_a_first_run_killed_while_it_built_the_cache_leaves_a_first_sync_to_the_next(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = sim.write_config(tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    (state / "syncer.db.lock").write_bytes(b"")
    (state / "syncer.db.new-4242").write_bytes(b"SQLite format 3\0")
    assert invoke(config, "run").exit_code == ExitCode.OK
    assert sorted(path.name for path in state.iterdir()) == ["syncer.db", "syncer.db.lock"]


def test_a_cache_refuses_another_audience(sim: SandboxDriver, tmp_path: Path) -> None:
    config = synced_once(sim, tmp_path)
    document = yaml.safe_load(config.read_text())
    document["mailchimp"]["list_id"] = "0ther1d"
    config.write_text(yaml.safe_dump(document))
    before = remote_calls(sim)
    refused = invoke(config, "run")
    assert refused.exit_code == ExitCode.CONFIG, refused.output
    assert (
        f"the cache {tmp_path / 'state' / 'syncer.db'} holds the sync of Mailchimp audience "
        f"{sim.list_id}, not of 0ther1d (mailchimp.list_id)"
    ) in refused.stderr
    assert "own state_path" in refused.stderr
    assert invoke(config, "run", "--full").exit_code == ExitCode.CONFIG, "--full is no way out"
    assert remote_calls(sim) == before


@pytest.mark.parametrize("on_purpose", [True, False])
def test_only_a_cache_created_on_purpose_has_its_first_sync_exempt(
    sim: SandboxDriver, tmp_path: Path, on_purpose: bool
) -> None:
    """30 creations (half the 60 contacts want the newsletter) of 0 linked people are over
    `min_guarded` (25): a first sync may make them,
    but not one in a cache that does not record that it was created on purpose (an older
    syncer's, whose creation nobody checked)."""
    sim.seed_world(InitialWorld(shared=0, hubspot_only=60, mailchimp_only=0, conflicts=0))
    config = sim.write_config(tmp_path)
    assert invoke(config, "run", "--dry-run").exit_code == ExitCode.OK  # makes the cache
    if not on_purpose:
        sql(tmp_path, "DELETE FROM meta WHERE key = 'created'")
    ran = invoke(config, "run")
    if on_purpose:
        assert ran.exit_code == ExitCode.OK, ran.output
        assert len(sim.mailchimp_members()) == 30
    else:
        assert ran.exit_code == ExitCode.GUARD, ran.output
        assert "30 creations > limit 25" in ran.stderr
        assert sim.mailchimp_members() == []
