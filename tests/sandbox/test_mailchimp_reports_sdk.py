"""The official ``mailchimp_marketing`` SDK reading campaigns and reports from the simulator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mailchimp_marketing.api_client import ApiClientError

from tests.sandbox.test_mailchimp_sdk import sdk
from tests.sandbox.test_mailchimp_support import LIST_ID, Mailchimp, md5

pytestmark = pytest.mark.timeout(30)


def test_the_sdk_lists_sent_campaigns_since_a_time(mc: Mailchimp) -> None:
    mc.seed(*({"email_address": f"{name}@real.org"} for name in ("ann", "bob")))
    for day in (1, 2):
        mc.admin(
            "POST", "campaigns", {"title": f"Day {day}", "send_time": f"2026-11-0{day}T10:00:00Z"}
        )
    client = sdk(mc.url)
    # The SDK sends a datetime as its ISO text, offset included (``+00:00``, often unencoded).
    since = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    listing = client.campaigns.list(
        status="sent", since_send_time=since, count=1000, sort_field="send_time", sort_dir="DESC"
    )
    assert [c["settings"]["title"] for c in listing["campaigns"]] == ["Day 2"]
    assert listing["total_items"] == 1
    campaign = client.campaigns.get(listing["campaigns"][0]["id"], fields=["id", "emails_sent"])
    assert campaign == {"id": listing["campaigns"][0]["id"], "emails_sent": 2}
    with pytest.raises(ApiClientError) as missing:
        client.campaigns.get("0000000000")
    assert missing.value.status_code == 404


def test_the_sdk_reads_email_activity_unsubscribes_sends_and_abuse(mc: Mailchimp) -> None:
    mc.seed(*({"email_address": f"{name}@real.org"} for name in ("ann", "bob", "cat")))
    campaign_id = mc.admin("POST", "campaigns", {"title": "News"})["id"]
    events = [
        {"email": "ann@real.org", "action": "open", "timestamp": "2026-11-03T11:00:00Z"},
        {
            "email": "ann@real.org",
            "action": "click",
            "url": "https://x.org/",
            "timestamp": "2026-11-03T11:01:00Z",
        },
        {"email": "bob@real.org", "action": "unsubscribe"},
        {"email": "cat@real.org", "action": "abuse"},
    ]
    mc.admin("POST", "campaigns/events", {"campaign_id": campaign_id, "events": events})
    client = sdk(mc.url)
    report = client.reports.get_email_activity_for_campaign(
        campaign_id,
        since="2026-11-03T11:00:30+00:00",
        count=1000,
        fields=["emails.email_id", "emails.activity", "total_items"],
    )
    assert report == {
        "emails": [
            {
                "email_id": md5("ann@real.org"),
                "activity": [
                    {
                        "action": "click",
                        "timestamp": "2026-11-03T11:01:00+00:00",
                        "url": "https://x.org/",
                        "ip": report["emails"][0]["activity"][0]["ip"],
                    }
                ],
            }
        ],
        "total_items": 1,
    }
    with pytest.raises(ValueError, match="1000"):
        client.reports.get_email_activity_for_campaign(campaign_id, count=1001)
    unsubscribed = client.reports.get_unsubscribed_list_for_campaign(campaign_id)
    assert [row["email_address"] for row in unsubscribed["unsubscribes"]] == ["bob@real.org"]
    sent = client.reports.get_campaign_recipients(campaign_id, count=2, offset=1)
    assert [row["email_address"] for row in sent["sent_to"]] == ["bob@real.org", "cat@real.org"]
    assert sent["total_items"] == 3
    abuse = client.lists.get_list_abuse_reports(LIST_ID)
    assert [row["email_address"] for row in abuse["abuse_reports"]] == ["cat@real.org"]
    by_campaign = client.reports.get_campaign_abuse_reports(campaign_id)
    assert by_campaign["total_items"] == 1
