"""The official ``mailchimp_marketing`` SDK, unchanged, against the simulator over loopback."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import mailchimp_marketing as MailchimpMarketing
import pytest
import requests
from mailchimp_marketing.api_client import ApiClientError

from tests.sandbox.test_mailchimp_support import API_KEY, LIST_ID, Mailchimp, md5

pytestmark = pytest.mark.timeout(30)


def sdk(url: str, api_key: str = API_KEY) -> Any:
    """The SDK exactly as its README sets it up; only the host moves to loopback."""
    client = MailchimpMarketing.Client()
    client.set_config({"api_key": api_key, "server": "us21"})
    client.api_client.host = f"{url}/3.0"
    return client


def test_ping_and_the_list(mc: Mailchimp) -> None:
    client = sdk(mc.url)
    mc.seed(
        {"email_address": "a@real.org", "status": "subscribed"},
        {"email_address": "b@real.org", "status": "unsubscribed"},
        {"email_address": "c@real.org", "status": "cleaned"},
    )
    assert client.ping.get() == {"health_status": "Everything's Chimpy!"}
    audience = client.lists.get_list(LIST_ID)
    assert audience["id"] == LIST_ID
    stats = audience["stats"]
    assert (stats["member_count"], stats["unsubscribe_count"], stats["cleaned_count"]) == (1, 1, 1)
    assert stats["merge_field_count"] == 2


def test_members_are_added_updated_and_upserted(mc: Mailchimp) -> None:
    client = sdk(mc.url)
    added = client.lists.add_list_member(
        LIST_ID, {"email_address": "Ann@Real.org", "status": "subscribed"}
    )
    assert added["id"] == md5("ann@real.org")
    assert added["email_address"] == "Ann@Real.org"
    updated = client.lists.update_list_member(
        LIST_ID, added["id"], {"merge_fields": {"FNAME": "Ann"}}
    )
    assert updated["merge_fields"] == {"FNAME": "Ann", "LNAME": ""}
    upserted = client.lists.set_list_member(
        LIST_ID,
        md5("bob@real.org"),
        {"email_address": "bob@real.org", "status_if_new": "pending"},
    )
    assert upserted["status"] == "pending"
    again = client.lists.set_list_member(
        LIST_ID, "bob@real.org", {"email_address": "bob@real.org", "status_if_new": "subscribed"}
    )
    assert again["status"] == "pending", "status_if_new must not touch an existing member"
    assert client.lists.get_list_member(LIST_ID, "ann@real.org")["full_name"] == "Ann"


def test_since_last_changed_through_the_sdk(mc: Mailchimp) -> None:
    client = sdk(mc.url)
    mc.seed(
        {"email_address": "old@real.org", "last_changed": "2024-01-01T10:00:00+00:00"},
        {"email_address": "new@real.org", "last_changed": "2024-01-01T12:00:00+00:00"},
    )
    page = client.lists.get_list_members_info(
        LIST_ID,
        since_last_changed="2024-01-01T11:00:00+00:00",
        fields=["members.email_address", "members.last_changed", "total_items"],
        count=1000,
    )
    assert page == {
        "members": [{"email_address": "new@real.org", "last_changed": "2024-01-01T12:00:00+00:00"}],
        "total_items": 1,
    }


@pytest.mark.parametrize(
    ("body", "title"),
    [
        ({"email_address": "dup@real.org", "status": "subscribed"}, "Member Exists"),
        ({"email_address": "someone@example.com", "status": "subscribed"}, "Invalid Resource"),
    ],
    ids=["member-exists", "fake-address"],
)
def test_400s_raise_api_client_error_with_a_parseable_problem(
    mc: Mailchimp, body: dict[str, str], title: str
) -> None:
    mc.seed({"email_address": "dup@real.org"})
    with pytest.raises(ApiClientError) as raised:
        sdk(mc.url).lists.add_list_member(LIST_ID, body)
    assert raised.value.status_code == 400
    # The SDK hands back problem+json bodies as text: it only decodes "application/json".
    problem = json.loads(raised.value.text)
    assert problem["title"] == title
    assert problem["status"] == 400
    assert set(problem) >= {"type", "title", "status", "detail", "instance"}


def test_a_wrong_key_is_a_401_the_sdk_reports(mc: Mailchimp) -> None:
    with pytest.raises(ApiClientError) as raised:
        sdk(mc.url, "ffffffffffffffffffffffffffffffff-us21").ping.get()
    assert raised.value.status_code == 401
    assert json.loads(raised.value.text)["title"] == "API Key Invalid"


def test_a_batch_runs_to_finished_and_its_archive_parses(mc: Mailchimp) -> None:
    client = sdk(mc.url)
    operations = [
        {
            "method": "PUT",
            "path": f"/lists/{LIST_ID}/members/{md5(email)}",
            "operation_id": f"op-{index}",
            "body": json.dumps({"email_address": email, "status_if_new": "subscribed"}),
        }
        for index, email in enumerate(["x@real.org", "y@real.org", "bad@example.com"])
    ]
    started = client.batches.start({"operations": operations})
    assert started["status"] == "pending"
    assert started["response_body_url"] == ""
    finished = mc.wait_for_batch(started["id"])
    polled = client.batches.status(started["id"])
    assert polled["status"] == "finished"
    assert (polled["finished_operations"], polled["errored_operations"]) == (3, 1)
    assert finished["completed_at"] != ""
    download = requests.get(polled["response_body_url"], timeout=10)
    assert download.status_code == 200
    results: dict[str, dict[str, Any]] = {}
    with tarfile.open(fileobj=io.BytesIO(download.content), mode="r:gz") as archive:
        for entry in archive.getmembers():
            handle = archive.extractfile(entry) if entry.isfile() else None
            content = handle.read() if handle else b""
            for result in json.loads(content) if content else []:
                results[result["operation_id"]] = result
    assert sorted(results) == ["op-0", "op-1", "op-2"]
    assert json.loads(results["op-0"]["response"])["email_address"] == "x@real.org"
    assert results["op-2"]["status_code"] == 400
    assert json.loads(results["op-2"]["response"])["title"] == "Invalid Resource"
    assert client.lists.get_list_member(LIST_ID, "y@real.org")["status"] == "subscribed"


@pytest.mark.parametrize(
    ("field", "options", "good", "bad", "message"),
    [
        (
            "date",
            {"date_format": "DD/MM/YYYY"},
            "31/03/2026",
            "2026-03-31",
            "Please enter the date",
        ),
        (
            "date",
            {"date_format": "MM/DD/YYYY"},
            "03/31/2026",
            "31/03/2026",
            "Please enter the date",
        ),
        ("date", {}, "2026-03-31", "03/31/2026", "Please enter the date"),
        (
            "birthday",
            {"date_format": "DD/MM"},
            "31/03",
            "1990-03-31",
            "Please enter a month (01-12) and a day (01-31)",
        ),
        ("text", {}, "x" * 255, "x" * 256, "Please enter a value of 255 characters or fewer"),
    ],
    ids=["date-dd-mm", "date-mm-dd", "date-default", "birthday", "text-255"],
)
def test_merge_values_follow_the_fields_format_and_length_through_the_sdk(
    mc: Mailchimp, field: str, options: dict[str, str], good: str, bad: str, message: str
) -> None:
    """A date in the field's own `date_format`, a birthday it can read, at most 255 characters
    of text (reference §12.3); the refusal names the field, and the value is kept as sent."""
    client = sdk(mc.url)
    client.lists.add_list_merge_field(
        LIST_ID, {"tag": "VALUE", "name": "Value", "type": field, "options": options}
    )
    body = {"email_address": "ann@real.org", "status_if_new": "subscribed"}
    with pytest.raises(ApiClientError) as raised:
        client.lists.set_list_member(
            LIST_ID, md5("ann@real.org"), {**body, "merge_fields": {"VALUE": bad}}
        )
    problem = json.loads(raised.value.text)
    assert (problem["title"], problem["detail"]) == (
        "Invalid Resource",
        "Your merge fields were invalid.",
    )
    assert problem["errors"] == [{"field": "VALUE", "message": message}]
    member = client.lists.set_list_member(
        LIST_ID, md5("ann@real.org"), {**body, "merge_fields": {"VALUE": good}}
    )
    assert member["merge_fields"]["VALUE"] == good
