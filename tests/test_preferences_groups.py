"""A whole Mailchimp group in one HubSpot multiple-checkboxes property: its options follow the
group's interests (in `check --fix` and before a run's writes), and `syncer check` reports what
the audience has."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.sandbox import SandboxDriver
from tests.test_preferences_sync import (
    PROPERTIES,
    config,
    interest_ids,
    interests_by_name,
    permission,
    run,
    seed,
)
from tests.test_segments_tags import invoke

pytestmark = pytest.mark.timeout(120)


def options(sim: SandboxDriver, name: str) -> list[str]:
    prop = sim.http.get(
        f"{sim.hs_url}/crm/v3/properties/contacts/{name}", headers=sim.hs_headers, timeout=10
    ).json()
    return sorted(option["value"] for option in prop["options"])


def test_a_run_adds_the_option_an_interest_chosen_in_mailchimp_needs(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    seed(sim, 1)
    (topics,) = [p for p in PROPERTIES if p["name"] == "topics"]
    narrowed = sim.http.patch(
        f"{sim.hs_url}/crm/v3/properties/contacts/topics",
        json={"options": topics["options"][:1]},
        headers=sim.hs_headers,
        timeout=10,
    )
    assert narrowed.status_code == 200, narrowed.text
    assert options(sim, "topics") == ["News"]
    path = config(sim, tmp_path)
    run(path)
    ids = interest_ids(sim)
    sim.mailchimp_edit("person0@real.org", {"interests": {ids["Offers"]: True}})
    run(path)
    assert options(sim, "topics") == ["News", "Offers"]
    contact = sim.hubspot_by_email(["email", "topics"])["person0@real.org"]
    assert contact["topics"] == "Offers"


def test_check_resolves_the_names_and_fix_gives_a_new_group_property_its_options(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    seed(sim, 1)
    path = config(
        sim,
        tmp_path,
        interests=[{"hubspot": "reading_list", "category": "Topics"}],
    )
    before = invoke(path, "check")
    assert before.exit_code == 2, before.output
    assert (
        "Mailchimp groups and permissions: 2 interests and 1 permission found"
        in (before.output.replace("[ok] ", ""))
        or "2 interests and 1 permission found" in before.output
    )
    fixed = invoke(path, "check", "--fix")
    assert fixed.exit_code == 0, fixed.output + fixed.stderr
    assert options(sim, "reading_list") == ["News", "Offers"]
    again = invoke(path, "check")
    assert again.exit_code == 0, again.output
    assert "an option for each of the group's 2 interests" in again.output


def test_check_names_an_interest_the_audience_lacks(sim: SandboxDriver, tmp_path: Path) -> None:
    seed(sim, 1)
    path = config(
        sim,
        tmp_path,
        interests=[{"hubspot": "wants_events", "category": "Invites", "mailchimp": "Parties"}],
    )
    result = invoke(path, "check")
    assert result.exit_code == 2
    assert "interests[0].mailchimp: group 'Invites' has no interest 'Parties'" in result.output


def add_topic_option(sim: SandboxDriver, value: str) -> None:
    """An option of the HubSpot ``topics`` property that is no interest of the group."""
    (topics,) = [p for p in PROPERTIES if p["name"] == "topics"]
    option = {"label": value, "value": value, "displayOrder": 9, "hidden": False}
    widened = sim.http.patch(
        f"{sim.hs_url}/crm/v3/properties/contacts/topics",
        json={"options": [*topics["options"], option]},
        headers=sim.hs_headers,
        timeout=10,
    )
    assert widened.status_code == 200, widened.text


def test_a_hubspot_choice_that_is_no_interest_is_reported_and_withdraws_nothing(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """A HubSpot option that is no interest of the group (a typo, an interest deleted since):
    that person is listed by `syncer errors` with the nearest name, everything else of theirs
    and everyone else syncs, nothing is withdrawn for it, and the value stays in HubSpot."""
    ids = seed(sim, 2, topics="News")
    add_topic_option(sim, "Offrs")
    path = config(sim, tmp_path)
    run(path)
    sim.hubspot_edit(ids[0], {"topics": "News;Offrs", "gdpr_email": "true"})
    sim.hubspot_edit(ids[1], {"topics": "Offers"})
    sim.advance(60)
    result = invoke(path, "run")
    assert result.exit_code == 1, result.output + result.stderr  # partial: one person's value
    assert interests_by_name(sim, "person0@real.org") == {"News"}, "nothing withdrawn"
    assert permission(sim, "person0@real.org"), "the person's other changes synced"
    assert interests_by_name(sim, "person1@real.org") == {"Offers"}, "everyone else synced"
    errors = " ".join(invoke(path, "errors").output.split())
    assert "person0@real.org" in errors
    assert "HubSpot topics holds 'Offrs', which is no interest of Mailchimp group 'Topics'" in (
        errors
    )
    assert "did you mean 'Offers'?" in errors
    sim.mailchimp_edit("person0@real.org", {"interests": {interest_ids(sim)["Offers"]: True}})
    invoke(path, "run")
    contact = sim.hubspot_by_email(["email", "topics"])["person0@real.org"]
    assert set(contact["topics"].split(";")) == {"News", "Offers", "Offrs"}, "HubSpot's kept"
    sim.hubspot_edit(ids[0], {"topics": "News;Offers"})
    sim.advance(60)
    run(path)
    assert "person0@real.org" not in invoke(path, "errors").output, "fixed: no longer listed"
