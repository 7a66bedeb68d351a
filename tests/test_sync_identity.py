"""Identity and run-shape cases: duplicates, archives, --full, --max-time, stalls.

Merges are in test_sync_merges.py.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from syncer.cache.store import Store
from syncer.cli import cli
from syncer.run import engine
from syncer.run.collect import Collector
from syncer.run.context import Deadline, RunContext
from syncer.run.write_hubspot import write_hubspot
from tests.support.people import InitialWorld, email, iso_ago
from tests.support.sandbox import SandboxDriver
from tests.support.state import listed_people

PROPERTIES = ["email", "firstname", "lastname", "newsletter", "hs_additional_emails"]


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def contact(address: str, first: str, created_hours: float) -> dict[str, object]:
    return {
        "properties": {"email": address, "firstname": first, "newsletter": "true"},
        "timestamps": {"firstname": iso_ago(created_hours), "newsletter": iso_ago(created_hours)},
        "createdate": iso_ago(created_hours),
    }


def test_duplicate_hubspot_contacts_link_the_oldest_and_report_the_rest(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    address = "twice@northwind-mail.com"
    sim.seed_hubspot([contact(address, "Newer", 10), contact(address, "Older", 50)])
    config = sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == 0
    members = sim.mailchimp_by_email()
    assert members[address]["merge_fields"]["FNAME"] == "Older"
    assert len(members) == 1
    listed = listed_people(invoke(config, "errors", "--json", "--limit", "0").stdout)
    assert [(e["email"], e["state"]) for e in listed] == [(address, "duplicate")]
    assert "merge" in listed[0]["hint"]


def test_an_archived_contact_leaves_the_member_alone_and_is_reported(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    world = InitialWorld(shared=3, hubspot_only=0, mailchimp_only=0, conflicts=0)
    ids = sim.seed_world(world)
    config = sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == 0
    requests.delete(
        f"{sim.hs_url}/crm/v3/objects/contacts/{ids[2]}", headers=sim.hs_headers, timeout=10
    ).raise_for_status()
    sim.mailchimp_edit(email("shared", 2), {"merge_fields": {"FNAME": "Changed"}})
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    assert len(sim.hubspot_contacts(PROPERTIES)) == 2
    assert sim.mailchimp_by_email()[email("shared", 2)]["status"] == "subscribed"
    listed = listed_people(invoke(config, "errors", "--json", "--limit", "0").stdout)
    assert [(e["email"], e["state"]) for e in listed] == [(email("shared", 2), "detached")]
    assert "archived or deleted" in listed[0]["reason"]


def test_full_rereads_everything_and_writes_nothing_new(sim: SandboxDriver, tmp_path: Path) -> None:
    world = InitialWorld(shared=30, hubspot_only=10, mailchimp_only=10, conflicts=3)
    sim.seed_world(world)
    config = sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == 0
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    full = json.loads(invoke(config, "run", "--full", "--json").stdout)
    assert full["counts"]["fetched_hubspot"] == 50
    assert full["counts"]["fetched_mailchimp"] == 45
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes


def test_max_time_stops_cleanly_and_the_next_run_resumes(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    world = InitialWorld(shared=400, hubspot_only=100, mailchimp_only=100, conflicts=10)
    sim.seed_world(world)
    # Each side needs at least two pages in turn, so at 400 ms a request the fetch alone
    # outlasts the budget however fast the machine is.
    sim.configure("hubspot", {"latency_ms": 400})
    config = sim.write_config(tmp_path)
    started = time.monotonic()
    stopped = invoke(config, "run", "--max-time", "0.5")
    assert stopped.exit_code == 0, stopped.output
    assert time.monotonic() - started < 5
    assert "stopped at --max-time" in stopped.stderr
    assert sim.writes("hubspot") == 0
    sim.configure("hubspot", {"latency_ms": 0})
    assert invoke(config, "run").exit_code == 0
    members = sim.mailchimp_by_email()
    assert len(members) == 400 + 100 + 50
    sim.advance(60)
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    assert invoke(config, "run").exit_code == 0
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes


def test_max_time_passing_between_the_two_sides_writes_is_reported_and_resumed(
    sim: SandboxDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.seed_world(InitialWorld(shared=20, hubspot_only=10, mailchimp_only=10, conflicts=5))
    config = sim.write_config(tmp_path)

    def then_time_is_up(ctx: RunContext, beside: Collector | None = None) -> list[int]:
        relinked = write_hubspot(ctx, beside)
        ctx.deadline = Deadline(0)
        return relinked

    monkeypatch.setattr(engine, "write_hubspot", then_time_is_up)
    stopped = invoke(config, "run", "--max-time", "600")
    assert stopped.exit_code == 0, stopped.output
    assert "stopped at --max-time" in stopped.stderr
    assert sim.writes("hubspot") > 0
    # Mailchimp's batch went out before HubSpot's writes (Mailchimp works on it meanwhile); the
    # run stopped before waiting for it, so it is left open for the next run to collect.
    store = Store(tmp_path / "state" / "syncer.db")
    try:
        assert len(store.open_batches()) == 1
    finally:
        store.close()
    monkeypatch.undo()
    sim.settle_batches()
    assert invoke(config, "run").exit_code == 0
    assert sim.writes("mailchimp") > 0
    assert len(sim.mailchimp_by_email()) == 20 + 10 + 5
    store = Store(tmp_path / "state" / "syncer.db")
    try:
        assert store.open_batches() == []  # the next run collected it
    finally:
        store.close()


def test_a_batch_without_progress_is_reported_as_stalled(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    world = InitialWorld(shared=20, hubspot_only=0, mailchimp_only=0, conflicts=20)
    sim.seed_world(world)
    sim.configure("mailchimp", {"batch_paused": True})
    config = sim.write_config(
        tmp_path,
        sync={
            "direct_threshold": 0,
            "batch_wait_seconds": 0.1,
            "batch_poll_seconds": 0.05,
            "batch_stall_seconds": 1,
        },
    )
    assert invoke(config, "run").exit_code == 0
    time.sleep(1.5)
    later = invoke(config, "run", "--json")
    assert json.loads(later.stdout)["counts"]["batches_stalled"] == 1
    assert "has made no progress" in later.stderr
    store = Store(tmp_path / "state" / "syncer.db")
    try:
        assert len(store.open_batches()) == 1
    finally:
        store.close()


def fault_seed(pattern: list[bool], rate: float = 0.5) -> int:
    """A fault seed whose requests are struck (True) or spared (False) in this order.

    It mirrors the simulators' FaultPlan: one random() per request, then one choice() on a hit.
    """
    for seed in range(10_000):
        draws = random.Random(seed)
        struck = []
        for _ in pattern:
            hit = draws.random() < rate
            if hit:
                draws.choice(["kind"])
            struck.append(hit)
        if struck == pattern:
            return seed
    raise AssertionError("no seed gives that pattern")


@pytest.mark.parametrize(
    ("kind", "sync"),
    [("malformed", {}), ("drop", {"direct_threshold": 0, "batch_poll_seconds": 0.05})],
    ids=["direct-answer-garbled", "batch-submit-dropped"],
)
def test_a_rename_repeated_after_a_lost_answer_counts_as_done(
    sim: SandboxDriver, tmp_path: Path, kind: str, sync: dict[str, object]
) -> None:
    """The repeat of a rename that went through meets the old address gone: it is not a failure."""
    (contact_id,) = sim.seed_hubspot(
        [
            {
                "properties": {
                    "email": "ann@northwind-mail.com",
                    "firstname": "Ann",
                    "newsletter": "true",
                }
            }
        ]
    )
    config = sim.write_config(tmp_path, sync=sync) if sync else sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == 0
    sim.advance(60)
    sim.hubspot_edit(contact_id, {"email": "ann.new@northwind-mail.com"})
    sim.advance(60)
    # Mailchimp sees: GET members, GET archived members, the rename (struck), its repeat
    seed = fault_seed([False, False, True, False])
    sim.faults("mailchimp", {"rate": 0.5, "kinds": [kind], "seed": seed})
    renamed = invoke(config, "run", "--json")
    sim.faults("mailchimp", {"rate": 0})
    assert renamed.exit_code == 0, renamed.output
    assert json.loads(renamed.stdout)["failures"] == []
    assert sorted(sim.mailchimp_by_email()) == ["ann.new@northwind-mail.com"]


def test_a_create_that_meets_an_existing_contact_links_it_by_the_id_hubspot_names(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """A member new to syncer whose address HubSpot already holds, unseen by search's lag: the
    207 conflict names the contact only in ``context.existingId`` (reference §12.6)."""
    sim.seed_world(InitialWorld(shared=2, hubspot_only=0, mailchimp_only=0, conflicts=0))
    config = sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == 0
    sim.configure("hubspot", {"index_lag_ms": 3_600_000})
    address = "late@northwind-mail.com"
    created = requests.post(
        f"{sim.hs_url}/crm/v3/objects/contacts",
        json={"properties": {"email": address, "lastname": "FromHubSpot"}},
        headers=sim.hs_headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    sim.seed_mailchimp(
        [
            {
                "email_address": address,
                "status": "subscribed",
                "merge_fields": {"FNAME": "Late", "LNAME": ""},
            }
        ]
    )
    sim.advance(60)

    result = invoke(config, "run", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["failures"] == []
    contacts = [c for c in sim.hubspot_contacts(PROPERTIES) if c["properties"]["email"] == address]
    assert [c["id"] for c in contacts] == [created.json()["id"]], "linked, never duplicated"
    assert contacts[0]["properties"]["firstname"] == "Late"
    assert contacts[0]["properties"]["newsletter"] == "true"
    assert sim.mailchimp_by_email()[address]["merge_fields"]["LNAME"] == "FromHubSpot"
