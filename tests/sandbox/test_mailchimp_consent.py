"""Mailchimp's consent rules as the simulator enforces them (reference §5), as a truth table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.sandbox.test_mailchimp_support import LIST_ID, Mailchimp, md5

pytestmark = pytest.mark.timeout(30)
EMAIL = "pat@real.org"
COMPLIANCE = "Member In Compliance State"
FORGOTTEN = "Forgotten Email Not Subscribed"


def seeded(status: str) -> Callable[[Mailchimp], None]:
    return lambda mc: mc.seed({"email_address": EMAIL, "status": status})


def api_status(status: str) -> Callable[[Mailchimp], None]:
    return lambda mc: mc.ok("PATCH", mc.member_path(EMAIL), json={"status": status})


def archived(mc: Mailchimp) -> None:
    mc.ok("DELETE", mc.member_path(EMAIL))


def forgotten(mc: Mailchimp) -> None:
    mc.ok("POST", f"{mc.member_path(EMAIL)}/actions/delete-permanent")


def locks_off(mc: Mailchimp) -> None:
    mc.configure(api_unsubscribe_locks=False)


STATES: dict[str, list[Callable[[Mailchimp], None]]] = {
    "absent": [],
    "subscribed": [seeded("subscribed")],
    "pending": [seeded("pending")],
    "transactional": [seeded("transactional")],
    "unsubscribed": [seeded("unsubscribed")],
    "unsubscribed-by-api": [seeded("subscribed"), api_status("unsubscribed")],
    "unsubscribed-by-api-unlocked": [seeded("subscribed"), locks_off, api_status("unsubscribed")],
    "pending-after-unsubscribe": [seeded("unsubscribed"), api_status("pending")],
    "cleaned": [seeded("cleaned")],
    "cleaned-then-unsubscribed": [seeded("cleaned"), locks_off, api_status("unsubscribed")],
    "archived-subscribed": [seeded("subscribed"), archived],
    "archived-unsubscribed": [seeded("unsubscribed"), archived],
    "archived-cleaned": [seeded("cleaned"), archived],
    "seeded-archived": [seeded("archived")],
    "forgotten": [seeded("subscribed"), forgotten],
}

# state, PUT body, expected HTTP status, expected title (errors), status afterwards (None: absent)
TABLE: list[tuple[str, dict[str, Any], int, str | None, str | None]] = [
    ("absent", {"status_if_new": "subscribed"}, 200, None, "subscribed"),
    ("absent", {"status_if_new": "pending"}, 200, None, "pending"),
    ("absent", {"status_if_new": "transactional"}, 200, None, "transactional"),
    ("subscribed", {"status": "subscribed"}, 200, None, "subscribed"),
    ("subscribed", {"status": "unsubscribed"}, 200, None, "unsubscribed"),
    ("pending", {"status": "unsubscribed"}, 200, None, "unsubscribed"),
    ("pending", {"status": "subscribed"}, 200, None, "subscribed"),
    ("transactional", {"status": "unsubscribed"}, 200, None, "unsubscribed"),
    ("transactional", {"status": "subscribed"}, 200, None, "subscribed"),
    ("unsubscribed", {"status": "subscribed"}, 400, COMPLIANCE, "unsubscribed"),
    ("unsubscribed", {"status": "pending"}, 200, None, "pending"),
    ("unsubscribed", {"status_if_new": "subscribed"}, 200, None, "unsubscribed"),
    ("unsubscribed-by-api", {"status": "subscribed"}, 400, COMPLIANCE, "unsubscribed"),
    ("unsubscribed-by-api-unlocked", {"status": "subscribed"}, 200, None, "subscribed"),
    ("pending-after-unsubscribe", {"status": "subscribed"}, 400, COMPLIANCE, "pending"),
    ("cleaned", {"status": "subscribed"}, 400, COMPLIANCE, "cleaned"),
    ("cleaned", {"status": "pending"}, 400, COMPLIANCE, "cleaned"),
    ("cleaned", {"status": "unsubscribed"}, 200, None, "unsubscribed"),
    ("cleaned-then-unsubscribed", {"status": "subscribed"}, 400, COMPLIANCE, "unsubscribed"),
    ("archived-subscribed", {"status_if_new": "subscribed"}, 200, None, "subscribed"),
    ("archived-subscribed", {"status": "unsubscribed"}, 200, None, "unsubscribed"),
    ("archived-unsubscribed", {"status_if_new": "subscribed"}, 400, COMPLIANCE, "archived"),
    ("archived-unsubscribed", {"status_if_new": "pending"}, 200, None, "pending"),
    ("archived-cleaned", {"status": "pending"}, 400, COMPLIANCE, "archived"),
    ("seeded-archived", {"status_if_new": "subscribed"}, 200, None, "subscribed"),
    ("forgotten", {"status_if_new": "subscribed"}, 400, FORGOTTEN, None),
    ("forgotten", {"status_if_new": "pending"}, 400, FORGOTTEN, None),
    ("forgotten", {"status_if_new": "unsubscribed"}, 200, None, "unsubscribed"),
    ("subscribed", {"status": "archived"}, 400, "Invalid Resource", "subscribed"),
    ("absent", {"status_if_new": "archived"}, 400, "Invalid Resource", None),
]


def _row_id(row: tuple[str, dict[str, Any], int, str | None, str | None]) -> str:
    state, body, _, _, _ = row
    return f"{state}-{'-'.join(f'{key}={value}' for key, value in body.items())}"


@pytest.mark.parametrize(
    ("state", "body", "code", "title", "after"), TABLE, ids=[_row_id(row) for row in TABLE]
)
def test_status_changes_through_put(
    mc: Mailchimp, state: str, body: dict[str, Any], code: int, title: str | None, after: str | None
) -> None:
    for step in STATES[state]:
        step(mc)
    response = mc.put(EMAIL, **body)
    assert response.status_code == code, response.text
    if title is not None:
        assert response.headers["Content-Type"] == "application/problem+json; charset=utf-8"
        assert response.json()["title"] == title
    final = mc.call("GET", mc.member_path(EMAIL))
    assert (final.json()["status"] if final.ok else None) == after


def test_the_compliance_detail_reads_as_in_the_reference(mc: Mailchimp) -> None:
    seeded("unsubscribed")(mc)
    problem = mc.put(EMAIL, status="subscribed").json()
    assert problem["detail"] == (
        f"{EMAIL} is in a compliance state due to unsubscribe, bounce, or compliance review "
        "and cannot be subscribed."
    )


def test_the_forgotten_detail_reads_as_in_the_reference(mc: Mailchimp) -> None:
    for step in STATES["forgotten"]:
        step(mc)
    response = mc.call(
        "POST", f"/lists/{LIST_ID}/members", json={"email_address": EMAIL, "status": "subscribed"}
    )
    assert response.json()["detail"] == (
        f"{EMAIL} was permanently deleted and cannot be re-imported. "
        "The contact must re-subscribe to get back on the list."
    )


def test_a_forgotten_address_readded_as_unsubscribed_stays_locked(mc: Mailchimp) -> None:
    for step in [*STATES["forgotten"], locks_off]:
        step(mc)
    assert mc.put(EMAIL, status_if_new="transactional").status_code == 200
    assert mc.put(EMAIL, status="subscribed").json()["title"] == COMPLIANCE


def test_pending_sends_a_confirmation_and_only_the_person_can_confirm(mc: Mailchimp) -> None:
    seeded("unsubscribed")(mc)
    assert mc.put(EMAIL, status="pending").json()["status"] == "pending"
    assert [email["email"] for email in mc.admin("GET", "emails")["emails"]] == [EMAIL]
    assert mc.put(EMAIL, status="subscribed").status_code == 400
    assert mc.admin("POST", "confirm", {"email": EMAIL}) == {"ok": True}
    assert mc.status_of(EMAIL) == "subscribed"


def test_the_person_unsubscribing_locks_even_when_api_unsubscribes_do_not(mc: Mailchimp) -> None:
    locks_off(mc)
    seeded("subscribed")(mc)
    assert mc.admin("POST", "unsubscribe", {"email": EMAIL}) == {"ok": True}
    assert mc.status_of(EMAIL) == "unsubscribed"
    assert mc.put(EMAIL, status="subscribed").json()["title"] == COMPLIANCE


def test_post_of_an_existing_address_is_member_exists(mc: Mailchimp) -> None:
    seeded("unsubscribed")(mc)
    response = mc.call(
        "POST", f"/lists/{LIST_ID}/members", json={"email_address": EMAIL, "status": "pending"}
    )
    assert response.status_code == 400
    assert response.json()["title"] == "Member Exists"


def test_post_readds_an_archived_member(mc: Mailchimp) -> None:
    for step in STATES["archived-subscribed"]:
        step(mc)
    added = mc.ok(
        "POST", f"/lists/{LIST_ID}/members", json={"email_address": EMAIL, "status": "subscribed"}
    )
    assert (added["status"], added["id"]) == ("subscribed", md5(EMAIL))


def test_refused_changes_never_reach_the_transition_log(mc: Mailchimp) -> None:
    for step in STATES["cleaned"]:
        step(mc)
    mc.put(EMAIL, status="subscribed")
    mc.put(EMAIL, status="pending")
    assert [
        (row["from"], row["to"], row["via"])
        for row in mc.admin("GET", "transitions")["transitions"]
    ] == [(None, "cleaned", "seed")]
