"""A write that landed while its run was killed waiting for the answer.

The vendor has the values, the cache still holds the write as queued: the next run must see the
write as done (its values are there) and agree with it, not take syncer's own values for a
change someone made. Found by the soak: pending signups ended unsubscribed after a SIGKILL
during the HubSpot create that linked them.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from syncer.cli import cli
from tests.support.people import iso_ago
from tests.support.sandbox import SandboxDriver, wait_until
from tests.test_sync_crash import run_until_quiet

CREATE = "POST /crm/v3/objects/contacts/batch/create"


def seed_signups(sim: SandboxDriver) -> list[str]:
    signups = [f"signup{i}@acme-mail.com" for i in range(3)]
    sim.seed_mailchimp(
        [
            {
                "email_address": address,
                "status": "pending",
                "merge_fields": {"FNAME": f"Sign{i}", "LNAME": "Up"},
                "last_changed": iso_ago(5),
            }
            for i, address in enumerate(signups)
        ]
    )
    return signups


def first_draw_only(rate: float) -> int:
    """A fault seed whose plan strikes the first request it may, and none of the next three."""
    for seed in range(10_000):
        draws = random.Random(seed)
        if draws.random() < rate:
            draws.choice(["drop"])
            if all(draws.random() >= rate for _ in range(3)):
                return seed
    raise AssertionError("no such seed")


def test_a_create_killed_before_its_answer_leaves_pending_signups_pending(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    signups = seed_signups(sim)
    config = sim.write_config(tmp_path)
    sim.configure("hubspot", {"slow_s": 60})
    sim.faults("hubspot", {"rate": 1, "kinds": ["late"], "paths": [CREATE]})
    with subprocess.Popen(
        [sys.executable, "-m", "syncer", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as process:
        try:
            wait_until(
                lambda: len(sim.hubspot_contacts(["email"])) == len(signups),
                30,
                "the HubSpot create never landed",
            )
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    sim.faults("hubspot", {"rate": 0})
    sim.configure("hubspot", {"slow_s": 2.0})
    run_until_quiet(config, sim)

    members = sim.mailchimp_by_email()
    assert {address: members[address]["status"] for address in signups} == dict.fromkeys(
        signups, "pending"
    )
    contacts = {
        c["properties"]["email"]: c["properties"]
        for c in sim.hubspot_contacts(["email", "newsletter", "firstname"])
    }
    assert sorted(contacts) == signups, "one contact each, no duplicate"
    assert {contacts[a]["newsletter"] for a in signups} == {"false"}
    assert not [t for t in sim.transitions() if t["via"] != "seed"], "no status was written"


def test_a_create_retried_after_a_dropped_answer_leaves_pending_signups_pending(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """The create lands, its answer is lost, the retry meets the contacts it made (409) and
    links them in the same run: they are syncer's own, and their "false" no opt-out (found by
    the soak at 5,000 people: pending signups unsubscribed)."""
    signups = seed_signups(sim)
    config = sim.write_config(tmp_path, http={"max_tries": 4, "read_timeout": 10})
    plan = {"rate": 0.5, "kinds": ["drop"], "paths": [CREATE], "seed": first_draw_only(0.5)}
    sim.faults("hubspot", plan)
    done = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert done.exit_code == 0, done.output
    assert sim.requests("hubspot")["counts"][CREATE] == 2, "the create was sent twice"
    sim.faults("hubspot", {"rate": 0})
    run_until_quiet(config, sim)

    members = sim.mailchimp_by_email()
    assert {address: members[address]["status"] for address in signups} == dict.fromkeys(
        signups, "pending"
    )
    contacts = sim.hubspot_by_email(["email", "newsletter"])
    assert {contacts[address]["newsletter"] for address in signups} == {"false"}
    assert not [t for t in sim.transitions() if t["via"] != "seed"], "no status was written"
