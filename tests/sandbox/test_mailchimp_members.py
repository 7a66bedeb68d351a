"""Members, merge fields and the list: shapes, validation, renames, tags, archive and timestamps."""

from __future__ import annotations

import re
from typing import Any

import pytest

from syncer.sandbox.mailchimp.members import unique_email_id
from tests.sandbox.test_mailchimp_support import LIST_ID, Mailchimp, md5

pytestmark = pytest.mark.timeout(30)
MEMBERS = f"/lists/{LIST_ID}/members"
MERGE_FIELDS = f"/lists/{LIST_ID}/merge-fields"
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")


def test_a_new_member_has_the_reference_shape(mc: Mailchimp) -> None:
    member = mc.put("Ann@Real.org", status_if_new="subscribed").json()
    assert set(member) >= {
        "id", "email_address", "unique_email_id", "contact_id", "full_name", "web_id",
        "email_type", "status", "unsubscribe_reason", "merge_fields", "interests", "stats",
        "ip_signup", "timestamp_signup", "ip_opt", "timestamp_opt", "member_rating",
        "last_changed", "language", "vip", "location", "source", "tags_count", "tags",
        "list_id", "_links",
    }  # fmt: skip
    assert member["id"] == md5("ann@real.org")
    assert member["email_address"] == "Ann@Real.org"
    assert re.fullmatch(r"[0-9a-f]{10}", member["unique_email_id"])
    assert member["merge_fields"] == {"FNAME": "", "LNAME": ""}
    assert member["ip_signup"] == member["ip_opt"] == ""
    assert STAMP.match(member["last_changed"])
    assert STAMP.match(member["timestamp_opt"])
    assert member["list_id"] == LIST_ID


def test_a_member_is_found_by_hash_or_raw_address_and_404s_otherwise(mc: Mailchimp) -> None:
    mc.seed({"email_address": "Ann@Real.org"})
    by_hash = mc.ok("GET", f"{MEMBERS}/{md5('ann@real.org')}")
    assert mc.ok("GET", f"{MEMBERS}/ann@REAL.org")["id"] == by_hash["id"]
    missing = mc.call("GET", f"{MEMBERS}/{md5('nobody@real.org')}")
    assert missing.status_code == 404
    assert missing.json()["title"] == "Resource Not Found"
    assert mc.call("GET", f"/lists/0000000000/members/{by_hash['id']}").status_code == 404
    patched = mc.call("PATCH", f"{MEMBERS}/{md5('nobody@real.org')}", json={"status": "pending"})
    assert patched.status_code == 404


def test_an_unknown_list_is_resource_not_found(mc: Mailchimp) -> None:
    response = mc.call("GET", "/lists/0000000000")
    assert response.status_code == 404
    assert response.json()["title"] == "Resource Not Found"


def test_unset_timestamps_are_empty_strings_and_tags_cap_at_fifty(mc: Mailchimp) -> None:
    mc.seed({"email_address": "t@real.org", "tags": [f"t{n}" for n in range(60)]})
    member = mc.ok("GET", mc.member_path("t@real.org"))
    assert member["timestamp_signup"] == ""
    assert member["tags_count"] == 60
    assert len(member["tags"]) == 50
    assert set(member["tags"][0]) == {"id", "name"}


def test_a_rename_moves_the_id_and_keeps_unique_email_id(mc: Mailchimp) -> None:
    before = mc.put("old@real.org", status_if_new="subscribed").json()
    after = mc.call(
        "PUT", mc.member_path("old@real.org"), json={"email_address": "New@real.org"}
    ).json()
    assert after["id"] == md5("new@real.org")
    assert after["email_address"] == "New@real.org"
    assert after["unique_email_id"] == before["unique_email_id"]
    assert mc.call("GET", mc.member_path("old@real.org")).status_code == 404


@pytest.mark.parametrize(
    ("taken_by", "shown"),
    [("subscribed", "Subscribed"), ("archived", "Archived"), ("forgotten", "Deleted")],
    ids=["onto-subscribed", "onto-archived", "onto-forgotten"],
)
def test_a_rename_onto_an_address_in_the_list_is_invalid(
    mc: Mailchimp, taken_by: str, shown: str
) -> None:
    mc.seed({"email_address": "a@real.org"}, {"email_address": "b@real.org"})
    if taken_by == "archived":
        mc.ok("DELETE", mc.member_path("b@real.org"))
    if taken_by == "forgotten":
        mc.ok("POST", f"{mc.member_path('b@real.org')}/actions/delete-permanent")
    response = mc.call("PATCH", mc.member_path("a@real.org"), json={"email_address": "b@real.org"})
    assert response.status_code == 400
    problem = response.json()
    assert problem["title"] == "Invalid Resource"
    assert problem["errors"] == [
        {
            "field": "email address",
            "message": f'"b@real.org" is already in this list with a status of "{shown}".',
        }
    ]


