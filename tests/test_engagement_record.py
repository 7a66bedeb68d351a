"""What `engagement.record` names is what a run records, through the real run: sends (everyone
the campaign went to, read once), abuse reports and unsubscribes, each with its campaign; and
what it does not name is neither read nor written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.engagement_support import engaged_config, invoke, notes, record, run_json, send_campaign
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver

WORLD = InitialWorld(shared=4, hubspot_only=0, mailchimp_only=0, conflicts=0)
SENT_TO = "GET /reports/{campaign_id}/sent-to"
ABUSE = "GET /reports/{campaign_id}/abuse-reports"
UNSUBSCRIBED = "GET /reports/{campaign_id}/unsubscribed"
OPENER, SILENT, COMPLAINER, LEAVER = (email("shared", i) for i in range(4))


def synced(sim: SandboxDriver, tmp_path: Path, record_: list[str]) -> Path:
    sim.seed_world(WORLD)
    config = engaged_config(sim, tmp_path, record=record_)
    assert invoke(config, "check", "--fix").exit_code == 0
    assert run_json(config)["outcome"] == "ok"
    return config


def bodies(sim: SandboxDriver) -> dict[str, str]:
    """Each contact's one note body, by email."""
    ids = {str(c["id"]): c["properties"]["email"] for c in sim.hubspot_contacts(["email"])}
    found: dict[str, str] = {}
    for note in notes(sim):
        (contact,) = note["contacts"]
        assert ids[contact] not in found, "a second note for one person and campaign"
        found[ids[contact]] = note["properties"]["hs_note_body"]
    return found


def calls(report: dict[str, Any]) -> dict[str, int]:
    return dict(report["api_calls"]["mailchimp"]["by_endpoint"])


def test_sends_abuse_and_unsubscribes_are_recorded_with_their_campaign(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = synced(sim, tmp_path, ["send", "open", "unsubscribe", "abuse"])
    campaign = send_campaign(sim, "Spring sale")
    sim.advance(60)
    record(
        sim,
        campaign,
        {"email": OPENER, "action": "open"},
        {"email": COMPLAINER, "action": "abuse"},
        {"email": LEAVER, "action": "unsubscribe", "reason": "Too many emails"},
    )
    report = run_json(config)
    assert report["outcome"] == "ok", report
    read = calls(report)
    assert (read[SENT_TO], read[ABUSE], read[UNSUBSCRIBED]) == (1, 1, 1)
    assert report["counts"]["engagement_notes_created"] == 4, "everyone it was sent to"

    written = bodies(sim)
    assert "Opened 'Spring sale' 1 time." in written[OPENER]
    assert "Was sent 'Spring sale'; no opens or clicks recorded." in written[SILENT]
    assert "Reported 'Spring sale' as spam on " in written[COMPLAINER]
    assert "Unsubscribed after 'Spring sale' on " in written[LEAVER]
    assert "(Too many emails)." in written[LEAVER]
    wants = sim.hubspot_by_email(["email", "newsletter"])
    assert wants[COMPLAINER]["newsletter"] == wants[LEAVER]["newsletter"] == "false", (
        "an abuse report and an unsubscribe opt the person out in HubSpot as well"
    )
    shown = json.loads(invoke(config, "show", COMPLAINER, "--json").stdout)
    (campaign_shown,) = shown["engagement"]["campaigns"]
    assert [e["action"] for e in campaign_shown["events"]] == ["send", "abuse"]

    # Sends are read once per campaign; the rest again, for what is new.
    sim.advance(5)
    again = run_json(config)
    assert SENT_TO not in calls(again)
    assert calls(again)[ABUSE] == 1
    assert again["counts"].get("engagement_notes_updated", 0) == 0, "nothing new, nothing written"
    assert len(notes(sim)) == 4


def test_what_record_does_not_name_is_not_read_nor_written(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = synced(sim, tmp_path, ["open"])
    campaign = send_campaign(sim, "Spring sale")
    record(
        sim,
        campaign,
        {"email": OPENER, "action": "open"},
        {"email": COMPLAINER, "action": "abuse"},
        {"email": LEAVER, "action": "unsubscribe"},
    )
    report = run_json(config)
    assert report["outcome"] == "ok", report
    read = calls(report)
    assert SENT_TO not in read
    assert ABUSE not in read
    assert UNSUBSCRIBED not in read
    assert set(bodies(sim)) == {OPENER}
