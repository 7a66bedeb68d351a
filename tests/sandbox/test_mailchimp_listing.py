"""``GET /lists/{list_id}/members``: paging, incremental filters, order, ``fields``, and speed."""

from __future__ import annotations

from typing import Any

import pytest

from syncer.sandbox.mailchimp.views import MemberQuery
from tests.sandbox.test_mailchimp_support import LIST_ID, Mailchimp

pytestmark = pytest.mark.timeout(60)
MEMBERS = f"/lists/{LIST_ID}/members"


def emails(page: dict[str, Any]) -> list[str]:
    return [member["email_address"] for member in page["members"]]


@pytest.fixture
def three(mc: Mailchimp) -> Mailchimp:
    """Seeded out of time order: insertion order b, c, a; last_changed order a, b, c."""
    mc.seed(
        {"email_address": "b@real.org", "last_changed": "2024-01-01T11:00:00+00:00"},
        {"email_address": "c@real.org", "last_changed": "2024-01-01T12:00:00+00:00"},
        {
            "email_address": "a@real.org",
            "status": "unsubscribed",
            "last_changed": "2024-01-01T10:00:00+00:00",
        },
    )
    return mc


def test_2500_members_page_by_1000_each_exactly_once(mc: Mailchimp) -> None:
    mc.seed(*({"email_address": f"m{n:04d}@real.org"} for n in range(2500)))
    seen: list[str] = []
    sizes = []
    for offset in (0, 1000, 2000):
        page = mc.ok("GET", MEMBERS, params={"count": 1000, "offset": offset})
        assert page["total_items"] == 2500
        assert page["list_id"] == LIST_ID
        sizes.append(len(page["members"]))
        seen += emails(page)
    assert sizes == [1000, 1000, 500]
    assert sorted(seen) == [f"m{n:04d}@real.org" for n in range(2500)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"since_last_changed": "2024-01-01T10:00:00+00:00"}, ["b", "c"]),
        ({"since_last_changed": "2024-01-01T11:00:00+00:00"}, ["c"]),
        ({"since_last_changed": "2024-01-01T10:00:00-05:00"}, ["b", "c"]),
        ({"since_last_changed": "2024-01-01T10:59:59.5+00:00"}, ["b", "c"]),
        ({"since_last_changed": "2024-01-01T10:59:59.1234567Z"}, ["b", "c"]),
        ({"since_last_changed": "2024-01-01T10:30:00"}, ["b", "c"]),
        ({"before_last_changed": "2024-01-01T12:00:00+03:00"}, ["b", "a"]),
        ({"status": "unsubscribed"}, ["a"]),
        ({"status": "subscribed", "since_last_changed": "2024-01-01T11:00:00+00:00"}, ["c"]),
        ({"sort_field": "last_changed"}, ["a", "b", "c"]),
        ({"sort_field": "last_changed", "sort_dir": "DESC"}, ["c", "b", "a"]),
        (
            {"sort_field": "last_changed", "since_last_changed": "2024-01-01T10:00:00+00:00"},
            ["b", "c"],
        ),
        ({"count": 2, "offset": 1}, ["c", "a"]),
        ({}, ["b", "c", "a"]),
    ],
    ids=[
        "since-is-exclusive",
        "since-exact-second",
        "since-offset-ignored",
        "since-fraction",
        "since-seven-digits",
        "since-naive",
        "before-offset-ignored",
        "status",
        "status-and-since",
        "sort-asc",
        "sort-desc",
        "sorted-since-bisects",
        "count-offset",
        "insertion-order",
    ],
)
def test_filters_and_order(three: Mailchimp, params: dict[str, Any], expected: list[str]) -> None:
    page = three.ok("GET", MEMBERS, params=params)
    assert emails(page) == [f"{name}@real.org" for name in expected]


@pytest.mark.parametrize(
    "params",
    [
        {"count": 1001},
        {"count": "ten"},
        {"offset": -1},
        {"status": "gone"},
        {"sort_field": "email_address"},
        {"sort_dir": "UP"},
        {"since_last_changed": "yesterday"},
    ],
    ids=[
        "count-above-1000",
        "count-text",
        "offset-negative",
        "status",
        "sort-field",
        "sort-dir",
        "since",
    ],
)
def test_bad_parameters_are_400s(mc: Mailchimp, params: dict[str, Any]) -> None:
    response = mc.call("GET", MEMBERS, params=params)
    assert response.status_code == 400
    assert response.json()["title"] == "Invalid Resource"


