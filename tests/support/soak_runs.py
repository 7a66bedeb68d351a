"""Running `syncer` for the soak: each run's weather, SIGKILLs aimed at a phase, quiet runs.

A killed run is killed *inside a chosen phase*: it runs with ``-v``, whose log names each phase
as it starts (``collecting earlier Mailchimp batches``, ``fetching ...``, ``reconciling``,
``writing to HubSpot``, ``submitting Mailchimp batches``, ``waiting up to ...``, ``reading the
activity of N campaigns``), and a reader thread kills it a random few milliseconds after the
chosen one begins. The phases are dealt out evenly over a soak's killed rounds
(:func:`kill_schedule`), and the journal reports where each kill really landed (a phase can end
before the kill does, or never come).

Every run goes with ``--debug``: a run that stops on an unexpected error (exit 6) leaves its
error line and traceback in the journal (:meth:`RunRecord.line`), not only the hint printed last.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import IO

from syncer.errors import ExitCode

DONE = (ExitCode.OK, ExitCode.PARTIAL)
STARTUP, COLLECTING, RESULTS = "start-up", "collecting old batches", "batch results"
ENGAGEMENT = "engagement"  # reading campaign activity, writing notes and properties (issue 16)
#: Each phase as its ``-v`` line begins; the first match names the phase a line starts.
PHASE_LINES = (
    ("collecting earlier Mailchimp batches", COLLECTING),
    ("fetching ", "fetching"),
    ("looking for contacts deleted", "fetching"),
    ("reading HubSpot list", "segments"),
    ("applying the scope", "segments"),
    ("reconciling", "reconciling"),
    ("writing to HubSpot", "HubSpot writes"),
    ("submitting Mailchimp batches", "Mailchimp submission"),
    ("writing to Mailchimp", "Mailchimp submission"),
    ("waiting up to", RESULTS),
    ("reading the activity of", ENGAGEMENT),
    ("writing engagement notes", ENGAGEMENT),
)
KILL_PHASES = (
    STARTUP,
    COLLECTING,
    "fetching",
    "reconciling",
    "HubSpot writes",
    "Mailchimp submission",
    RESULTS,
    ENGAGEMENT,
)
#: Once its phase has begun, a kill waits this long (uniformly drawn, seconds).
KILL_DELAY = (0.0, 0.08)
#: A start-up kill comes this long after the process starts: inside the interpreter's start,
#: the config, the lock or the field check.
STARTUP_DELAY = (0.05, 0.6)
#: How much of a failed run's stderr the journal keeps: the traceback's last frames and the error.
FAILURE_LINES = 12
#: How many of a killed run's last stderr lines are kept: a traceback with its chained one.
STDERR_TAIL = 120
TRACEBACK = "Traceback (most recent call last):"


def kill_schedule(rng: Random, rounds: int, share: float) -> dict[int, str]:
    """Which rounds' runs are killed (never two in a row, round 0 is the first sync), and in
    which phase: every phase in turn, in a shuffled order, so each gets its share."""
    phases: list[str] = []
    schedule: dict[int, str] = {}
    for round_no in range(rounds + 1):
        if round_no - 1 in schedule or rng.random() >= share:
            continue
        if not phases:
            phases = list(KILL_PHASES)
            rng.shuffle(phases)
        schedule[round_no] = phases.pop()
    return schedule


@dataclass
class RunRecord:
    """One `syncer` subprocess, for the journal printed on failure."""

    label: str
    code: int | None
    seconds: float
    #: The phase a SIGKILL landed in ("" for a run not killed).
    killed_in: str
    counts: dict[str, int]
    failures: list[str]
    stderr: str
    #: When it ended (``time.time()``: the record is made then), to place it in the simulators'
    #: timelines (``soak_windows``).
    ended: float = field(default_factory=time.time)

    @property
    def began(self) -> float:
        return self.ended - self.seconds

    def line(self) -> str:
        how = f"SIGKILLed in {self.killed_in}" if self.killed_in else f"exit {self.code}"
        last = self.stderr.strip().splitlines()[-1:] or [""]
        counts = {k: v for k, v in sorted(self.counts.items()) if v}
        failed = f" failures: {self.failures[:5]}" if self.failures else ""
        line = f"{self.label}: {how} after {self.seconds:.1f} s {counts}{failed} {last[0][:160]}"
        return "\n    ".join([line, *self.why()])

    def why(self) -> list[str]:
        """A run that ended on its own but not done: its error line and, from ``--debug``, the
        innermost frames of the first traceback printed (the bug itself; a chained traceback
        after it only shows the way out through the CLI's edge)."""
        if self.killed_in or self.code in DONE:
            return []
        first = self.stderr
        for chained in ("\nThe above exception", "\nDuring handling"):
            first = first.split(chained, 1)[0]
        start = first.rfind(TRACEBACK)
        frames = first[start + len(TRACEBACK) :].splitlines() if start >= 0 else []
        errors = [line for line in self.stderr.splitlines() if "error: " in line][-1:]
        kept = [line for line in frames if line.strip(" ^~")][-FAILURE_LINES:] + errors
        return [line[:240] for line in kept]


@dataclass
class _Watch:
    """A killed run's stderr as it comes: the phase it is in, and when the target begins."""

    target: str
    phase: str = STARTUP
    reached: threading.Event = field(default_factory=threading.Event)
    tail: list[str] = field(default_factory=list)

    def read(self, stream: IO[str] | None) -> None:
        for line in stream or []:
            self.tail = [*self.tail[-STDERR_TAIL:], line]
            message = line.split(" DEBUG ", 1)[-1] if " DEBUG " in line else ""
            for prefix, phase in PHASE_LINES:
                if message.startswith(prefix):
                    self.phase = phase
                    if phase == self.target:
                        self.reached.set()
                    break


class Runner:
    """Starts `syncer` subprocesses and keeps the record of every run."""

    def __init__(self, rng: Random, timeout: float) -> None:
        self.rng = rng
        self.timeout = timeout
        self.runs: list[RunRecord] = []

    def run(self, config: Path, label: str, *extra: str) -> RunRecord:
        started = time.monotonic()
        done = subprocess.run(
            command(config, "--debug", "run", "--json", *extra),
            capture_output=True,
            text=True,
            timeout=self.timeout,
        )
        return self._record(label, done.returncode, started, done.stdout, done.stderr, "")

    def retry_all(self, config: Path, label: str) -> RunRecord:
        """`syncer retry --all`: failed and blocked people are decided and written anew."""
        started = time.monotonic()
        done = subprocess.run(
            command(config, "retry", "--all"), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == ExitCode.OK, done.stdout + done.stderr
        self.runs.append(
            RunRecord(label, done.returncode, time.monotonic() - started, "", {}, [], done.stderr)
        )
        return self.runs[-1]

    def check_fix(self, config: Path, label: str) -> RunRecord:
        """`syncer check --fix`: what a newly enabled part of the config needs is created."""
        started = time.monotonic()
        done = subprocess.run(
            command(config, "check", "--fix"), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == ExitCode.OK, done.stdout + done.stderr
        self.runs.append(RunRecord(label, 0, time.monotonic() - started, "", {}, [], ""))
        return self.runs[-1]

    def killed_run(self, config: Path, label: str, target: str, *extra: str) -> RunRecord:
        """A run SIGKILLed soon after ``target`` begins; one that ends first is recorded so."""
        started = time.monotonic()
        watch = _Watch(target)
        with subprocess.Popen(
            command(config, "--debug", "run", "-v", "--json", *extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            out: list[str] = []
            reader = threading.Thread(target=watch.read, args=(process.stderr,), daemon=True)
            writer = threading.Thread(target=_drain, args=(process.stdout, out), daemon=True)
            reader.start()
            writer.start()
            if target == STARTUP:
                time.sleep(self.rng.uniform(*STARTUP_DELAY))
            else:
                while not watch.reached.wait(0.01) and process.poll() is None:
                    if time.monotonic() - started > self.timeout:
                        break
                time.sleep(self.rng.uniform(*KILL_DELAY))
            killed_in = ""
            if process.poll() is None:
                killed_in = watch.phase
                os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            reader.join(timeout=30)
            writer.join(timeout=30)
        stderr = "".join(line for line in watch.tail if " DEBUG " not in line)
        code = None if killed_in else process.returncode
        aimed = f"{label} [kill in {target}]"
        return self._record(aimed, code, started, "".join(out), stderr, killed_in)

    def _record(
        self, label: str, code: int | None, started: float, out: str, err: str, killed_in: str
    ) -> RunRecord:
        # Only this test starts runs, one at a time: a held lock is one a killed run left behind.
        assert code != ExitCode.LOCKED, f"{label}: a killed run's lock was not taken over: {err}"
        report = json.loads(out) if code in DONE else {}
        record = RunRecord(
            label,
            code,
            time.monotonic() - started,
            killed_in,
            dict(report.get("counts", {})),
            list(report.get("failures", [])),
            err,
        )
        self.runs.append(record)
        return record

    def kill_spread(self) -> dict[str, int]:
        """Where the kills landed, by phase; a kill whose run ended first counts as missed."""
        spread: Counter[str] = Counter()
        for record in self.runs:
            if "[kill in" in record.label:
                spread[record.killed_in or "missed (the run ended first)"] += 1
        return dict(sorted(spread.items()))


def _drain(stream: IO[str] | None, into: list[str]) -> None:
    into.extend(stream or [])


def command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "syncer", "--config", str(config), *args]
