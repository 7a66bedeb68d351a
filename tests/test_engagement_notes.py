"""One HubSpot note per person per campaign, through the real CLI: created with its contact
association, updated in place as more activity arrives, never duplicated; check --fix creates
the property group and the properties."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engagement_support import (
    engaged_config,
    invoke,
    notes,
    record,
    run_json,
    send_campaign,
)
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver

WORLD = InitialWorld(shared=4, hubspot_only=0, mailchimp_only=0, conflicts=0)


def contact_ids(sim: SandboxDriver) -> dict[str, str]:
    return {c["properties"]["email"]: str(c["id"]) for c in sim.hubspot_contacts(["email"])}


def fixed(sim: SandboxDriver, tmp_path: Path, **engagement: object) -> Path:
    sim.seed_world(WORLD)
    config = engaged_config(sim, tmp_path, **engagement)
    checked = invoke(config, "check", "--fix")
    assert checked.exit_code == 0, checked.output
    assert "created" in checked.stdout
    assert "mailchimp_engagement" in checked.stdout
    again = invoke(config, "check")
    assert again.exit_code == 0, again.output
    assert "created" not in again.stdout
    return config


def test_check_fix_creates_the_group_then_the_properties_in_it(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = fixed(sim, tmp_path)
    groups = sim.http.get(
        f"{sim.hs_url}/crm/v3/properties/contacts/groups", headers=sim.hs_headers, timeout=10
    ).json()["results"]
    assert "mailchimp_engagement" in {group["name"] for group in groups}
    prop = sim.http.get(
        f"{sim.hs_url}/crm/v3/properties/contacts/mailchimp_last_open",
        headers=sim.hs_headers,
        timeout=10,
    ).json()
    assert (prop["type"], prop["fieldType"], prop["groupName"]) == (
        "datetime",
        "date",
        "mailchimp_engagement",
    )
    assert config.exists()


def test_a_note_per_person_per_campaign_updated_in_place(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = fixed(sim, tmp_path)
    assert run_json(config)["outcome"] == "ok"
    ann, bob = email("shared", 0), email("shared", 1)
    ids = contact_ids(sim)
    november = send_campaign(sim, "November newsletter", send_time="2026-11-20T10:00:00Z")
    december = send_campaign(sim, "December newsletter", send_time="2026-11-28T10:00:00Z")
    record(
        sim,
        november,
        {"email": ann, "action": "open", "timestamp": "2026-11-20T11:00:00Z"},
        {"email": ann, "action": "click", "url": "https://example.com/a"},
        {"email": bob, "action": "bounce", "type": "hard"},
    )
    record(sim, december, {"email": ann, "action": "open"})
    report = run_json(config)
    assert report["outcome"] == "ok", report
    assert report["counts"]["engagement_notes_created"] == 3
    calls = report["api_calls"]["hubspot"]["by_endpoint"]
    assert calls["POST /crm/v3/objects/notes/batch/create"] == 1

    made = notes(sim)
    assert len(made) == 3
    anns = [n for n in made if n["contacts"] == [ids[ann]]]
    assert len(anns) == 2
    (first,) = [n for n in anns if "November" in n["properties"]["hs_note_body"]]
    assert (
        "Opened 'November newsletter' 1 time, clicked 1 link: https://example.com/a."
        in (first["properties"]["hs_note_body"])
    )
    assert first["properties"]["hs_timestamp"].startswith("2026-11-20T10:00:00")
    (bobs,) = [n for n in made if n["contacts"] == [ids[bob]]]
    assert "Hard bounce of 'November newsletter'" in bobs["properties"]["hs_note_body"]

    record(sim, november, {"email": ann, "action": "open"})
    sim.advance(2)  # the same open twice in one second is one event
    record(sim, november, {"email": ann, "action": "open"})
    updated = run_json(config)
    assert updated["counts"]["engagement_notes_created"] == 0
    assert updated["counts"]["engagement_notes_updated"] == 1
    after = notes(sim)
    assert len(after) == 3, "updated in place, never a second note"
    (again,) = [n for n in after if n["id"] == first["id"]]
    assert "Opened 'November newsletter' 3 times" in again["properties"]["hs_note_body"]

    quiet = run_json(config)
    assert quiet["counts"]["engagement_notes_updated"] == 0
    assert (
        "POST /crm/v3/objects/notes/batch/update"
        not in quiet["api_calls"]["hubspot"]["by_endpoint"]
    )
    shown = json.loads(invoke(config, "show", ann, "--json").stdout)
    by_title = {c["title"]: c for c in shown["engagement"]["campaigns"]}
    assert by_title["November newsletter"]["note_id"] == first["id"]
    assert [e["action"] for e in by_title["November newsletter"]["events"]].count("open") == 3
    text = invoke(config, "show", ann).stdout
    assert "Engagement recorded" in text
    assert "November newsletter" in text


def test_timeline_none_writes_no_note(sim: SandboxDriver, tmp_path: Path) -> None:
    config = fixed(sim, tmp_path, timeline="none")
    run_json(config)
    campaign = send_campaign(sim, "November newsletter")
    record(sim, campaign, {"email": email("shared", 0), "action": "open"})
    report = run_json(config)
    assert report["counts"]["engagement_contacts_written"] == 1
    assert notes(sim) == []