def test_a_put_whose_address_does_not_match_the_hash_creates_nothing(mc: Mailchimp) -> None:
    response = mc.call(
        "PUT",
        mc.member_path("a@real.org"),
        json={"email_address": "b@real.org", "status_if_new": "subscribed"},
    )
    assert response.status_code == 400
    assert mc.ok("GET", MEMBERS)["total_items"] == 0


INVALID: list[tuple[str, dict[str, Any], str, list[dict[str, str]] | None]] = [
    ("syntax", {"email_address": "not an address"}, "Please provide a valid email address.", None),
    ("no-domain", {"email_address": "x@"}, "Please provide a valid email address.", None),
    (
        "fake-domain",
        {"email_address": "Jo@Example.COM"},
        "Jo@Example.COM looks fake or invalid, please enter a real email address.",
        None,
    ),
    (
        "unknown-tag",
        {"merge_fields": {"NOPE": "x"}},
        "Your merge fields were invalid.",
        [{"field": "NOPE", "message": "This merge field does not exist."}],
    ),
    (
        "number",
        {"merge_fields": {"LTV": "lots"}},
        "Your merge fields were invalid.",
        [{"field": "LTV", "message": "Please enter a number"}],
    ),
    (
        "date",
        {"merge_fields": {"SINCE": "03/04/2024"}},
        "Your merge fields were invalid.",
        [{"field": "SINCE", "message": "Please enter the date"}],
    ),
    (
        "dropdown",
        {"merge_fields": {"PLAN": "platinum"}},
        "Your merge fields were invalid.",
        [{"field": "PLAN", "message": "Please choose one of the available options"}],
    ),
    (
        "required-missing",
        {"merge_fields": {"CITY": ""}},
        "Your merge fields were invalid.",
        [{"field": "CITY", "message": "Please enter a value"}],
    ),
]


def _define_fields(mc: Mailchimp) -> None:
    for body in (
        {"tag": "LTV", "name": "Lifetime value", "type": "number"},
        {"tag": "SINCE", "name": "Customer since", "type": "date"},
        {
            "tag": "PLAN",
            "name": "Plan",
            "type": "dropdown",
            "options": {"choices": ["free", "pro"]},
        },
        {"tag": "CITY", "name": "City", "type": "text", "required": True},
    ):
        mc.ok("POST", MERGE_FIELDS, json=body)


@pytest.mark.parametrize(
    ("body", "detail", "errors"),
    [row[1:] for row in INVALID],
    ids=[row[0] for row in INVALID],
)
def test_invalid_members_are_refused_with_the_reference_wording(
    mc: Mailchimp, body: dict[str, Any], detail: str, errors: list[dict[str, str]] | None
) -> None:
    _define_fields(mc)
    full = {
        "email_address": "ok@real.org",
        "status": "subscribed",
        "merge_fields": {"CITY": "Lyon", **body.pop("merge_fields", {})},
        **body,
    }
    response = mc.call("POST", MEMBERS, json=full)
    assert response.status_code == 400
    problem = response.json()
    assert (problem["title"], problem["detail"], problem.get("errors")) == (
        "Invalid Resource",
        detail,
        errors,
    )
    assert mc.ok("GET", MEMBERS)["total_items"] == 0


def test_valid_merge_values_are_stored_and_skip_merge_validation_skips_required(
    mc: Mailchimp,
) -> None:
    _define_fields(mc)
    body = {
        "email_address": "ok@real.org",
        "status_if_new": "subscribed",
        "merge_fields": {"LTV": "12.5", "SINCE": "2024-03-04", "PLAN": "pro"},
    }
    assert mc.call("PUT", mc.member_path("ok@real.org"), json=body).status_code == 400
    created = mc.ok(
        "PUT", mc.member_path("ok@real.org"), params={"skip_merge_validation": "true"}, json=body
    )
    assert created["merge_fields"] == {
        "FNAME": "",
        "LNAME": "",
        "LTV": 12.5,
        "SINCE": "2024-03-04",
        "PLAN": "pro",
        "CITY": "",
    }


