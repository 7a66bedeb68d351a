"""The pure segment decisions and the segment config rules, as truth tables and properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.config import parse_config
from syncer.config.segments import HubSpotCondition, ScopeConfig, SegmentsConfig, TagRule
from syncer.core.records import ContactRow
from syncer.core.segments import Facts, in_scope, settled, tag_changes, tag_operation
from syncer.errors import ConfigError

BASE = """
hubspot: {token: t}
mailchimp: {api_key: 0123abcd-us21, list_id: x}
"""
RULES = (
    TagRule(HubSpotCondition(hubspot_list="MQLs"), "MQL"),
    TagRule(HubSpotCondition(hubspot_property="lifecyclestage", value="customer"), "Customer"),
    TagRule(HubSpotCondition(hubspot_list="Paying"), "Customer"),
)
CONFIG = SegmentsConfig(RULES, ScopeConfig(None, None, "keep"), 15)
IDS = {"MQLs": "7", "Paying": "9"}


def facts(
    lists: set[str] = frozenset(),  # type: ignore[assignment]
    tags: set[str] = frozenset(),  # type: ignore[assignment]
    status: str | None = "subscribed",
    **values: str,
) -> Facts:
    return Facts({"email": "a@b.org", **values}, frozenset(lists), status, frozenset(tags))


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        (facts({"7"}), [("MQL", True)]),
        (facts(set(), {"MQL"}), [("MQL", False)]),
        (facts({"7"}, {"MQL"}), []),
        (facts(lifecyclestage=" Customer "), [("Customer", True)]),
        (facts({"9"}, {"Customer"}, lifecyclestage="lead"), []),
        (facts(set(), {"Customer", "Other"}), [("Customer", False)]),
        (facts({"7"}, status="archived"), []),
        (facts({"7"}, status=None), []),
    ],
    ids=[
        "joins",
        "leaves",
        "stays",
        "property-value",
        "either-rule-keeps-it",
        "unmanaged-tags-untouched",
        "archived-untouched",
        "no-member-yet",
    ],
)
def test_tag_changes(person: Facts, expected: list[tuple[str, bool]]) -> None:
    assert [(c.tag, c.active) for c in tag_changes(CONFIG, person, IDS)] == expected


@pytest.mark.parametrize(
    ("scope", "person", "expected"),
    [
        (ScopeConfig(HubSpotCondition(hubspot_list="MQLs"), None, "keep"), facts({"7"}), True),
        (ScopeConfig(HubSpotCondition(hubspot_list="MQLs"), None, "keep"), facts(), False),
        (ScopeConfig(None, "Beta", "keep"), facts(tags={"Beta"}), True),
        (ScopeConfig(None, "Beta", "keep"), facts(tags={"beta"}), False),
        (
            ScopeConfig(HubSpotCondition(hubspot_property="country", value="NL"), "Beta", "keep"),
            facts(tags={"Beta"}, country="nl"),
            True,
        ),
        (
            ScopeConfig(HubSpotCondition(hubspot_list="MQLs"), None, "keep"),
            Facts(None, frozenset({"7"}), "subscribed", frozenset()),
            False,
        ),
    ],
    ids=["in-list", "not-in-list", "tag", "tag-case", "both-sides", "mailchimp-only"],
)
def test_in_scope(scope: ScopeConfig, person: Facts, expected: bool) -> None:
    assert in_scope(scope, person, IDS) is expected


@given(
    lists=st.sets(st.sampled_from(["7", "9", "11"])),
    tags=st.sets(st.sampled_from(["MQL", "Customer", "Other"])),
    stage=st.sampled_from(["lead", "customer", ""]),
)
def test_applying_the_changes_reaches_a_fixed_point(
    lists: set[str], tags: set[str], stage: str
) -> None:
    """Once the write succeeds, deciding again changes nothing, and unmanaged tags survive."""
    person = facts(lists, tags, lifecyclestage=stage)
    row = ContactRow(
        1, "a@b.org", hubspot_id="1", mc={"status": "subscribed", "tags": sorted(tags)}
    )
    changes = tag_changes(CONFIG, person, IDS)
    if changes:
        operation = tag_operation(row, changes)
        assert operation.payload["body"]["is_syncing"] is True
        settled(row, operation.action, operation.payload)
    after = facts(lists, set(row.mc["tags"]), lifecyclestage=stage)  # type: ignore[index]
    assert tag_changes(CONFIG, after, IDS) == []
    assert ("Other" in tags) == ("Other" in after.member_tags)


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("tags: [{mailchimp_tag: A}]", "tags[0]: give either hubspot_list or hubspot_property"),
        ("tags: [{hubspot_property: p, mailchimp_tag: A}]", "tags[0].value: required"),
        (
            "tags: [{hubspot_list: L, mailchimp_tag: A}, {hubspot_list: M, mailchimp_tag: a}]",
            "tags[1].mailchimp_tag: a is already set by tags[0]",
        ),
        ("scope: {hubspot_filter: {property: country}}", "needs both property and value"),
        ("scope: {on_leave: delete}", "scope.on_leave: must be one of"),
        ("scope: {on_leave: untag}", "untag needs tags to remove"),
        ("tags_to_hubspot: {only: [A]}", "tags_to_hubspot.only: needs tags_to_hubspot.property"),
        ("tags_to_hubspot: {property: p, only: []}", "name at least one tag"),
        ("tags_to_hubspot: {property: p, only: ['a;b']}", "only[0]: must be a tag name"),
        (
            "tags_to_hubspot: {property: newsletter}",
            "newsletter is already used by subscription.hubspot_property",
        ),
        ("tags_to_hubspot: {property: firstname}", "firstname is already used by fields[0]"),
        (
            "tags: [{hubspot_property: p, value: v, mailchimp_tag: A}]\n"
            "tags_to_hubspot: {property: p}",
            "p is already used by tags[0]",
        ),
    ],
)
def test_config_problems(section: str, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(BASE + section, {})
    assert any(problem in text for text in error.value.problems), error.value.problems


def test_a_valid_segments_config_is_typed() -> None:
    text: Any = BASE + (
        "tags: [{hubspot_list: MQLs, mailchimp_tag: MQL}]\n"
        "scope: {hubspot_filter: {property: country, value: NL}, on_leave: archive}\n"
    )
    segments = parse_config(text, {}).segments
    assert segments.lists == ["MQLs"]
    assert segments.properties == ["country"]
    assert segments.scope.on_leave == "archive"
