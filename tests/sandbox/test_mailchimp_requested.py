"""The status-request log (`/_sim/status-requests`): what was asked, refused or not (SDK)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mailchimp_marketing.api_client import ApiClientError

from syncer.sandbox.mailchimp.requested import opted_out_subscribes
from tests.sandbox.test_mailchimp_sdk import sdk
from tests.sandbox.test_mailchimp_support import LIST_ID, Mailchimp, md5

pytestmark = pytest.mark.timeout(30)


def requested(mc: Mailchimp) -> list[dict[str, Any]]:
    return list(mc.admin("GET", "status-requests")["requests"])


def test_a_refused_bare_subscribe_of_an_opted_out_member_is_still_logged(mc: Mailchimp) -> None:
    mc.seed(
        {"email_address": "out@real.org", "status": "unsubscribed"},
        {"email_address": "bounced@real.org", "status": "cleaned"},
        {"email_address": "in@real.org", "status": "subscribed"},
    )
    client = sdk(mc.url)
    for address in ("out@real.org", "bounced@real.org"):
        with pytest.raises(ApiClientError):  # Mailchimp refuses: compliance state
            client.lists.set_list_member(
                LIST_ID, md5(address), {"email_address": address, "status": "subscribed"}
            )
    client.lists.update_list_member(LIST_ID, md5("out@real.org"), {"status": "pending"})
    client.lists.update_list_member(LIST_ID, md5("in@real.org"), {"status": "subscribed"})
    client.lists.update_list_member(LIST_ID, md5("in@real.org"), {"merge_fields": {"FNAME": "A"}})
    rows = requested(mc)
    assert [(r["email"], r["asks"], r["opted_out"], r["via"]) for r in rows] == [
        ("out@real.org", "subscribed", True, "api"),
        ("bounced@real.org", "subscribed", True, "api"),
        ("out@real.org", "pending", True, "api"),
        ("in@real.org", "subscribed", False, "api"),
    ]
    assert [r["email"] for r in opted_out_subscribes(rows)] == ["out@real.org", "bounced@real.org"]
    assert [r["standing"] for r in rows[:2]] == ["unsubscribed", "cleaned"]


def test_a_request_answered_by_a_fault_is_logged_too(mc: Mailchimp) -> None:
    mc.seed({"email_address": "out@real.org", "status": "unsubscribed"})
    mc.admin("POST", "faults", {"rate": 1.0, "kinds": ["429"], "seed": 1})
    response = mc.put("out@real.org", status="subscribed")
    mc.admin("POST", "faults", {"rate": 0})
    assert response.status_code == 429
    assert [(r["asks"], r["opted_out"]) for r in requested(mc)] == [("subscribed", True)]


def test_status_if_new_counts_only_where_mailchimp_applies_it(mc: Mailchimp) -> None:
    mc.seed({"email_address": "out@real.org", "status": "unsubscribed"})
    mc.put("out@real.org", status_if_new="subscribed")  # an existing member: ignored
    mc.put("new@real.org", status_if_new="subscribed")
    mc.call("DELETE", mc.member_path("new@real.org"))
    mc.put("new@real.org", status_if_new="pending")  # back from the archive as pending
    assert [(r["email"], r["asks"], r["standing"]) for r in requested(mc)] == [
        ("out@real.org", None, "unsubscribed"),
        ("new@real.org", "subscribed", None),
        ("new@real.org", "pending", "subscribed"),
    ]
    mc.ok("POST", f"{mc.member_path('new@real.org')}/actions/delete-permanent")
    mc.put("new@real.org", status_if_new="subscribed")  # forgotten: opted out for good
    assert requested(mc)[-1]["opted_out"] is True


def test_batch_operations_are_logged_when_the_batch_is_submitted(mc: Mailchimp) -> None:
    mc.seed(
        {"email_address": "out@real.org", "status": "unsubscribed"},
        {"email_address": "in@real.org", "status": "subscribed"},
    )
    client = sdk(mc.url)
    operations = [
        {
            "method": "PUT",
            "path": f"/lists/{LIST_ID}/members/{md5(address)}",
            "operation_id": str(n),
            "body": json.dumps({"email_address": address, "status": status}),
        }
        for n, (address, status) in enumerate(
            [("out@real.org", "subscribed"), ("in@real.org", "unsubscribed")]
        )
    ]
    operations.append({"method": "GET", "path": "/ping", "operation_id": "2"})
    started = client.batches.start({"operations": operations})
    rows = requested(mc)  # logged at submission, before the batch has run
    assert [(r["email"], r["asks"], r["opted_out"], r["via"]) for r in rows] == [
        ("out@real.org", "subscribed", True, "batch"),
        ("in@real.org", "unsubscribed", False, "batch"),
    ]
    assert mc.wait_for_batch(started["id"])["errored_operations"] == 1
    mc.admin("POST", "reset")
    assert requested(mc) == []
