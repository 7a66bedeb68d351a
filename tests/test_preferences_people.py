"""Groups and permissions for people new on one side, many at once (a batch), and one-way
mappings, through the CLI and both simulators."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.sandbox import SandboxDriver
from tests.test_preferences_sync import (
    PROPERTIES,
    config,
    hubspot,
    interests_by_name,
    permission,
    permission_ids,
    run,
    seed,
)
from tests.test_segments_tags import invoke

pytestmark = pytest.mark.timeout(120)


def test_a_new_member_from_hubspot_carries_its_grants_and_groups(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    seed(sim, 1)
    sim.seed_hubspot(
        [
            {
                "properties": {
                    "email": "new@real.org",
                    "newsletter": "true",
                    "gdpr_email": "true",
                    "wants_events": "true",
                    "topics": "Offers",
                }
            },
            {"properties": {"email": "quiet@real.org", "newsletter": "true"}},
        ],
        PROPERTIES,
    )
    path = config(sim, tmp_path)
    run(path)
    assert permission(sim, "new@real.org")
    assert interests_by_name(sim, "new@real.org") == {"Events", "Offers"}
    assert not permission(sim, "quiet@real.org"), "no grant for someone who never answered"
    assert interests_by_name(sim, "quiet@real.org") == set()
    before = sim.writes("mailchimp"), sim.writes("hubspot")
    run(path)
    assert (sim.writes("mailchimp"), sim.writes("hubspot")) == before


def test_a_new_contact_from_mailchimp_gets_grants_only_where_mailchimp_has_them(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    seed(sim, 0)
    sim.seed_mailchimp(
        [
            {
                "email_address": "granted@real.org",
                "status": "subscribed",
                "marketing_permissions": {"Email": True},
                "interests": {"News": True},
            },
            {"email_address": "silent@real.org", "status": "subscribed"},
        ]
    )
    path = config(sim, tmp_path)
    run(path)
    granted, silent = hubspot(sim, "granted@real.org"), hubspot(sim, "silent@real.org")
    assert (granted["gdpr_email"], granted["topics"]) == ("true", "News")
    assert not silent.get("gdpr_email"), "Mailchimp's default off is no answer"
    assert not silent.get("wants_events")


def test_many_withdrawals_go_in_a_batch_and_all_land(sim: SandboxDriver, tmp_path: Path) -> None:
    ids = seed(sim, 15, gdpr_email="true")
    path = config(sim, tmp_path)
    run(path)
    sim.settle_batches()
    assert all(permission(sim, f"person{i}@real.org") for i in range(15))
    for contact_id in ids:
        sim.hubspot_edit(contact_id, {"gdpr_email": "false"})
    sim.advance(60)
    run(path)
    sim.settle_batches()
    run(path)  # collects the batch's results
    assert sim.requests("mailchimp")["counts"].get("POST /3.0/batches", 0) >= 1
    assert not any(permission(sim, f"person{i}@real.org") for i in range(15))
    before = sim.writes("mailchimp"), sim.writes("hubspot")
    run(path)
    assert (sim.writes("mailchimp"), sim.writes("hubspot")) == before


def test_a_one_way_permission_never_writes_its_source(sim: SandboxDriver, tmp_path: Path) -> None:
    """Into HubSpot only: a member who never answered leaves HubSpot blank (or as HubSpot has
    it), never "false"; Mailchimp's grants and withdrawals are mirrored."""
    ids = seed(sim, 2)
    path = config(
        sim,
        tmp_path,
        permissions=[{"hubspot": "gdpr_email", "mailchimp": "Email", "direction": "to_hubspot"}],
    )
    run(path)
    sim.hubspot_edit(ids[0], {"gdpr_email": "true"})
    sim.advance(60)
    run(path)
    assert not permission(sim, "person0@real.org"), "HubSpot is not a source here"
    assert hubspot(sim, "person0@real.org")["gdpr_email"] == "true", "no withdrawal invented"
    assert not hubspot(sim, "person1@real.org").get("gdpr_email"), "never answered: blank"
    email_id = permission_ids(sim, "person1@real.org")["Email"]
    for enabled in (True, False):
        sim.mailchimp_edit(
            "person1@real.org",
            {"marketing_permissions": [{"marketing_permission_id": email_id, "enabled": enabled}]},
        )
        run(path)
        assert hubspot(sim, "person1@real.org")["gdpr_email"] == str(enabled).lower()
    shown = " ".join(invoke(path, "show", "person1@real.org").output.split())
    for value in ("true", "false"):
        assert (
            f"HubSpot gdpr_email set to '{value}' (from Mailchimp marketing permission 'Email')"
            in shown
        )
    before = sim.writes("mailchimp"), sim.writes("hubspot")
    run(path)
    assert (sim.writes("mailchimp"), sim.writes("hubspot")) == before


def test_a_refused_name_never_takes_a_withdrawal_with_it(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = seed(sim, 1, gdpr_email="true")
    path = config(sim, tmp_path, fields=[{"hubspot": "firstname", "mailchimp": "FNAME"}])
    run(path)
    assert permission(sim, "person0@real.org")
    sim.hubspot_edit(ids[0], {"firstname": "x" * 300, "gdpr_email": "false"})
    sim.advance(60)
    result = invoke(path, "run", "--json")
    assert result.exit_code == 1, result.output + result.stderr  # partial: the name
    assert not permission(sim, "person0@real.org"), "the withdrawal landed on its own"
    assert "FNAME" in invoke(path, "errors").output
