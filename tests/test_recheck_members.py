"""What a look at a member finds a write would go over (run.recheck.member_overwritten)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncer.cache.contacts import member_record
from syncer.core.identity import subscriber_hash
from syncer.core.models import MailchimpMember
from syncer.core.records import Operation
from syncer.run.recheck import member_overwritten

ADDRESS = "ann@northwind-mail.com"


def member(status: str, first: str = "Ann") -> MailchimpMember:
    return MailchimpMember(
        id=subscriber_hash(ADDRESS),
        email=ADDRESS,
        unique_email_id="a1b2c3d4e5",
        status=status,
        merge_fields={"FNAME": first},
        last_changed=datetime(2026, 12, 1, tzinfo=UTC),
    )


def write(body: dict[str, object]) -> Operation:
    payload = {"body": {"email_address": ADDRESS, **body}, "hash": subscriber_hash(ADDRESS)}
    return Operation(1, 1, "mailchimp", "unsubscribe", payload, {}, "submitted", "batch-1")


@pytest.mark.parametrize(
    ("now", "sends", "found"),
    [
        # The unsubscribe has run (its batch not settled yet): nothing to write over.
        (member("unsubscribed"), {"status": "unsubscribed"}, []),
        # The member was cleaned meanwhile: any write goes over that.
        (member("cleaned"), {"status": "unsubscribed"}, ["status"]),
        # Unsubscribed by the member while a merge-field write waited.
        (member("unsubscribed"), {"merge_fields": {"FNAME": "Anna"}}, ["status"]),
        # A first name edited meanwhile, the write sending another.
        (member("subscribed", "Annie"), {"merge_fields": {"FNAME": "Anna"}}, ["FNAME"]),
    ],
)
def test_a_look_names_only_what_the_write_would_change_back(
    now: MailchimpMember, sends: dict[str, object], found: list[str]
) -> None:
    cached = member_record(member("subscribed"))
    assert member_overwritten(write(sends), cached, now) == found
