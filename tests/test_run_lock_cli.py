"""How a run process ends: beside another run, killed, or asked to stop by a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncer.cache.store import Store
from syncer.cli import cli
from syncer.connectors.mailchimp.client import MailchimpClient, MemberOperation
from syncer.connectors.mailchimp.records import BatchStatus
from syncer.core.records import ContactRow
from syncer.errors import ExitCode
from syncer.operate.stopping import REPEAT_WINDOW
from syncer.run import decide as deciding
from syncer.run.context import RunContext
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver


def start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "syncer", "--config", str(config), "run", "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(process: subprocess.Popen[str], marker: str) -> str:
    """Read the process's stderr up to the line holding ``marker`` (or its end)."""
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if marker in line:
            break
    return "".join(lines)


#: How long each HubSpot answer waits while a second run tries to start beside the first.
HELD_MS = 5000


def test_a_run_started_beside_a_running_one_exits_locked(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    world = InitialWorld(shared=50, hubspot_only=10, mailchimp_only=10, conflicts=0)
    sim.seed_world(world)
    config = sim.write_config(tmp_path)
    # The first run's HubSpot read is held long enough for the second process to start, however
    # slow a loaded machine is to start Python: starting both at once raced on CI.
    sim.configure("hubspot", {"latency_ms": HELD_MS})
    with start(config) as first:
        read_until(first, "fetching all HubSpot contacts")
        with start(config) as second:
            _, second_stderr = second.communicate(timeout=120)
        sim.configure("hubspot", {"latency_ms": 0})
        first.communicate(timeout=120)
    assert (first.returncode, second.returncode) == (ExitCode.OK, ExitCode.LOCKED)
    stderr = second_stderr.strip().splitlines()
    assert "another syncer run" in stderr[0]
    assert len([line for line in stderr if " ERROR error: " in line]) == 1


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    world = InitialWorld(shared=50, hubspot_only=10, mailchimp_only=10, conflicts=0)
    sim.seed_world(world)
    sim.configure("hubspot", {"latency_ms": 200})
    config = sim.write_config(tmp_path)
    with start(config) as victim:
        time.sleep(1.0)
        os.kill(victim.pid, signal.SIGKILL)
        victim.communicate(timeout=10)
    sim.configure("hubspot", {"latency_ms": 0})
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == ExitCode.OK, done.stderr


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_exits_130_and_is_recorded(
    sim: SandboxDriver, tmp_path: Path, sent: signal.Signals
) -> None:
    """Ctrl-C and SIGTERM (what cron and systemd send) stop a run the same documented way."""
    sim.seed_world(InitialWorld(shared=50, hubspot_only=30, mailchimp_only=10, conflicts=0))
    sim.configure("mailchimp", {"batch_paused": True})  # the run waits for its batch
    config = sim.write_config(tmp_path, sync={"direct_threshold": 0, "batch_wait_seconds": 20})
    with start(config) as victim:
        sim.wait_for_request("mailchimp", "POST /3.0/batches")
        victim.send_signal(sent)
        _, stderr = victim.communicate(timeout=30)
    assert victim.returncode == ExitCode.INTERRUPTED, stderr
    assert "interrupted" in stderr
    store = Store(tmp_path / "state" / "syncer.db")
    try:
        assert [run["outcome"] for run in store.runs()] == ["interrupted"]
    finally:
        store.close()


def test_a_second_signal_stops_at_once_without_waiting_for_the_call_in_flight(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_world(InitialWorld(shared=20, hubspot_only=10, mailchimp_only=10, conflicts=0))
    sim.configure("hubspot", {"latency_ms": 60_000})  # the first call would take a minute
    config = sim.write_config(tmp_path)
    with start(config) as victim:
        # a run's first HubSpot call reads the property types (run/properties.py)
        sim.wait_for_request("hubspot", "GET /crm/v3/properties/contacts")
        victim.send_signal(signal.SIGINT)
        taken = read_until(victim, "SIGINT: stopping at the next safe point")
        # Sent only now, and after the window in which a repeat counts as the same request (GNU
        # timeout signals the whole group): two pending signals would count once.
        time.sleep(REPEAT_WINDOW + 0.2)
        victim.send_signal(signal.SIGINT)
        _, stderr = victim.communicate(timeout=30)
    assert "SIGINT: stopping at the next safe point" in taken, taken + stderr
    assert victim.returncode == ExitCode.INTERRUPTED, taken + stderr
    store = Store(tmp_path / "state" / "syncer.db")
    try:
        assert [run["outcome"] for run in store.runs()] == ["interrupted"]
    finally:
        store.close()


def test_a_signal_mid_step_lets_the_step_finish_and_the_next_run_carries_on(
    sim: SandboxDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM right after a batch is posted: the batch is still recorded, so it is collected
    by the next run rather than lost or sent twice, and the run does not wait for it."""
    sim.seed_world(InitialWorld(shared=20, hubspot_only=30, mailchimp_only=10, conflicts=0))
    seeded = {member["email_address"] for member in sim.mailchimp_members()}
    sim.configure("mailchimp", {"batch_paused": True})
    config = sim.write_config(tmp_path, sync={"direct_threshold": 0, "batch_wait_seconds": 20})
    submit = MailchimpClient.submit_batch

    def submit_then_get_a_signal(
        client: MailchimpClient, operations: Sequence[MemberOperation]
    ) -> BatchStatus:
        batch = submit(client, operations)
        os.kill(os.getpid(), signal.SIGTERM)
        return batch

    monkeypatch.setattr(MailchimpClient, "submit_batch", submit_then_get_a_signal)
    stopped = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert stopped.exit_code == ExitCode.INTERRUPTED, stopped.output
    assert "interrupted" in stopped.output
    store = Store(tmp_path / "state" / "syncer.db")
    try:
        assert [run["outcome"] for run in store.runs()] == ["interrupted"]
        assert len(store.open_batches()) == 1
    finally:
        store.close()
    counts = sim.requests("mailchimp")["counts"]
    assert not [key for key in counts if key.startswith("GET /3.0/batches/")]

    monkeypatch.undo()
    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    resumed = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert resumed.exit_code == ExitCode.OK, resumed.output
    assert sim.requests("mailchimp")["counts"]["POST /3.0/batches"] == 1
    newcomers = {member["email_address"] for member in sim.mailchimp_members()} - seeded
    assert newcomers == {email("crm", i) for i in range(0, 30, 2)}  # those wanting the newsletter


def test_a_stop_while_reconciling_leaves_the_rest_for_the_next_run(
    sim: SandboxDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.seed_world(InitialWorld(shared=600, hubspot_only=400, mailchimp_only=200, conflicts=0))
    config = sim.write_config(tmp_path)
    decide = deciding.decide_chunk

    def decide_then_get_a_signal(ctx: RunContext, rows: list[ContactRow]) -> list[ContactRow]:
        waiting = decide(ctx, rows)
        ctx.deadline.interrupt()
        return waiting

    monkeypatch.setattr(deciding, "decide_chunk", decide_then_get_a_signal)
    stopped = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert stopped.exit_code == ExitCode.INTERRUPTED, stopped.output
    assert sim.writes("hubspot") == sim.writes("mailchimp") == 0
    store = Store(tmp_path / "state" / "syncer.db")
    try:
        left = len(store.dirty_contacts(0, 10_000))
    finally:
        store.close()
    assert left == 1200 - deciding.RECONCILE_CHUNK

    monkeypatch.undo()
    assert CliRunner().invoke(cli, ["--config", str(config), "run"]).exit_code == ExitCode.OK
    store = Store(tmp_path / "state" / "syncer.db")
    try:
        assert store.dirty_contacts(0, 10_000) == []
    finally:
        store.close()
    assert {email("crm", i) for i in range(0, 400, 2)} <= {
        member["email_address"] for member in sim.mailchimp_members()
    }
