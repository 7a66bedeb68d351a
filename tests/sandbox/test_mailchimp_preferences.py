"""Groups (interests) and GDPR marketing permissions in the Mailchimp simulator, over HTTP
and through the official SDK, as strict as Mailchimp (sources: sandbox/mailchimp/preferences.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from mailchimp_marketing.api_client import ApiClientError

from syncer.sandbox.loopback import RunningServer
from syncer.sandbox.mailchimp.simulator import MailchimpSimulator
from tests.sandbox.test_mailchimp_batches import results
from tests.sandbox.test_mailchimp_sdk import sdk
from tests.sandbox.test_mailchimp_support import LIST_ID, Mailchimp

pytestmark = pytest.mark.timeout(30)
CATEGORIES = f"/lists/{LIST_ID}/interest-categories"


def groups(mc: Mailchimp) -> dict[str, str]:
    """Seed a category "Topics" with three interests; answer interest name -> id."""
    mc.seed(
        interest_categories=[{"title": "Topics", "interests": ["Events", "News", "Offers"]}],
        marketing_permissions=["Email", "Direct Mail"],
    )
    category = mc.ok("GET", CATEGORIES)["categories"][0]
    interests = mc.ok("GET", f"{CATEGORIES}/{category['id']}/interests")["interests"]
    return {interest["name"]: interest["id"] for interest in interests}


def permission_ids(member: dict[str, Any]) -> dict[str, str]:
    return {p["text"]: p["marketing_permission_id"] for p in member["marketing_permissions"]}


def test_categories_and_interests_have_mailchimps_shapes(mc: Mailchimp) -> None:
    created = mc.ok("POST", CATEGORIES, json={"title": "Topics", "type": "checkboxes"})
    assert set(created) == {"list_id", "id", "title", "display_order", "type", "_links"}
    assert len(created["id"]) == 10
    interest = mc.ok(
        "POST", f"{CATEGORIES}/{created['id']}/interests", json={"name": "Event invites"}
    )
    assert {k: interest[k] for k in ("category_id", "name", "subscriber_count")} == {
        "category_id": created["id"],
        "name": "Event invites",
        "subscriber_count": "0",
    }
    listing = mc.ok("GET", f"{CATEGORIES}/{created['id']}/interests")
    assert (listing["category_id"], listing["total_items"]) == (created["id"], 1)
    bad = mc.call("POST", CATEGORIES, json={"title": "Other", "type": "tickboxes"})
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (400, "type")
    missing = mc.call("GET", f"{CATEGORIES}/0000000000/interests")
    assert missing.status_code == 404


def test_an_audience_has_at_most_60_interests_across_its_categories(mc: Mailchimp) -> None:
    mc.seed(
        interest_categories=[
            {"title": "A", "interests": [f"a{n}" for n in range(30)]},
            {"title": "B", "interests": [f"b{n}" for n in range(30)]},
        ]
    )
    category = mc.ok("GET", CATEGORIES)["categories"][1]["id"]
    refused = mc.call("POST", f"{CATEGORIES}/{category}/interests", json={"name": "one more"})
    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "Cannot have more than 60 interests per list (Across all categories)"
    )
    assert mc.ok("GET", CATEGORIES)["total_items"] == 2
    assert mc.ok("GET", CATEGORIES, params={"count": 1})["categories"][0]["title"] == "A"


def test_a_member_lists_every_interest_and_writes_change_only_those_named(mc: Mailchimp) -> None:
    ids = groups(mc)
    mc.seed({"email_address": "a@real.org", "interests": {"News": True}})
    member = mc.ok("GET", mc.member_path("a@real.org"))
    assert member["interests"] == {ids["Events"]: False, ids["News"]: True, ids["Offers"]: False}
    before = member["last_changed"]
    mc.simulator.clock.advance(5)
    written = mc.ok(
        "PATCH", mc.member_path("a@real.org"), json={"interests": {ids["Events"]: True}}
    )
    assert written["interests"][ids["Events"]]
    assert written["interests"][ids["News"]]
    assert written["last_changed"] > before, "an interest edit moves last_changed"
    same = mc.ok("PATCH", mc.member_path("a@real.org"), json={"interests": {ids["Events"]: True}})
    assert same["last_changed"] == written["last_changed"], "a write changing nothing leaves it"


def test_an_unknown_interest_id_is_refused_whole(mc: Mailchimp) -> None:
    ids = groups(mc)
    mc.seed({"email_address": "a@real.org", "merge_fields": {"FNAME": "Ann"}})
    refused = mc.call(
        "PATCH",
        mc.member_path("a@real.org"),
        json={
            "merge_fields": {"FNAME": "Bo"},
            "interests": {ids["News"]: True, "c06bb4b529": True},
        },
    )
    assert refused.status_code == 400
    body = refused.json()
    assert (body["title"], body["detail"]) == (
        "Invalid Resource",
        "Invalid interest ID: 'c06bb4b529'.",
    )
    member = mc.ok("GET", mc.member_path("a@real.org"))
    assert member["merge_fields"]["FNAME"] == "Ann"
    assert not member["interests"][ids["News"]]
    as_array = mc.call("PATCH", mc.member_path("a@real.org"), json={"interests": [ids["News"]]})
    assert as_array.json()["errors"][0]["message"] == "Schema describes object, array found instead"


def test_a_deleted_interest_leaves_members_and_is_then_unknown(mc: Mailchimp) -> None:
    ids = groups(mc)
    category = mc.ok("GET", CATEGORIES)["categories"][0]["id"]
    mc.seed({"email_address": "a@real.org", "interests": {"News": True}})
    mc.ok("DELETE", f"{CATEGORIES}/{category}/interests/{ids['News']}")
    assert ids["News"] not in mc.ok("GET", mc.member_path("a@real.org"))["interests"]
    refused = mc.call(
        "PATCH", mc.member_path("a@real.org"), json={"interests": {ids["News"]: True}}
    )
    assert refused.status_code == 400


def test_marketing_permissions_show_only_with_gdpr_fields_and_start_disabled(mc: Mailchimp) -> None:
    mc.seed({"email_address": "a@real.org"})
    assert mc.ok("GET", mc.member_path("a@real.org"))["marketing_permissions"] == []
    assert mc.ok("GET", f"/lists/{LIST_ID}")["marketing_permissions"] is False
    groups(mc)
    assert mc.ok("GET", f"/lists/{LIST_ID}")["marketing_permissions"] is True
    member = mc.ok("GET", mc.member_path("a@real.org"))
    assert [(p["text"], p["enabled"]) for p in member["marketing_permissions"]] == [
        ("Email", False),
        ("Direct Mail", False),
    ]
    assert set(member["marketing_permissions"][0]) == {"marketing_permission_id", "text", "enabled"}


def test_permissions_are_granted_and_withdrawn_by_id(mc: Mailchimp) -> None:
    groups(mc)
    mc.seed({"email_address": "a@real.org"})
    ids = permission_ids(mc.ok("GET", mc.member_path("a@real.org")))
    granted = mc.ok(
        "PUT",
        mc.member_path("a@real.org"),
        json={
            "email_address": "a@real.org",
            "marketing_permissions": [{"marketing_permission_id": ids["Email"], "enabled": True}],
        },
    )
    assert [(p["text"], p["enabled"]) for p in granted["marketing_permissions"]] == [
        ("Email", True),
        ("Direct Mail", False),
    ]
    withdrawn = mc.ok(
        "PATCH",
        mc.member_path("a@real.org"),
        json={
            "marketing_permissions": [{"marketing_permission_id": ids["Email"], "enabled": False}]
        },
    )
    assert not withdrawn["marketing_permissions"][0]["enabled"]
    as_object = mc.call(
        "PATCH",
        mc.member_path("a@real.org"),
        json={"marketing_permissions": {"marketing_permission_id": ids["Email"], "enabled": True}},
    )
    assert (
        as_object.json()["errors"][0]["message"] == "Schema describes array, object found instead"
    )


def test_a_permission_of_another_audience_is_refused() -> None:
    other = MailchimpSimulator(api_key="f" * 32 + "-us21", list_id="0ther0aud1")
    other.audience.preferences.add_permission("Email")
    foreign = next(iter(other.audience.preferences.permissions))
    simulator = MailchimpSimulator(api_key="e" * 32 + "-us21", list_id=LIST_ID)
    simulator.audience.preferences.add_permission("Email")
    with RunningServer(simulator).running() as server:
        mc = Mailchimp(server.url, simulator)
        auth = ("x", "e" * 32 + "-us21")
        url = f"{mc.url}/3.0{mc.member_path('a@real.org')}"
        body = {"email_address": "a@real.org", "status_if_new": "subscribed"}
        assert requests.put(url, json=body, auth=auth, timeout=10).ok
        refused = requests.patch(
            url,
            json={"marketing_permissions": [{"marketing_permission_id": foreign, "enabled": True}]},
            auth=auth,
            timeout=10,
        )
        assert refused.status_code == 400
        assert refused.json()["detail"] == f"Invalid marketing permission ID: '{foreign}'."
        member = requests.get(url, auth=auth, timeout=10).json()
        assert [p["enabled"] for p in member["marketing_permissions"]] == [False]


def test_the_member_listing_fields_carry_interests_and_permissions(mc: Mailchimp) -> None:
    ids = groups(mc)
    mc.seed(
        {
            "email_address": "a@real.org",
            "interests": {"Offers": True},
            "marketing_permissions": {"Email": True},
        }
    )
    listing = mc.ok(
        "GET",
        f"/lists/{LIST_ID}/members",
        params={"fields": "members.email_address,members.interests,members.marketing_permissions"},
    )
    (member,) = listing["members"]
    assert set(member) == {"email_address", "interests", "marketing_permissions"}
    assert member["interests"][ids["Offers"]] is True
    assert member["marketing_permissions"][0]["enabled"] is True


def test_interests_and_permissions_ride_in_batch_operations(mc: Mailchimp) -> None:
    ids = groups(mc)
    mc.seed({"email_address": "a@real.org"})
    email_id = permission_ids(mc.ok("GET", mc.member_path("a@real.org")))["Email"]
    body = {
        "email_address": "a@real.org",
        "interests": {ids["Events"]: True},
        "marketing_permissions": [{"marketing_permission_id": email_id, "enabled": True}],
    }
    bad = {"email_address": "a@real.org", "interests": {"0000000000": True}}
    operations = [
        {
            "method": "PUT",
            "path": mc.member_path("a@real.org"),
            "operation_id": "1",
            "body": json.dumps(body),
        },
        {
            "method": "PUT",
            "path": mc.member_path("a@real.org"),
            "operation_id": "2",
            "body": json.dumps(bad),
        },
    ]
    batch = mc.ok("POST", "/batches", json={"operations": operations})
    done = mc.wait_for_batch(batch["id"])
    assert (done["finished_operations"], done["errored_operations"]) == (2, 1)
    by_id = results(done["response_body_url"])
    assert by_id["2"]["status_code"] == 400
    assert "Invalid interest ID" in json.loads(by_id["2"]["response"])["detail"]
    member = mc.ok("GET", mc.member_path("a@real.org"))
    assert member["interests"][ids["Events"]]
    assert member["marketing_permissions"][0]["enabled"]


def test_the_sdk_reads_groups_and_writes_interests_and_permissions(mc: Mailchimp) -> None:
    client = sdk(mc.url)
    ids = groups(mc)
    categories = client.lists.get_list_interest_categories(LIST_ID)
    assert [c["title"] for c in categories["categories"]] == ["Topics"]
    category_id = categories["categories"][0]["id"]
    interests = client.lists.list_interest_category_interests(LIST_ID, category_id)
    assert {i["name"] for i in interests["interests"]} == set(ids)
    made = client.lists.create_interest_category_interest(LIST_ID, category_id, {"name": "Jobs"})
    added = client.lists.set_list_member(
        LIST_ID, "b@real.org", {"email_address": "b@real.org", "status_if_new": "subscribed"}
    )
    email_id = permission_ids(added)["Email"]
    updated = client.lists.update_list_member(
        LIST_ID,
        added["id"],
        {
            "interests": {made["id"]: True},
            "marketing_permissions": [{"marketing_permission_id": email_id, "enabled": True}],
        },
    )
    assert updated["interests"][made["id"]] is True
    assert updated["marketing_permissions"][0]["enabled"] is True
    with pytest.raises(ApiClientError) as refused:
        client.lists.update_list_member(LIST_ID, added["id"], {"interests": {"c06bb4b529": True}})
    assert refused.value.status_code == 400
    assert json.loads(refused.value.text)["detail"] == "Invalid interest ID: 'c06bb4b529'."