def test_merge_fields_default_auto_tag_duplicates_patch_and_delete(mc: Mailchimp) -> None:
    listed = mc.ok("GET", MERGE_FIELDS)
    assert [(f["merge_id"], f["tag"], f["type"]) for f in listed["merge_fields"]] == [
        (1, "FNAME", "text"),
        (2, "LNAME", "text"),
    ]
    created = mc.ok("POST", MERGE_FIELDS, json={"name": "Company", "type": "text"})
    assert (created["merge_id"], created["tag"]) == (3, "MMERGE3")
    duplicate = mc.call(
        "POST", MERGE_FIELDS, json={"name": "Again", "type": "text", "tag": "fname"}
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["title"] == "Invalid Resource"
    assert duplicate.json()["errors"][0]["field"] == "tag"
    bad_type = mc.call("POST", MERGE_FIELDS, json={"name": "Odd", "type": "colour"})
    assert bad_type.status_code == 400
    renamed = mc.ok("PATCH", f"{MERGE_FIELDS}/3", json={"tag": "COMPANY", "required": True})
    assert (renamed["tag"], renamed["required"]) == ("COMPANY", True)
    assert mc.ok("GET", f"/lists/{LIST_ID}")["stats"]["merge_field_count"] == 3
    assert mc.call("DELETE", f"{MERGE_FIELDS}/3").status_code == 204
    assert mc.call("GET", f"{MERGE_FIELDS}/3").status_code == 404


def test_a_renamed_tag_keeps_member_values(mc: Mailchimp) -> None:
    mc.seed({"email_address": "a@real.org", "merge_fields": {"FNAME": "Ann"}})
    mc.ok("PATCH", f"{MERGE_FIELDS}/1", json={"tag": "FIRST"})
    assert mc.ok("GET", mc.member_path("a@real.org"))["merge_fields"]["FIRST"] == "Ann"


def test_last_changed_moves_on_changes_on_the_simulator_clock_only(mc: Mailchimp) -> None:
    first = mc.put("a@real.org", status_if_new="subscribed").json()["last_changed"]
    mc.admin("POST", "clock", {"advance": 3600})
    same = mc.put("a@real.org", status_if_new="subscribed").json()["last_changed"]
    assert same == first, "a write that changes nothing leaves last_changed"
    mc.admin("POST", "clock", {"advance": 60})
    moved = mc.put("a@real.org", merge_fields={"FNAME": "Ann"}).json()["last_changed"]
    assert moved > first
    assert STAMP.match(moved)


def test_tags_are_added_removed_listed_and_404_for_absent_members(mc: Mailchimp) -> None:
    mc.seed({"email_address": "a@real.org"})
    tags = f"{mc.member_path('a@real.org')}/tags"
    body = {"tags": [{"name": "vip", "status": "active"}, {"name": "old", "status": "active"}]}
    assert mc.call("POST", tags, json=body).status_code == 204
    assert (
        mc.call("POST", tags, json={"tags": [{"name": "old", "status": "inactive"}]}).status_code
        == 204
    )
    assert mc.call("POST", tags, json={"tags": []}).status_code == 204
    listed = mc.ok("GET", tags)
    assert [tag["name"] for tag in listed["tags"]] == ["vip"]
    assert listed["total_items"] == 1
    absent = mc.call("POST", f"{mc.member_path('nobody@real.org')}/tags", json=body)
    assert absent.status_code == 404
    by_address = mc.call("POST", f"{MEMBERS}/a@real.org/tags", json=body)
    assert by_address.status_code == 404, "the tags route takes the hash only"
    malformed = mc.call("POST", tags, json={"tags": [{"name": "vip", "status": "on"}]})
    assert malformed.status_code == 400


def test_delete_archives_and_archived_members_list_only_when_asked(mc: Mailchimp) -> None:
    mc.seed({"email_address": "keep@real.org"}, {"email_address": "gone@real.org"})
    assert mc.call("DELETE", mc.member_path("gone@real.org")).status_code == 204
    assert mc.status_of("gone@real.org") == "archived"
    everyone = mc.ok("GET", MEMBERS)
    assert [m["email_address"] for m in everyone["members"]] == ["keep@real.org"]
    since = mc.ok("GET", MEMBERS, params={"since_last_changed": "2000-01-01T00:00:00+00:00"})
    assert since["total_items"] == 1, "archived members stay out of incremental queries too"
    archived = mc.ok("GET", MEMBERS, params={"status": "archived"})
    assert [m["email_address"] for m in archived["members"]] == ["gone@real.org"]
    assert mc.call("DELETE", mc.member_path("gone@real.org")).status_code == 404


def test_the_list_counts_members_by_status(mc: Mailchimp) -> None:
    mc.seed(
        *({"email_address": f"s{n}@real.org", "status": "subscribed"} for n in range(3)),
        {"email_address": "u@real.org", "status": "unsubscribed"},
        {"email_address": "c@real.org", "status": "cleaned"},
        {"email_address": "a@real.org", "status": "archived"},
    )
    audience = mc.ok("GET", f"/lists/{LIST_ID}", params={"include_total_contacts": "true"})
    stats = audience["stats"]
    assert (stats["member_count"], stats["unsubscribe_count"], stats["cleaned_count"]) == (3, 1, 1)
    assert stats["total_contacts"] == 5
    trimmed = mc.ok("GET", f"/lists/{LIST_ID}", params={"fields": "id,stats.member_count"})
    assert trimmed == {"id": LIST_ID, "stats": {"member_count": 3}}


def test_no_two_members_share_a_unique_email_id_even_where_ten_digits_of_a_hash_do() -> None:
    """Mailchimp's ``unique_email_id`` identifies an address across all of Mailchimp; the
    simulator's, ten hex digits of a hash, repeated at the benchmark's millionth members."""
    first = unique_email_id(LIST_ID, 482_983, set())
    assert unique_email_id(LIST_ID, 576_960, set()) == first  # the digits alone collide
    second = unique_email_id(LIST_ID, 576_960, {first})
    assert second != first
    assert re.fullmatch(r"[0-9a-f]{10}", second)
