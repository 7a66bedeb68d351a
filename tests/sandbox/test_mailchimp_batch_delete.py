"""``DELETE /batches/{id}`` through the official SDK: a pending batch never runs; a started one
keeps what it already did, runs none of the rest, and its results are gone (the simulator's
``_delete_batch`` cites Mailchimp's reference)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from mailchimp_marketing.api_client import ApiClientError

from tests.sandbox.test_mailchimp_sdk import sdk
from tests.sandbox.test_mailchimp_support import (
    LIST_ID,
    TIMEOUT,
    Mailchimp,
    md5,
    wait_until,
)

pytestmark = pytest.mark.timeout(30)
MEMBER = "/3.0/lists/{list_id}/members/{subscriber_hash}"


def upserts(*emails: str) -> dict[str, Any]:
    return {
        "operations": [
            {
                "method": "PUT",
                "path": f"/lists/{LIST_ID}/members/{md5(email)}",
                "operation_id": email,
                "body": json.dumps({"email_address": email, "status_if_new": "subscribed"}),
            }
            for email in emails
        ]
    }


def gone(client: Any, batch_id: str) -> None:
    with pytest.raises(ApiClientError) as raised:
        client.batches.status(batch_id)
    assert raised.value.status_code == 404
    assert json.loads(raised.value.text)["title"] == "Resource Not Found"


def members(mc: Mailchimp, *emails: str) -> list[bool]:
    return [mc.call("GET", mc.member_path(email)).status_code == 200 for email in emails]


def test_a_pending_batch_deleted_never_runs(mc: Mailchimp) -> None:
    client = sdk(mc.url)
    mc.configure(batch_paused=True, batch_delay_s=0.02)
    doomed = client.batches.start(upserts("a@real.org", "b@real.org"))
    assert doomed["status"] == "pending"
    assert client.batches.delete_request(doomed["id"]).status_code == 204
    gone(client, doomed["id"])
    mc.configure(batch_paused=False)
    # Batches run one at a time, in order: once a later one is done, the deleted one had its turn.
    later = client.batches.start(upserts("c@real.org"))
    mc.wait_for_batch(later["id"])
    assert members(mc, "a@real.org", "b@real.org", "c@real.org") == [False, False, True]
    assert mc.admin("GET", "requests")["batch_operations"] == 1
    assert [batch["id"] for batch in client.batches.list()["batches"]] == [later["id"]]


def test_a_started_batch_deleted_keeps_what_ran_and_runs_none_of_the_rest(mc: Mailchimp) -> None:
    client = sdk(mc.url)
    mc.configure(batch_delay_s=0.02)
    pause = {"after": f"batch PUT {MEMBER}", "nth": 1, "method": "POST", "path": "/_sim/config"}
    mc.admin("POST", "triggers", {"triggers": [{**pause, "body": {"batch_paused": True}}]})
    started = client.batches.start(upserts("a@real.org", "b@real.org", "c@real.org"))
    halfway = wait_until(lambda: _after_first(client, started["id"]), 10)
    assert (halfway["status"], halfway["response_body_url"]) == ("started", "")

    client.batches.delete_request(started["id"])
    gone(client, started["id"])
    mc.configure(batch_paused=False)
    later = client.batches.start(upserts("d@real.org"))
    mc.wait_for_batch(later["id"])
    assert members(mc, "a@real.org", "b@real.org", "c@real.org") == [True, False, False]
    assert mc.admin("GET", "requests")["batch_operations"] == 2
    with pytest.raises(ApiClientError) as twice:
        client.batches.delete_request(started["id"])
    assert twice.value.status_code == 404


def test_a_finished_batch_deleted_takes_its_results_with_it(mc: Mailchimp) -> None:
    client = sdk(mc.url)
    mc.configure(batch_delay_s=0.02)
    done = client.batches.start(upserts("a@real.org"))
    finished = mc.wait_for_batch(done["id"])
    client.batches.delete_request(done["id"])
    gone(client, done["id"])
    archive = requests.get(finished["response_body_url"], timeout=TIMEOUT)
    assert (archive.status_code, "NoSuchKey" in archive.text) == (404, True)
    assert members(mc, "a@real.org") == [True]


def _after_first(client: Any, batch_id: str) -> dict[str, Any] | None:
    batch = client.batches.status(batch_id)
    return dict(batch) if batch["finished_operations"] == 1 else None
