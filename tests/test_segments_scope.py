"""Who is in scope, and what leaving it does: CLI, cache file, both simulators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sandbox import SandboxDriver
from tests.test_segments_inflight import BATCHED
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


@pytest.mark.parametrize("on_leave", ["archive", "untag", "unsubscribe"])
def test_an_emptied_scope_list_trips_the_guard_instead_of_acting_on_everyone(
    sim: SandboxDriver, tmp_path: Path, on_leave: str
) -> None:
    """Every leave action but ``keep`` is held to the blast-radius guard: archives and untags
    as people leaving the scope, unsubscribes as unsubscribes."""
    ids = people(sim, 30)
    canary = hubspot_list(sim, "Canary", ids)
    hubspot_list(sim, "MQLs", ids)
    config = scoped(
        sim,
        tmp_path,
        on_leave,
        safety={"min_guarded": 5},
        tags=[{"hubspot_list": "MQLs", "mailchimp_tag": "MQL"}],
    )
    assert invoke(config, "run").exit_code == 0
    writes = sim.writes("mailchimp")
    change_list(sim, canary, remove=ids)
    guarded = invoke(config, "run")
    assert guarded.exit_code == 5, guarded.output + guarded.stderr
    assert ("leaving the scope" if on_leave != "unsubscribe" else "unsubscribe") in guarded.stderr
    assert sim.writes("mailchimp") == writes
    assert all(m["status"] == "subscribed" for m in sim.mailchimp_members())
    assert all(tags == ["MQL"] for tags in tags_of(sim).values())


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
    checked = invoke(config, "check")
    assert checked.exit_code == 2, checked.output
    assert "[PROBLEM] Mailchimp tag 'beta'" in checked.output
    assert "did you mean 'Beta'?" in checked.output


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


def test_a_property_filter_scope_follows_the_property_out_and_back_in(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """``scope.hubspot_filter``: a contact whose property stops matching leaves (``untag``),
    its edits stay unsynced while it is out, and it comes back as a link when it matches again."""
    ids = people(sim, 2, lifecyclestage="customer")
    hubspot_list(sim, "MQLs", ids)
    config = sim.write_config(
        tmp_path,
        scope={
            "hubspot_filter": {"property": "lifecyclestage", "value": "customer"},
            "on_leave": "untag",
        },
        tags=[{"hubspot_list": "MQLs", "mailchimp_tag": "MQL"}],
        segments={"list_read_minutes": 0},
    )
    assert invoke(config, "run").exit_code == 0
    assert tags_of(sim) == {"person0@real.org": ["MQL"], "person1@real.org": ["MQL"]}

    sim.hubspot_edit(ids[0], {"lifecyclestage": "lead", "firstname": "Out"})
    sim.advance(60)
    planned = json.loads(invoke(config, "run", "--dry-run", "--json").stdout)
    assert [(w["email"], w["action"]) for w in planned["writes"]] == [("person0@real.org", "untag")]
    left = invoke(config, "run")
    assert left.exit_code == 0, left.output + left.stderr
    members = sim.mailchimp_by_email()
    assert tags_of(sim) == {"person0@real.org": [], "person1@real.org": ["MQL"]}
    assert members["person0@real.org"]["merge_fields"]["FNAME"] == "P", "synced while out"
    assert members["person0@real.org"]["status"] == "subscribed"

    sim.hubspot_edit(ids[0], {"lifecyclestage": "customer"})
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    assert tags_of(sim) == {"person0@real.org": ["MQL"], "person1@real.org": ["MQL"]}
    assert sim.mailchimp_by_email()["person0@real.org"]["merge_fields"]["FNAME"] == "Out"


@pytest.mark.parametrize(
    ("on_leave", "status"), [("unsubscribe", "unsubscribed"), ("archive", "archived")]
)
def test_leaving_while_the_members_create_waits_in_a_batch_acts_on_the_member_it_makes(
    sim: SandboxDriver, tmp_path: Path, on_leave: str, status: str
) -> None:
    """The person leaves while the batch creating their member is still open: the scope judges
    them once its results are in (segment_todo skips people ``pending``), so the leave reaches
    the new member instead of finding none and doing nothing."""
    (cid,) = sim.seed_hubspot(
        [{"properties": {"email": "new@real.org", "firstname": "N", "newsletter": "true"}}]
    )
    canary = hubspot_list(sim, "Canary", [cid])
    config = scoped(sim, tmp_path, on_leave, sync=BATCHED)
    sim.configure("mailchimp", {"batch_paused": True})
    assert invoke(config, "run").exit_code == 0
    sim.advance(60)
    change_list(sim, canary, remove=[cid])
    assert invoke(config, "run").exit_code == 0  # the create still waits in its batch
    assert "new@real.org" not in sim.mailchimp_by_email()
    sim.configure("mailchimp", {"batch_paused": False})
    for _ in range(2):
        sim.settle_batches()
        sim.advance(60)
        assert invoke(config, "run").exit_code == 0
    sim.settle_batches()
    archived = sim.http.get(
        f"{sim.mc_url}/lists/{sim.list_id}/members",
        params={"status": "archived", "count": 10},
        auth=sim.mc_auth,
        timeout=10,
    ).json()["members"]
    member = {m["email_address"]: m for m in [*sim.mailchimp_members(), *archived]}
    assert member["new@real.org"]["status"] == status
    shown = json.dumps(json.loads(invoke(config, "show", "new@real.org", "--json").stdout))
    assert f"left the sync's scope (on_leave: {on_leave})" in shown
    sim.advance(60)
    writes = sim.writes("mailchimp")
    assert invoke(config, "run").exit_code == 0
    assert sim.writes("mailchimp") == writes, "the leave action was repeated"
