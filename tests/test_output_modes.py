"""Output as people see it: rich on a terminal (a pseudo-terminal here), plain through a pipe."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.support.people import InitialWorld
from tests.support.sandbox import SandboxDriver

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO ")


def in_terminal(*args: str, timeout: float = 120) -> str:
    """Run syncer with a pseudo-terminal for stdout and stderr; return everything it drew."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "50"}
    env.pop("NO_COLOR", None)
    with subprocess.Popen(
        [sys.executable, "-m", "syncer", *args], stdout=follower, stderr=follower, env=env
    ) as process:
        os.close(follower)
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        process.wait(timeout=10)
    os.close(leader)
    assert process.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def through_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "syncer", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done


def seeded(sim: SandboxDriver, tmp_path: Path) -> Path:
    world = InitialWorld(shared=150, hubspot_only=40, mailchimp_only=40, conflicts=5)
    sim.seed_world(world)
    sim.configure("hubspot", {"latency_ms": 30})
    return sim.write_config(tmp_path, sync={"direct_threshold": 0, "batch_poll_seconds": 0.1})


def test_run_and_status_in_a_terminal_are_rich(sim: SandboxDriver, tmp_path: Path) -> None:
    config = str(seeded(sim, tmp_path))
    drawn = in_terminal("--config", config, "run")
    assert ANSI.search(drawn), "no styling on a terminal"
    assert "reconciling" in drawn
    assert "━" in drawn, "no progress bar on a terminal"
    assert not TIMESTAMPED.search(ANSI.sub("", drawn)), "cron-style lines on a terminal"
    shown = in_terminal("--config", config, "status")
    assert ANSI.search(shown)
    assert "health: OK" in ANSI.sub("", shown)


def test_run_and_status_through_a_pipe_are_plain(sim: SandboxDriver, tmp_path: Path) -> None:
    config = str(seeded(sim, tmp_path))
    ran = through_pipe("--config", config, "run")
    for stream in (ran.stdout, ran.stderr):
        assert not ANSI.search(stream)
        assert "━" not in stream
    phases = [line for line in ran.stderr.splitlines() if TIMESTAMPED.match(line)]
    assert [line.split(" INFO ")[1].split(" (")[0] for line in phases][:2] == [
        "fetching all HubSpot contacts and Mailchimp members",
        "reconciling",
    ]
    assert ran.stdout.startswith("run ok:")
    shown = through_pipe("--config", config, "status")
    assert not ANSI.search(shown.stdout)
    assert shown.stdout.startswith("health: OK")
    assert re.search(r"^source +server time reached", shown.stdout, re.M)
