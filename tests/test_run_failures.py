"""Runs that fail: what is recorded, what is printed, what is alerted, and what never leaks."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from syncer.cache.lock import run_lock
from syncer.cli import cli
from syncer.cli import commands as cli_commands
from syncer.errors import ExitCode
from syncer.run import engine
from tests.support.people import InitialWorld
from tests.support.sandbox import SandboxDriver
from tests.support.scripted_server import Reply, ScriptedServer
from tests.support.state import sql


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def hubspot_at(sim: SandboxDriver, url: str, token: str) -> dict[str, Any]:
    """The config's HubSpot section, pointed at a scripted server instead of the simulator."""
    return {"token": token, "base_url": url, "search_per_second": 50}


def test_a_401_echoing_the_token_leaks_it_nowhere(sim: SandboxDriver, tmp_path: Path) -> None:
    token = "pat-na1-0123-echoed-secret"
    echoed = json.dumps({"status": "error", "message": f"The token {token} is expired"})
    hubspot = ScriptedServer(fallback=Reply(401, echoed.encode()))
    receiver = ScriptedServer(fallback=Reply(200, b"ok"))
    with hubspot.running(), receiver.running():
        config = sim.write_config(
            tmp_path,
            hubspot=hubspot_at(sim, hubspot.url, token),
            alerts={"webhook_url": f"{receiver.url}/hook"},
        )
        ran = invoke(config, "run")
        reported = invoke(config, "status", "--json")
    assert ran.exit_code == ExitCode.REMOTE
    assert "expired" in ran.stderr
    texts = {
        "stderr": ran.stderr + ran.stdout,
        "status": reported.stdout,
        "webhook": "".join(seen.body.decode() for seen in receiver.seen),
    }
    assert receiver.seen, "the failed run alerted nobody"
    for path in (tmp_path / "state").iterdir():
        texts[path.name] = path.read_bytes().decode(errors="replace")
    for where, text in texts.items():
        assert token not in text, where


# -- an unexpected error: recorded, one line and a hint, its own exit code, alerted ----------


SEARCH = "POST /crm/v3/objects/contacts/search"


def _synced(sim: SandboxDriver, tmp_path: Path, **overrides: Any) -> Path:
    sim.seed_world(InitialWorld(shared=6, hubspot_only=3, mailchimp_only=3, conflicts=1))
    config = sim.write_config(tmp_path, **overrides)
    assert invoke(config, "run").exit_code == ExitCode.OK
    sim.advance(60)
    return config


def _a_bug(*args: object, **kwargs: object) -> None:
    raise RuntimeError("the reconciler tripped over its own feet")


