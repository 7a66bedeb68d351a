"""Groups and GDPR marketing permissions synced two ways, through the CLI and both simulators.

Each test seeds people who agree, lets a first run record the base, then changes one side the
way a person or an app would (through the vendors' APIs) and runs again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.preference_properties import HUBSPOT_PROPERTIES
from tests.support.sandbox import SandboxDriver
from tests.test_segments_tags import invoke

pytestmark = pytest.mark.timeout(120)

PROPERTIES = HUBSPOT_PROPERTIES
PREFERENCES: dict[str, Any] = {
    "interests": [
        {"hubspot": "wants_events", "category": "Invites", "mailchimp": "Events", "consent": True},
        {"hubspot": "topics", "category": "Topics"},
    ],
    "permissions": [{"hubspot": "gdpr_email", "mailchimp": "Email"}],
}


def seed(sim: SandboxDriver, count: int, **properties: str) -> list[str]:
    """``count`` subscribed people on both sides, the audience with groups and GDPR fields."""
    addresses = [f"person{i}@real.org" for i in range(count)]
    sim._post(
        f"{sim.mc_root}/_sim/seed",
        {
            "interest_categories": [
                {"title": "Invites", "interests": ["Events"]},
                {"title": "Topics", "interests": ["News", "Offers"]},
            ],
            "marketing_permissions": ["Email", "Direct Mail"],
            "members": [],
        },
    )
    sim.seed_mailchimp([{"email_address": a, "status": "subscribed"} for a in addresses])
    return sim.seed_hubspot(
        [{"properties": {"email": a, "newsletter": "true", **properties}} for a in addresses],
        PROPERTIES,
    )


def config(sim: SandboxDriver, tmp_path: Path, **overrides: Any) -> Path:
    return sim.write_config(tmp_path, **{"fields": [], **PREFERENCES, **overrides})


def run(path: Path, *args: str, code: int = 0) -> dict[str, Any]:
    result = invoke(path, "run", "--json", *args)
    assert result.exit_code == code, result.output + result.stderr
    return json.loads(result.stdout) if code == 0 else {}


def member(sim: SandboxDriver, email: str) -> dict[str, Any]:
    return sim.mailchimp_by_email()[email]


def interest_ids(sim: SandboxDriver) -> dict[str, str]:
    """Interest name -> id, across every group of the audience."""
    root = f"{sim.mc_url}/lists/{sim.list_id}/interest-categories"
    categories = sim.http.get(root, auth=sim.mc_auth, timeout=10).json()["categories"]
    ids: dict[str, str] = {}
    for category in categories:
        url = f"{root}/{category['id']}/interests"
        listing = sim.http.get(url, auth=sim.mc_auth, timeout=10).json()
        ids.update({i["name"]: i["id"] for i in listing["interests"]})
    return ids


def interests_by_name(sim: SandboxDriver, email: str) -> set[str]:
    names = {ident: name for name, ident in interest_ids(sim).items()}
    return {names[i] for i, on in member(sim, email)["interests"].items() if on}


def permission(sim: SandboxDriver, email: str, text: str = "Email") -> bool:
    found = [p for p in member(sim, email)["marketing_permissions"] if p["text"] == text]
    return bool(found[0]["enabled"])


def permission_ids(sim: SandboxDriver, email: str) -> dict[str, str]:
    return {
        p["text"]: p["marketing_permission_id"] for p in member(sim, email)["marketing_permissions"]
    }


def hubspot(sim: SandboxDriver, email: str) -> dict[str, Any]:
    return sim.hubspot_by_email(["email", "wants_events", "gdpr_email", "topics"])[email]


def test_a_first_run_invents_no_grant_and_a_quiet_rerun_writes_nothing(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    seed(sim, 2)
    path = config(sim, tmp_path)
    run(path)
    for email in ("person0@real.org", "person1@real.org"):
        assert not permission(sim, email)
        assert interests_by_name(sim, email) == set()
        props = hubspot(sim, email)
        assert not props.get("gdpr_email"), "Mailchimp's default false is no answer for HubSpot"
        assert not props.get("wants_events")
    before = sim.writes("mailchimp"), sim.writes("hubspot")
    run(path)
    assert (sim.writes("mailchimp"), sim.writes("hubspot")) == before


def test_hubspot_grants_and_interests_reach_mailchimp_in_one_read(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = seed(sim, 2)
    path = config(sim, tmp_path)
    run(path)
    sim.hubspot_edit(
        ids[0], {"gdpr_email": "true", "wants_events": "true", "topics": "News;Offers"}
    )
    sim.advance(60)  # past the search index lag
    run(path)
    assert permission(sim, "person0@real.org")
    assert interests_by_name(sim, "person0@real.org") == {"Events", "News", "Offers"}
    assert not permission(sim, "person1@real.org")
    reads = sim.requests("mailchimp")["counts"]
    # Members are read from the listing; the only member reads are syncer's look at each member
    # just before a direct write to it (run.recheck), one per write.
    member = [key for key in reads if key.endswith("/members/{subscriber_hash}")]
    looks = sum(reads[key] for key in member if key.startswith("GET"))
    assert looks == sum(reads[key] for key in member if not key.startswith("GET")), reads
    before = sim.writes("mailchimp"), sim.writes("hubspot")
    run(path)
    assert (sim.writes("mailchimp"), sim.writes("hubspot")) == before, "no ping-pong"


def test_a_withdrawal_in_mailchimp_wins_over_stale_hubspot(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = seed(sim, 1)
    path = config(sim, tmp_path)
    run(path)
    sim.hubspot_edit(ids[0], {"gdpr_email": "true", "wants_events": "true"})
    sim.advance(60)  # past the search index lag
    run(path)
    assert permission(sim, "person0@real.org")
    interests, permissions = interest_ids(sim), permission_ids(sim, "person0@real.org")
    sim.mailchimp_edit(
        "person0@real.org",
        {
            "interests": {interests["Events"]: False},
            "marketing_permissions": [
                {"marketing_permission_id": permissions["Email"], "enabled": False}
            ],
        },
    )
    run(path)
    props = hubspot(sim, "person0@real.org")
    assert (props["gdpr_email"], props["wants_events"]) == ("false", "false")
    assert not permission(sim, "person0@real.org")
    shown = invoke(path, "show", "person0@real.org").output
    assert "HubSpot gdpr_email set to 'false' (from Mailchimp marketing permission 'Email')" in (
        " ".join(shown.split())
    )
    assert "Mailchimp marketing permission 'Email': on (from HubSpot gdpr_email)" in (
        " ".join(shown.split())
    )


def test_a_cleared_hubspot_consent_is_unknown_not_a_withdrawal(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = seed(sim, 1)
    path = config(sim, tmp_path)
    run(path)
    sim.hubspot_edit(ids[0], {"gdpr_email": "true"})
    sim.advance(60)  # past the search index lag
    run(path)
    sim.hubspot_edit(ids[0], {"gdpr_email": ""})
    sim.advance(60)  # past the search index lag
    run(path)
    assert permission(sim, "person0@real.org"), "a blank is no answer: the grant stays"


def test_the_dry_run_lists_preference_writes_and_writes_nothing(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = seed(sim, 1)
    path = config(sim, tmp_path)
    run(path)
    sim.hubspot_edit(ids[0], {"gdpr_email": "true", "topics": "News"})
    sim.advance(60)  # past the search index lag
    before = sim.writes("mailchimp")
    plan = invoke(path, "run", "--dry-run")
    assert plan.exit_code == 0, plan.output + plan.stderr
    assert "@permission:" in plan.output
    assert "@category:" in plan.output
    assert sim.writes("mailchimp") == before


def test_a_vanished_interest_stops_the_run_before_any_write(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = seed(sim, 1)
    path = config(sim, tmp_path)
    run(path)
    interests = interest_ids(sim)
    categories = sim.http.get(
        f"{sim.mc_url}/lists/{sim.list_id}/interest-categories", auth=sim.mc_auth, timeout=10
    ).json()["categories"]
    gone = sim.http.delete(
        f"{sim.mc_url}/lists/{sim.list_id}/interest-categories/{categories[0]['id']}"
        f"/interests/{interests['Events']}",
        auth=sim.mc_auth,
        timeout=10,
    )
    assert gone.status_code == 204
    sim.hubspot_edit(ids[0], {"gdpr_email": "true"})
    sim.advance(60)
    before = sim.writes("mailchimp"), sim.writes("hubspot")
    result = invoke(path, "run")
    assert result.exit_code == 2, result.output + result.stderr
    assert "interests[0].mailchimp: group 'Invites' has no interest 'Events'" in result.stderr
    assert (sim.writes("mailchimp"), sim.writes("hubspot")) == before


def test_a_permission_the_audience_lacks_stops_the_run(sim: SandboxDriver, tmp_path: Path) -> None:
    seed(sim, 1)
    path = config(sim, tmp_path, permissions=[{"hubspot": "gdpr_email", "mailchimp": "Phone"}])
    result = invoke(path, "run")
    assert result.exit_code == 2, result.output + result.stderr
    assert "permissions[0].mailchimp: the audience has no marketing permission 'Phone'" in (
        result.stderr
    )


def test_an_unsubscribe_and_a_permission_change_go_as_separate_writes(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = seed(sim, 1)
    path = config(sim, tmp_path)
    run(path)
    sim.hubspot_edit(ids[0], {"newsletter": "false", "gdpr_email": "true"})
    sim.advance(60)  # past the search index lag
    before = sim.writes("mailchimp")
    run(path)
    assert member(sim, "person0@real.org")["status"] == "unsubscribed"
    assert permission(sim, "person0@real.org")
    assert sim.writes("mailchimp") - before == 2, "the status and the permission, apart"
    before = sim.writes("mailchimp"), sim.writes("hubspot")
    run(path)
    assert (sim.writes("mailchimp"), sim.writes("hubspot")) == before


def test_a_missing_or_mistyped_property_stops_the_run_and_check_fix_creates_it(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    seed(sim, 1)
    path = config(
        sim,
        tmp_path,
        permissions=[{"hubspot": "consent_to_letters", "mailchimp": "Direct Mail"}],
        interests=[{"hubspot": "firstname", "category": "Topics"}],
    )
    result = invoke(path, "run")
    assert result.exit_code == 2, result.output + result.stderr
    assert "permissions[0].hubspot: HubSpot property consent_to_letters does not exist" in (
        result.stderr
    )
    assert "interests[0].hubspot: HubSpot property firstname must be a multiple checkboxes" in (
        result.stderr
    )
    fixed = invoke(path, "check", "--fix")
    assert "[fixed] HubSpot property consent_to_letters: created (bool)" in fixed.output
