"""Campaigns, their reports and the ``/_sim/campaigns`` admin API (issue 16's Mailchimp side)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.sandbox.test_mailchimp_batches import results, submit
from tests.sandbox.test_mailchimp_support import LIST_ID, TIMEOUT, Mailchimp, md5

pytestmark = pytest.mark.timeout(30)
PEOPLE = ["ann@real.org", "bob@real.org", "cat@real.org"]


def audience(mc: Mailchimp, *emails: str) -> None:
    mc.seed(*({"email_address": email, "status": "subscribed"} for email in emails))


def send(mc: Mailchimp, title: str = "November newsletter", **body: Any) -> dict[str, Any]:
    sent: dict[str, Any] = mc.admin("POST", "campaigns", {"title": title, **body})
    return sent


def record(mc: Mailchimp, campaign_id: str, *events: dict[str, Any]) -> Any:
    return mc.admin(
        "POST", "campaigns/events", {"campaign_id": campaign_id, "events": list(events)}
    )


def activity(mc: Mailchimp, campaign_id: str, **params: Any) -> dict[str, Any]:
    found: dict[str, Any] = mc.ok("GET", f"/reports/{campaign_id}/email-activity", params=params)
    return found


# -- campaigns -------------------------------------------------------------------------------------


def test_a_sent_campaign_goes_to_every_subscribed_member_and_is_listed(mc: Mailchimp) -> None:
    audience(mc, *PEOPLE)
    mc.seed({"email_address": "gone@real.org", "status": "unsubscribed"})
    sent = send(mc, subject_line="Hello", send_time="2026-11-03T10:00:00Z")
    assert sent["emails_sent"] == 3
    assert sent["send_time"] == "2026-11-03T10:00:00+00:00"
    listing = mc.ok("GET", "/campaigns", params={"status": "sent"})
    assert listing["total_items"] == 1
    campaign = listing["campaigns"][0]
    assert campaign["id"] == sent["id"]
    assert len(campaign["id"]) == 10
    assert (campaign["status"], campaign["type"], campaign["emails_sent"]) == ("sent", "regular", 3)
    assert campaign["settings"]["subject_line"] == "Hello"
    assert campaign["settings"]["title"] == "November newsletter"
    assert campaign["recipients"]["list_id"] == LIST_ID
    assert mc.ok("GET", f"/campaigns/{sent['id']}")["web_id"] == sent["web_id"]


def test_send_time_bounds_are_exclusive_and_sorting_and_fields_apply(mc: Mailchimp) -> None:
    audience(mc, *PEOPLE)
    days = ["2026-11-01", "2026-11-02", "2026-11-03"]
    ids = [send(mc, f"C{n}", send_time=f"{day}T10:00:00Z")["id"] for n, day in enumerate(days)]
    since = {"since_send_time": "2026-11-01T10:00:00+00:00", "sort_field": "send_time"}
    later = mc.ok("GET", "/campaigns", params={**since, "sort_dir": "DESC"})
    assert [c["id"] for c in later["campaigns"]] == [ids[2], ids[1]]
    before = mc.ok("GET", "/campaigns", params={"before_send_time": "2026-11-02T10:00:00Z"})
    assert [c["id"] for c in before["campaigns"]] == [ids[0]]
    trimmed = mc.ok(
        "GET", "/campaigns", params={"fields": "campaigns.id,campaigns.send_time,total_items"}
    )
    assert trimmed["campaigns"][0] == {"id": ids[0], "send_time": "2026-11-01T10:00:00+00:00"}
    assert trimmed["total_items"] == 3
    assert mc.ok("GET", "/campaigns", params={"status": "save"})["total_items"] == 0
    assert mc.ok("GET", "/campaigns", params={"list_id": "otherlist1"})["total_items"] == 0
    paged = mc.ok("GET", "/campaigns", params={"count": 1, "offset": 1})
    assert [c["id"] for c in paged["campaigns"]] == [ids[1]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"count": 1001}, "count"),
        ({"status": "done"}, "status"),
        ({"sort_field": "title"}, "sort_field"),
        ({"since_send_time": "yesterday"}, "since_send_time"),
    ],
)
def test_bad_campaign_listing_parameters_are_refused(
    mc: Mailchimp, params: dict[str, Any], field: str
) -> None:
    response = mc.call("GET", "/campaigns", params=params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_a_deleted_campaign_is_a_404_everywhere(mc: Mailchimp) -> None:
    audience(mc, *PEOPLE)
    campaign_id = send(mc)["id"]
    mc.admin("POST", "campaigns/delete", {"campaign_id": campaign_id})
    for path in ("/campaigns/{}", "/reports/{}/email-activity", "/reports/{}/unsubscribed"):
        response = mc.call("GET", path.format(campaign_id))
        assert response.status_code == 404
        problem = response.json()
        assert problem["title"] == "Resource Not Found"
        assert problem["detail"] == "The requested resource could not be found."
    assert mc.ok("GET", "/campaigns")["total_items"] == 0


# -- email activity --------------------------------------------------------------------------------


def test_email_activity_lists_every_recipient_with_events_in_time_order(mc: Mailchimp) -> None:
    audience(mc, *PEOPLE)
    campaign_id = send(mc, send_time="2026-11-03T10:00:00Z")["id"]
    record(
        mc,
        campaign_id,
        {
            "email": "bob@real.org",
            "action": "click",
            "url": "https://x.org/a",
            "timestamp": "2026-11-03T12:00:00Z",
        },
        {
            "email": "bob@real.org",
            "action": "open",
            "timestamp": "2026-11-03T11:00:00Z",
            "ip": "203.0.113.9",
        },
        {
            "email": "cat@real.org",
            "action": "bounce",
            "type": "soft",
            "timestamp": "2026-11-03T10:05:00Z",
        },
    )
    report = activity(mc, campaign_id)
    assert report["campaign_id"] == campaign_id
    assert report["total_items"] == 3
    ann, bob, cat = report["emails"]
    assert ann["email_address"] == "ann@real.org"
    assert ann["activity"] == []
    assert bob["email_id"] == md5("bob@real.org")
    assert bob["list_id"] == LIST_ID
    assert bob["activity"][0] == {
        "action": "open",
        "timestamp": "2026-11-03T11:00:00+00:00",
        "ip": "203.0.113.9",
    }
    click = bob["activity"][1]
    assert (click["action"], click["url"], click["timestamp"]) == (
        "click",
        "https://x.org/a",
        "2026-11-03T12:00:00+00:00",
    )
    assert click["ip"]
    assert cat["activity"] == [
        {"action": "bounce", "type": "soft", "timestamp": "2026-11-03T10:05:00+00:00"}
    ]


def test_since_keeps_only_later_events_and_the_people_who_have_them(mc: Mailchimp) -> None:
    audience(mc, *PEOPLE)
    campaign_id = send(mc, send_time="2026-11-03T10:00:00Z")["id"]
    opens = [
        ("ann@real.org", "11:00:00"),
        ("bob@real.org", "12:00:00"),
        ("ann@real.org", "13:00:00"),
    ]
    record(
        mc,
        campaign_id,
        *(
            {"email": email, "action": "open", "timestamp": f"2026-11-03T{at}Z"}
            for email, at in opens
        ),
    )
    report = activity(mc, campaign_id, since="2026-11-03T12:00:00+00:00")
    assert report["total_items"] == 1
    only = report["emails"][0]
    assert only["email_address"] == "ann@real.org"
    assert [event["timestamp"] for event in only["activity"]] == ["2026-11-03T13:00:00+00:00"]


def test_email_activity_pages_fields_and_the_count_limit(mc: Mailchimp) -> None:
    emails = [f"p{n:02d}@real.org" for n in range(25)]
    audience(mc, *emails)
    campaign_id = send(mc)["id"]
    walked = [
        item["email_address"]
        for offset in (0, 10, 20)
        for item in activity(mc, campaign_id, count=10, offset=offset)["emails"]
    ]
    assert walked == emails
    trimmed = activity(
        mc, campaign_id, count=2, fields="emails.email_address,emails.activity,total_items"
    )
    assert trimmed == {
        "emails": [
            {"email_address": emails[0], "activity": []},
            {"email_address": emails[1], "activity": []},
        ],
        "total_items": 25,
    }
    too_many = mc.call("GET", f"/reports/{campaign_id}/email-activity", params={"count": 1001})
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["field"] == "count"


def test_email_activity_runs_inside_a_batch(mc: Mailchimp) -> None:
    audience(mc, *PEOPLE)
    first = send(mc, "One")["id"]
    second = send(mc, "Two")["id"]
    record(mc, second, {"email": "ann@real.org", "action": "open"})
    mc.admin("POST", "campaigns/delete", {"campaign_id": first})
    operations = [
        {
            "method": "GET",
            "path": f"/reports/{campaign_id}/email-activity",
            "operation_id": campaign_id,
            "params": {"count": "1000", "fields": "emails.email_address,emails.activity"},
        }
        for campaign_id in (first, second)
    ]
    batch = mc.wait_for_batch(submit(mc, *operations)["id"])
    assert (batch["total_operations"], batch["errored_operations"]) == (2, 1)
    found = results(batch["response_body_url"])
    assert found[first]["status_code"] == 404
    body = json.loads(found[second]["response"])
    assert [item["email_address"] for item in body["emails"]] == PEOPLE
    assert body["emails"][0]["activity"][0]["action"] == "open"


# -- what events do to the audience ----------------------------------------------------------------


def test_a_hard_bounce_cleans_the_member_and_a_soft_one_does_not(mc: Mailchimp) -> None:
    audience(mc, *PEOPLE)
    campaign_id = send(mc)["id"]
    record(
        mc,
        campaign_id,
        {"email": "ann@real.org", "action": "bounce", "type": "hard"},
        {"email": "bob@real.org", "action": "bounce", "type": "soft"},
    )
    assert mc.status_of("ann@real.org") == "cleaned"
    assert mc.status_of("bob@real.org") == "subscribed"
    moves = mc.admin("GET", "transitions")["transitions"]
    assert {"email": "ann@real.org", "from": "subscribed", "to": "cleaned"}.items() <= moves[
        -1
    ].items()
    assert moves[-1]["via"] == "campaign"
    sent_to = mc.ok("GET", f"/reports/{campaign_id}/sent-to")
    assert [row["status"] for row in sent_to["sent_to"]] == ["hard", "soft", "sent"]
    assert sent_to["total_items"] == 3
    refused = mc.put("ann@real.org", status="subscribed")
    assert refused.json()["title"] == "Member In Compliance State"


def test_an_unsubscribe_through_a_campaign_is_reported_with_that_campaign(mc: Mailchimp) -> None:
    audience(mc, *PEOPLE)
    campaign_id = send(mc)["id"]
    record(
        mc,
        campaign_id,
        {
            "email": "bob@real.org",
            "action": "unsubscribe",
            "timestamp": "2026-11-04T09:00:00Z",
            "reason": "I no longer want to receive these emails",
        },
    )
    assert mc.status_of("bob@real.org") == "unsubscribed"
    report = mc.ok("GET", f"/reports/{campaign_id}/unsubscribed")
    assert report["total_items"] == 1
    assert report["campaign_id"] == campaign_id
    row = report["unsubscribes"][0]
    assert (row["email_address"], row["email_id"], row["campaign_id"]) == (
        "bob@real.org",
        md5("bob@real.org"),
        campaign_id,
    )
    assert row["timestamp"] == "2026-11-04T09:00:00+00:00"
    assert row["reason"] == "I no longer want to receive these emails"
    assert row["list_id"] == LIST_ID
    assert "FNAME" in row["merge_fields"]
    assert activity(mc, campaign_id)["emails"][1]["activity"] == []
    assert mc.put("bob@real.org", status="subscribed").status_code == 400


def test_an_abuse_report_unsubscribes_and_is_listed_for_the_list_and_campaign(
    mc: Mailchimp,
) -> None:
    audience(mc, *PEOPLE)
    campaign_id = send(mc)["id"]
    record(mc, campaign_id, {"email": "cat@real.org", "action": "abuse"})
    assert mc.status_of("cat@real.org") == "unsubscribed"
    by_list = mc.ok("GET", f"/lists/{LIST_ID}/abuse-reports")
    by_campaign = mc.ok("GET", f"/reports/{campaign_id}/abuse-reports")
    assert by_list["total_items"] == by_campaign["total_items"] == 1
    row = by_list["abuse_reports"][0]
    assert (row["campaign_id"], row["email_address"], row["id"]) == (campaign_id, "cat@real.org", 1)
    assert row["date"]


def test_an_event_for_someone_not_sent_the_campaign_records_nothing(mc: Mailchimp) -> None:
    audience(mc, *PEOPLE)
    campaign_id = send(mc, recipients=["ann@real.org"])["id"]
    answer = requests.post(
        f"{mc.url}/_sim/campaigns/events",
        json={
            "campaign_id": campaign_id,
            "events": [
                {"email": "ann@real.org", "action": "open"},
                {"email": "bob@real.org", "action": "open"},
            ],
        },
        timeout=TIMEOUT,
    )
    assert answer.status_code == 404
    assert activity(mc, campaign_id)["emails"][0]["activity"] == []
    assert activity(mc, campaign_id)["total_items"] == 1


# -- the benchmark seed ----------------------------------------------------------------------------


def test_the_seed_makes_campaigns_with_the_asked_rates_and_leaves_the_audience(
    mc: Mailchimp,
) -> None:
    emails = [f"s{n:03d}@real.org" for n in range(400)]
    audience(mc, *emails)
    body = {"campaigns": 2, "recipients": 300, "open_rate": 0.5, "click_rate": 0.1, "seed": 3}
    made = mc.admin("POST", "campaigns/seed", body)
    assert len(made["campaigns"]) == 2
    assert made["sends"] == 600
    assert made["bounces"] == 2 * round(300 * 0.005)
    assert made["unsubscribes"] == 2 * round(300 * 0.002)
    listed = mc.ok("GET", "/campaigns", params={"sort_field": "send_time"})["campaigns"]
    assert [c["id"] for c in listed] == made["campaigns"]
    assert [c["settings"]["title"] for c in listed] == ["Newsletter 1", "Newsletter 2"]
    summary = listed[0]["report_summary"]
    assert summary["unique_opens"] == 150
    assert 0 < summary["subscriber_clicks"] <= 150
    report = activity(mc, made["campaigns"][0], count=1000)
    assert report["total_items"] == 300
    assert sum(1 for item in report["emails"] if item["activity"]) >= 150
    assert mc.ok("GET", f"/lists/{LIST_ID}")["stats"]["member_count"] == 400
    mc.admin("POST", "reset")
    audience(mc, *emails)
    again = mc.admin("POST", "campaigns/seed", body)
    assert {key: value for key, value in again.items() if key != "campaigns"} == {
        key: value for key, value in made.items() if key != "campaigns"
    }


def test_the_seed_adds_later_activity_to_existing_campaigns(mc: Mailchimp) -> None:
    audience(mc, *(f"s{n:03d}@real.org" for n in range(100)))
    campaign_id = mc.admin("POST", "campaigns/seed", {"campaigns": 1})["campaigns"][0]
    mc.admin("POST", "clock", {"advance": 3600})
    since = mc.admin("POST", "clock", {"advance": 0})["now"]
    mc.admin("POST", "clock", {"advance": 60})
    more = mc.admin(
        "POST",
        "campaigns/seed",
        {
            "campaign_ids": [campaign_id],
            "open_rate": 0.1,
            "click_rate": 0,
            "bounce_rate": 0,
            "unsubscribe_rate": 0,
            "from": since,
            "opens_per_opener": 1,
        },
    )
    assert (more["campaigns"], more["opens"], more["clicks"]) == ([campaign_id], 10, 0)
    assert activity(mc, campaign_id, since=since)["total_items"] == 10


def test_reset_drops_campaigns(mc: Mailchimp) -> None:
    audience(mc, *PEOPLE)
    send(mc)
    mc.admin("POST", "reset")
    assert mc.ok("GET", "/campaigns")["total_items"] == 0
