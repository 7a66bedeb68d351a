"""Who is in scope, and what leaving it does: CLI, cache file, both simulators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sandbox import SandboxDriver
from tests.test_segments_tags import change_list, hubspot_list, invoke, people, tags_of


def scoped(sim: SandboxDriver, tmp_path: Path, on_leave: str = "keep", **extra: object) -> Path:
    return sim.write_config(
        tmp_path,
        scope={"hubspot_list": "Canary", "on_leave": on_leave},
        segments={"list_read_minutes": 0},
        **extra,
    )


def test_a_canary_list_limits_who_is_created_and_synced(sim: SandboxDriver, tmp_path: Path) -> None:
    ids = sim.seed_hubspot(
        [
            {"properties": {"email": f"crm{i}@real.org", "firstname": "C", "newsletter": "true"}}
            for i in range(4)
        ]
    )
    sim.seed_mailchimp([{"email_address": "only@real.org", "status": "subscribed"}])
    list_id = hubspot_list(sim, "Canary", ids[:1])
    config = scoped(sim, tmp_path)
    assert invoke(config, "run").exit_code == 0
    members = sim.mailchimp_by_email()
    assert sorted(members) == ["crm0@real.org", "only@real.org"]
    hubspot = sim.hubspot_by_email(["email"])
    assert "only@real.org" not in hubspot, "a member outside a HubSpot scope was created there"

    change_list(sim, list_id, add=ids[1:3])  # widen the roll-out
    assert invoke(config, "run").exit_code == 0
    assert sorted(sim.mailchimp_by_email()) == [
        "crm0@real.org",
        "crm1@real.org",
        "crm2@real.org",
        "only@real.org",
    ]


@pytest.mark.parametrize(
    ("on_leave", "status", "tags"),
    [
        ("keep", "subscribed", ["MQL"]),
        ("untag", "subscribed", []),
        ("unsubscribe", "unsubscribed", ["MQL"]),
        ("archive", "archived", ["MQL"]),
    ],
)
def test_leaving_the_scope_gets_the_configured_action_once(
    sim: SandboxDriver, tmp_path: Path, on_leave: str, status: str, tags: list[str]
) -> None:
    ids = people(sim, 2)
    canary = hubspot_list(sim, "Canary", ids)
    hubspot_list(sim, "MQLs", ids)
    config = scoped(
        sim, tmp_path, on_leave, tags=[{"hubspot_list": "MQLs", "mailchimp_tag": "MQL"}]
    )
    assert invoke(config, "run").exit_code == 0
    assert tags_of(sim)["person0@real.org"] == ["MQL"]

    change_list(sim, canary, remove=[ids[0]])
    planned = json.loads(invoke(config, "run", "--dry-run", "--json").stdout)
    actions = [w["action"] for w in planned["writes"] if w["email"] == "person0@real.org"]
    assert actions == {"keep": [], "untag": ["untag"], "unsubscribe": ["unsubscribe"]}.get(
        on_leave, ["archive"]
    )
    left = invoke(config, "run")
    assert left.exit_code == 0, left.output + left.stderr

    archived = sim.http.get(
        f"{sim.mc_url}/lists/{sim.list_id}/members",
        params={"status": "archived", "count": 10},
        auth=sim.mc_auth,
        timeout=10,
    ).json()["members"]
    member = {m["email_address"]: m for m in [*sim.mailchimp_members(), *archived]}[
        "person0@real.org"
    ]
    assert member["status"] == status
    assert sorted(t["name"] for t in member["tags"]) == tags
    assert sim.mailchimp_by_email()["person1@real.org"]["status"] == "subscribed"
    shown = json.dumps(json.loads(invoke(config, "show", "person0@real.org", "--json").stdout))
    assert f"left the sync's scope (on_leave: {on_leave})" in shown

    writes = sim.writes("mailchimp")
    assert invoke(config, "run").exit_code == 0
    assert sim.writes("mailchimp") == writes, "the leave action was repeated"


def test_an_emptied_scope_list_trips_the_guard_instead_of_archiving_everyone(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = people(sim, 30)
    canary = hubspot_list(sim, "Canary", ids)
    config = scoped(sim, tmp_path, "archive", safety={"min_guarded": 5})
    assert invoke(config, "run").exit_code == 0
    change_list(sim, canary, remove=ids)
    guarded = invoke(config, "run")
    assert guarded.exit_code == 5, guarded.output + guarded.stderr
    assert "leaving the scope" in guarded.stderr
    assert all(m["status"] == "subscribed" for m in sim.mailchimp_members())


def test_a_scope_tag_that_does_not_exist_is_a_config_error(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    people(sim, 1)
    sim.seed_mailchimp([{"email_address": "x@real.org", "status": "subscribed", "tags": ["Beta"]}])
    config = sim.write_config(tmp_path, scope={"mailchimp_tag": "beta"})
    result = invoke(config, "run")
    assert result.exit_code == 2, result.output + result.stderr
    assert "no tag 'beta'" in result.stderr
    assert "'Beta'" in result.stderr
    assert sim.writes("mailchimp") == 0


def test_a_mailchimp_tag_scope_syncs_only_members_carrying_it(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_mailchimp(
        [
            {"email_address": "beta@real.org", "status": "subscribed", "tags": ["Beta"]},
            {"email_address": "other@real.org", "status": "subscribed"},
        ]
    )
    sim.seed_hubspot(
        [{"properties": {"email": "crm@real.org", "firstname": "C", "newsletter": "true"}}]
    )
    config = sim.write_config(tmp_path, scope={"mailchimp_tag": "Beta"})
    assert invoke(config, "run").exit_code == 0
    assert sorted(sim.hubspot_by_email(["email"])) == ["beta@real.org", "crm@real.org"]
    assert sorted(sim.mailchimp_by_email()) == ["beta@real.org", "other@real.org"]


def test_a_first_sync_with_a_scope_leaves_people_outside_it_alone(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Nobody outside the scope was ever synced on a first sync: nobody 'leaves' it, so nobody
    is archived for it, even where both sides already hold the person."""
    ids = people(sim, 3)
    hubspot_list(sim, "Canary", ids[:1])
    config = scoped(sim, tmp_path, "archive")
    first = invoke(config, "run", "--json")
    assert first.exit_code == 0, first.output + first.stderr
    assert json.loads(first.stdout)["counts"].get("scope_left", 0) == 0
    assert [m["status"] for m in sim.mailchimp_members()] == ["subscribed"] * 3


def test_a_scope_added_to_a_running_sync_makes_people_outside_it_leave(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = people(sim, 3)
    hubspot_list(sim, "Canary", ids[:1])
    unscoped = sim.write_config(tmp_path, segments={"list_read_minutes": 0})
    assert invoke(unscoped, "run").exit_code == 0
    config = scoped(sim, tmp_path, "archive")
    left = invoke(config, "run", "--json")
    assert left.exit_code == 0, left.output + left.stderr
    assert json.loads(left.stdout)["counts"]["scope_left"] == 2
    statuses = {m["email_address"]: m["status"] for m in sim.mailchimp_members()}
    assert statuses == {"person0@real.org": "subscribed"}, "the two outside were archived"
