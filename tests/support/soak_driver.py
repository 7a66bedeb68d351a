"""Driving the soak test: runs of `syncer run` under faults and kills, outside edits, reading.

The world model (who exists, what both sides should hold) is :mod:`tests.support.soak`; the checks
and the test are ``tests/test_soak.py``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from syncer.errors import ExitCode
from syncer.sandbox.world import FIELD_MAPPINGS
from tests.support.sandbox import SandboxDriver
from tests.support.soak import EARLY, LATE, MIDDLE, Person, RoundPlan, World

log = logging.getLogger("soak")

PROPERTIES = ["email", "firstname", "lastname", "lifecyclestage", "newsletter"]
#: The sandbox's usual mappings; the last name's conflicts go to HubSpot (see the world's rules).
FIELDS = [
    {**mapping, "winner": "hubspot"} if mapping["hubspot"] == "lastname" else mapping
    for mapping in FIELD_MAPPINGS
]
SYNC = {"batch_wait_seconds": 1, "batch_poll_seconds": 0.05, "overlap_seconds": 120}
FAULTS = {
    "hubspot": ["429", "500", "502", "503", "504", "423", "slow", "drop", "malformed"],
    "mailchimp": ["429", "500", "503", "403", "slow", "drop", "malformed", "truncated_archive"],
}
FAULT_RATE = 0.05
SLOW_S = 0.4
#: Per round, syncer's read timeout is under ``SLOW_S`` (it gives up and retries while the
#: simulator still carries the first request out) or over it (the answer just comes late).
READ_TIMEOUTS = (0.3, 2.0)
#: ``sync.direct_threshold`` per round: always batches, the default, always direct calls.
DIRECT_THRESHOLDS = (0, 10, 1000)
#: Mailchimp's seconds per batch step: done within the run's wait, or left for the next run.
BATCH_DELAYS = (0.02, 0.02, 0.4)
#: HubSpot's search shows a write this many (simulated) milliseconds late, as the real one does.
INDEX_LAG_MS = 1000
#: Share of HubSpot contacts a background job "touches" per round (new lastmodifieddate only).
TOUCHED = 0.02
#: Simulated seconds between the edit phases; Mailchimp dates changes to the second.
PHASE_GAP = 3.0
KILL_SHARE = 0.5
#: A kill lands this share of a typical (median) completed run after the start: anywhere from
#: the interpreter starting up, through the lock, fetches and writes, to waiting for batches.
KILL_AT = (0.1, 1.0)
#: Runs allowed to get one through in a round without a kill. Exit 1 (some writes failed) counts
#: as through: the journal keeps its failures and the checks at the end judge the outcome.
ATTEMPTS = 3
DONE = (ExitCode.OK, ExitCode.PARTIAL)
QUIET_RUNS = 6


@dataclass
class RunRecord:
    """One `syncer run` subprocess, for the journal printed on failure."""

    label: str
    code: int | None
    seconds: float
    killed: bool
    counts: dict[str, int]
    failures: list[str]
    stderr: str

    def line(self) -> str:
        how = "SIGKILLed" if self.killed else f"exit {self.code}"
        last = self.stderr.strip().splitlines()[-1:] or [""]
        counts = {k: v for k, v in sorted(self.counts.items()) if v}
        failed = f" failures: {self.failures[:5]}" if self.failures else ""
        return f"{self.label}: {how} after {self.seconds:.1f} s {counts}{failed} {last[0][:160]}"


@dataclass
class Sides:
    """Both simulators as read through their APIs (faults off), keyed by lower-cased e-mail."""

    contacts: list[dict[str, Any]]
    members: list[dict[str, Any]]

    @classmethod
    def read(cls, sim: SandboxDriver) -> Sides:
        return cls(sim.hubspot_contacts(PROPERTIES), sim.mailchimp_members())

    @cached_property
    def hubspot(self) -> dict[str, dict[str, Any]]:
        return {c["properties"]["email"].lower(): c["properties"] for c in self.contacts}

    @cached_property
    def hubspot_ids(self) -> dict[str, str]:
        return {c["properties"]["email"].lower(): str(c["id"]) for c in self.contacts}

    @cached_property
    def mailchimp(self) -> dict[str, dict[str, Any]]:
        return {m["email_address"].lower(): m for m in self.members}

    def mismatches(self, person: Person) -> list[str]:
        """Where the sides differ from what the model expects for ``person`` (empty: nowhere)."""
        contact = self.hubspot.get(person.email)
        member = self.mailchimp.get(person.email)
        wrong = []
        if not person.in_hubspot:
            if contact is not None:
                wrong.append("an unexpected HubSpot contact")
        elif contact is None:
            wrong.append("no HubSpot contact")
        else:
            expected = {
                "firstname": person.first,
                "lastname": person.last,
                "lifecyclestage": person.stage,
                "newsletter": "true" if person.wants else "false",
            }
            for name, value in expected.items():
                if (contact.get(name) or "") != value:
                    wrong.append(f"HubSpot {name} {contact.get(name)!r}")
        if person.status is None:
            if member is not None:
                wrong.append(f"an unexpected Mailchimp member ({member['status']})")
            return wrong
        if member is None:
            return [*wrong, "no Mailchimp member"]
        fields = member["merge_fields"]
        expected = {"FNAME": person.first, "LNAME": person.last, "LCSTAGE": person.stage}
        if member["status"] == "cleaned":
            expected = {}  # nothing is written to a cleaned member (DESIGN §6): its fields stay
        for tag, value in expected.items():
            if fields.get(tag, "") != value:
                wrong.append(f"Mailchimp {tag} {fields.get(tag)!r}")
        if member["status"] != person.status:
            wrong.append(f"Mailchimp status {member['status']}")
        return wrong


class Soak:
    """Drives one soak: the world, its edits, the runs, and the journal of what happened."""

    def __init__(self, sim: SandboxDriver, folder: Path, rng: random.Random, people: int) -> None:
        self.sim = sim
        self.folder = folder
        self.rng = rng
        self.world = World(rng, people)
        self.runs: list[RunRecord] = []
        self.refused: list[str] = []
        self.run_timeout = 60 + people / 40

    # -- set-up --------------------------------------------------------------------------------

    def start(self) -> None:
        """Seed both sides, then one first sync (maybe killed) that completes before edits."""
        now = self.sim.http.post(f"{self.sim.hs_url}/_sim/clock", json={"advance": 0}, timeout=10)
        contacts, members = self.world.seed(datetime.fromisoformat(now.json()["now"]))
        self.sim.seed_mailchimp(members)
        ids = self.sim.seed_hubspot(contacts)
        seeded = {c["properties"]["email"]: cid for c, cid in zip(contacts, ids, strict=True)}
        for person in self.world:
            person.hubspot_id = seeded.get(person.email)
        for side in FAULTS:
            self.sim.configure(side, {"slow_s": SLOW_S})
        self.sim.configure("hubspot", {"index_lag_ms": INDEX_LAG_MS})
        self.sim.advance(PHASE_GAP)
        self._sync("first sync", kill=self.rng.random() < KILL_SHARE)
        self._sync("first sync", kill=False)

    # -- rounds --------------------------------------------------------------------------------

    def round(self, round_no: int, *, kill: bool) -> None:
        """Edit people whose both sides show what the model expects, then one run under faults.

        Someone syncer has not finished with (by design, a batch whose results could not be
        read keeps its people back until a later run) is left alone this round: an edit on top
        would make the expected outcome depend on timing rather than on the rules.
        """
        self.sim.settle_batches()
        sides = Sides.read(self.sim)
        for person in self.world:
            person.hubspot_id = person.hubspot_id or sides.hubspot_ids.get(person.email)
        settled = {p.key for p in self.world if not sides.mismatches(p)}
        lagging = len(self.world.people) - len(settled)
        plan = self.world.plan(round_no, settled)
        label = f"round {round_no}"
        self._hubspot_phase(plan, EARLY, label)
        self.sim.advance(PHASE_GAP)
        self._mailchimp_phase(plan, label)
        self.sim.advance(PHASE_GAP)
        self._hubspot_phase(plan, LATE, label)
        self._touch()
        self.sim.advance(PHASE_GAP)
        self._sync(f"{label} ({plan.edits()} edits, {lagging} people not in sync)", kill=kill)

    def _touch(self) -> None:
        """HubSpot's own jobs bump contacts' lastmodifieddate without changing a value."""
        ids = [p.hubspot_id for p in self.world if p.hubspot_id is not None]
        chosen = self.rng.sample(ids, int(len(ids) * TOUCHED))
        self.sim.http.post(f"{self.sim.hs_url}/_sim/touch", json={"ids": chosen}, timeout=30)

    def _hubspot_phase(self, plan: RoundPlan, phase: str, label: str) -> None:
        for key, properties in plan.hubspot[phase].items():
            person = self.world.people[key]
            response = self.sim.http.post(
                f"{self.sim.hs_url}/_sim/edit",
                json={"id": person.hubspot_id, "properties": properties},
                timeout=30,
            )
            if self._refused(response, person, f"{label} HubSpot {phase} edit {properties}"):
                continue
            self.world.hubspot_edit(person, properties)
            person.note(f"{label} HubSpot {phase}: {properties}")
        arrivals = plan.new_contacts[phase]
        if arrivals:
            ids = self.sim.seed_hubspot([_new_contact(person) for person in arrivals])
            for person, contact_id in zip(arrivals, ids, strict=True):
                person.hubspot_id = contact_id
                person.note(f"{label} new in HubSpot ({phase})")

    def _mailchimp_phase(self, plan: RoundPlan, label: str) -> None:
        for key, change in plan.mailchimp.items():
            person = self.world.people[key]
            address = change.address
            if change.patch():
                response = self.sim.http.patch(
                    self._member_url(address),
                    json=change.patch(),
                    auth=self.sim.mc_auth,
                    timeout=30,
                )
                if self._refused(response, person, f"{label} Mailchimp edit {change.patch()}"):
                    continue
                person.mailchimp_patch(change)
                person.note(f"{label} Mailchimp: {change.patch()}")
                address = change.new_email or address
            if change.action:
                self._mailchimp_action(person, address, change.action, label)
        for person in plan.new_members:
            body = {
                "email_address": person.email,
                "status": person.status,
                "merge_fields": {"FNAME": person.first, "LNAME": person.last},
            }
            url = f"{self.sim.mc_url}/lists/{self.sim.list_id}/members"
            response = self.sim.http.post(url, json=body, auth=self.sim.mc_auth, timeout=30)
            assert response.status_code == 200, response.text
            person.note(f"{label} new in Mailchimp ({person.status})")

    def _mailchimp_action(self, person: Person, address: str, action: str, label: str) -> None:
        """The person (un)subscribing or confirming, or Mailchimp cleaning the address."""
        root = self.sim.mc_root
        if action in ("unsubscribe", "confirm"):
            response = self.sim.http.post(
                f"{root}/_sim/{action}", json={"email": address}, timeout=30
            )
        else:
            # A seed upserts: it must change the member the model means, never add one.
            response = self.sim.http.get(
                self._member_url(address), auth=self.sim.mc_auth, timeout=30
            )
            if response.status_code == 200:
                status = "cleaned" if action == "clean" else "subscribed"
                member = {"email_address": address, "status": status}
                response = self.sim.http.post(
                    f"{root}/_sim/seed", json={"members": [member]}, timeout=30
                )
        if not self._refused(response, person, f"{label} Mailchimp {action}"):
            person.mailchimp_action(action)
            person.note(f"{label} Mailchimp {MIDDLE}: {action}")

    def _refused(self, response: Any, person: Person, what: str) -> bool:
        """An edit the simulator refused, though the person looked settled: noted, skipped (so
        the model stays true to what happened) and reported at the end."""
        if response.status_code == 200:
            return False
        self.refused.append(f"{what} of person {person.key}: {response.status_code}")
        person.note(f"REFUSED {what}: {response.status_code} {response.text[:120]}")
        return True

    def _member_url(self, address: str) -> str:
        return f"{self.sim.mc_url}/lists/{self.sim.list_id}/members/{address}"

    # -- runs ----------------------------------------------------------------------------------

    def _sync(self, label: str, *, kill: bool) -> None:
        """A run under faults: SIGKILLed at a random moment, or retried until one gets through.

        A killed run's work is finished by the next round's run, which is never killed. Each
        run also draws its weather: whether slow answers time out, whether Mailchimp writes go
        as direct calls or batches, and whether batches finish inside the run's wait or are left
        open for the next run to collect.
        """
        read_timeout = self.rng.choice(READ_TIMEOUTS)
        config = self.sim.write_config(
            self.folder,
            fields=FIELDS,
            sync={**SYNC, "direct_threshold": self.rng.choice(DIRECT_THRESHOLDS)},
            http={
                "max_tries": 6,
                "max_time": 30,
                "connect_timeout": 2,
                "read_timeout": read_timeout,
            },
        )
        self.sim.configure("mailchimp", {"batch_delay_s": self.rng.choice(BATCH_DELAYS)})
        completed = [r.seconds for r in self.runs if r.code in DONE]
        delay = self.rng.uniform(*KILL_AT) * (statistics.median(completed) if completed else 2.0)
        for side, kinds in FAULTS.items():
            seed = self.rng.randrange(2**31)
            self.sim.faults(side, {"rate": FAULT_RATE, "kinds": kinds, "seed": seed})
        try:
            if kill:
                self._killed_run(config, f"{label} [kill at {delay:.1f} s]", delay)
            else:
                self._run_through(config, label)
        finally:
            for side in FAULTS:
                self.sim.faults(side, {"rate": 0})
        if kill or read_timeout < SLOW_S:
            # A request syncer gave up on, or a killed run's last one, may still sleep inside a
            # simulator; let it land before anyone edits (in life it lands long before).
            time.sleep(SLOW_S + 0.2)

    def _run_through(self, config: Path, label: str) -> None:
        for _ in range(ATTEMPTS):
            if self._run(config, label).code in DONE:
                return
        raise AssertionError(f"{label}: no run got through in {ATTEMPTS} tries")

    def _killed_run(self, config: Path, label: str, delay: float) -> None:
        started = time.monotonic()
        with subprocess.Popen(
            _command(config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            try:
                out, err = process.communicate(timeout=delay)
                killed = False
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                out, err = process.communicate(timeout=30)
                killed = True
        self._record(label, None if killed else process.returncode, started, out, err, killed)

    def _run(self, config: Path, label: str) -> RunRecord:
        started = time.monotonic()
        done = subprocess.run(
            _command(config), capture_output=True, text=True, timeout=self.run_timeout
        )
        return self._record(label, done.returncode, started, done.stdout, done.stderr, False)

    def _record(
        self, label: str, code: int | None, started: float, out: str, err: str, killed: bool
    ) -> RunRecord:
        # Only this test starts runs, one at a time: a held lock is one a killed run left behind.
        assert code != ExitCode.LOCKED, f"{label}: a killed run's lock was not taken over: {err}"
        report = json.loads(out) if code in DONE else {}
        seconds = time.monotonic() - started
        record = RunRecord(
            label,
            code,
            seconds,
            killed,
            dict(report.get("counts", {})),
            list(report.get("failures", [])),
            err,
        )
        self.runs.append(record)
        return record

    def settle(self) -> None:
        """5. Fault-free runs until one writes nothing and leaves no batch open (bounded)."""
        config = self.sim.write_config(
            self.folder, fields=FIELDS, sync=SYNC, http={"max_tries": 6, "read_timeout": 10}
        )
        self.sim.configure("mailchimp", {"batch_delay_s": BATCH_DELAYS[0]})
        for attempt in range(QUIET_RUNS):
            self.sim.settle_batches()
            self.sim.advance(PHASE_GAP)
            before = {side: self.sim.requests(side)["counts"] for side in FAULTS}
            writes = (self.sim.writes("hubspot"), self.sim.writes("mailchimp"))
            record = self._run(config, f"quiet run {attempt + 1}")
            assert record.code == ExitCode.OK, record.line() + record.stderr[-2000:]
            if (self.sim.writes("hubspot"), self.sim.writes("mailchimp")) == writes and not (
                record.counts.get("batches_open")
            ):
                return
        after = {side: self.sim.requests(side)["counts"] for side in FAULTS}
        moved = {
            side: {
                key: n - before[side].get(key, 0)
                for key, n in after[side].items()
                if n != before[side].get(key, 0)
            }
            for side in FAULTS
        }
        raise AssertionError(f"still writing after {QUIET_RUNS} fault-free runs: {moved}")

    def journal(self) -> str:
        lines = [f"edits: {dict(sorted(self.world.kinds.items()))}"]
        return "\n".join(lines + [record.line() for record in self.runs])


def _command(config: Path) -> list[str]:
    return [sys.executable, "-m", "syncer", "--config", str(config), "run", "--json"]


def _new_contact(person: Person) -> dict[str, Any]:
    properties = {
        "email": person.email,
        "firstname": person.first,
        "lastname": person.last,
        "lifecyclestage": person.stage,
        "newsletter": "true" if person.wants else "false",
    }
    return {"properties": {name: value for name, value in properties.items() if value}}
