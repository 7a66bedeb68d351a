"""Segments under faults: random list joins and leaves over a few runs, 5% injected faults of
every kind and a SIGKILLed run, then convergence.

A bounded stand-in for segment rounds in the soak (tests/test_soak.py), which is being reworked
elsewhere. 150 people on both sides; a HubSpot list ``MQLs`` mapped to the tag ``MQL``; the
sync scoped to the list ``Canary`` (``on_leave: untag``); members' tags mirrored into a HubSpot
property. Each round moves people in and out of both lists and adds or removes an unmanaged
tag in Mailchimp, then one ``syncer run`` subprocess runs against faulty simulators (one round's
run is SIGKILLed at a random moment). Fault-free runs follow until one writes nothing. The checks
read only the simulators: every member in both lists carries ``MQL`` and nobody else does, the
mirror holds each in-scope member's tags, and nothing was ever deleted or archived.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from syncer.errors import ExitCode
from tests.support.sandbox import SandboxDriver
from tests.support.soak_driver import FAULTS, SLOW_S
from tests.test_segments_mirror import MIRROR, member_hash
from tests.test_segments_tags import change_list, hubspot_list, people

pytestmark = pytest.mark.timeout(240)

PEOPLE, ROUNDS, KILLED_ROUND = 150, 4, 2
MOVES, TAG_EDITS = 0.1, 0.05
SEED = 20261202
DONE = (ExitCode.OK, ExitCode.PARTIAL)


class Segments:
    """The model: who is in which list, and which unmanaged tags each member carries."""

    def __init__(self, sim: SandboxDriver, rng: random.Random, ids: list[str]) -> None:
        self.sim, self.rng, self.ids = sim, rng, ids
        self.emails = {cid: f"person{i}@real.org" for i, cid in enumerate(ids)}
        self.mql = set(rng.sample(ids, len(ids) // 3))
        self.canary = set(rng.sample(ids, len(ids) * 2 // 3))
        self.onboarded: set[str] = set()
        self.mql_list = hubspot_list(sim, "MQLs", sorted(self.mql))
        self.canary_list = hubspot_list(sim, "Canary", sorted(self.canary))

    def move(self) -> None:
        for members, list_id in ((self.mql, self.mql_list), (self.canary, self.canary_list)):
            chosen = self.rng.sample(self.ids, int(len(self.ids) * MOVES))
            joining = [cid for cid in chosen if cid not in members]
            leaving = [cid for cid in chosen if cid in members]
            change_list(self.sim, list_id, add=joining, remove=leaving)
            members.update(joining)
            members.difference_update(leaving)
        for cid in self.rng.sample(self.ids, int(len(self.ids) * TAG_EDITS)):
            status = "inactive" if cid in self.onboarded else "active"
            self._tag(self.emails[cid], "Onboarded", status)
            self.onboarded.symmetric_difference_update({cid})

    def _tag(self, email: str, name: str, status: str) -> None:
        response = self.sim.http.post(
            f"{self.sim.mc_url}/lists/{self.sim.list_id}/members/{member_hash(email)}/tags",
            json={"tags": [{"name": name, "status": status}]},
            auth=self.sim.mc_auth,
            timeout=10,
        )
        assert response.status_code == 204, response.text


def command(config: Path) -> list[str]:
    return [sys.executable, "-m", "syncer", "--config", str(config), "run", "--json"]


def faulty_run(sim: SandboxDriver, config: Path, rng: random.Random, *, kill: bool) -> str:
    """One run under 5% faults of every kind; SIGKILLed after a random delay when ``kill``."""
    for side, kinds in FAULTS.items():
        sim.faults(side, {"rate": 0.05, "kinds": kinds, "seed": rng.randrange(2**31)})
    try:
        with subprocess.Popen(
            command(config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            try:
                out, err = process.communicate(timeout=rng.uniform(0.3, 2.5) if kill else 90)
            except subprocess.TimeoutExpired:
                if not kill:
                    raise
                os.kill(process.pid, signal.SIGKILL)
                process.communicate(timeout=30)
                return "SIGKILLed"
        assert process.returncode != ExitCode.LOCKED, err
        return f"exit {process.returncode}"
    finally:
        for side in FAULTS:
            sim.faults(side, {"rate": 0})
        time.sleep(SLOW_S + 0.2)  # a request syncer gave up on may still sleep in a simulator


def quiet_runs(sim: SandboxDriver, config: Path) -> list[dict[str, Any]]:
    """Fault-free runs until one writes nothing and leaves no batch open (at most six)."""
    reports = []
    for _ in range(6):
        sim.settle_batches()
        sim.advance(5)
        before = (sim.writes("hubspot"), sim.writes("mailchimp"))
        done = subprocess.run(command(config), capture_output=True, text=True, timeout=90)
        assert done.returncode == ExitCode.OK, done.stderr[-2000:]
        report = json.loads(done.stdout)
        reports.append(report["counts"])
        quiet = (sim.writes("hubspot"), sim.writes("mailchimp")) == before
        if quiet and not report["counts"].get("batches_open"):
            return reports
    raise AssertionError(f"still writing after six fault-free runs: {reports}")


def test_list_joins_and_leaves_under_faults_and_a_kill_converge(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    ids = people(sim, PEOPLE)
    model = Segments(sim, rng, ids)
    config = sim.write_config(
        tmp_path,
        tags=[{"hubspot_list": "MQLs", "mailchimp_tag": "MQL"}],
        scope={"hubspot_list": "Canary", "on_leave": "untag"},
        tags_to_hubspot={"property": MIRROR},
        segments={"list_read_minutes": 0},
        sync={
            "batch_wait_seconds": 1,
            "batch_poll_seconds": 0.05,
            "overlap_seconds": 120,
            "direct_threshold": 5,
        },
        http={"max_tries": 6, "max_time": 30, "connect_timeout": 2, "read_timeout": 2},
        safety={"min_guarded": PEOPLE},
    )
    for side in FAULTS:
        sim.configure(side, {"slow_s": SLOW_S})
    fixed = subprocess.run(
        [sys.executable, "-m", "syncer", "--config", str(config), "check", "--fix"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    journal = [faulty_run(sim, config, rng, kill=False)]
    for round_no in range(ROUNDS):
        sim.settle_batches()
        sim.advance(5)
        model.move()
        sim.advance(5)
        journal.append(faulty_run(sim, config, rng, kill=round_no == KILLED_ROUND))
    journal.extend(str(counts) for counts in quiet_runs(sim, config))

    members = sim.mailchimp_by_email()
    contacts = sim.hubspot_by_email(["email", MIRROR])
    problems = []
    for cid, email in model.emails.items():
        tags = {tag["name"] for tag in members[email]["tags"]}
        if ("MQL" in tags) != (cid in model.mql and cid in model.canary):
            problems.append(
                f"{email}: tags {sorted(tags)}, in MQLs {cid in model.mql}, "
                f"in Canary {cid in model.canary}"
            )
        if ("Onboarded" in tags) != (cid in model.onboarded):
            problems.append(f"{email}: the unmanaged tag Onboarded was touched")
        mirrored = {t for t in (contacts[email].get(MIRROR) or "").split(";") if t}
        if cid in model.canary and mirrored != tags:
            problems.append(f"{email}: mirror {sorted(mirrored)}, member tags {sorted(tags)}")
    gone = [t for t in sim.transitions() if t["to"] in (None, "archived")]
    assert not gone, f"a member was deleted or archived: {gone[:5]}"
    assert len(contacts) == PEOPLE, "a HubSpot contact was deleted"
    assert not problems, "\n".join([*problems[:20], f"runs: {journal}"])
