"""The engagement section: off by default, the issue's names, every mistake with its key path."""

from __future__ import annotations

import pytest

from syncer.config import parse_config
from syncer.errors import ConfigError
from tests.test_config import ENV, MINIMAL


def test_engagement_is_off_by_default_with_the_documented_names() -> None:
    engagement = parse_config(MINIMAL, ENV).engagement
    assert not engagement.enabled
    assert not engagement.notes
    assert engagement.campaign_days == 30
    assert engagement.every_minutes == 60
    assert engagement.count_days == 90
    assert engagement.timeline == "notes"
    assert engagement.record == {"open", "click", "bounce", "unsubscribe"}
    assert engagement.properties == {
        "last_open": "mailchimp_last_open",
        "last_click": "mailchimp_last_click",
        "last_bounce": "mailchimp_last_bounce",
        "last_campaign": "mailchimp_last_campaign",
        "opens": "mailchimp_opens_90d",
        "clicks": "mailchimp_clicks_90d",
    }


def test_a_property_set_to_null_is_not_written() -> None:
    text = MINIMAL + "engagement:\n  enabled: true\n  properties:\n    last_bounce: null\n"
    engagement = parse_config(text, ENV).engagement
    assert engagement.enabled
    assert engagement.notes
    assert "last_bounce" not in engagement.properties


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("  record: [open, forward]", "engagement.record[1]: must be one of send, open, click"),
        ("  record: []", "engagement.record: name at least one of"),
        ("  record: [open, open]", "engagement.record: names an action twice"),
        ("  timeline: events", "engagement.timeline: must be one of notes, none"),
        ("  campaign_days: 0", "engagement.campaign_days: must be at least 1"),
        ("  every_minutes: -5", "engagement.every_minutes: must be at least 0"),
        ("  count_days: often", "engagement.count_days: must be a number"),
        ("  properties:\n    opens: Opens 90d", "engagement.properties.opens: must be a HubSpot"),
        (
            "  properties:\n    opens: newsletter",
            "engagement.properties.opens: newsletter is already used by "
            "subscription.hubspot_property",
        ),
        (
            "  properties:\n    opens: firstname",
            "engagement.properties.opens: firstname is already used by fields[0]",
        ),
        (
            "  properties:\n    clicks: mailchimp_opens_90d",
            "engagement.properties.clicks: mailchimp_opens_90d is also engagement.properties.opens",
        ),
        ("  group: Mailchimp", "engagement.group: must be a HubSpot internal name"),
        ("  colour: blue", "engagement.colour: unknown key"),
    ],
    ids=lambda value: value if len(value) < 30 else value[:30],
)
def test_each_mistake_is_named_by_its_key_path(section: str, problem: str) -> None:
    text = MINIMAL + "fields:\n  - {hubspot: firstname, mailchimp: FNAME}\nengagement:\n" + section
    with pytest.raises(ConfigError) as raised:
        parse_config(text + "\n", ENV)
    assert any(p.startswith(problem) for p in raised.value.problems), raised.value.problems
