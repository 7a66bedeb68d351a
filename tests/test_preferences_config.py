"""The ``interests:`` and ``permissions:`` sections: shapes, defaults and cross-key rules, each
problem with its key path."""

from __future__ import annotations

import pytest

from syncer.config import parse_config
from syncer.config.preferences import InterestMapping, PermissionMapping
from syncer.errors import ConfigError

BASE = """
hubspot: {token: t}
mailchimp: {api_key: 0a-us1, list_id: l}
fields: [{hubspot: firstname, mailchimp: FNAME}]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_config(BASE + text, {})
    return list(raised.value.problems)


def test_both_sections_default_to_empty_and_build_typed_mappings() -> None:
    assert not parse_config(BASE, {}).preferences.active
    config = parse_config(
        BASE
        + """
interests:
  - {hubspot: wants_events, category: Topics, mailchimp: Events, consent: true}
  - {hubspot: topics, category: Newsletters, direction: to_hubspot, winner: mailchimp}
permissions:
  - {hubspot: gdpr_email, mailchimp: Email}
""",
        {},
    )
    single, whole = config.preferences.interests
    assert single == InterestMapping("wants_events", "Topics", "Events", consent=True)
    assert (whole.whole_category, whole.to_mailchimp, whole.winner) == (True, False, "mailchimp")
    assert config.preferences.permissions == (PermissionMapping("gdpr_email", "Email"),)
    assert config.preferences.properties == ["wants_events", "topics", "gdpr_email"]


@pytest.mark.parametrize(
    ("snippet", "problem"),
    [
        (
            "interests: [{hubspot: a, category: T, mailchimp: X, direction: up}]",
            "interests[0].direction: must be one of both, to_mailchimp, to_hubspot",
        ),
        ("interests: [{hubspot: a, mailchimp: X}]", "interests[0].category: required"),
        ("permissions: [{hubspot: a}]", "permissions[0].mailchimp: required"),
        (
            "permissions: [{hubspot: a, mailchimp: Email, winner: hubspot}]",
            "permissions[0].winner: unknown key",
        ),
        (
            "interests: [{hubspot: a, category: T, consent: true}]",
            "interests[0].consent: only for one interest (mailchimp: its name), not a whole group",
        ),
        (
            "interests: [{hubspot: a, category: T, mailchimp: X, consent: true, winner: hubspot}]",
            "interests[0].winner: an opt-in interest (consent: true) is decided by the newer side",
        ),
        (
            "permissions: [{hubspot: firstname, mailchimp: Email}]",
            "permissions[0].hubspot: firstname is already used by fields[0]",
        ),
        (
            "permissions: [{hubspot: newsletter, mailchimp: Email}]",
            "permissions[0].hubspot: newsletter is already used by subscription.hubspot_property",
        ),
        (
            "interests: [{hubspot: a, category: T, mailchimp: X}, {hubspot: b, category: T, "
            "mailchimp: X}]",
            "interests[1]: maps the same Mailchimp value as interests[0]",
        ),
        (
            "permissions: [{hubspot: a, mailchimp: Email}, {hubspot: a, mailchimp: Phone}]",
            "permissions[1].hubspot: a is already used by permissions[0]",
        ),
        (
            "interests: [{hubspot: a, category: T}, {hubspot: b, category: T, mailchimp: X}]",
            "interests[1].category: group T is mapped whole by interests[0]",
        ),
    ],
)
def test_each_mistake_is_named_with_its_key_path(snippet: str, problem: str) -> None:
    found = problems(snippet)
    assert any(line.startswith(problem) for line in found), found
