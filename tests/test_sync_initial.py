"""The initial sync end to end: CLI, real cache file, both simulators over HTTP."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner, Result

from syncer.cache.store import Store
from syncer.cli import cli
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver

PROPERTIES = [
    "email",
    "firstname",
    "lastname",
    "lifecyclestage",
    "newsletter",
    "notes_last_contacted",
]


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "run", *args])


def test_initial_sync_converges_without_duplicates(sim: SandboxDriver, tmp_path: Path) -> None:
    world = InitialWorld()
    sim.seed_world(world)
    config = sim.write_config(tmp_path)

    result = run(config)
    assert result.exit_code == 0, result.output + result.stderr

    contacts = sim.hubspot_contacts(PROPERTIES)
    members = sim.mailchimp_members()
    hubspot_emails = Counter(c["properties"]["email"].lower() for c in contacts)
    mailchimp_emails = Counter(m["email_address"].lower() for m in members)
    assert max(hubspot_emails.values()) == 1
    assert max(mailchimp_emails.values()) == 1
    # everyone from Mailchimp is in HubSpot; HubSpot people wanting the newsletter are members
    assert len(contacts) == world.shared + world.hubspot_only + world.mailchimp_only
    assert len(members) == world.shared + world.mailchimp_only + world.hubspot_only // 2

    hubspot = {c["properties"]["email"].lower(): c["properties"] for c in contacts}
    mailchimp = {m["email_address"].lower(): m for m in members}
    for address, member in mailchimp.items():
        person = hubspot[address]
        assert person["firstname"] == member["merge_fields"]["FNAME"], address
        assert person["lastname"] == member["merge_fields"]["LNAME"], address
        assert member["merge_fields"]["LCSTAGE"] == (person["lifecyclestage"] or ""), address
    for i in range(world.shared):
        assert hubspot[email("shared", i)]["firstname"] == world.expected_first_name(i)
    assert mailchimp[email("crm", 0)]["merge_fields"]["LASTCONT"] == "2026-03-04"
    assert hubspot[email("list", 0)]["newsletter"] == "false"
    assert hubspot[email("list", 1)]["newsletter"] == "true"

    store = Store(tmp_path / "state" / "syncer.db")
    try:
        conflicts = list(store.db.query("SELECT field, detail FROM events WHERE kind = 'conflict'"))
    finally:
        store.close()
    assert len(conflicts) == world.conflicts
    assert all(row["field"] == "firstname" for row in conflicts)
    assert sum("hubspot kept" in row["detail"] for row in conflicts) == 20


def test_second_run_without_outside_change_writes_nothing(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    world = InitialWorld(shared=30, hubspot_only=20, mailchimp_only=20, conflicts=10)
    sim.seed_world(world)
    config = sim.write_config(tmp_path)
    assert run(config).exit_code == 0
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    assert writes[0] > 0
    assert writes[1] > 0

    second = run(config, "--json")
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes
    assert report["counts"].get("changed", 0) == 0
    calls = sum(side["total"] for side in report["api_calls"].values())
    assert calls <= 4


def test_quiet_runs_stop_rereading_the_last_write_burst(sim: SandboxDriver, tmp_path: Path) -> None:
    """The cursor follows the server's clock, not only the newest change: the sync's own writes
    are read back once (they could hide outside edits), then never again."""
    world = InitialWorld(shared=60, hubspot_only=60, mailchimp_only=60, conflicts=10)
    sim.seed_world(world)
    config = sim.write_config(tmp_path)
    assert run(config).exit_code == 0
    reports = []
    for _ in range(3):
        sim.advance(600)
        done = run(config, "--json")
        assert done.exit_code == 0
        reports.append(json.loads(done.stdout))
    echo, *quiet = reports
    assert echo["counts"]["fetched_hubspot"] > 0
    assert echo["counts"].get("changed_hubspot", 0) == 0, "the echo of our writes looked new"
    assert echo["counts"].get("changed_mailchimp", 0) == 0, "the echo of our writes looked new"
    for report in quiet:
        assert report["counts"].get("fetched_hubspot", 0) == 0
        assert report["counts"].get("fetched_mailchimp", 0) == 0
        assert sum(side["total"] for side in report["api_calls"].values()) == 3
