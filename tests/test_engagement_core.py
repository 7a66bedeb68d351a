"""Engagement's pure part: events merged once, note bodies, and the contact properties."""

from __future__ import annotations

from datetime import UTC, datetime

from syncer.config.engagement import PROPERTIES
from syncer.core.engagement import (
    Campaign,
    marked_campaign,
    marked_key,
    merge_events,
    note_body,
    note_text,
    person_engagement,
    stamp,
    summarise,
)

NOVEMBER = Campaign("c11", "November newsletter", "2026-11-03T10:00:00+00:00")
OCTOBER = Campaign("c10", "October newsletter", "2026-10-06T10:00:00+00:00")
KEYS = {key: default for key, (default, *_rest) in PROPERTIES.items()}
RECORD = frozenset({"open", "click", "bounce", "unsubscribe"})


def test_events_are_merged_once_and_only_those_recorded() -> None:
    old = [["open", "2026-11-03T11:00:00+00:00", ""]]
    new = [
        ("open", "2026-11-03T11:00:00+00:00", ""),  # read again through the cursor's overlap
        ("click", "2026-11-03T11:01:00+00:00", "https://example.com/a"),
        ("send", "2026-11-03T10:00:00+00:00", ""),  # not recorded
    ]
    merged, added = merge_events(old, new, RECORD)
    assert added == 1
    assert merged == [
        ("open", "2026-11-03T11:00:00+00:00", ""),
        ("click", "2026-11-03T11:01:00+00:00", "https://example.com/a"),
    ]
    assert merge_events(merged, new, RECORD) == (merged, 0)


def test_timestamps_are_stored_in_one_spelling() -> None:
    assert stamp("2026-11-03T11:00:00Z") == "2026-11-03T11:00:00+00:00"
    assert stamp("2026-11-03T12:00:00+01:00") == "2026-11-03T11:00:00+00:00"
    assert stamp("not a time") is None


def test_the_note_says_what_happened_with_the_campaign_date_and_its_marker() -> None:
    events = [
        ("open", "2026-11-03T11:00:00+00:00", ""),
        ("open", "2026-11-03T12:00:00+00:00", ""),
        ("open", "2026-11-04T08:00:00+00:00", ""),
        ("click", "2026-11-03T11:01:00+00:00", "https://example.com/a"),
        ("click", "2026-11-03T11:02:00+00:00", "https://example.com/b"),
        ("click", "2026-11-03T11:03:00+00:00", "https://example.com/a"),
    ]
    assert note_text(NOVEMBER, summarise(events)) == [
        "Opened 'November newsletter' 3 times, clicked 2 links: "
        "https://example.com/a, https://example.com/b.",
        "Campaign sent 2026-11-03.",
    ]
    body = note_body(NOVEMBER, summarise(events), "17")
    assert marked_campaign(body) == "c11"
    assert marked_key(body) == "17"
    assert marked_campaign("<p>A note someone wrote</p>") is None


def test_bounces_unsubscribes_and_abuse_each_have_a_line() -> None:
    events = [
        ("bounce", "2026-11-03T10:05:00+00:00", "hard"),
        ("unsubscribe", "2026-11-03T12:00:00+00:00", "too many emails"),
        ("abuse", "2026-11-03T12:01:00+00:00", ""),
    ]
    assert note_text(NOVEMBER, summarise(events)) == [
        "Hard bounce of 'November newsletter' on 2026-11-03T10:05:00+00:00.",
        "Unsubscribed after 'November newsletter' on 2026-11-03T12:00:00+00:00 (too many emails).",
        "Reported 'November newsletter' as spam on 2026-11-03T12:01:00+00:00.",
        "Campaign sent 2026-11-03.",
    ]


def test_a_title_with_markup_is_escaped_in_the_body() -> None:
    campaign = Campaign("c1", "<b>Sale</b> & more", "2026-11-03T10:00:00+00:00")
    body = note_body(campaign, summarise([("open", "2026-11-03T11:00:00+00:00", "")]), "1")
    assert "<b>Sale" not in body
    assert "&lt;b&gt;Sale&lt;/b&gt; &amp; more" in body


def test_the_properties_take_the_latest_of_everything_and_count_within_the_window() -> None:
    now = datetime(2026, 11, 10, tzinfo=UTC)
    history = [
        (
            OCTOBER,
            [
                ("open", "2026-08-01T10:00:00+00:00", ""),  # outside 90 days
                ("open", "2026-10-06T11:00:00+00:00", ""),
                ("bounce", "2026-10-06T10:01:00+00:00", "soft"),
            ],
        ),
        (
            NOVEMBER,
            [
                ("open", "2026-11-03T11:00:00+00:00", ""),
                ("click", "2026-11-03T11:01:00+00:00", "https://example.com/a"),
            ],
        ),
    ]
    result = person_engagement(history, KEYS, 90, now)
    assert result.values == {
        "mailchimp_last_open": "2026-11-03T11:00:00.000Z",
        "mailchimp_last_click": "2026-11-03T11:01:00.000Z",
        "mailchimp_last_bounce": "2026-10-06T10:01:00.000Z",
        "mailchimp_last_campaign": "November newsletter",
        "mailchimp_opens_90d": "2",
        "mailchimp_clicks_90d": "1",
    }
    # The October open is the first to leave the 90-day window: then the counts change.
    assert result.due == "2027-01-04T11:00:00+00:00"


def test_properties_set_to_null_are_left_out_and_nothing_recorded_is_empty() -> None:
    now = datetime(2026, 11, 10, tzinfo=UTC)
    result = person_engagement([], {"opens": "opens_30d", "last_open": "seen"}, 30, now)
    assert result.values == {"opens_30d": "0", "seen": ""}
    assert result.due is None
