"""Mailchimp tags mirrored into a HubSpot multi-checkbox property: CLI, cache, both simulators.

Tags changed in Mailchimp move the member's ``last_changed`` (see sandbox/mailchimp/members.py),
so the incremental member read brings them; the mirror value rides in the contact's HubSpot batch
update, and the property's options are kept in step before the write that needs one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.sandbox import SandboxDriver
from tests.test_segments_inflight import BATCHED, DIRECT
from tests.test_segments_tags import change_list, hubspot_list, invoke, people

MIRROR = "mailchimp_tags"


def tag(sim: SandboxDriver, email: str, *changes: tuple[str, str]) -> None:
    """A tag change made in Mailchimp (an automation or a person), through its API."""
    body = {"tags": [{"name": name, "status": status} for name, status in changes]}
    response = sim.http.post(
        f"{sim.mc_url}/lists/{sim.list_id}/members/{member_hash(email)}/tags",
        json=body,
        auth=sim.mc_auth,
        timeout=10,
    )
    assert response.status_code == 204, response.text


def member_hash(email: str) -> str:
    import hashlib

    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


def mirrored(sim: SandboxDriver) -> dict[str, set[str]]:
    contacts = sim.hubspot_by_email(["email", MIRROR])
    return {
        email: {part for part in (props.get(MIRROR) or "").split(";") if part}
        for email, props in contacts.items()
    }


def options_of(sim: SandboxDriver) -> list[str]:
    prop = sim.http.get(
        f"{sim.hs_url}/crm/v3/properties/contacts/{MIRROR}", headers=sim.hs_headers, timeout=10
    ).json()
    return sorted(option["value"] for option in prop["options"])


def mirror_config(sim: SandboxDriver, tmp_path: Path, **mirror: Any) -> Path:
    return sim.write_config(tmp_path, tags_to_hubspot={"property": MIRROR, **mirror})


def run(config: Path, *args: str) -> dict[str, Any]:
    result = invoke(config, "run", "--json", *args)
    assert result.exit_code == 0, result.output + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_tags_changed_in_mailchimp_reach_hubspot_and_cause_nothing_more(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    people(sim, 3)
    config = mirror_config(sim, tmp_path)
    tag(sim, "person0@real.org", ("Finished onboarding", "active"), ("VIP", "active"))
    fixed = invoke(config, "check", "--fix")
    assert fixed.exit_code == 0, fixed.output + fixed.stderr
    assert f"[fixed] HubSpot property {MIRROR} (tags_to_hubspot): created" in fixed.output
    assert options_of(sim) == ["Finished onboarding", "VIP"]

    run(config)
    assert mirrored(sim) == {
        "person0@real.org": {"Finished onboarding", "VIP"},
        "person1@real.org": set(),
        "person2@real.org": set(),
    }

    sim.advance(60)
    tag(sim, "person0@real.org", ("VIP", "inactive"))
    tag(sim, "person1@real.org", ("VIP", "active"))
    second = run(config)
    assert second["counts"]["written_hubspot"] == 2
    assert mirrored(sim)["person0@real.org"] == {"Finished onboarding"}
    assert mirrored(sim)["person1@real.org"] == {"VIP"}

    shown = json.dumps(json.loads(invoke(config, "show", "person0@real.org", "--json").stdout))
    assert f"Mailchimp tags mirrored into HubSpot {MIRROR}: removes 'VIP'" in shown
    assert MIRROR in shown  # the journal of the value written

    sim.advance(60)
    hubspot_before, mailchimp_before = sim.writes("hubspot"), sim.writes("mailchimp")
    for _ in range(2):
        sim.advance(60)
        run(config)
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == (
        hubspot_before,
        mailchimp_before,
    ), "the mirrored value came back and caused a write"


def test_only_the_named_tags_are_mirrored(sim: SandboxDriver, tmp_path: Path) -> None:
    people(sim, 1)
    tag(sim, "person0@real.org", ("Finished onboarding", "active"), ("VIP", "active"))
    config = mirror_config(sim, tmp_path, only=["Finished onboarding", "Trial"])
    assert invoke(config, "check", "--fix").exit_code == 0
    assert options_of(sim) == ["Finished onboarding", "Trial"]
    run(config)
    assert mirrored(sim) == {"person0@real.org": {"Finished onboarding"}}


def test_a_new_tag_gets_its_option_before_the_write_and_the_dry_run_says_so(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    people(sim, 2)
    tag(sim, "person0@real.org", ("VIP", "active"))
    config = mirror_config(sim, tmp_path)
    assert invoke(config, "check", "--fix").exit_code == 0
    run(config)
    sim.advance(60)
    tag(sim, "person1@real.org", ("Brand new", "active"), ("VIP", "active"))

    planned = invoke(config, "run", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.output + planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["property_options"] == {MIRROR: ["Brand new"]}
    (write,) = [w for w in plan["writes"] if w["side"] == "hubspot"]
    assert write["email"] == "person1@real.org"
    assert write["changes"] == [{"field": MIRROR, "old": "", "new": "Brand new;VIP"}]
    text = invoke(config, "run", "--dry-run")
    assert f"HubSpot property {MIRROR}: would add options 'Brand new'" in text.output
    assert options_of(sim) == ["VIP"], "a dry run changes no property"

    report = run(config)
    assert report["counts"]["mirror_options_added"] == 1
    assert options_of(sim) == ["Brand new", "VIP"]
    assert mirrored(sim)["person1@real.org"] == {"Brand new", "VIP"}


def test_a_missing_mirror_property_stops_the_run_before_any_write(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    people(sim, 1)
    tag(sim, "person0@real.org", ("VIP", "active"))
    config = mirror_config(sim, tmp_path)
    checked = invoke(config, "check")
    assert checked.exit_code == 2
    assert f"[PROBLEM] HubSpot property {MIRROR} (tags_to_hubspot): missing" in checked.output
    before = (sim.writes("hubspot"), sim.writes("mailchimp"))
    result = invoke(config, "run")
    assert result.exit_code == 2, result.output + result.stderr
    assert f"the HubSpot property {MIRROR} does not exist" in result.stderr
    assert "syncer check --fix" in result.stderr
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == before


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "batched"])
def test_tags_syncer_writes_from_a_list_mirror_back_once(
    sim: SandboxDriver, tmp_path: Path, direct: bool
) -> None:
    """A HubSpot list becomes a tag, the tag is mirrored into the property, and then nothing:
    the chain ends because every value syncer wrote comes back equal."""
    ids = people(sim, 3)
    hubspot_list(sim, "MQLs", ids[:2])
    sync = {
        "batch_wait_seconds": 10,
        "batch_poll_seconds": 0.05,
        "direct_threshold": 100 if direct else 0,
        "overlap_seconds": 120,
    }
    config = sim.write_config(
        tmp_path,
        tags=[{"hubspot_list": "MQLs", "mailchimp_tag": "MQL"}],
        tags_to_hubspot={"property": MIRROR},
        segments={"list_read_minutes": 0},
        sync=sync,
    )
    assert invoke(config, "check", "--fix").exit_code == 0
    for _ in range(3):
        sim.advance(60)
        run(config)
    assert mirrored(sim) == {
        "person0@real.org": {"MQL"},
        "person1@real.org": {"MQL"},
        "person2@real.org": set(),
    }
    before = (sim.writes("hubspot"), sim.writes("mailchimp"))
    for _ in range(2):
        sim.advance(60)
        run(config)
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == before


def test_a_member_with_more_than_50_tags_is_judged_by_all_of_them(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """The member listing gives 50 tags and ``tags_count``; the rest are read, once, from the
    member's tags endpoint, so a mirrored tag past the 50th is neither missed nor removed."""
    people(sim, 2)
    fillers = [(f"Filler {i:02d}", "active") for i in range(55)]
    tag(sim, "person0@real.org", *fillers, ("Onboarded", "active"))
    tag(sim, "person1@real.org", ("Onboarded", "active"))
    config = mirror_config(sim, tmp_path, only=["Onboarded"])
    assert invoke(config, "check", "--fix").exit_code == 0
    report = run(config)
    assert mirrored(sim) == {"person0@real.org": {"Onboarded"}, "person1@real.org": {"Onboarded"}}
    assert report["counts"]["member_tag_reads"] == 1
    reads = {key: n for key, n in sim.requests("mailchimp")["counts"].items() if "/tags" in key}
    assert sum(n for key, n in reads.items() if key.startswith("GET")) == 1, reads


