"""The dry run, the blast-radius guard, slow batches and `syncer check` against the sandbox."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from syncer.cli import cli
from syncer.errors import ExitCode
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def synced_world(sim: SandboxDriver, tmp_path: Path, **overrides: Any) -> tuple[Path, list[str]]:
    world = InitialWorld(shared=100, hubspot_only=20, mailchimp_only=20, conflicts=10)
    ids = sim.seed_world(world)
    config = sim.write_config(tmp_path, **overrides)
    assert invoke(config, "run").exit_code == 0
    sim.advance(60)
    return config, ids


def test_dry_run_plans_exactly_what_the_real_run_writes(sim: SandboxDriver, tmp_path: Path) -> None:
    config, ids = synced_world(
        sim, tmp_path, sync={"direct_threshold": 0, "batch_poll_seconds": 0.05}
    )
    for contact_id in ids[20:25]:
        sim.hubspot_edit(contact_id, {"firstname": "Changed", "lifecyclestage": "customer"})
    sim.hubspot_edit(ids[5], {"newsletter": "false"})
    sim.mailchimp_unsubscribe(email("shared", 6))
    sim.advance(60)
    before = (sim.writes("hubspot"), sim.writes("mailchimp"))
    cache = dump(tmp_path / "state" / "syncer.db")

    planned = invoke(config, "run", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == before
    assert plan["counts"]["mailchimp_update"] == 5
    assert plan["counts"]["mailchimp_unsubscribe"] == 1
    assert plan["counts"]["hubspot_unsubscribe"] == 1
    text = invoke(config, "run", "--dry-run")
    assert "FNAME: 'First20' -> 'Changed'" in text.stdout
    assert "would write:" in text.stdout
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == before
    assert dump(tmp_path / "state" / "syncer.db") == cache

    done = invoke(config, "run", "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["counts"]["written_mailchimp"] == 6
    assert report["counts"]["written_hubspot"] == 1
    assert sim.writes("hubspot") - before[0] == plan["estimated_write_calls"]["hubspot"]
    planned_writes = sorted((w["email"], w["side"], w["action"]) for w in plan["writes"])
    assert planned_writes == sorted(_journal(tmp_path, report))


def dump(path: Path) -> list[str]:
    """The cache's whole content as SQL, to compare before and after."""
    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def test_blast_radius_guard_stops_a_mass_unsubscribe(sim: SandboxDriver, tmp_path: Path) -> None:
    config, ids = synced_world(sim, tmp_path)
    for contact_id in ids[:60]:
        sim.hubspot_edit(contact_id, {"newsletter": ""})
    sim.advance(60)
    before = (sim.writes("hubspot"), sim.writes("mailchimp"))

    planned = invoke(config, "run", "--dry-run")
    assert planned.exit_code == ExitCode.GUARD, "the dry run says a real run would stop"
    lines = planned.stdout.splitlines()
    assert sum(line == "  Mailchimp unsubscribe:" for line in lines) == 60, "the plan is shown"
    verdict = lines.index(
        "blast-radius guard: a real run would stop here before writing (exit 5; "
        "`syncer run --force` overrides)"
    )
    assert verdict > lines.index(next(line for line in lines if line.startswith("would write:")))
    assert lines[verdict + 1] == (
        "  60 unsubscribes > limit 26 = max(safety.min_guarded 25, "
        "safety.max_unsubscribe_share 20% x 130 linked people = 26)"
    )
    guard = json.loads(invoke(config, "run", "--dry-run", "--json").stdout)["guard"]
    assert guard["tripped"] is True
    assert guard["checks"][0]["keys"] == {
        "safety.min_guarded": 25,
        "safety.max_unsubscribe_share": 0.2,
    }

    stopped = invoke(config, "run")
    assert stopped.exit_code == ExitCode.GUARD
    assert "60 unsubscribes > limit 26" in stopped.stderr
    assert "--force" in stopped.stderr
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == before
    again = invoke(config, "run")
    assert again.exit_code == ExitCode.GUARD

    forced = invoke(config, "run", "--force")
    assert forced.exit_code == 0, forced.output
    statuses = sim.mailchimp_by_email()
    assert sum(statuses[email("shared", i)]["status"] == "unsubscribed" for i in range(60)) == 60


def test_a_batch_left_open_is_collected_by_the_next_run(sim: SandboxDriver, tmp_path: Path) -> None:
    config, ids = synced_world(
        sim,
        tmp_path,
        sync={"direct_threshold": 0, "batch_wait_seconds": 0.2, "batch_poll_seconds": 0.05},
    )
    for contact_id in ids[:20]:
        sim.hubspot_edit(contact_id, {"lastname": "Slow"})
    sim.advance(60)
    sim.configure("mailchimp", {"batch_paused": True})
    first = invoke(config, "run", "--json")
    assert first.exit_code == 0
    assert json.loads(first.stdout)["counts"]["batches_open"] == 1
    operations_before = sim.requests("mailchimp")["counts"].get("batch_operations", 0)

    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    sim.advance(60)
    second = json.loads(invoke(config, "run", "--json").stdout)
    assert second["counts"]["batches_processed"] == 1
    assert second["counts"]["batches_open"] == 0
    assert sim.requests("mailchimp")["counts"]["batch_operations"] == operations_before + 20
    members = sim.mailchimp_by_email()
    assert all(members[email("shared", i)]["merge_fields"]["LNAME"] == "Slow" for i in range(20))
    third = json.loads(invoke(config, "run", "--json").stdout)
    assert third["counts"].get("written_mailchimp", 0) == 0


def test_check_verifies_the_remote_side_and_fix_creates_what_is_missing(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_hubspot([])
    config = sim.write_config(
        tmp_path,
        fields=[
            {"hubspot": "firstname", "mailchimp": "FNAME"},
            {"hubspot": "favourite_colour", "mailchimp": "COLOUR"},
        ],
    )
    checked = invoke(config, "check")
    assert checked.exit_code == ExitCode.CONFIG
    assert "[PROBLEM] HubSpot property favourite_colour: missing" in checked.stdout
    assert "[PROBLEM] Mailchimp merge field COLOUR: missing" in checked.stdout

    fixed = invoke(config, "check", "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert "[fixed] HubSpot property favourite_colour" in fixed.stdout
    assert invoke(config, "check").exit_code == 0


def test_check_reports_bad_credentials(sim: SandboxDriver, tmp_path: Path) -> None:
    config = sim.write_config(tmp_path, hubspot={"token": "pat-na1-wrong", "base_url": sim.hs_url})
    checked = invoke(config, "check")
    assert checked.exit_code == ExitCode.REMOTE
    assert "hubspot" in checked.stderr.lower()
    assert "pat-na1-wrong" not in checked.output


def _journal(tmp_path: Path, report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(email, side, action) of every write the last run made, from the outbox."""
    connection = sqlite3.connect(tmp_path / "state" / "syncer.db")
    try:
        rows = connection.execute(
            """SELECT c.email, o.target, o.action FROM operations o JOIN contacts c
               ON c.id = o.contact_id WHERE o.state = 'succeeded'
               AND o.run_id = (SELECT max(id) FROM runs WHERE mode = 'real')"""
        ).fetchall()
    finally:
        connection.close()
    return [(str(a), str(b), str(c)) for a, b, c in rows]
