"""The tags mirror's decision, pure: which value the HubSpot property gets, and when none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.config import Config, parse_config
from syncer.core.models import ContactView, HubSpotSide, MailchimpSide
from syncer.core.reconcile import reconcile

BASE = """
hubspot: {token: t}
mailchimp: {api_key: 0123abcd-us21, list_id: x}
"""
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ALL = parse_config(BASE + "tags_to_hubspot: {property: mc_tags}", {})
ONLY = parse_config(BASE + "tags_to_hubspot: {property: mc_tags, only: [Onboarded, VIP]}", {})


def view(current: str | None, tags: tuple[str, ...]) -> ContactView:
    values = {"email": "a@b.org", "newsletter": "true"}
    if current is not None:
        values["mc_tags"] = current
    base = {"@email": ("a@b.org", "a@b.org"), "@subscription": ("true", "subscribed")}
    return ContactView(
        HubSpotSide(values, NOW),
        MailchimpSide("a@b.org", "subscribed", {}, NOW, tags=tags),
        base,
    )


def mirror_write(config: Config, current: str | None, tags: tuple[str, ...]) -> str | None:
    return reconcile(view(current, tags), config).hubspot.get("mc_tags")


@pytest.mark.parametrize(
    ("config", "current", "tags", "expected"),
    [
        (ALL, None, ("VIP", "Onboarded"), "Onboarded;VIP"),
        (ALL, "Onboarded;VIP", ("VIP", "Onboarded"), None),
        (ALL, "VIP;Onboarded", ("Onboarded", "VIP"), None),
        (ALL, "VIP", (), ""),
        (ALL, "", (), None),
        (ALL, None, ("a;b", "VIP"), "VIP"),
        (ONLY, None, ("VIP", "Trial"), "VIP"),
        (ONLY, "VIP;Trial", ("VIP", "Trial"), "VIP"),
        (ONLY, None, ("Trial",), None),
    ],
    ids=[
        "new-value-sorted",
        "same-value",
        "order-is-no-change",
        "last-tag-removed-clears",
        "nothing-to-clear",
        "semicolon-tag-left-out",
        "only-named-tags",
        "unnamed-value-removed",
        "no-named-tag",
    ],
)
def test_the_mirror_value(
    config: Config, current: str | None, tags: tuple[str, ...], expected: str | None
) -> None:
    assert mirror_write(config, current, tags) == expected


def test_a_member_without_a_contact_brings_its_tags_into_the_new_contact() -> None:
    member = MailchimpSide("new@b.org", "subscribed", {}, NOW, tags=("VIP",))
    decision = reconcile(ContactView(None, member), ALL)
    assert decision.create_hubspot
    assert decision.hubspot["mc_tags"] == "VIP"


@given(
    tags=st.lists(st.sampled_from(["VIP", "Onboarded", "Trial", "x;y"]), unique=True),
    current=st.lists(st.sampled_from(["VIP", "Onboarded", "Old"]), unique=True),
)
def test_the_value_written_comes_back_as_no_change(tags: list[str], current: list[str]) -> None:
    """Whatever HubSpot holds, after the mirror's write (in any order HubSpot keeps it) deciding
    again writes nothing."""
    for config in (ALL, ONLY):
        written = mirror_write(config, ";".join(current), tuple(tags))
        echoed = ";".join(reversed((written or "").split(";"))) if written else None
        after = echoed if written is not None else ";".join(current)
        assert mirror_write(config, after, tuple(reversed(tags))) is None