def test_an_unexpected_error_is_recorded_alerted_and_exits_with_its_own_code(
    sim: SandboxDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = ScriptedServer(fallback=Reply(200, b"ok"))
    with receiver.running():
        config = _synced(sim, tmp_path, alerts={"webhook_url": f"{receiver.url}/hook"})
        monkeypatch.setattr(engine, "reconcile_dirty", _a_bug)  # stands in for any bug
        ran = invoke(config, "run")
        debugged = invoke(config, "--debug", "run")
    assert ran.exit_code == ExitCode.UNEXPECTED
    # Under cron (no terminal) each line is a timestamped log line: read past the prefix.
    lines = [line.split(" ERROR ", 1)[-1] for line in ran.stderr.strip().splitlines()]
    assert lines[-2].startswith("error: unexpected error: RuntimeError: the reconciler tripped")
    assert lines[-1].startswith("hint: ")
    assert "--debug" in lines[-1]
    assert "Traceback" not in ran.stderr
    assert "Traceback" in debugged.stderr
    assert "_a_bug" in debugged.stderr
    code, report = _status(config)
    assert code == ExitCode.PARTIAL  # `status --check`: unhealthy
    assert report["runs"][0]["outcome"] == "failed"
    assert "RuntimeError" in report["runs"][0]["error"]
    assert any("RuntimeError" in reason for reason in report["health"]["reasons"])
    assert [json.loads(seen.body)["text"] for seen in receiver.seen][0].count("RuntimeError") == 1


def test_unexpected_errors_outside_a_run_get_the_same_edge(
    sim: SandboxDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _synced(sim, tmp_path)
    monkeypatch.setattr(cli_commands, "status_report", _a_bug)
    shown = invoke(config, "status")
    assert shown.exit_code == ExitCode.UNEXPECTED
    assert "Traceback" not in shown.stderr
    assert "error: unexpected error: RuntimeError" in shown.stderr


def _status(config: Path) -> tuple[int, dict[str, Any]]:
    checked = invoke(config, "status", "--check", "--json")
    return checked.exit_code, json.loads(checked.stdout)


# -- a run that never recorded its end ----------------------------------------------------------


def test_a_run_left_running_with_the_lock_free_is_abandoned(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = _synced(sim, tmp_path)
    sql(
        tmp_path,
        "INSERT INTO runs (started_at, mode, outcome) VALUES (?, 'real', 'running')",
        "2026-12-01T10:00:00+00:00",
    )
    code, report = _status(config)
    assert report["runs"][0]["outcome"] == "abandoned"
    assert code == ExitCode.PARTIAL
    assert any("abandoned" in reason for reason in report["health"]["reasons"])
    assert invoke(config, "run").exit_code == ExitCode.OK
    outcomes = [run["outcome"] for run in _status(config)[1]["runs"]]
    assert outcomes[:3] == ["ok", "abandoned", "ok"]


def test_a_run_holding_the_lock_is_still_running(sim: SandboxDriver, tmp_path: Path) -> None:
    config = _synced(sim, tmp_path)
    sql(
        tmp_path,
        "INSERT INTO runs (started_at, mode, outcome) VALUES (?, 'real', 'running')",
        "2026-12-01T10:00:00+00:00",
    )
    with run_lock(tmp_path / "state" / "syncer.db"):
        _, report = _status(config)
    assert report["runs"][0]["outcome"] == "running"


def test_a_sigkilled_run_is_abandoned_not_running_forever(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = _synced(sim, tmp_path)
    sim.configure("hubspot", {"latency_ms": 30_000})
    searched = sim.requests("hubspot")["counts"].get(SEARCH, 0)
    victim = subprocess.Popen(
        [sys.executable, "-m", "syncer", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):  # the run's first search has arrived (it now waits 30 s)
            if sim.requests("hubspot")["counts"].get(SEARCH, 0) > searched:
                break
            time.sleep(0.05)
    finally:
        victim.kill()
        victim.wait(timeout=10)
    sim.configure("hubspot", {"latency_ms": 0})
    code, report = _status(config)
    assert report["runs"][0]["outcome"] == "abandoned"
    assert code == ExitCode.PARTIAL


# -- the disk under the cache is full -----------------------------------------------------------


def _limited_run(config: Path, limit: int) -> subprocess.CompletedProcess[str]:
    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "syncer", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_file_size,  # noqa: PLW1509 - a file-size limit for this child only
    )


def test_a_cache_that_cannot_grow_is_a_clear_failure(sim: SandboxDriver, tmp_path: Path) -> None:
    """Writes past the file-size limit fail as they do on a full disk: every write refused."""
    config = _synced(sim, tmp_path)
    sim.seed_hubspot(
        [
            {"properties": {"email": f"late{i}@northwind-mail.com", "firstname": "L" * 200}}
            for i in range(400)
        ]
    )
    done = _limited_run(config, 64 * 1024)  # the write-ahead log starts empty: 64 KB of room
    assert done.returncode == ExitCode.CONFIG, done.stderr
    assert "Traceback" not in done.stderr
    assert "error: the cache" in done.stderr
    assert "could not be written" in done.stderr
    assert "hint:" in done.stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB file system of its own (tmpfs), where root may mount one; else the test skips."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = os.geteuid() == 0 and (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    if not mounted:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_a_clear_failure(
    sim: SandboxDriver, tmp_path: Path, small_disk: Path
) -> None:
    sim.seed_world(InitialWorld(shared=6, hubspot_only=3, mailchimp_only=3, conflicts=1))
    config = sim.write_config(tmp_path, state_path=str(small_disk / "syncer.db"))
    assert invoke(config, "run").exit_code == ExitCode.OK
    sim.seed_hubspot(
        [
            {"properties": {"email": f"late{i}@northwind-mail.com", "firstname": "L" * 200}}
            for i in range(400)
        ]
    )
    free = shutil.disk_usage(small_disk).free
    (small_disk / "filler").write_bytes(b"\0" * (free - 256 * 1024))
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == ExitCode.CONFIG, done.stderr
    assert "Traceback" not in done.stderr
    assert "could not be written: the disk is full" in done.stderr
    assert "hint: Free space" in done.stderr