def test_switching_the_mirror_on_or_changing_only_decides_everyone_again(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    people(sim, 2)
    tag(sim, "person0@real.org", ("VIP", "active"), ("Onboarded", "active"))
    assert invoke(sim.write_config(tmp_path), "run").exit_code == 0
    sim.advance(60)
    config = mirror_config(sim, tmp_path, only=["VIP"])
    assert invoke(config, "check", "--fix").exit_code == 0
    run(config)
    assert mirrored(sim)["person0@real.org"] == {"VIP"}, "nobody changed, yet the mirror is new"
    sim.advance(60)
    config = mirror_config(sim, tmp_path, only=["VIP", "Onboarded"])
    run(config)
    assert mirrored(sim)["person0@real.org"] == {"VIP", "Onboarded"}
    sim.advance(60)
    assert run(config)["counts"].get("changed", 0) == 0, "the rules did not change again"


@pytest.mark.parametrize("sync", [DIRECT, BATCHED], ids=["direct", "batched"])
@pytest.mark.parametrize("leaves_list", [True, False], ids=["leaves MQLs", "stays in MQLs"])
def test_a_fixed_address_mirrors_the_new_members_tags_not_the_cleaned_ones(
    sim: SandboxDriver, tmp_path: Path, sync: dict[str, float], leaves_list: bool
) -> None:
    """HubSpot fixes the address of a member Mailchimp cleaned while it carried MQL and VIP: the
    person lets the cleaned member go and gets a new one (see core.reconcile). The mirror then
    shows the new member's tags; it had kept the cleaned member's, decided never again (found
    by the soak, seed 7 at 2,000 people: ``mailchimp_tags ['MQL'], member's tags []``)."""
    old, fixed = "bounced@real.org", "fixed@real.org"
    (cid,) = sim.seed_hubspot(
        [{"properties": {"email": old, "firstname": "B", "newsletter": "true"}}]
    )
    sim.seed_mailchimp([{"email_address": old, "status": "subscribed"}])
    list_id = hubspot_list(sim, "MQLs", [cid])
    config = sim.write_config(
        tmp_path,
        tags=[{"hubspot_list": "MQLs", "mailchimp_tag": "MQL"}],
        tags_to_hubspot={"property": MIRROR, "only": ["MQL", "VIP"]},
        segments={"list_read_minutes": 0},
        sync=sync,
    )
    assert invoke(config, "check", "--fix").exit_code == 0
    tag(sim, old, ("VIP", "active"))
    settle(sim, config, runs=3)
    assert mirrored(sim) == {old: {"MQL", "VIP"}}

    sim.seed_mailchimp([{"email_address": old, "status": "cleaned"}])  # bounces: tags kept
    settle(sim, config, runs=1)
    sim.hubspot_edit(cid, {"email": fixed})
    if leaves_list:
        change_list(sim, list_id, remove=[cid])
    settle(sim, config, runs=4)

    members = sim.mailchimp_by_email()
    assert members[old]["status"] == "cleaned"
    assert members[fixed]["status"] == "subscribed"
    new_tags = {t["name"] for t in members[fixed]["tags"]}
    assert new_tags == (set() if leaves_list else {"MQL"})
    assert mirrored(sim) == {fixed: new_tags}, "the mirror shows the cleaned member's tags"
    sim.advance(60)
    before = sim.writes("hubspot"), sim.writes("mailchimp")
    run(config)
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == before


def settle(sim: SandboxDriver, config: Path, runs: int) -> None:
    """``runs`` runs a minute apart, each after Mailchimp finished the batches it holds."""
    for _ in range(runs):
        sim.advance(60)
        run(config)
        sim.settle_batches()
