"""The simulators' test-only timeline (syncer.sandbox.timeline): when each request arrived, ran
and was answered, and which records it named; the soak reads it to place a write in time."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from syncer.core.identity import subscriber_hash
from tests.support.sandbox import SandboxDriver, wait_until

UPDATE = "POST /crm/v3/objects/contacts/batch/update"
MEMBER = "/3.0/lists/{list_id}/members/{subscriber_hash}"


def test_a_slow_update_shows_it_ran_after_its_wait_and_names_its_contacts(
    sim: SandboxDriver,
) -> None:
    ids = sim.seed_hubspot([{"properties": {"email": f"p{n}@example.com"}} for n in range(2)])
    sim.configure("hubspot", {"slow_s": 0.3})
    sim.faults("hubspot", {"rate": 1, "kinds": ["slow"], "paths": [UPDATE]})
    begun = time.time()
    body = {"inputs": [{"id": cid, "properties": {"firstname": "X"}} for cid in ids]}
    url = f"{sim.hs_url}/crm/v3/objects/contacts/batch/update"
    assert sim.http.post(url, json=body, headers=sim.hs_headers, timeout=10).status_code == 200

    (entry,) = [e for e in sim.timeline("hubspot", begun) if e["key"] == UPDATE]
    assert (entry["subjects"], entry["fault"], entry["status"]) == (ids, "slow", 200)
    assert begun <= entry["arrived"]
    assert entry["ran"] - entry["arrived"] >= 0.3
    assert entry["ran"] <= entry["done"]
    assert sim.timeline("hubspot", entry["done"] + 1) == []


def test_a_batch_operation_names_its_member_and_its_batch(sim: SandboxDriver) -> None:
    sim.seed_mailchimp([{"email_address": "ann@example.com", "status": "subscribed"}])
    begun = time.time()
    hashed = subscriber_hash("ann@example.com")
    operation = {
        "method": "PATCH",
        "path": f"/lists/{sim.list_id}/members/{hashed}",
        "body": '{"merge_fields": {"FNAME": "Ann"}}',
    }
    answer = sim.http.post(
        f"{sim.mc_url}/batches", json={"operations": [operation]}, auth=sim.mc_auth, timeout=10
    )
    batch_id = answer.json()["id"]
    sim.settle_batches()

    def ran() -> list[dict[str, object]]:
        return [e for e in sim.timeline("mailchimp", begun) if e["key"] == f"batch PATCH {MEMBER}"]

    wait_until(lambda: bool(ran()), 10, "the batch operation is not in the timeline")
    (submitted,) = [e for e in sim.timeline("mailchimp", begun) if e["key"] == "POST /3.0/batches"]
    assert submitted["subjects"] == [batch_id]
    (entry,) = ran()
    assert entry["subjects"] == [hashed, batch_id]
    assert entry["status"] == 200
    assert submitted["done"] <= entry["ran"]


def test_a_member_named_by_its_address_is_named_by_its_hash(sim: SandboxDriver) -> None:
    sim.seed_mailchimp([{"email_address": "Ann@Example.com", "status": "subscribed"}])
    begun = time.time()
    sim.mailchimp_edit("Ann@Example.com", {"merge_fields": {"FNAME": "Ann"}})
    (entry,) = [e for e in sim.timeline("mailchimp", begun) if e["key"] == f"PATCH {MEMBER}"]
    assert entry["subjects"] == [subscriber_hash("ann@example.com")]


def test_a_listing_of_changed_members_names_those_it_answered(sim: SandboxDriver) -> None:
    """What a look could have seen: the members on the page, and only for a changed-since
    listing (a full walk names none: it would fill the timeline in a large first sync)."""
    emails = [f"p{n}@example.com" for n in range(3)]
    sim.seed_mailchimp([{"email_address": e, "status": "subscribed"} for e in emails])
    sim.advance(60)
    sim.mailchimp_edit(emails[1], {"merge_fields": {"FNAME": "Edited"}})
    url = f"{sim.mc_url}/lists/{sim.list_id}/members"
    begun = time.time()
    edited = sim.http.get(url, auth=sim.mc_auth, timeout=10).json()["members"][1]["last_changed"]
    since = (datetime.fromisoformat(edited) - timedelta(seconds=30)).isoformat()
    for query in ({"since_last_changed": since}, {}):
        assert sim.http.get(url, params=query, auth=sim.mc_auth, timeout=10).status_code == 200
    listings = [e for e in sim.timeline("mailchimp", begun) if e["key"] == f"GET {MEMBER[:-18]}"]
    assert [e["subjects"] for e in listings] == [[], [subscriber_hash(emails[1])], []]
