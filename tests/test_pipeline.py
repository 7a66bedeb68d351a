"""Deciding while a first sync reads (run.pipeline): only what both sides settle, never twice wrong.

The cases drive the pipeline with pages in a chosen order against a real cache, then compare
with a run that decides after the whole read: the pipelined decisions must be the same.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from syncer.cache.identity import RELINKED_REASON
from syncer.cache.store import Store
from syncer.cli import cli
from syncer.core.identity import subscriber_hash
from syncer.core.models import HubSpotContact, MailchimpMember
from syncer.errors import ExitCode
from syncer.operate.service import open_clients
from syncer.run import decide
from syncer.run.context import RunContext
from syncer.run.pipeline import Pipeline
from tests.support.people import InitialWorld, email, iso_ago
from tests.support.sandbox import SandboxDriver
from tests.test_settle import config_for
from tests.test_sync_crash import kill_when, run_until_quiet, start_run

ADDRESS = "twice@northwind-mail.com"
NAMES = ["email", "firstname"]
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def hubspot(contact_id: str, first: str, created_hours: float, last: str = "") -> HubSpotContact:
    return HubSpotContact(
        id=contact_id,
        properties={"email": ADDRESS, "firstname": first, "lastname": last, "newsletter": "true"},
        modified=NOW - timedelta(hours=1),
        created=NOW - timedelta(hours=created_hours),
    )


def member(address: str, first: str, last: str = "") -> MailchimpMember:
    return MailchimpMember(
        id=subscriber_hash(address),
        email=address,
        unique_email_id=f"u-{address}",
        status="subscribed",
        merge_fields={"FNAME": first, "LNAME": last},
        last_changed=NOW - timedelta(hours=5),
    )


@pytest.fixture
def decide_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of one: each person is decided as soon as their page is saved."""
    monkeypatch.setattr(decide, "RECONCILE_CHUNK", 1)


@pytest.fixture
def decide_in_hundreds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 100, so a small world is decided during its read, as a large one is."""
    monkeypatch.setattr(decide, "RECONCILE_CHUNK", 100)


@contextmanager
def run_context(tmp_path: Path, name: str) -> Iterator[RunContext]:
    store = Store(tmp_path / f"{name}.db")
    config = config_for(tmp_path)
    try:
        with open_clients(config) as (hubspot_client, mailchimp_client):
            yield RunContext(
                config, store, hubspot_client, mailchimp_client, run_id=store.start_run("real")
            )
    finally:
        store.close()


def save_hubspot(ctx: RunContext, contacts: Sequence[HubSpotContact], pipeline: Pipeline) -> None:
    stats = ctx.store.save_hubspot_page(contacts, ctx.run_id, subscription="newsletter")
    pipeline.page_saved("hubspot", stats)


@dataclass(frozen=True)
class Outcome:
    """What the decisions left: the person's link and base, and every write still to send."""

    hubspot_id: str | None
    base: dict[str, Any]
    state: str
    writes: list[tuple[str, str, dict[str, Any]]]


def outcome(ctx: RunContext) -> Outcome:
    row = ctx.store.contact_by_email(ADDRESS)
    assert row is not None
    writes = [(op.target, op.action, op.payload) for op in ctx.store.queued_writes_of(row.id)]
    return Outcome(row.hubspot_id, row.base, row.state, writes)


@pytest.mark.usefixtures("decide_one_at_a_time")
def test_an_older_duplicate_read_after_the_decision_is_decided_as_after_the_read(
    tmp_path: Path,
) -> None:
    """Search reads ids downwards, so the newer of two contacts with one email can be saved and
    decided before the older arrives. The older then takes the link, and the writes decided with
    the newer never reach it, nor does the base the newer agreed on: the final decision is the
    one made after the whole read (here: the last names differ, which takes history)."""
    newer, older = hubspot("900", "Newer", 10, "Same"), hubspot("5", "Older", 50, "Other")
    contexts = ExitStack()
    ctx = contexts.enter_context(run_context(tmp_path, "pipelined"))
    pipeline = Pipeline(ctx, creates_exempt=True)
    ctx.store.save_mailchimp_page([member(ADDRESS, "", "Same")])
    pipeline.walk_finished("mailchimp")
    save_hubspot(ctx, [newer], pipeline)
    decided_with_newer = outcome(ctx)
    assert decided_with_newer.hubspot_id == "900"
    assert decided_with_newer.base["lastname"] == ["Same", "Same"]
    assert [w[2]["body"]["merge_fields"] for w in decided_with_newer.writes] == [{"FNAME": "Newer"}]
    save_hubspot(ctx, [older], pipeline)
    superseded = ctx.store.select("SELECT error FROM operations WHERE state = 'superseded'")
    assert [row["error"] for row in superseded] == [RELINKED_REASON.format("5")]
    got = outcome(ctx)

    late = contexts.enter_context(run_context(tmp_path, "after"))
    late.store.save_mailchimp_page([member(ADDRESS, "", "Same")])
    late.store.save_hubspot_page([newer, older], late.run_id, subscription="newsletter")
    decide.decide_chunk(late, late.store.dirty_contacts(0, 10))
    assert got == outcome(late)
    assert got.hubspot_id == "5"
    contexts.close()


