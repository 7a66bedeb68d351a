"""Batch operations: lifecycle, the result archive, its expiry, the pending cap and DELETE."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import time
from typing import Any

import pytest
import requests

from tests.sandbox.test_mailchimp_support import (
    LIST_ID,
    TIMEOUT,
    Mailchimp,
    md5,
)

pytestmark = pytest.mark.timeout(30)
STATUSES = ["pending", "preprocessing", "started", "finalizing", "finished"]


def put(email: str, operation_id: str, field: str = "status_if_new") -> dict[str, Any]:
    return {
        "method": "PUT",
        "path": f"/lists/{LIST_ID}/members/{md5(email)}",
        "operation_id": operation_id,
        "body": json.dumps({"email_address": email, field: "subscribed"}),
    }


def submit(mc: Mailchimp, *operations: dict[str, Any]) -> dict[str, Any]:
    batch: dict[str, Any] = mc.ok("POST", "/batches", json={"operations": list(operations)})
    return batch


def entries(url: str) -> list[tuple[tarfile.TarInfo, bytes]]:
    """Download without the API's Authorization header, as the URL is pre-signed."""
    download = requests.get(url, timeout=TIMEOUT)
    assert download.status_code == 200, download.text
    with tarfile.open(fileobj=io.BytesIO(download.content), mode="r:gz") as archive:
        return [(entry, _read(archive, entry)) for entry in archive.getmembers()]


def _read(archive: tarfile.TarFile, entry: tarfile.TarInfo) -> bytes:
    handle = archive.extractfile(entry)
    return handle.read() if handle is not None else b""


def results(url: str) -> dict[str, dict[str, Any]]:
    found = [row for _, content in entries(url) if content for row in json.loads(content)]
    return {row["operation_id"]: row for row in found}


def test_a_batch_walks_every_status_in_order(mc: Mailchimp) -> None:
    mc.configure(batch_delay_s=0.15)
    batch = submit(mc, *(put(f"m{n}@real.org", f"op-{n}") for n in range(3)))
    assert len(batch["id"]) == 10
    assert int(batch["id"], 16) >= 0
    assert batch["id"] == batch["id"].lower()
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while (not seen or seen[-1]["status"] != "finished") and time.monotonic() < deadline:
        seen.append(mc.ok("GET", f"/batches/{batch['id']}"))
    statuses = [snapshot["status"] for snapshot in seen]
    assert list(dict.fromkeys(statuses)) == STATUSES
    unfinished = [snapshot for snapshot in seen if snapshot["status"] != "finished"]
    assert all(s["completed_at"] == s["response_body_url"] == "" for s in unfinished)
    done = [snapshot["finished_operations"] for snapshot in seen]
    assert done == sorted(done)
    assert (seen[-1]["total_operations"], seen[-1]["finished_operations"]) == (3, 3)
    assert seen[-1]["completed_at"] != ""
    assert seen[-1]["response_body_url"].startswith(
        f"{mc.url}/_batch-results/{batch['id']}.tar.gz?"
    )


def test_the_archive_layout_matches_the_reference(mc: Mailchimp) -> None:
    mc.configure(archive_split=2)
    mc.seed({"email_address": "gone@real.org", "status": "cleaned"})
    tag = {
        "method": "POST",
        "path": f"/lists/{LIST_ID}/members/{md5('m0@real.org')}/tags",
        "operation_id": "tag",
        "body": json.dumps({"tags": [{"name": "customer", "status": "active"}]}),
    }
    batch = submit(
        mc,
        *(put(f"m{n}@real.org", f"op-{n}") for n in range(3)),
        tag,
        put("gone@real.org", "gone", "status"),
    )
    url = mc.wait_for_batch(batch["id"])["response_body_url"]
    raw = requests.get(url, timeout=TIMEOUT).content
    assert raw[:2] == b"\x1f\x8b", "gzip, not a Content-Encoding"
    assert gzip.decompress(raw)[:3] == b"./\x00", "the first entry is named ./"
    listing = entries(url)
    first, _ = listing[0]
    assert first.isdir()
    files = listing[1:]
    assert all(entry.isfile() and entry.name.startswith("./") for entry, _ in files)
    assert all(entry.name.endswith(".json") for entry, _ in files)
    assert sorted(len(json.loads(content)) if content else 0 for _, content in files) == [
        0,
        1,
        2,
        2,
    ]
    found = results(url)
    assert sorted(found) == ["gone", "op-0", "op-1", "op-2", "tag"]
    assert found["tag"] == {"status_code": 204, "operation_id": "tag", "response": ""}
    assert isinstance(found["op-1"]["response"], str)
    assert json.loads(found["op-1"]["response"])["email_address"] == "m1@real.org"
    assert found["gone"]["status_code"] == 400
    assert json.loads(found["gone"]["response"])["title"] == "Member In Compliance State"
    assert mc.ok("GET", f"/batches/{batch['id']}")["errored_operations"] == 1


def test_without_the_empty_file_every_file_holds_results_in_shuffled_order(mc: Mailchimp) -> None:
    mc.configure(archive_empty_file=False)
    batch = submit(mc, *(put(f"m{n}@real.org", f"{n:03d}") for n in range(60)))
    url = mc.wait_for_batch(batch["id"])["response_body_url"]
    files = entries(url)[1:]
    assert len(files) == 1
    order = [row["operation_id"] for row in json.loads(files[0][1])]
    assert sorted(order) == [f"{n:03d}" for n in range(60)]
    assert order != sorted(order)


