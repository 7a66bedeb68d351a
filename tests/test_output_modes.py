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
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (DEBUG|INFO|WARNING|ERROR) \S")


def in_terminal(*args: str, timeout: float = 120, columns: int = 160, check: bool = True) -> str:
    """Run syncer with a pseudo-terminal for stdout and stderr; return everything it drew."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": "50"}
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
    if check:
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
    assert ran.stdout == "", "under cron the summary is a log line too"
    lines = ran.stderr.splitlines()
    assert all(LOG_LINE.match(line) for line in lines), lines
    assert "WARNING no cache at" in lines[0]
    assert any(" INFO run ok: fetched 190 HubSpot contacts" in line for line in lines)
    shown = through_pipe("--config", config, "status")
    assert not ANSI.search(shown.stdout)
    assert shown.stdout.startswith("health: OK")
    assert re.search(r"^source +server time reached", shown.stdout, re.M)


def test_under_cron_a_quiet_run_is_one_line_and_none_with_quiet(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = str(seeded(sim, tmp_path))
    through_pipe("run", "--config", config)
    again = through_pipe("run", "--config", config)
    (line,) = again.stderr.splitlines()
    assert LOG_LINE.match(line)
    assert " INFO run ok: nothing to change; fetched " in line
    assert through_pipe("run", "--config", config, "--quiet").stderr == ""


def test_verbose_shows_each_call_without_secrets_or_urls(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = str(seeded(sim, tmp_path))
    ran = through_pipe("run", "-v", "--config", config)
    lines = ran.stderr.splitlines()
    assert all(LOG_LINE.match(line) for line in lines)
    calls = [line for line in lines if " DEBUG hubspot: POST /crm/v3/objects/contacts/" in line]
    assert calls
    assert re.search(r"-> 200 in \d+ ms$", calls[0])
    assert any(" DEBUG reconciling" in line for line in lines)
    for secret in (sim.sandbox.info.hubspot_token, sim.sandbox.info.mailchimp_api_key):
        assert secret not in ran.stderr
    assert "http://" not in ran.stderr


def test_log_file_creates_its_folder_and_takes_every_line(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = str(seeded(sim, tmp_path))
    log_file = tmp_path / "missing" / "folder" / "syncer.log"
    ran = through_pipe("run", "--config", config, "--log-file", str(log_file))
    assert (ran.stdout, ran.stderr) == ("", "")
    lines = log_file.read_text().splitlines()
    assert all(LOG_LINE.match(line) for line in lines)
    assert any(" INFO run ok:" in line for line in lines)
    broken = tmp_path / "broken.yaml"
    broken.write_text(Path(config).read_text().replace("lastname", "lastnme", 1))
    failed = subprocess.run(
        [
            sys.executable,
            "-m",
            "syncer",
            "run",
            "--config",
            str(broken),
            "--log-file",
            str(log_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 2
    errors = [line for line in log_file.read_text().splitlines() if " ERROR " in line]
    assert [line.split(" ERROR ")[1].split(":")[0] for line in errors] == ["error", "hint"]


def test_status_fits_80_columns_on_a_terminal(sim: SandboxDriver, tmp_path: Path) -> None:
    config = str(seeded(sim, tmp_path))
    through_pipe("--config", config, "run")
    shown = ANSI.sub("", in_terminal("status", "--config", config, columns=80))
    lines = shown.replace("\r", "").splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    assert re.search(r"run .*outcome", shown)


def test_retry_warnings_name_the_endpoint_once(sim: SandboxDriver, tmp_path: Path) -> None:
    config = seeded(sim, tmp_path)
    sim.faults("hubspot", {"rate": 0.3, "kinds": ["503"], "seed": 3})
    ran = subprocess.run(
        [sys.executable, "-m", "syncer", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    warnings = [line for line in ran.stderr.splitlines() if " WARNING hubspot" in line]
    assert warnings, ran.stderr
    for line in warnings:
        message = line.split(" WARNING ", 1)[1]
        assert message.count("hubspot:") == 1, message
        assert "; retrying in " in message


def test_in_a_terminal_log_lines_stand_apart_from_the_progress_rows(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Warnings logged while the bars are live are printed above them, whole lines of their own."""
    config = str(seeded(sim, tmp_path))
    sim.faults("hubspot", {"rate": 0.4, "kinds": ["503"], "seed": 5})
    sim.faults("mailchimp", {"rate": 0.4, "kinds": ["503"], "seed": 6})
    drawn = ANSI.sub("", in_terminal("run", "--config", config, check=False))
    lines = drawn.replace("\r", "\n").splitlines()
    logged = [line for line in lines if "retrying in" in line]
    assert logged, drawn[-2000:]
    assert all("━" not in line for line in logged), "a log line tore through a progress row"
