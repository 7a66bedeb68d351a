"""Auth, limits, faults and the ``/_sim/`` admin API (whose shapes outside tests rely on)."""

from __future__ import annotations

import io
import json
import tarfile
import threading

import pytest
import requests

from tests.sandbox.test_mailchimp_support import (
    API_KEY,
    LIST_ID,
    TIMEOUT,
    Mailchimp,
)

pytestmark = pytest.mark.timeout(30)
PROBLEM = "application/problem+json; charset=utf-8"


@pytest.mark.parametrize(
    "auth",
    [None, ("anystring", "wrong-us21"), ("anystring", API_KEY.upper())],
    ids=["missing", "wrong-key", "wrong-case"],
)
def test_anything_but_the_key_is_api_key_invalid(
    mc: Mailchimp, auth: tuple[str, str] | None
) -> None:
    response = requests.get(f"{mc.url}/3.0/ping", auth=auth, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["title"] == "API Key Invalid"
    assert problem["instance"] == response.headers["X-Request-Id"]


def test_any_username_works(mc: Mailchimp) -> None:
    response = requests.get(f"{mc.url}/3.0/ping", auth=("CiviCRM", API_KEY), timeout=TIMEOUT)
    assert response.json() == {"health_status": "Everything's Chimpy!"}
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["X-Request-Id"]


def test_a_wrong_method_is_405_and_an_unknown_path_404(mc: Mailchimp) -> None:
    assert mc.call("DELETE", "/ping").json()["title"] == "Method Not Allowed"
    assert mc.call("GET", "/nowhere").json()["title"] == "Resource Not Found"


def _concurrent(mc: Mailchimp, how_many: int) -> list[requests.Response]:
    barrier = threading.Barrier(how_many)
    answers: list[requests.Response] = []

    def one() -> None:
        barrier.wait(timeout=TIMEOUT)
        answers.append(mc.call("GET", "/ping"))

    threads = [threading.Thread(target=one) for _ in range(how_many)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    return answers


def test_eleven_simultaneous_requests_get_at_least_one_429(mc: Mailchimp) -> None:
    mc.configure(latency_ms=1500)  # long enough to overlap even on a loaded machine
    answers = _concurrent(mc, 11)
    refused = [answer for answer in answers if answer.status_code == 429]
    assert len(answers) == 11
    assert refused
    assert sum(answer.status_code == 200 for answer in answers) == 11 - len(refused)
    problem = refused[0].json()
    assert (problem["title"], problem["detail"]) == (
        "Too Many Requests",
        "You have exceeded the limit of 10 simultaneous connections.",
    )
    mc.configure(latency_ms=0)
    assert mc.call("GET", "/ping").status_code == 200, "finished requests free their slots"


def test_ten_simultaneous_requests_are_all_served(mc: Mailchimp) -> None:
    mc.configure(latency_ms=300)
    assert sorted(answer.status_code for answer in _concurrent(mc, 10)) == [200] * 10


def test_reset_empties_members_batches_fields_and_counts(mc: Mailchimp) -> None:
    mc.seed(
        {"email_address": "a@real.org"},
        merge_fields=[{"tag": "CITY", "name": "City", "type": "text"}],
    )
    mc.ok("POST", "/batches", json={"operations": []})
    assert mc.admin("POST", "reset") == {"ok": True}
    assert mc.ok("GET", f"/lists/{LIST_ID}/members")["total_items"] == 0
    assert mc.ok("GET", "/batches")["total_items"] == 0
    fields = mc.ok("GET", f"/lists/{LIST_ID}/merge-fields")["merge_fields"]
    assert [(field["merge_id"], field["tag"]) for field in fields] == [(1, "FNAME"), (2, "LNAME")]
    assert mc.admin("GET", "transitions") == {"transitions": []}
    assert mc.admin("GET", "requests")["counts"] == {
        "GET /3.0/lists/{list_id}/members": 1,
        "GET /3.0/batches": 1,
        "GET /3.0/lists/{list_id}/merge-fields": 1,
    }


def test_seed_answers_its_count_and_upserts(mc: Mailchimp) -> None:
    answer = mc.seed(
        {"email_address": "a@real.org", "merge_fields": {"CITY": "Lyon"}, "tags": ["vip"]},
        {"email_address": "b@real.org", "status": "transactional", "interests": {"Jobs": True}},
        merge_fields=[{"tag": "CITY", "name": "City", "type": "text"}],
        interest_categories=[{"title": "Topics", "interests": ["Jobs"]}],
    )
    assert answer == {"members": 2}
    member = mc.ok("GET", mc.member_path("a@real.org"))
    assert member["merge_fields"]["CITY"] == "Lyon"
    assert [tag["name"] for tag in member["tags"]] == ["vip"]
    assert list(mc.ok("GET", mc.member_path("b@real.org"))["interests"].values()) == [True]
    cleaned = mc.seed(
        {"email_address": "A@real.org", "status": "cleaned", "last_changed": "2025-02-03T04:05:06Z"}
    )
    assert cleaned == {"members": 1}
    member = mc.ok("GET", mc.member_path("a@real.org"))
    assert (member["status"], member["last_changed"]) == ("cleaned", "2025-02-03T04:05:06+00:00")
    assert member["merge_fields"]["CITY"] == "Lyon", "a seed upsert keeps what it does not mention"
    assert mc.ok("GET", f"/lists/{LIST_ID}/members")["total_items"] == 2


def test_seeding_an_unknown_merge_tag_is_refused(mc: Mailchimp) -> None:
    response = requests.post(
        f"{mc.url}/_sim/seed",
        json={"members": [{"email_address": "a@real.org", "merge_fields": {"NOPE": 1}}]},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400


def test_the_clock_moves_forward_and_stamps_follow_it(mc: Mailchimp) -> None:
    before = mc.put("a@real.org", status_if_new="subscribed").json()["last_changed"]
    moved = mc.admin("POST", "clock", {"advance": 86400})
    assert set(moved) == {"now"}
    after = mc.put("a@real.org", status="unsubscribed").json()["last_changed"]
    assert after[:10] > before[:10]
    assert moved["now"][:10] == after[:10]


def test_config_answers_every_setting_and_refuses_unknown_ones(mc: Mailchimp) -> None:
    settings = mc.configure(archive_split=7)
    assert set(settings) == {
        "latency_ms", "slow_s", "batch_delay_s", "max_connections", "fake_domains",
        "max_pending_batches", "archive_ttl_s", "archive_split", "archive_empty_file",
        "batch_paused", "api_unsubscribe_locks",
    }  # fmt: skip
    assert settings["archive_split"] == 7
    response = requests.post(f"{mc.url}/_sim/config", json={"nope": 1}, timeout=TIMEOUT)
    assert response.status_code == 400
    mc.configure(fake_domains=[])
    assert mc.put("someone@example.com", status_if_new="subscribed").status_code == 200


def test_a_seeded_500_fault_fails_requests_until_the_rate_is_zero(mc: Mailchimp) -> None:
    assert mc.admin("POST", "faults", {"rate": 1, "kinds": ["500"], "seed": 7})["rate"] == 1
    failed = mc.call("GET", "/ping")
    assert failed.status_code == 500
    assert failed.headers["Content-Type"] == PROBLEM
    assert failed.json()["instance"] == failed.headers["X-Request-Id"]
    mc.admin("POST", "faults", {"rate": 0})
    assert mc.call("GET", "/ping").status_code == 200


def test_a_403_fault_is_bare_and_a_429_fault_is_a_problem(mc: Mailchimp) -> None:
    mc.admin("POST", "faults", {"rate": 1, "kinds": ["403"]})
    bare = mc.call("GET", "/ping")
    assert (bare.status_code, bare.content) == (403, b"")
    mc.admin("POST", "faults", {"rate": 1, "kinds": ["429"]})
    limited = mc.call("GET", "/ping")
    assert limited.status_code == 429
    assert limited.json()["title"] == "Too Many Requests"


def test_truncated_archive_strikes_archives_only(mc: Mailchimp) -> None:
    batch = mc.ok("POST", "/batches", json={"operations": [{"method": "GET", "path": "/ping"}]})
    url = mc.wait_for_batch(batch["id"])["response_body_url"]
    mc.admin("POST", "faults", {"rate": 1, "kinds": ["truncated_archive"]})
    assert mc.call("GET", "/ping").status_code == 200
    with pytest.raises((tarfile.TarError, EOFError, OSError)):
        _entries(url)
    mc.admin("POST", "faults", {"rate": 1, "kinds": ["malformed"]})
    assert [name for name in _entries(url) if name.endswith(".json")], "malformed spares archives"


def _entries(url: str) -> list[str]:
    content = requests.get(url, timeout=TIMEOUT).content
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
        return archive.getnames()


def test_requests_are_counted_by_template_with_batch_operations_apart(mc: Mailchimp) -> None:
    mc.put("a@real.org", status_if_new="subscribed")
    mc.put("b@real.org", status_if_new="subscribed")
    operation = {"method": "GET", "path": "/ping"}
    batch = mc.ok("POST", "/batches", json={"operations": [operation, operation, operation]})
    mc.wait_for_batch(batch["id"])
    seen = mc.admin("GET", "requests")
    counts = seen["counts"]
    assert counts["PUT /3.0/lists/{list_id}/members/{subscriber_hash}"] == 2
    assert counts["POST /3.0/batches"] == 1
    assert seen["batch_operations"] == counts["batch_operations"] == 3
    assert seen["total"] == sum(value for key, value in counts.items() if key != "batch_operations")


def test_transitions_record_every_status_change_with_its_channel(mc: Mailchimp) -> None:
    mc.seed({"email_address": "a@real.org", "status": "unsubscribed"})
    mc.put("a@real.org", status="pending")
    mc.admin("POST", "confirm", {"email": "a@real.org"})
    mc.admin("POST", "unsubscribe", {"email": "a@real.org"})
    batch = mc.ok(
        "POST",
        "/batches",
        json={"operations": [{"method": "DELETE", "path": f"/lists/{LIST_ID}/members/a@real.org"}]},
    )
    mc.wait_for_batch(batch["id"])
    mc.ok("POST", f"{mc.member_path('a@real.org')}/actions/delete-permanent")
    rows = mc.admin("GET", "transitions")["transitions"]
    assert all(set(row) == {"email", "from", "to", "at", "via"} for row in rows)
    assert [(row["from"], row["to"], row["via"]) for row in rows] == [
        (None, "unsubscribed", "seed"),
        ("unsubscribed", "pending", "api"),
        ("pending", "subscribed", "person"),
        ("subscribed", "unsubscribed", "person"),
        ("unsubscribed", "archived", "batch"),
        ("archived", None, "api"),
    ]


@pytest.mark.parametrize("action", ["unsubscribe", "confirm"])
def test_person_actions_404_for_unknown_addresses(mc: Mailchimp, action: str) -> None:
    response = requests.post(
        f"{mc.url}/_sim/{action}", json={"email": "nobody@real.org"}, timeout=TIMEOUT
    )
    assert response.status_code == 404
    assert json.loads(response.text)["status"] == 404