def test_count_defaults_to_ten(mc: Mailchimp) -> None:
    mc.seed(*({"email_address": f"m{n}@real.org"} for n in range(12)))
    assert len(mc.ok("GET", MEMBERS)["members"]) == 10


def test_fields_trim_members_with_dot_paths(three: Mailchimp) -> None:
    page = three.ok(
        "GET",
        MEMBERS,
        params={
            "fields": "members.email_address,members.merge_fields.FNAME,total_items",
            "count": 1,
        },
    )
    assert page == {
        "members": [{"email_address": "b@real.org", "merge_fields": {"FNAME": ""}}],
        "total_items": 3,
    }
    assert three.ok("GET", MEMBERS, params={"fields": "total_items"}) == {"total_items": 3}


def test_exclude_fields_drop_links_and_nested_keys(three: Mailchimp) -> None:
    page = three.ok(
        "GET", MEMBERS, params={"exclude_fields": "_links,members._links,members.stats", "count": 1}
    )
    assert "_links" not in page
    member = page["members"][0]
    assert "_links" not in member
    assert "stats" not in member
    assert member["email_address"] == "b@real.org"
    one = three.ok("GET", f"{MEMBERS}/b@real.org", params={"fields": "id,status"})
    assert set(one) == {"id", "status"}


@pytest.mark.slow
def test_a_page_deep_in_100000_members_holds_exactly_the_filtered_sorted_slice(
    mc: Mailchimp,
) -> None:
    """At benchmark scale the listing still filters, sorts and slices exactly (its speed is
    measured by the benchmarks, which seed and list audiences of this size)."""
    members = [
        {
            "email_address": f"user{n}@real.org",
            "status": "subscribed" if n % 7 else "unsubscribed",
            "merge_fields": {"FNAME": f"F{n}"},
            "last_changed": f"2024-01-{1 + n % 28:02d}T10:00:00+00:00",
        }
        for n in range(100_000)
    ]
    assert mc.admin("POST", "seed", {"members": members}) == {"members": 100_000}
    params = {
        "count": 1000,
        "offset": 20_000,
        "since_last_changed": "2024-01-10T00:00:00+00:00",
        "sort_field": "last_changed",
        "fields": "members.id,members.email_address,members.last_changed,total_items",
    }
    page = mc.ok("GET", MEMBERS, params=params)
    recent = [m for m in members if m["last_changed"] >= "2024-01-10T10:00:00+00:00"]
    assert page["total_items"] == len(recent)
    assert len(page["members"]) == 1000
    stamps = [member["last_changed"] for member in page["members"]]
    assert stamps == sorted(stamps)
    ordered = sorted(m["last_changed"] for m in recent)
    assert stamps[0][:10] == ordered[20_000][:10]
    assert set(page["members"][0]) == {"id", "email_address", "last_changed"}


def test_paging_a_large_audience_filters_it_once_and_a_change_is_seen(
    mc: Mailchimp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulator serves the 1,000,000-member benchmark: a walk must not filter the whole
    audience once per page (counted, not timed)."""
    mc.seed(*({"email_address": f"w{n:04d}@real.org"} for n in range(3000)))
    filtered = [0]
    tests = MemberQuery.tests

    def counted(self: MemberQuery) -> list[Any]:
        filtered[0] += 1
        return tests(self)

    monkeypatch.setattr(MemberQuery, "tests", counted)
    params = {"count": 1000, "sort_field": "last_changed", "sort_dir": "ASC"}
    for offset in (0, 980, 1960, 2940):
        page = mc.ok("GET", MEMBERS, params={**params, "offset": offset})
        assert page["total_items"] == 3000
    assert filtered[0] == 1, "one selection for the whole walk"
    mc.ok("PATCH", mc.member_path("w0001@real.org"), json={"status": "unsubscribed"})
    page = mc.ok("GET", MEMBERS, params={**params, "status": "unsubscribed", "offset": 0})
    assert emails(page) == ["w0001@real.org"]