def test_the_archive_url_expires_and_rejects_a_bad_signature(mc: Mailchimp) -> None:
    batch = submit(mc, put("a@real.org", "a"))
    url = mc.wait_for_batch(batch["id"])["response_body_url"]
    forged = requests.get(url[:-4] + "0000", timeout=TIMEOUT)
    assert forged.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in forged.text
    mc.admin("POST", "clock", {"advance": 601})
    expired = requests.get(url, timeout=TIMEOUT)
    assert expired.status_code == 403
    assert "Request has expired" in expired.text
    renewed = mc.ok("GET", f"/batches/{batch['id']}")["response_body_url"]
    assert renewed != url
    assert requests.get(renewed, timeout=TIMEOUT).status_code == 200


def test_too_many_unfinished_batches_is_a_429(mc: Mailchimp) -> None:
    mc.configure(max_pending_batches=2, batch_paused=True)
    submit(mc, put("a@real.org", "a"))
    submit(mc, put("b@real.org", "b"))
    refused = mc.call("POST", "/batches", json={"operations": [put("c@real.org", "c")]})
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/problem+json; charset=utf-8"
    assert refused.json()["title"] == "Too Many Requests"


def test_paused_batches_make_no_progress_and_run_in_submission_order(mc: Mailchimp) -> None:
    mc.configure(batch_paused=True)
    first = submit(mc, put("a@real.org", "a"))
    second = submit(mc, put("b@real.org", "b"))
    time.sleep(0.1)
    assert mc.ok("GET", f"/batches/{first['id']}")["status"] == "pending"
    mc.configure(batch_paused=False, batch_delay_s=0.05)
    while mc.ok("GET", f"/batches/{first['id']}")["status"] != "finished":
        assert mc.ok("GET", f"/batches/{second['id']}")["status"] == "pending"
    mc.wait_for_batch(second["id"])
    listed = mc.ok("GET", "/batches", params={"count": 1, "offset": 1})
    assert listed["total_items"] == 2
    assert [batch["id"] for batch in listed["batches"]] == [second["id"]]


def test_delete_stops_a_batch_before_its_operations_run(mc: Mailchimp) -> None:
    mc.configure(batch_paused=True)
    batch = submit(mc, put("a@real.org", "a"))
    assert mc.call("DELETE", f"/batches/{batch['id']}").status_code == 204
    mc.configure(batch_paused=False)
    time.sleep(0.2)
    assert mc.call("GET", f"/batches/{batch['id']}").status_code == 404
    assert mc.call("GET", mc.member_path("a@real.org")).status_code == 404
    assert mc.admin("GET", "requests")["batch_operations"] == 0


def test_operations_run_through_the_api_routes_and_are_counted_apart(mc: Mailchimp) -> None:
    mc.seed({"email_address": "x@real.org"})
    listing = {
        "method": "GET",
        "path": f"/lists/{LIST_ID}/members",
        "operation_id": "list",
        "params": {"count": 1, "fields": "total_items"},
    }
    broken = {
        "method": "PUT",
        "path": f"/lists/{LIST_ID}/members/x",
        "operation_id": "broken",
        "body": "{",
    }
    nowhere = {"method": "GET", "path": "/nowhere", "operation_id": "nowhere"}
    batch = submit(mc, put("a@real.org", "a"), listing, broken, nowhere)
    found = results(mc.wait_for_batch(batch["id"])["response_body_url"])
    assert json.loads(found["list"]["response"]) == {"total_items": 2}
    assert json.loads(found["broken"]["response"])["title"] == "JSON Parse Error"
    assert found["nowhere"]["status_code"] == 404
    counts = mc.admin("GET", "requests")
    assert counts["batch_operations"] == 4
    assert "PUT /3.0/lists/{list_id}/members/{subscriber_hash}" not in counts["counts"]
    transitions = mc.admin("GET", "transitions")["transitions"]
    assert [(row["email"], row["via"]) for row in transitions][-1] == ("a@real.org", "batch")


@pytest.mark.parametrize(
    "envelope",
    [
        [],
        {"operations": {"method": "GET"}},
        {"operations": [{"path": "/ping"}]},
        {"operations": [{"method": "FETCH", "path": "/ping"}]},
        {"operations": [{"method": "GET", "path": "ping"}]},
        {"operations": [{"method": "PUT", "path": "/ping", "body": {"status": "subscribed"}}]},
        {"operations": [{"method": "GET", "path": "/ping", "params": ["count"]}]},
    ],
    ids=[
        "array",
        "operations-object",
        "no-method",
        "bad-method",
        "relative-path",
        "object-body",
        "params-list",
    ],
)
def test_a_malformed_envelope_is_a_400_and_starts_nothing(mc: Mailchimp, envelope: Any) -> None:
    response = mc.call("POST", "/batches", json=envelope)
    assert response.status_code == 400
    assert response.json()["title"] == "Invalid Resource"
    assert mc.ok("GET", "/batches")["total_items"] == 0


def test_reset_drops_batches(mc: Mailchimp) -> None:
    mc.configure(batch_paused=True)
    submit(mc, put("a@real.org", "a"))
    mc.admin("POST", "reset")
    assert mc.ok("GET", "/batches")["total_items"] == 0
    mc.configure(batch_paused=False)
    time.sleep(0.1)
    assert mc.call("GET", mc.member_path("a@real.org")).status_code == 404
