"""Mailchimp tags in the simulator: writes with ``is_syncing``, tags as static segments.

Checked through the official ``mailchimp_marketing`` SDK where it has the call; the rules and
their sources are in sandbox/mailchimp/tags.py.
"""

from __future__ import annotations

import json

import pytest
from mailchimp_marketing.api_client import ApiClientError

from tests.sandbox.test_mailchimp_sdk import sdk
from tests.sandbox.test_mailchimp_support import LIST_ID, Mailchimp, md5

pytestmark = pytest.mark.timeout(30)


def test_tag_writes_through_the_sdk_record_is_syncing(mc: Mailchimp) -> None:
    mc.seed({"email_address": "ann@real.org", "status": "subscribed"})
    client = sdk(mc.url)
    body = {"tags": [{"name": "MQL", "status": "active"}], "is_syncing": True}
    assert (
        client.lists.update_list_member_tags(LIST_ID, md5("ann@real.org"), body).status_code == 204
    )
    client.lists.update_list_member_tags(
        LIST_ID, md5("ann@real.org"), {"tags": [{"name": "VIP", "status": "active"}]}
    )
    tags = client.lists.get_list_member_tags(LIST_ID, md5("ann@real.org"))["tags"]
    assert sorted(tag["name"] for tag in tags) == ["MQL", "VIP"]
    writes = mc.admin("GET", "tag-writes")["writes"]
    assert [(w["tag"], w["is_syncing"]) for w in writes] == [("MQL", True), ("VIP", False)]


def test_is_syncing_must_be_a_boolean_and_a_missing_member_is_404(mc: Mailchimp) -> None:
    mc.seed({"email_address": "ann@real.org", "status": "subscribed"})
    client = sdk(mc.url)
    with pytest.raises(ApiClientError) as refused:
        client.lists.update_list_member_tags(
            LIST_ID,
            md5("ann@real.org"),
            {"tags": [{"name": "MQL", "status": "active"}], "is_syncing": "yes"},
        )
    assert refused.value.status_code == 400
    assert json.loads(refused.value.text)["errors"][0]["field"] == "is_syncing"
    with pytest.raises(ApiClientError) as missing:
        client.lists.update_list_member_tags(
            LIST_ID, md5("nobody@real.org"), {"tags": [{"name": "MQL", "status": "active"}]}
        )
    assert missing.value.status_code == 404


def test_tags_are_static_segments_with_members_and_a_500_cap(mc: Mailchimp) -> None:
    mc.seed(
        {"email_address": "ann@real.org", "status": "subscribed", "tags": ["MQL"]},
        {"email_address": "bob@real.org", "status": "subscribed"},
    )
    client = sdk(mc.url)
    segments = client.lists.list_segments(LIST_ID, type="static")["segments"]
    assert [(s["name"], s["member_count"]) for s in segments] == [("MQL", 1)]
    segment_id = segments[0]["id"]
    members = client.lists.get_segment_members_list(LIST_ID, segment_id)["members"]
    assert [m["email_address"] for m in members] == ["ann@real.org"]
    answer = client.lists.batch_segment_members(
        {"members_to_add": ["bob@real.org"]}, LIST_ID, segment_id
    )
    assert answer["total_added"] == 1
    too_many = [f"p{i}@real.org" for i in range(501)]
    with pytest.raises(ApiClientError) as refused:
        client.lists.batch_segment_members({"members_to_add": too_many}, LIST_ID, segment_id)
    assert "at most 500 items" in json.loads(refused.value.text)["detail"]


def test_a_tag_change_moves_last_changed_and_a_repeat_does_not(mc: Mailchimp) -> None:
    """Tag edits move ``last_changed`` like other edits (Kestra's Mailchimp plugin docs), so an
    incremental member read sees tags changed in Mailchimp; a write changing nothing does not."""
    mc.seed(
        {"email_address": "ann@real.org", "status": "subscribed", "tags": ["Old"]},
        {"email_address": "bob@real.org", "status": "subscribed"},
    )
    client = sdk(mc.url)
    members = f"/lists/{LIST_ID}/members"

    def changed(email: str) -> str:
        return str(mc.ok("GET", f"{members}/{md5(email)}")["last_changed"])

    seeded = changed("ann@real.org")
    mc.admin("POST", "clock", {"advance": 60})
    edit = {"tags": [{"name": "MQL", "status": "active"}, {"name": "Old", "status": "inactive"}]}
    client.lists.update_list_member_tags(LIST_ID, md5("ann@real.org"), edit)
    moved = changed("ann@real.org")
    assert moved > seeded
    since = mc.ok("GET", members, params={"since_last_changed": seeded})["members"]
    assert [m["email_address"] for m in since] == ["ann@real.org"]

    mc.admin("POST", "clock", {"advance": 60})
    client.lists.update_list_member_tags(LIST_ID, md5("ann@real.org"), edit)
    assert changed("ann@real.org") == moved, "a tag write that changes nothing moves nothing"

    (segment,) = [
        s
        for s in client.lists.list_segments(LIST_ID, type="static")["segments"]
        if s["name"] == "MQL"
    ]
    before = changed("bob@real.org")
    client.lists.batch_segment_members({"members_to_add": ["bob@real.org"]}, LIST_ID, segment["id"])
    assert changed("bob@real.org") > before, "a segment member add is a tag edit too"
