"""A run killed with SIGKILL at each phase: the next runs finish the job, losing nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver

WORLD = InitialWorld(shared=300, hubspot_only=300, mailchimp_only=200, conflicts=40)
QUICK = {"latency_ms": 0, "batch_delay_s": 0.02}
PROPERTIES = ["email", "firstname", "lastname", "lifecyclestage", "newsletter"]


def start_run(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "syncer", "--config", str(config), "run", "-v"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when(process: subprocess.Popen[str], phase: str, delay: float, timeout: float = 60) -> str:
    """SIGKILL the run ``delay`` seconds after it logs ``phase``; returns what it had logged."""
    assert process.stderr is not None
    seen: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            seen.append(line)
            if phase in line:
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert found.wait(timeout), "".join(seen)
    time.sleep(delay)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    reader.join(timeout=5)
    return "".join(seen)


def run_until_quiet(config: Path, sim: SandboxDriver, limit: int = 4) -> None:
    """Run to completion until a run writes nothing (bounded)."""
    for _ in range(limit):
        writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
        sim.advance(30)
        done = subprocess.run(
            [sys.executable, "-m", "syncer", "--config", str(config), "run", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(done.stdout)
        if (sim.writes("hubspot"), sim.writes("mailchimp")) == writes and not report["counts"].get(
            "batches_open"
        ):
            return
    raise AssertionError("the sync did not settle")


def assert_converged(sim: SandboxDriver) -> None:
    contacts = sim.hubspot_contacts(PROPERTIES)
    members = sim.mailchimp_members()
    assert max(Counter(c["properties"]["email"].lower() for c in contacts).values()) == 1
    assert max(Counter(m["email_address"].lower() for m in members).values()) == 1
    assert len(contacts) == WORLD.shared + WORLD.hubspot_only + WORLD.mailchimp_only
    assert len(members) == WORLD.shared + WORLD.mailchimp_only + WORLD.hubspot_only // 2
    hubspot = {c["properties"]["email"].lower(): c["properties"] for c in contacts}
    for member in members:
        person = hubspot[member["email_address"].lower()]
        assert person["firstname"] == member["merge_fields"]["FNAME"]
        assert person["lastname"] == member["merge_fields"]["LNAME"]
    for i in range(WORLD.shared):
        assert hubspot[email("shared", i)]["firstname"] == WORLD.expected_first_name(i)
    flips = Counter(t["email"] for t in sim.transitions() if t["via"] != "seed")
    assert all(n == 1 for n in flips.values()), "a member's status was written more than once"


@pytest.mark.parametrize(
    ("phase", "delay", "settings"),
    [
        ("fetching all HubSpot contacts", 0.3, {"hubspot": {"latency_ms": 40}}),
        ("reconciling", 0.05, {}),
        ("submitting Mailchimp batches", 0.05, {"mailchimp": {"batch_delay_s": 1.0}}),
        ("collecting earlier Mailchimp batches", 0.02, {}),
    ],
    ids=["during-fetch", "during-reconcile", "after-batch-submitted", "while-processing-results"],
)
def test_killed_run_is_finished_by_the_next(
    sim: SandboxDriver,
    tmp_path: Path,
    phase: str,
    delay: float,
    settings: dict[str, dict[str, float]],
) -> None:
    sim.seed_world(WORLD)
    config = sim.write_config(
        tmp_path,
        sync={"direct_threshold": 0, "batch_wait_seconds": 0.5, "batch_poll_seconds": 0.05},
    )
    if phase.startswith("collecting"):
        # a first run leaves its batches open; the killed run is the one collecting them
        sim.configure("mailchimp", {"batch_paused": True})
        run_until_first_batch(config, sim)
        sim.configure("mailchimp", {"batch_paused": False})
        sim.settle_batches()
    for side, values in settings.items():
        sim.configure(side, values)
    with start_run(config) as process:
        logged = kill_when(process, phase, delay)
    assert phase in logged
    for side, values in settings.items():
        sim.configure(side, {key: QUICK[key] for key in values})
    run_until_quiet(config, sim)
    assert_converged(sim)


def run_until_first_batch(config: Path, sim: SandboxDriver) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "--config", str(config), "run", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["batches_open"] >= 1
