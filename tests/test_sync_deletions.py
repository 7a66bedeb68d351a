"""Contacts deleted in HubSpot: found in its archive when a check is due, handled as configured."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from syncer.cache.store import Store
from syncer.cli import cli
from syncer.errors import ExitCode
from syncer.run.deletions import CHECKED, LEFT_REASON, UNSUBSCRIBED_REASON
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver
from tests.support.state import listed_people, sql

LIST = "GET /crm/v3/objects/contacts"
UNSUBSCRIBE = {"subscription": {"on_hubspot_delete": "unsubscribe"}}


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def synced(sim: SandboxDriver, tmp_path: Path, shared: int, **overrides: Any) -> Path:
    sim.seed_world(InitialWorld(shared=shared, hubspot_only=0, mailchimp_only=0, conflicts=0))
    config = sim.write_config(tmp_path, **overrides)
    first = invoke(config, "run")
    assert first.exit_code == ExitCode.OK, first.output
    return config


def synced_then_deleted(
    sim: SandboxDriver, tmp_path: Path, shared: int, deleted: set[str], **overrides: Any
) -> Path:
    """A synced world, then these people's contacts deleted in HubSpot."""
    config = synced(sim, tmp_path, shared, **overrides)
    for address in deleted:
        sim.hubspot_delete(address)
    return config


def make_check_due(tmp_path: Path) -> None:
    """Move the last check a day back, as if the run came a day later."""
    day_ago = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    sql(
        tmp_path,
        "INSERT OR REPLACE INTO cursors (source, value, updated_at) VALUES (?, ?, ?)",
        CHECKED,
        day_ago,
        day_ago,
    )


def list_calls(sim: SandboxDriver) -> int:
    return int(sim.requests("hubspot")["counts"].get(LIST, 0))


def problems(config: Path) -> dict[str, str]:
    listed = invoke(config, "errors", "--json", "--limit", "0")
    return {problem["email"]: problem["reason"] for problem in listed_people(listed.stdout)}


def statuses(sim: SandboxDriver) -> dict[str, str]:
    return {address: member["status"] for address, member in sim.mailchimp_by_email().items()}


def test_a_deleted_contact_is_noticed_when_due_and_its_member_left_alone(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    gone = email("shared", 3)
    config = synced_then_deleted(sim, tmp_path, 20, {gone})
    listed = list_calls(sim)

    assert invoke(config, "run").exit_code == ExitCode.OK
    assert list_calls(sim) == listed, "the archive is listed only when a check is due"
    assert problems(config) == {}

    make_check_due(tmp_path)
    before = sim.writes("mailchimp")
    noticed = invoke(config, "run")
    assert noticed.exit_code == ExitCode.OK, noticed.output
    assert "found 1 linked contact deleted in HubSpot" in noticed.stderr
    assert list_calls(sim) == listed + 1
    assert problems(config) == {gone: LEFT_REASON}
    assert sim.writes("mailchimp") == before
    assert statuses(sim)[gone] == "subscribed"

    sim.mailchimp_edit(gone, {"merge_fields": {"FNAME": "Renamed"}})
    before = sim.writes("hubspot")
    assert invoke(config, "run").exit_code == ExitCode.OK
    assert sim.writes("hubspot") == before, "a deleted contact is never recreated"


def test_with_unsubscribe_the_deleted_contacts_members_are_unsubscribed_once(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    gone = {email("shared", 3), email("shared", 7)}
    config = synced_then_deleted(sim, tmp_path, 20, gone, **UNSUBSCRIBE)
    make_check_due(tmp_path)
    planned = json.loads(invoke(config, "run", "--dry-run", "--json").stdout)
    assert {(w["email"], w["side"], w["action"]) for w in planned["writes"]} == {
        (address, "mailchimp", "unsubscribe") for address in gone
    }
    assert problems(config) == {}, "a dry run leaves the cache as it was"
    assert invoke(config, "run").exit_code == ExitCode.OK
    after = statuses(sim)
    assert {address for address, status in after.items() if status != "subscribed"} == gone
    assert {address: "unsubscribed" for address in gone} == {a: after[a] for a in gone}
    assert problems(config) == {address: UNSUBSCRIBED_REASON for address in gone}

    make_check_due(tmp_path)
    before = sim.writes("mailchimp") + sim.writes("hubspot")
    assert invoke(config, "run").exit_code == ExitCode.OK
    assert sim.writes("mailchimp") + sim.writes("hubspot") == before
    assert statuses(sim) == after


def test_a_member_left_alone_is_unsubscribed_once_the_setting_asks_for_it(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    gone = email("shared", 2)
    config = synced_then_deleted(sim, tmp_path, 10, {gone})
    make_check_due(tmp_path)
    assert invoke(config, "run").exit_code == ExitCode.OK
    assert statuses(sim)[gone] == "subscribed"

    config = sim.write_config(tmp_path, **UNSUBSCRIBE)
    make_check_due(tmp_path)
    assert invoke(config, "run").exit_code == ExitCode.OK
    assert statuses(sim)[gone] == "unsubscribed"


def test_a_mass_deletion_is_stopped_by_the_blast_radius_guard(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    deleted = {email("shared", i) for i in range(30)}
    config = synced_then_deleted(sim, tmp_path, 40, deleted, **UNSUBSCRIBE)
    make_check_due(tmp_path)
    before = sim.writes("mailchimp")
    stopped = invoke(config, "run")
    assert stopped.exit_code == ExitCode.GUARD, stopped.output
    assert "30 unsubscribes" in stopped.output
    assert sim.writes("mailchimp") == before


def test_the_first_sync_starts_the_clock_without_listing_the_archive(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    synced(sim, tmp_path, 10)
    assert list_calls(sim) == 1, "one page of the full read, and no archive listing"
    store = Store(tmp_path / "state" / "syncer.db")
    try:
        assert store.cursor(CHECKED) is not None
    finally:
        store.close()


def test_no_check_when_switched_off(sim: SandboxDriver, tmp_path: Path) -> None:
    off = {"sync": {"deleted_check_hours": 0}}
    config = synced_then_deleted(sim, tmp_path, 10, {email("shared", 1)}, **off)
    make_check_due(tmp_path)
    listed = list_calls(sim)
    assert invoke(config, "run").exit_code == ExitCode.OK
    assert list_calls(sim) == listed
    assert problems(config) == {}
