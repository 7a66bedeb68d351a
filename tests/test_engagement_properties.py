"""Engagement on the contact, through the real CLI against both simulators: the properties.

Opens, clicks and bounces recorded in Mailchimp reach the linked contact's properties on the
next run; a second run with nothing new writes nothing; people only in Mailchimp are left out;
every call is counted in the run's api_calls.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.engagement_support import (
    NAMES,
    PROPERTY_SPECS,
    engaged_config,
    invoke,
    record,
    run_json,
    send_campaign,
)
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver
from tests.test_json_shapes import valid

WORLD = InitialWorld(shared=6, hubspot_only=0, mailchimp_only=2, conflicts=0)


def seeded(sim: SandboxDriver, tmp_path: Path, **engagement: object) -> Path:
    sim.seed_hubspot(WORLD.hubspot_contacts(), properties=PROPERTY_SPECS)
    sim.seed_mailchimp(WORLD.mailchimp_members())
    config = engaged_config(sim, tmp_path, timeline="none", **engagement)
    text = config.read_text().replace("in_hubspot: true", "in_hubspot: false")
    config.write_text(text + "create:\n  in_hubspot: false\n  in_mailchimp: true\n")
    first = run_json(config)
    assert first["outcome"] == "ok"
    return config


def test_activity_reaches_the_linked_contacts_properties_once(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = seeded(sim, tmp_path)
    ann, bob = email("shared", 0), email("shared", 1)
    loner = email("list", 1)  # only in Mailchimp: never linked (create.in_hubspot false)
    campaign = send_campaign(sim, "November newsletter", send_time="2026-11-20T10:00:00Z")
    record(
        sim,
        campaign,
        {"email": ann, "action": "open", "timestamp": "2026-11-20T11:00:00Z"},
        {"email": ann, "action": "open", "timestamp": "2026-11-20T12:00:00Z"},
        {"email": ann, "action": "click", "url": "https://example.com/a"},
        {"email": bob, "action": "bounce", "type": "soft", "timestamp": "2026-11-20T10:05:00Z"},
        {"email": loner, "action": "open"},
    )
    report = run_json(config)
    assert report["outcome"] == "ok", report
    assert report["counts"]["engagement_events"] == 4
    assert report["counts"]["engagement_contacts_written"] == 2
    assert report["counts"]["engagement_unlinked"] == 1
    calls = report["api_calls"]["mailchimp"]["by_endpoint"]
    assert calls["GET /campaigns"] == 1
    assert calls["GET /reports/{campaign_id}/email-activity"] == 1
    assert (
        report["api_calls"]["hubspot"]["by_endpoint"]["POST /crm/v3/objects/contacts/batch/update"]
        == 1
    )

    hubspot = sim.hubspot_by_email(["email", *NAMES])
    assert hubspot[ann]["mailchimp_opens_90d"] == "2"
    assert hubspot[ann]["mailchimp_clicks_90d"] == "1"
    assert hubspot[ann]["mailchimp_last_open"] == "2026-11-20T12:00:00.000Z"
    assert hubspot[ann]["mailchimp_last_campaign"] == "November newsletter"
    assert hubspot[bob]["mailchimp_last_bounce"] == "2026-11-20T10:05:00.000Z"
    assert not hubspot[bob].get("mailchimp_last_open")
    assert not hubspot[email("shared", 2)].get("mailchimp_opens_90d")

    again = run_json(config)
    assert again["counts"]["engagement_events"] == 0
    assert again["counts"]["engagement_contacts_written"] == 0
    assert (
        "POST /crm/v3/objects/contacts/batch/update"
        not in again["api_calls"]["hubspot"]["by_endpoint"]
    )


def test_every_minutes_keeps_a_frequent_cron_from_polling_every_campaign(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = seeded(sim, tmp_path, every_minutes=60)
    campaign = send_campaign(sim, "November newsletter")
    record(sim, campaign, {"email": email("shared", 0), "action": "open"})
    report = run_json(config)
    assert "GET /campaigns" not in report["api_calls"]["mailchimp"]["by_endpoint"]
    assert report["counts"].get("engagement_events", 0) == 0


def test_the_dry_run_shows_the_engagement_writes_and_writes_nothing(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = seeded(sim, tmp_path)
    campaign = send_campaign(sim, "November newsletter")
    record(sim, campaign, {"email": email("shared", 0), "action": "open"})
    writes = sim.writes("hubspot")
    planned = invoke(config, "run", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    valid("plan", plan)
    (write,) = [w for w in plan["writes"] if w["action"] == "engagement"]
    assert write["email"] == email("shared", 0)
    assert {"field": "mailchimp_opens_90d", "old": "", "new": "1"} in write["changes"]
    assert plan["counts"]["hubspot_engagement"] == 1
    assert plan["estimated_write_calls"]["hubspot"] == 1
    assert plan["api_calls"]["mailchimp"]["by_endpoint"]["GET /campaigns"] == 1
    assert sim.writes("hubspot") == writes
    # Nothing was kept: the real run records and writes it all.
    assert run_json(config)["counts"]["engagement_contacts_written"] == 1


def test_status_shows_each_campaigns_cursor_and_the_backlog(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = seeded(sim, tmp_path)
    campaign = send_campaign(sim, "November newsletter")
    record(sim, campaign, {"email": email("shared", 0), "action": "open"})
    run_json(config)
    shown = invoke(config, "status", "--json")
    assert shown.exit_code == 0, shown.output
    status = json.loads(shown.stdout)
    valid("status", status)
    engagement = status["engagement"]
    (polled,) = engagement["campaigns"]
    assert polled["id"] == campaign
    assert polled["cursor"] is not None
    assert polled["reading_from_offset"] is None
    assert engagement["backlog"]["contacts_to_write"] == 0
    assert engagement["last_pass_at"] is not None
    text = invoke(config, "status")
    assert "engagement: last pass" in text.stdout
    assert "November newsletter" in text.stdout
