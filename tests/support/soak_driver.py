"""Driving the soak test: set-up, rounds of outside edits and events, runs under faults, quiet.

The world model (who exists, what both sides should hold) is :mod:`tests.support.soak`, each
round's edits :mod:`tests.support.soak_plan`, the events :mod:`tests.support.soak_events`, the
runs :mod:`tests.support.soak_runs`; the checks are :mod:`tests.support.soak_checks`.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from syncer.sandbox.world import FIELD_MAPPINGS
from tests.support.sandbox import SandboxDriver
from tests.support.soak import EARLY, LATE, MIDDLE, Person, World
from tests.support.soak_engagement import Engagement
from tests.support.soak_events import Events
from tests.support.soak_live import LiveEditor
from tests.support.soak_plan import Planner, RoundPlan
from tests.support.soak_preferences import Preferences
from tests.support.soak_runs import (
    COLLECTING,
    DONE,
    ENGAGEMENT,
    KILL_PHASES,
    RESULTS,
    Runner,
    kill_schedule,
)
from tests.support.soak_segments import SCOPE_ROUNDS, Segments
from tests.support.soak_sides import Sides

log = logging.getLogger("soak")

#: The sandbox's usual mappings; the last name's conflicts go to HubSpot (see the world's rules).
FIELDS = [
    {**mapping, "winner": "hubspot"} if mapping["hubspot"] == "lastname" else mapping
    for mapping in FIELD_MAPPINGS
]
#: ``deleted_check_hours`` is small enough that every run looks for deleted contacts.
DELETED_CHECK_HOURS = 0.0003
SYNC = {
    "batch_wait_seconds": 1,
    "batch_poll_seconds": 0.05,
    "overlap_seconds": 120,
    "deleted_check_hours": DELETED_CHECK_HOURS,
}
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
#: Share of rounds whose run is SIGKILLed (never two in a row), each in a phase of its own.
KILL_SHARE = 0.5
#: Events (deletions, merges, held e-mail changes, refused values, duplicates) per round.
EVENTS_PER_ROUND = 2
#: Runs allowed to get one through in a round without a kill. Exit 1 (some writes failed) counts
#: as through: the journal keeps its failures and the checks at the end judge the outcome.
ATTEMPTS = 3
QUIET_RUNS = 6


class Soak:
    """Drives one soak: the world, its edits and events, the runs, and the journal."""

    def __init__(
        self, sim: SandboxDriver, folder: Path, rng: random.Random, people: int, rounds: int
    ) -> None:
        self.sim = sim
        self.folder = folder
        self.rng = rng
        self.rounds = rounds
        self.world = World(rng, people)
        self.planner = Planner(self.world)
        self.events = Events(sim, self.world, rng)
        self.segments = Segments(sim, self.world, rng)
        self.preferences = Preferences(sim, self.world, rng)
        # A generator of its own, so the other rounds draw what they drew before engagement.
        self.engagement = Engagement(sim, self.world, random.Random(hash(rng.getstate())))
        self.people = people
        self.runner = Runner(rng, timeout=60 + people / 40)
        self.live = LiveEditor(sim, self.world, rng, self.runner.runs)
        #: Round 0 is the first sync; each killed round names the phase its kill aims at.
        self.kills = kill_schedule(rng, rounds, KILL_SHARE)
        # Issue 16: one run of every soak is killed inside its engagement pass.
        killed = [n for n in self.kills if 1 <= n <= rounds]
        if killed and ENGAGEMENT not in self.kills.values():
            self.kills[max(killed)] = ENGAGEMENT
        later = list(range(2, rounds + 1))
        self.full_round, self.retry_round = rng.sample(later, 2) if len(later) >= 2 else (0, 0)
        self.refused: list[str] = []

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
        self.preferences.start()
        self.sim.advance(PHASE_GAP)
        if 0 in self.kills:
            self._sync("first sync", 0)
        self._sync("first sync", 0, kill=False)
        self.segments.start()
        self.engagement.start(self.sides().hubspot_ids)
        self.runner.check_fix(self.config(), "check --fix (engagement properties)")

    # -- rounds --------------------------------------------------------------------------------

    def round(self, round_no: int) -> None:
        """Edit people whose both sides show what the model expects, then one run under faults.

        Someone syncer has not finished with (by design, a batch whose results could not be
        read keeps its people back until a later run) is left alone this round: an edit on top
        would make the expected outcome depend on timing rather than on the rules.
        """
        self.sim.settle_batches()
        sides = self.sides()
        for person in self.world:
            person.hubspot_id = person.hubspot_id or sides.hubspot_ids.get(person.email)
        self.live.judge(sides)
        settled = {p.key for p in self.world if not p.apart and not sides.mismatches(p)}
        lagging = len(self.world.people) - len(settled)
        plan = self.planner.plan(round_no, settled)
        label = f"round {round_no}"
        self._hubspot_phase(plan, EARLY, label)
        self.sim.advance(PHASE_GAP)
        self._mailchimp_phase(plan, label)
        self.sim.advance(PHASE_GAP)
        self._hubspot_phase(plan, LATE, label)
        self.events.deal(plan.spare, EVENTS_PER_ROUND, label)
        self.preferences.edit(plan.spare, sides, self.events.duplicates, round_no, label)
        self.segments.move()
        self.segments.edit_tags(plan.spare, sides, label)
        self._touch()
        self.engagement.play(label)
        self.sim.advance(PHASE_GAP)
        full = round_no == self.full_round
        how = f"{' --full' if full else ''} ({plan.edits()} edits, {lagging} people not in sync)"
        self.live.start(self.live.draw(plan, round_no, label))
        try:
            self._sync(label + how, round_no, full=full)
        finally:
            self.live.join()
        if round_no == self.retry_round:
            self.runner.retry_all(self.config(), f"{label}: syncer retry --all")

    def sides(self) -> Sides:
        return Sides.read(self.sim, self.events.duplicates)

    def scope_stage(self) -> None:
        """Issue 17: a scope added to the running sync, then moved for a few faulty rounds (one
        run SIGKILLed), with nothing else edited; quiet runs end it (see ``soak_segments``)."""
        self.sim.settle_batches()
        self.segments.begin_scope(self.sides())
        killed = self.rng.randrange(SCOPE_ROUNDS)
        for n in range(SCOPE_ROUNDS):
            self.sim.settle_batches()
            self.segments.move()
            self.sim.advance(PHASE_GAP)
            round_no = self.rounds + 1 + n
            if n == killed:
                self.kills[round_no] = self.rng.choice(KILL_PHASES)
            self._sync(f"scope round {n + 1}", round_no, kill=n == killed)
        self.settle()

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

    def config(self, **sync: Any) -> Path:
        return self.sim.write_config(
            self.folder,
            fields=FIELDS,
            sync={**SYNC, **sync},
            http={"max_tries": 6, "max_time": 30, "connect_timeout": 2, "read_timeout": 10},
            **self.segments.sections(self.people),
            **self.preferences.sections(),
            **self.engagement.sections(),
        )

    def _sync(self, label: str, round_no: int, *, kill: bool = True, full: bool = False) -> None:
        """A run under faults: SIGKILLed in its round's phase, or retried until one gets through.

        A killed run's work is finished by the next round's run, which is never killed. Each
        run also draws its weather: whether slow answers time out, whether Mailchimp writes go
        as direct calls or batches, and whether batches finish inside the run's wait or are left
        open for the next run to collect. A kill aimed at collecting old batches needs the run
        before it to leave some open; one aimed at batch results needs batches that finish
        within the wait.
        """
        target = self.kills.get(round_no) if kill else None
        read_timeout = self.rng.choice(READ_TIMEOUTS)
        threshold = self.rng.choice(DIRECT_THRESHOLDS)
        delay = self.rng.choice(BATCH_DELAYS)
        if target is None and self.kills.get(round_no + 1) == COLLECTING:
            threshold, delay = 0, BATCH_DELAYS[-1]
        elif target == RESULTS:
            threshold, delay = 0, BATCH_DELAYS[0]
        config = self.sim.write_config(
            self.folder,
            fields=FIELDS,
            sync={**SYNC, "direct_threshold": threshold},
            http={
                "max_tries": 6,
                "max_time": 30,
                "connect_timeout": 2,
                "read_timeout": read_timeout,
            },
            **self.segments.sections(self.people),
            **self.preferences.sections(),
            **self.engagement.sections(),
        )
        self.sim.configure("mailchimp", {"batch_delay_s": delay})
        for side, kinds in FAULTS.items():
            seed = self.rng.randrange(2**31)
            self.sim.faults(side, {"rate": FAULT_RATE, "kinds": kinds, "seed": seed})
        extra = ["--full"] if full else []
        try:
            if target is not None:
                self.runner.killed_run(config, label, target, *extra)
            else:
                self._run_through(config, label, extra)
        finally:
            for side in FAULTS:
                self.sim.faults(side, {"rate": 0})
        if target is not None or read_timeout < SLOW_S:
            # A request syncer gave up on, or a killed run's last one, may still sleep inside a
            # simulator; let it land before anyone edits (in life it lands long before).
            time.sleep(SLOW_S + 0.2)

    def _run_through(self, config: Path, label: str, extra: list[str]) -> None:
        for _ in range(ATTEMPTS):
            if self.runner.run(config, label, *extra).code in DONE:
                return
        raise AssertionError(f"{label}: no run got through in {ATTEMPTS} tries")

    def settle(self) -> None:
        """5. Fault-free runs until one writes nothing and leaves no batch open (bounded)."""
        config = self.config()
        self.sim.configure("mailchimp", {"batch_delay_s": BATCH_DELAYS[0]})
        for attempt in range(QUIET_RUNS):
            self.sim.settle_batches()
            self.sim.advance(PHASE_GAP)
            before = {side: self.sim.requests(side)["counts"] for side in FAULTS}
            writes = (self.sim.writes("hubspot"), self.sim.writes("mailchimp"))
            record = self.runner.run(config, f"quiet run {attempt + 1}")
            assert record.code in DONE, record.line() + record.stderr[-2000:]
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
        lines = [
            f"edits: {dict(sorted(self.world.kinds.items()))}",
            f"kills aimed: {dict(sorted(self.kills.items()))}",
            f"kills by phase: {self.runner.kill_spread()}",
            self.live.summary(),
            f"segments: {self.segments.moves} list moves, {self.segments.tag_edits} tag edits",
            self.preferences.summary(),
            self.engagement.summary(),
        ]
        return "\n".join(lines + [record.line() for record in self.runner.runs])


def _new_contact(person: Person) -> dict[str, Any]:
    properties = {
        "email": person.email,
        "firstname": person.first,
        "lastname": person.last,
        "lifecyclestage": person.stage,
        "newsletter": "true" if person.wants else "false",
    }
    return {"properties": {name: value for name, value in properties.items() if value}}
