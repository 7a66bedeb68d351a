"""HubSpot lists and property values become Mailchimp tags: CLI, cache file, both simulators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from syncer.cli import cli
from tests.support.sandbox import SandboxDriver

TAGS = [
    {"hubspot_list": "MQLs", "mailchimp_tag": "MQL"},
    {"hubspot_property": "lifecyclestage", "value": "customer", "mailchimp_tag": "Customer"},
]


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def people(sim: SandboxDriver, count: int, **properties: str) -> list[str]:
    """``count`` people on both sides, subscribed, already agreeing on everything."""
    addresses = [f"person{i}@real.org" for i in range(count)]
    ids = sim.seed_hubspot(
        [
            {"properties": {"email": a, "firstname": "P", "newsletter": "true", **properties}}
            for a in addresses
        ]
    )
    sim.seed_mailchimp(
        [
            {"email_address": a, "status": "subscribed", "merge_fields": {"FNAME": "P"}}
            for a in addresses
        ]
    )
    return ids


def hubspot_list(sim: SandboxDriver, name: str, members: list[str], kind: str = "MANUAL") -> str:
    spec = {"name": name, "processingType": kind, "members": members}
    return str(sim._post(f"{sim.hs_url}/_sim/lists", spec)["listId"])


def change_list(sim: SandboxDriver, list_id: str, **change: list[str]) -> None:
    sim._post(f"{sim.hs_url}/_sim/lists/members", {"listId": list_id, **change})


def tags_of(sim: SandboxDriver) -> dict[str, list[str]]:
    return {
        address: sorted(tag["name"] for tag in member["tags"])
        for address, member in sim.mailchimp_by_email().items()
    }


def tag_writes(sim: SandboxDriver) -> list[dict[str, Any]]:
    writes: list[dict[str, Any]] = sim.http.get(
        f"{sim.mc_root}/_sim/tag-writes", timeout=10
    ).json()["writes"]
    return writes


def config_with(sim: SandboxDriver, tmp_path: Path, **overrides: Any) -> Path:
    return sim.write_config(tmp_path, tags=TAGS, segments={"list_read_minutes": 0}, **overrides)


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "batched"])
def test_list_members_carry_the_tag_and_lose_it_when_they_leave(
    sim: SandboxDriver, tmp_path: Path, direct: bool
) -> None:
    ids = people(sim, 4)
    list_id = hubspot_list(sim, "MQLs", ids[:2])
    sync = {
        "batch_wait_seconds": 10,
        "batch_poll_seconds": 0.05,
        "direct_threshold": 100 if direct else 0,
    }
    config = config_with(sim, tmp_path, sync=sync)

    first = invoke(config, "run")
    assert first.exit_code == 0, first.output + first.stderr
    tags = tags_of(sim)
    assert [tags[f"person{i}@real.org"] for i in range(4)] == [["MQL"], ["MQL"], [], []]
    assert all(write["is_syncing"] for write in tag_writes(sim))

    change_list(sim, list_id, remove=[ids[0]], add=[ids[3]])
    second = invoke(config, "run")
    assert second.exit_code == 0, second.output + second.stderr
    tags = tags_of(sim)
    assert [tags[f"person{i}@real.org"] for i in range(4)] == [[], ["MQL"], [], ["MQL"]]

    shown = json.loads(invoke(config, "show", "person0@real.org", "--json").stdout)
    text = json.dumps(shown)
    assert "remove tag 'MQL': no longer in HubSpot list 'MQLs'" in text
    assert "add tag 'MQL': in HubSpot list 'MQLs'" in text
    assert "tag:MQL" in text  # the journal of what was written

    before = len(tag_writes(sim))
    quiet = invoke(config, "run", "--json")
    assert quiet.exit_code == 0
    assert len(tag_writes(sim)) == before, "a run with no outside change wrote tags"


def test_a_property_value_drives_a_tag_and_the_dry_run_shows_it(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = people(sim, 2, lifecyclestage="lead")
    hubspot_list(sim, "MQLs", [])
    config = config_with(sim, tmp_path)
    assert invoke(config, "run").exit_code == 0
    sim.hubspot_edit(ids[1], {"lifecyclestage": "customer"})
    sim.advance(60)

    planned = invoke(config, "run", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.output + planned.stderr
    plan = json.loads(planned.stdout)
    tagged = [w for w in plan["writes"] if w["action"] == "tag"]
    assert [(w["email"], w["changes"]) for w in tagged] == [
        ("person1@real.org", [{"field": "tag:Customer", "old": "", "new": "active"}])
    ]
    assert tags_of(sim)["person1@real.org"] == []  # a dry run writes nothing

    assert invoke(config, "run").exit_code == 0
    assert tags_of(sim)["person1@real.org"] == ["Customer"]


def test_a_dynamic_list_is_read_like_a_static_one(sim: SandboxDriver, tmp_path: Path) -> None:
    people(sim, 3, lifecyclestage="lead")
    spec = {
        "name": "Hot",
        "processingType": "DYNAMIC",
        "filter": {"property": "firstname", "value": "P"},
    }
    sim._post(f"{sim.hs_url}/_sim/lists", spec)
    config = sim.write_config(
        tmp_path,
        tags=[{"hubspot_list": "hot", "mailchimp_tag": "Hot"}],
        segments={"list_read_minutes": 0},
    )
    assert invoke(config, "run").exit_code == 0
    assert set(map(tuple, tags_of(sim).values())) == {("Hot",)}


def test_a_missing_list_stops_the_run_before_any_write_with_the_nearest_names(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    people(sim, 2)
    hubspot_list(sim, "MQLs (2026)", [])
    hubspot_list(sim, "Customers", [])
    config = sim.write_config(tmp_path, tags=[{"hubspot_list": "MQL 2026", "mailchimp_tag": "MQL"}])
    result = invoke(config, "run")
    assert result.exit_code == 2, result.output + result.stderr
    assert "HubSpot has no list 'MQL 2026'" in result.stderr
    assert "'MQLs (2026)'" in result.stderr
    assert sim.writes("hubspot") == 0
    assert sim.writes("mailchimp") == 0


def test_check_names_each_mapped_list_and_the_nearest_for_a_missing_one(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    hubspot_list(sim, "MQLs", [])
    hubspot_list(sim, "Customers 2026", [], kind="MANUAL")
    config = sim.write_config(
        tmp_path,
        tags=[
            {"hubspot_list": "MQLs", "mailchimp_tag": "MQL"},
            {"hubspot_list": "Customers", "mailchimp_tag": "Customer"},
            {"hubspot_property": "lifecyclestag", "value": "x", "mailchimp_tag": "X"},
        ],
    )
    result = invoke(config, "check")
    assert result.exit_code == 2, result.output
    assert "[ok] HubSpot list 'MQLs': list 1, static, 0 members" in result.output
    assert "[PROBLEM] HubSpot list 'Customers': does not exist; did you mean 'Customers 2026'?" in (
        result.output
    )
    assert "[PROBLEM] HubSpot property lifecyclestag" in result.output
    assert "'lifecyclestage'" in result.output


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "batch"])
def test_a_member_created_for_a_hubspot_contact_gets_its_tags_on_the_next_run(
    sim: SandboxDriver, tmp_path: Path, direct: bool
) -> None:
    """The tags are decided before the writes, when the member does not exist yet; they must
    not be forgotten once it does (found by the soak: such members never got their tags)."""
    contact = {"email": "new@real.org", "firstname": "N", "newsletter": "true"}
    (cid,) = sim.seed_hubspot([{"properties": {**contact, "lifecyclestage": "customer"}}])
    hubspot_list(sim, "MQLs", [cid])
    sync = {"direct_threshold": 10 if direct else 0, "batch_poll_seconds": 0.05}
    config = config_with(sim, tmp_path, sync=sync)
    assert invoke(config, "run").exit_code == 0
    assert tags_of(sim) == {"new@real.org": []}  # created this run, tagged the next
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    assert tags_of(sim) == {"new@real.org": ["Customer", "MQL"]}
    sim.advance(60)
    before = sim.writes("mailchimp")
    assert invoke(config, "run").exit_code == 0
    assert sim.writes("mailchimp") == before


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "batch"])
def test_a_tag_change_beside_a_hubspot_email_change_reaches_the_renamed_member(
    sim: SandboxDriver, tmp_path: Path, direct: bool
) -> None:
    """A tags write sent to the old address after the rename finds nobody (found by the soak: a
    404 failure, and the tag never written); one sent to the new address before the rename is
    known to be made may tag someone else (a refused rename: test_segments_refused_rename). The
    tags wait for the rename's answer and go to the member it made on the next run."""
    contact = {"email": "old@real.org", "firstname": "N", "newsletter": "true"}
    (cid,) = sim.seed_hubspot([{"properties": contact}])
    sim.seed_mailchimp([{"email_address": "old@real.org", "status": "subscribed"}])
    hubspot_list(sim, "MQLs", [cid])
    sync = {"direct_threshold": 10 if direct else 0, "batch_poll_seconds": 0.05}
    config = config_with(sim, tmp_path, sync=sync)
    assert invoke(config, "run").exit_code == 0
    assert tags_of(sim) == {"old@real.org": ["MQL"]}
    sim.advance(60)
    sim.hubspot_edit(cid, {"email": "new@real.org", "lifecyclestage": "customer"})
    sim.advance(60)
    done = invoke(config, "run")
    assert done.exit_code == 0, done.output
    assert tags_of(sim) == {"new@real.org": ["MQL"]}  # renamed, tags carried, Customer waits
    sim.settle_batches()
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    assert tags_of(sim) == {"new@real.org": ["Customer", "MQL"]}
    sim.settle_batches()
    sim.advance(60)
    before = sim.writes("mailchimp")
    assert invoke(config, "run").exit_code == 0
    assert sim.writes("mailchimp") == before


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "batch"])
def test_a_tags_write_left_queued_follows_a_member_renamed_in_mailchimp(
    sim: SandboxDriver, tmp_path: Path, direct: bool
) -> None:
    """A tags write that could not be sent (Mailchimp down, or the run killed before it) is
    queued with the member's address of the time. The member is renamed in Mailchimp before
    the next run: the write goes to the member where it is now, not to the old address (found
    by the soak, seed 12: a 404, and the renamed member never got its tags)."""
    contact = {"email": "old@real.org", "firstname": "N", "newsletter": "true"}
    (cid,) = sim.seed_hubspot([{"properties": contact}])
    sim.seed_mailchimp([{"email_address": "old@real.org", "status": "subscribed"}])
    list_id = hubspot_list(sim, "MQLs", [])
    sync = {"direct_threshold": 10 if direct else 0, "batch_poll_seconds": 0.05}
    config = config_with(sim, tmp_path, sync=sync)
    assert invoke(config, "run").exit_code == 0
    change_list(sim, list_id, add=[cid])
    sim.advance(60)
    writes = ["POST /3.0/batches", "POST /3.0/lists/{list_id}/members/{subscriber_hash}/tags"]
    sim.faults("mailchimp", {"rate": 1, "kinds": ["503"], "paths": writes})
    invoke(config, "run")  # the tag is decided; its write stays queued
    sim.faults("mailchimp", {"rate": 0})
    assert tags_of(sim) == {"old@real.org": []}
    sim.mailchimp_edit("old@real.org", {"email_address": "new@real.org"})
    sim.advance(60)

    for _ in range(2):
        done = invoke(config, "run", "--json")
        assert done.exit_code == 0, done.output
        sim.settle_batches()
        sim.advance(60)
    assert tags_of(sim) == {"new@real.org": ["MQL"]}
    assert sim.hubspot_by_email(["email"]).keys() == {"new@real.org"}
    before = sim.writes("mailchimp")
    assert invoke(config, "run").exit_code == 0
    assert sim.writes("mailchimp") == before
