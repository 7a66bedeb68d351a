"""Shared plumbing for the benchmarks: the sandbox process, seeding, configs, running syncer.

Everything is measured from outside syncer, the way an operator meets it: `syncer sandbox` and
`syncer run` are separate processes, API calls are counted twice (by the simulators through
``GET /_sim/requests`` and by syncer in its ``--json`` report), and memory is the syncer process's
own peak RSS (``VmHWM``, sampled from ``/proc``). Not ``ru_maxrss``: a child started by
``subprocess`` (vfork and exec) inherits its parent's high-water mark in that figure, so it would
report this script's 200,000 seeded records as syncer's. Every wait here is bounded, and every URL
is on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml

from syncer.sandbox.world import NEWSLETTER

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MB = 2**20


def stamp() -> str:
    """A UTC timestamp for result file names, sortable and free of colons."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


class SandboxProcess:
    """`syncer sandbox` as a child process, driven through its ``/_sim/`` admin API."""

    def __init__(self, log_path: Path, startup_timeout: float = 30.0) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("w")
        # The sandbox of this checkout, like syncer (``run_syncer``): the ``syncer`` script
        # would import whichever checkout the virtual environment was installed from.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "syncer", "sandbox"],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=checkout_env(),
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], startup_timeout)
        if not ready:
            self.stop()
            raise RuntimeError(f"`syncer sandbox` printed nothing in {startup_timeout:.0f} s")
        self.info: dict[str, str] = json.loads(self.proc.stdout.readline())
        for key in ("hubspot_url", "mailchimp_url"):
            host = urlsplit(self.info[key]).hostname
            if host != "127.0.0.1":
                self.stop()
                raise RuntimeError(f"the sandbox must serve on 127.0.0.1, not {host}")
        self.hubspot = self.info["hubspot_url"]
        self.mailchimp = self.info["mailchimp_url"].removesuffix("/3.0")
        self.http = requests.Session()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ten seconds: the sandbox is ours to end."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if hasattr(self, "http"):
            self.http.close()
        self._log.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- admin -----------------------------------------------------------------------------------

    def _root(self, side: str) -> str:
        return self.hubspot if side == "hubspot" else self.mailchimp

    def post(self, side: str, path: str, payload: Any, timeout: float = 300.0) -> Any:
        response = self.http.post(f"{self._root(side)}{path}", json=payload, timeout=timeout)
        if response.status_code != 200:
            raise RuntimeError(f"{side} {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def reset(self, latency_ms: float) -> None:
        """Empty both simulators, keep their default limits, and inject the latency."""
        for side in ("hubspot", "mailchimp"):
            self.post(side, "/_sim/reset", {})
            self.post(side, "/_sim/faults", {"rate": 0})
            self.post(side, "/_sim/config", {"latency_ms": latency_ms})

    def settings(self, side: str) -> dict[str, Any]:
        """The simulator's current settings (an empty update answers them all)."""
        return dict(self.post(side, "/_sim/config", {}))

    def seed_hubspot(self, contacts: Sequence[dict[str, Any]], chunk: int = 5000) -> list[str]:
        ids: list[str] = []
        for start in range(0, len(contacts), chunk):
            payload = {"properties": [NEWSLETTER], "contacts": contacts[start : start + chunk]}
            ids.extend(self.post("hubspot", "/_sim/seed", payload)["ids"])
        return ids

    def seed_mailchimp(self, members: Sequence[dict[str, Any]], chunk: int = 5000) -> int:
        seeded = 0
        for start in range(0, len(members), chunk):
            payload = {"merge_fields": [], "members": members[start : start + chunk]}
            seeded += int(self.post("mailchimp", "/_sim/seed", payload)["members"])
        return seeded

    def edit_hubspot(self, edits: Iterable[tuple[str, dict[str, str]]]) -> int:
        """A person editing contacts in HubSpot's UI, one ``/_sim/edit`` each (no rate limit)."""
        done = 0
        for contact_id, properties in edits:
            self.post("hubspot", "/_sim/edit", {"id": contact_id, "properties": properties})
            done += 1
        return done

    def advance(self, seconds: float) -> None:
        """Both simulators share one clock: moving it once moves both."""
        self.post("hubspot", "/_sim/clock", {"advance": seconds})

    def requests(self, side: str) -> dict[str, Any]:
        response = self.http.get(f"{self._root(side)}/_sim/requests", timeout=60)
        response.raise_for_status()
        return dict(response.json())

    def all_requests(self) -> dict[str, dict[str, Any]]:
        return {side: self.requests(side) for side in ("hubspot", "mailchimp")}


def calls_between(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> dict[str, dict[str, int]]:
    """Server-side calls per endpoint made between two ``/_sim/requests`` snapshots.

    ``batch_operations`` (operations run inside Mailchimp batches) are not API calls; they are
    kept apart under that key and left out of the totals.
    """
    delta: dict[str, dict[str, int]] = {}
    for side, now in after.items():
        earlier = before.get(side, {}).get("counts", {})
        counts = {
            key: int(value) - int(earlier.get(key, 0))
            for key, value in now.get("counts", {}).items()
            if int(value) != int(earlier.get(key, 0))
        }
        delta[side] = dict(sorted(counts.items()))
    return delta


def total_calls(calls: dict[str, dict[str, int]]) -> int:
    return sum(n for side in calls.values() for key, n in side.items() if key != "batch_operations")


def write_config(folder: Path, info: dict[str, str], **sections: Any) -> Path:
    """A syncer.yaml pointing at the sandbox; everything not given keeps syncer's defaults.

    The defaults are what an operator gets, so the benchmark leaves the throttle (``search_per
    _second: 5``, ``requests_per_10s: 100``), the field mappings and the ``sync.*`` timings alone.
    """
    document: dict[str, Any] = {
        "state_path": "state/syncer.db",
        "hubspot": {"token": info["hubspot_token"], "base_url": info["hubspot_url"]},
        "mailchimp": {
            "api_key": info["mailchimp_api_key"],
            "list_id": info["list_id"],
            "base_url": info["mailchimp_url"],
        },
    }
    for name, value in sections.items():
        if isinstance(value, dict):
            document.setdefault(name, {}).update(value)
        else:
            document[name] = value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "syncer.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@dataclass
class SyncerRun:
    """One `syncer run --json` as seen from outside."""

    args: list[str]
    exit_code: int
    wall_s: float
    peak_rss_mb: float
    cpu_user_s: float
    cpu_system_s: float
    report: dict[str, Any] | None
    #: (seconds since start, log line) for every line syncer wrote to stderr.
    log: list[tuple[float, str]] = field(default_factory=list)
    timed_out: bool = False
    #: The process's ``/proc/<pid>/io`` at its exit.
    io: dict[str, int] = field(default_factory=dict)
    #: SQL statements it executed, by first keyword (``benchmarks.sqlcount``).
    sql: dict[str, int] = field(default_factory=dict)
    #: (seconds since start, ``write_bytes`` so far), sampled with the RSS.
    written: list[tuple[float, int]] = field(default_factory=list)

    @property
    def syncer_calls(self) -> dict[str, dict[str, int]]:
        calls = (self.report or {}).get("api_calls") or {}
        return {side: dict(shape.get("by_endpoint") or {}) for side, shape in calls.items()}

    @property
    def counts(self) -> dict[str, int]:
        return dict((self.report or {}).get("counts") or {})

    def phases(self) -> list[dict[str, Any]]:
        """Each phase line (DEBUG with -v, not an API call's) starts a phase that lasts until
        the next one (or the exit)."""
        marks = [
            (t, line.split(" ", 2)[2])
            for t, line in self.log
            if (" DEBUG " in line and " -> " not in line) or " INFO " in line
        ]
        phases = []
        for index, (start, name) in enumerate(marks):
            end = marks[index + 1][0] if index + 1 < len(marks) else self.wall_s
            phases.append(
                {
                    "phase": name,
                    "start_s": round(start, 2),
                    "seconds": round(end - start, 2),
                    "written_mb": round((self.written_at(end) - self.written_at(start)) / MB, 1),
                }
            )
        return phases

    def written_at(self, moment: float) -> int:
        """Bytes written by ``moment`` (the last sample before it; the total after the exit)."""
        if moment >= self.wall_s:
            return self.io.get("write_bytes", 0)
        return max((n for t, n in self.written if t <= moment), default=0)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["log"] = [f"{t:8.2f} {line}" for t, line in self.log[-200:]]
        del data["written"]  # per phase below
        data["phases"] = self.phases()
        return data


def checkout_env() -> dict[str, str]:
    """The environment for a child that must import this checkout's ``syncer``."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


def peak_rss_kib(pid: int) -> int | None:
    """The process's own high-water RSS (``VmHWM``), or ``None`` once it has gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def run_syncer(
    config: Path,
    *args: str,
    timeout: float,
    profile: Path | None = None,
    command: str = "run",
) -> SyncerRun:
    """Run `syncer run --json` (or another ``command`` taking ``--json``) to completion
    (SIGTERM at ``timeout``, SIGKILL 30 s later).

    ``wait4`` gives this one child's CPU time, without the sandbox (another child of this
    process); peak RSS is ``VmHWM`` sampled every 50 ms until the process exits (a high-water
    mark, so sampling loses at most the last 50 ms). With ``profile``, syncer runs under cProfile
    and writes its statistics there; its times are then inflated by the profiler.
    """
    counts = config.parent / "sql-counts.json"
    counts.unlink(missing_ok=True)
    argv = ["-m", "benchmarks.sqlcount", str(counts)]
    argv += ["--config", str(config), command, "--json", "-v", *args]
    if profile is not None:
        argv = ["-m", "cProfile", "-o", str(profile), *argv]
    env = checkout_env()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=config.parent,
        env=env,
    )
    out: list[str] = []
    log: list[tuple[float, str]] = []
    assert proc.stdout is not None
    assert proc.stderr is not None
    stdout, stderr = proc.stdout, proc.stderr

    def read_out() -> None:
        out.append(stdout.read())

    def read_err() -> None:
        for line in stderr:
            log.append((time.monotonic() - started, line.rstrip("\n")))

    peak = [0]
    written: list[tuple[float, int]] = []
    finished = threading.Event()

    def sample_rss() -> None:
        while not finished.wait(0.05):
            value = peak_rss_kib(proc.pid)
            if value is None:
                return
            peak[0] = max(peak[0], value)
            so_far = process_io(proc.pid).get("write_bytes")
            if so_far is not None:
                written.append((time.monotonic() - started, so_far))

    readers = [
        threading.Thread(target=read_out),
        threading.Thread(target=read_err),
        threading.Thread(target=sample_rss),
    ]
    for reader in readers:
        reader.start()
    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        proc.send_signal(signal.SIGTERM)
        time.sleep(30)
        if proc.returncode is None:
            proc.kill()

    watchdog = threading.Timer(timeout, expire)
    watchdog.daemon = True
    watchdog.start()
    # Wait for the exit but leave the process a zombie, whose I/O accounting is still readable.
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    io_counts = process_io(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    finished.set()
    watchdog.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(timeout=30)
    text = "".join(out).strip()
    try:
        report = json.loads(text) if text else None
    except ValueError:
        report = None
    return SyncerRun(
        args=list(args),
        exit_code=proc.returncode,
        wall_s=wall,
        peak_rss_mb=peak[0] / 1024,
        cpu_user_s=usage.ru_utime,
        cpu_system_s=usage.ru_stime,
        report=report,
        log=log,
        timed_out=timed_out.is_set(),
        io=io_counts,
        written=written,
        sql=json.loads(counts.read_text()) if counts.exists() else {},
    )


def process_io(pid: int) -> dict[str, int]:
    """``/proc/<pid>/io``: ``write_bytes`` is what the process sent towards the disk (counted as
    pages are dirtied), ``wchar`` what it passed to ``write()``."""
    try:
        text = Path(f"/proc/{pid}/io").read_text()
    except OSError:
        return {}
    return {key: int(value) for key, value in (line.split(": ") for line in text.splitlines())}


def save_results(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{stamp()}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str))
    return path


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned table: the short summary a person reads after a run."""
    text = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in text) for i in range(len(headers))]
    for index, row in enumerate(text):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def ratio(measured: float, floor: float) -> str:
    return f"{measured / floor:.2f}x" if floor > 0 else "-"