@pytest.mark.usefixtures("decide_one_at_a_time")
def test_nothing_is_decided_before_mailchimp_is_read_nor_a_member_alone(tmp_path: Path) -> None:
    """A HubSpot contact saved before the audience is complete may still meet its member, and a
    member alone may still meet a contact: neither is decided until the read says so."""
    contexts = ExitStack()
    ctx = contexts.enter_context(run_context(tmp_path, "pipelined"))
    pipeline = Pipeline(ctx, creates_exempt=True)
    ctx.store.save_mailchimp_page([member("alone@northwind-mail.com", "Alone")])
    save_hubspot(ctx, [hubspot("7", "Early", 20)], pipeline)
    assert len(ctx.store.dirty_contacts(0, 10)) == 2
    ctx.store.save_mailchimp_page([member(ADDRESS, "", "Same")])
    pipeline.walk_finished("mailchimp")
    assert [row.email for row in ctx.store.dirty_contacts(0, 10)] == ["alone@northwind-mail.com"]
    assert ctx.counts["decided_while_reading"] == 1
    contexts.close()


def first_sync(config: Path) -> dict[str, int]:
    result = CliRunner().invoke(cli, ["--config", str(config), "run", "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout)["counts"])


# HubSpot answering slowly keeps its read going well after Mailchimp's audience is in.
SLOW_HUBSPOT = {"latency_ms": 60}
CRM = 2400  # HubSpot-only people; half of them want the newsletter: 1,200 member creates


@pytest.mark.usefixtures("decide_in_hundreds")
def test_a_first_sync_decides_and_writes_both_sides_while_hubspot_is_read(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """220 conflicts Mailchimp wins, decided from history read during the read, make HubSpot
    updates sent during the read, 100 a call (each after its re-read); the creates of members
    for HubSpot-only people go in a batch during the read."""
    world = InitialWorld(shared=300, hubspot_only=CRM, mailchimp_only=100, conflicts=240)
    sim.seed_world(world)
    sim.configure("hubspot", SLOW_HUBSPOT)
    counts = first_sync(sim.write_config(tmp_path))
    assert counts["decided_while_reading"] >= CRM
    assert counts["batches_while_reading"] == 1
    assert counts["hubspot_updates_while_reading"] >= 1
    assert counts["rechecked_hubspot"] == counts["written_hubspot"] - world.mailchimp_only
    sim.settle_batches()
    members = {m["email_address"]: m for m in sim.mailchimp_members()}
    assert len(members) == world.shared + world.mailchimp_only + CRM // 2
    contacts = {c["properties"]["email"]: c["properties"] for c in sim.hubspot_contacts(NAMES)}
    for i in range(world.shared):  # the conflicts, decided from HubSpot's history
        address = email("shared", i)
        assert contacts[address]["firstname"] == world.expected_first_name(i), address
        assert members[address]["merge_fields"]["FNAME"] == world.expected_first_name(i)


@pytest.mark.usefixtures("decide_in_hundreds")
def test_writes_the_guard_counts_wait_for_it_while_the_others_go_during_the_read(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Unsubscribes stay queued until the guard has seen the whole run: when it stops the run,
    the creates sent during the read (a first sync is exempt for them) are all that went out."""
    world = InitialWorld(shared=300, hubspot_only=CRM, mailchimp_only=100)
    contacts = world.hubspot_contacts()
    for contact in contacts[:60]:  # shared people who opted out in HubSpot, lately
        contact["properties"]["newsletter"] = "false"
        contact["timestamps"]["newsletter"] = iso_ago(0.05)
    sim.seed_hubspot(contacts)
    sim.seed_mailchimp(world.mailchimp_members())
    sim.configure("hubspot", SLOW_HUBSPOT)
    config = sim.write_config(tmp_path, safety={"min_guarded": 10, "max_unsubscribe_share": 0.1})
    result = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert result.exit_code == ExitCode.GUARD, result.output
    assert "60 unsubscribes" in result.stderr
    assert sim.requests("mailchimp")["counts"]["POST /3.0/batches"] == 1
    sim.settle_batches()
    seeded = {m["email_address"]: m["status"] for m in world.mailchimp_members()}
    now = {m["email_address"]: m["status"] for m in sim.mailchimp_members()}
    assert {address: now[address] for address in seeded} == seeded
    created = Counter(now[address] for address in set(now) - set(seeded))
    assert list(created) == ["subscribed"]  # creates went during the read, opt-outs did not


MAILCHIMP_ONLY = 450  # people whose HubSpot create waits for the whole read: 4 full calls


@pytest.mark.usefixtures("decide_in_hundreds")
def test_the_creates_waiting_for_the_whole_read_go_out_while_the_rest_is_decided(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """The Mailchimp-only people's creates are sent 100 a call while the reconcile after the
    read decides the others, not after it; the last part-call goes with the writes after."""
    world = InitialWorld(shared=300, hubspot_only=300, mailchimp_only=MAILCHIMP_ONLY)
    sim.seed_world(world)
    counts = first_sync(sim.write_config(tmp_path))
    assert counts["hubspot_creates_while_deciding"] == MAILCHIMP_ONLY // 100
    calls = sim.requests("hubspot")["counts"]
    assert calls["POST /crm/v3/objects/contacts/batch/create"] == MAILCHIMP_ONLY // 100 + 1
    contacts = {c["properties"]["email"] for c in sim.hubspot_contacts(NAMES)}
    assert {email("list", i) for i in range(MAILCHIMP_ONLY)} <= contacts
    assert len(contacts) == world.shared + world.hubspot_only + MAILCHIMP_ONLY


@pytest.mark.usefixtures("decide_in_hundreds")
def test_the_guard_counts_the_linked_people_without_those_the_early_creates_linked(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """60 unsubscribes among 300 linked people trip a 10% guard: the 2,000 creates sent while
    deciding have linked 2,000 more by the time it looks, and must not widen its limit."""
    world = InitialWorld(shared=300, hubspot_only=100, mailchimp_only=2000)
    contacts = world.hubspot_contacts()
    for contact in contacts[:60]:
        contact["properties"]["newsletter"] = "false"
        contact["timestamps"]["newsletter"] = iso_ago(0.05)
    sim.seed_hubspot(contacts)
    sim.seed_mailchimp(world.mailchimp_members())
    config = sim.write_config(tmp_path, safety={"min_guarded": 10, "max_unsubscribe_share": 0.1})
    result = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert result.exit_code == ExitCode.GUARD, result.output
    assert "60 unsubscribes > limit 30" in result.stderr
    assert "300 linked people" in result.stderr
    creates = sim.requests("hubspot")["counts"]["POST /crm/v3/objects/contacts/batch/create"]
    assert creates == 20  # exempt, all sent beside the decisions, before the guard


def test_a_first_sync_killed_after_a_batch_sent_during_the_read_is_finished_by_the_next(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """SIGKILL right after a batch went out mid-read, with people decided and others not: the
    next runs collect the batch, decide the rest, and nobody is written twice or left out."""
    world = InitialWorld(shared=300, hubspot_only=CRM, mailchimp_only=100)
    sim.seed_world(world)
    sim.configure("hubspot", SLOW_HUBSPOT)
    config = sim.write_config(tmp_path, sync={"batch_wait_seconds": 0.5})
    with start_run(config) as process:
        logged = kill_when(process, "submitted during the read", 0.0)
    assert "fetching all HubSpot contacts" in logged
    sim.configure("hubspot", {"latency_ms": 0})
    run_until_quiet(config, sim)
    contacts = {c["properties"]["email"]: c["properties"] for c in sim.hubspot_contacts(NAMES)}
    members = sim.mailchimp_members()
    assert len(contacts) == world.shared + CRM + world.mailchimp_only
    assert Counter(m["email_address"] for m in members).most_common(1)[0][1] == 1
    assert len(members) == world.shared + world.mailchimp_only + CRM // 2
    for member in members:
        assert contacts[member["email_address"]]["firstname"] == member["merge_fields"]["FNAME"]
    flips = Counter(t["email"] for t in sim.transitions() if t["via"] != "seed")
    assert all(n == 1 for n in flips.values()), "a member's status was written more than once"


@pytest.mark.usefixtures("decide_in_hundreds")
def test_a_member_edited_after_its_read_is_not_overwritten_by_a_batch_sent_during_the_read(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Before each batch sent during the read, the members changed since the read are listed
    (``recheck``): a write that would overwrite an edit made meanwhile is held back."""
    world = InitialWorld(shared=300, hubspot_only=CRM, mailchimp_only=100)
    person = email("shared", 50)
    members = world.mailchimp_members()
    for member in members:  # a blank first name, filled from HubSpot without history
        if member["email_address"] == person:
            member["merge_fields"]["FNAME"] = ""
    sim.seed_hubspot(world.hubspot_contacts())
    sim.seed_mailchimp(members)
    sim.configure("hubspot", SLOW_HUBSPOT)
    path = f"/3.0/lists/{sim.list_id}/members/{subscriber_hash(person)}"
    edit = {"method": "PATCH", "path": path, "body": {"merge_fields": {"FNAME": "Mailchimp-Edit"}}}
    # The fetch lists current members, then archived ones: the edit follows the second listing.
    sim.trigger_after("mailchimp", "GET /3.0/lists/{list_id}/members", edit, nth=2)
    counts = first_sync(sim.write_config(tmp_path))
    assert [t["status"] for t in sim.triggered("mailchimp")] == [200]
    assert counts["batches_while_reading"] == 1
    assert counts["held_changed_remotely"] == 1
    sim.settle_batches()
    assert sim.mailchimp_by_email()[person]["merge_fields"]["FNAME"] == "Mailchimp-Edit"
