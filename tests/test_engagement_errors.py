"""Bad input in engagement is reported per person (or campaign) by `syncer errors`, with what to
do, and never stops the contact sync: a campaign deleted in Mailchimp, activity for a member
syncer does not know, a contact deleted in HubSpot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from syncer.core import causes
from tests.engagement_support import (
    PROPERTY_SPECS,
    delete_campaign,
    engaged_config,
    invoke,
    record,
    run_json,
    send_campaign,
)
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver

WORLD = InitialWorld(shared=5, hubspot_only=0, mailchimp_only=0, conflicts=0)


def synced(sim: SandboxDriver, tmp_path: Path) -> Path:
    sim.seed_hubspot(WORLD.hubspot_contacts(), properties=PROPERTY_SPECS)
    sim.seed_mailchimp(WORLD.mailchimp_members())
    config = engaged_config(sim, tmp_path, timeline="none")
    assert run_json(config)["outcome"] == "ok"
    return config


def groups(config: Path) -> dict[str, dict[str, Any]]:
    listed = invoke(config, "errors", "--json")
    assert listed.exit_code == 0, listed.output
    return {group["cause"]: group for group in json.loads(listed.stdout)["groups"]}


def test_a_campaign_deleted_in_mailchimp_is_reported_and_its_record_kept(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = synced(sim, tmp_path)
    campaign = send_campaign(sim, "Spring sale")
    record(sim, campaign, {"email": email("shared", 0), "action": "open"})
    assert run_json(config)["counts"]["engagement_events"] == 1
    delete_campaign(sim, campaign)
    sim.hubspot_edit(_id(sim, 1), {"firstname": "Renamed"})
    sim.advance(30)
    report = run_json(config)
    assert report["outcome"] == "ok", report
    assert report["counts"]["written_mailchimp"] == 1, "the contact sync goes on"
    group = groups(config)[causes.ENGAGEMENT_CAMPAIGN_GONE]
    assert "'Spring sale'" in group["reason"]
    assert "deleted in Mailchimp" in group["reason"]
    shown = json.loads(invoke(config, "show", email("shared", 0), "--json").stdout)
    assert [c["title"] for c in shown["engagement"]["campaigns"]] == ["Spring sale"]


def test_activity_of_a_member_syncer_does_not_know_is_reported_not_recorded(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = synced(sim, tmp_path)
    stranger = "stranger@example.org"
    sim.seed_mailchimp([{"email_address": stranger, "status": "subscribed"}])
    campaign = send_campaign(sim, "Spring sale")
    record(sim, campaign, {"email": stranger, "action": "open"})
    record(sim, campaign, {"email": email("shared", 0), "action": "open"})
    # The backfill reads activity without a contact sync first: the new member is unknown.
    loaded = invoke(config, "engagement", "--backfill", "--since", "2026-01-01", "--json")
    assert loaded.exit_code == 0, loaded.output
    counts = json.loads(loaded.stdout)["counts"]
    assert counts["engagement_events"] == 1
    assert counts["engagement_unknown"] == 1
    group = groups(config)[causes.ENGAGEMENT_UNKNOWN_MEMBER]
    assert group["emails"] == [stranger]
    assert "does not know" in group["reason"]


def test_a_contact_deleted_in_hubspot_is_reported_and_the_rest_written(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = synced(sim, tmp_path)
    campaign = send_campaign(sim, "Spring sale")
    gone, kept = email("shared", 0), email("shared", 1)
    record(
        sim,
        campaign,
        {"email": gone, "action": "open"},
        {"email": kept, "action": "open"},
    )
    sim.hubspot_delete(gone)
    report = run_json(config)
    assert report["outcome"] == "partial"
    assert report["counts"]["engagement_contacts_written"] == 1
    assert {
        "email": gone,
        "reason": "the HubSpot contact was deleted: its engagement is not written",
    } in report["failures"]
    assert groups(config)[causes.ENGAGEMENT_CONTACT_GONE]["emails"] == [gone]
    assert (
        sim.hubspot_by_email(["email", "mailchimp_opens_90d"])[kept]["mailchimp_opens_90d"] == "1"
    )


def _id(sim: SandboxDriver, index: int) -> str:
    (found,) = [
        c["id"]
        for c in sim.hubspot_contacts(["email"])
        if c["properties"]["email"] == email("shared", index)
    ]
    return str(found)
