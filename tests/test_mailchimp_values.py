"""Pure parts of writing values Mailchimp may refuse: dates in a field's format, and a write
sent again without the values a refusal names."""

from __future__ import annotations

from typing import Any

import pytest

from syncer.config import FieldMapping
from syncer.core.identity import subscriber_hash
from syncer.core.plan import refused_values, without_values
from syncer.core.transforms import conversion, from_date_format, in_date_format

DATES = {
    # id: (HubSpot value, field date_format, Mailchimp value)
    "iso-to-dd-mm-yyyy": ("2026-03-04", "DD/MM/YYYY", "04/03/2026"),
    "datetime-to-mm-dd-yyyy": ("2026-03-04T23:30:00.000Z", "MM/DD/YYYY", "03/04/2026"),
    "epoch-ms-to-mm-dd-yyyy": ("1772582400000", "MM/DD/YYYY", "03/04/2026"),
    "birthday-mm-dd": ("1990-03-04", "MM/DD", "03/04"),
    "birthday-dd-mm": ("1990-03-04", "DD/MM", "04/03"),
    "no-format-is-iso": ("2026-03-04", None, "2026-03-04"),
    "not-a-date-passes-through": ("soon", "MM/DD/YYYY", "soon"),
    "empty-stays-empty": ("", "MM/DD/YYYY", ""),
}


@pytest.mark.parametrize(("hubspot", "fmt", "mailchimp"), DATES.values(), ids=DATES.keys())
def test_a_date_is_written_in_the_fields_format(
    hubspot: str, fmt: str | None, mailchimp: str
) -> None:
    convert = conversion(FieldMapping("d", "D", transform="date", date_format=fmt))
    assert convert.to_mailchimp(hubspot) == mailchimp


@pytest.mark.parametrize(
    ("mailchimp", "fmt", "hubspot"),
    [
        ("04/03/2026", "DD/MM/YYYY", "2026-03-04"),
        ("03/04/2026", "MM/DD/YYYY", "2026-03-04"),
        ("2026-03-04", None, "2026-03-04"),
        ("03/04", "MM/DD", "03/04"),  # a birthday has no year: passed on as it is
        ("2026-03-04", "MM/DD/YYYY", "2026-03-04"),  # not in the format: passed on
    ],
    ids=["dd-mm-yyyy", "mm-dd-yyyy", "iso", "birthday", "other"],
)
def test_a_date_read_in_the_fields_format_becomes_iso(
    mailchimp: str, fmt: str | None, hubspot: str
) -> None:
    convert = conversion(FieldMapping("d", "D", transform="date", date_format=fmt))
    assert convert.to_hubspot(mailchimp) == hubspot


def test_date_format_round_trip() -> None:
    for fmt in ("DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD"):
        assert from_date_format(in_date_format("2024-02-29", fmt), fmt) == "2024-02-29"


ANN, NEW = "ann@acme-mail.com", "ann@new-mail.com"


def payload(**body: Any) -> dict[str, Any]:
    return {
        "hash": subscriber_hash(ANN),
        "body": {"email_address": ANN, **body},
        "changes": [
            {"side": "mailchimp", "field": name, "old": "", "new": "x"}
            for name in (*body.get("merge_fields", {}), "status", "email_address")
        ],
    }


def problem(*fields: str) -> dict[str, Any]:
    return {
        "title": "Invalid Resource",
        "status": 400,
        "detail": "Your merge fields were invalid.",
        "errors": [{"field": name, "message": f"bad {name}"} for name in fields],
    }


REFUSALS = {
    # id: (body sent, fields the refusal names, refused, body sent again (None: nothing left))
    "name-beside-an-opt-out": (
        {"status": "unsubscribed", "merge_fields": {"FNAME": "x" * 300, "LNAME": "L"}},
        ("FNAME",),
        {"FNAME": "bad FNAME"},
        {"email_address": ANN, "status": "unsubscribed", "merge_fields": {"LNAME": "L"}},
    ),
    "sdk-style-field-path": (
        {"merge_fields": {"FNAME": "x", "LNAME": "L"}},
        ("merge_fields.FNAME",),
        {"FNAME": "bad merge_fields.FNAME"},
        {"email_address": ANN, "merge_fields": {"LNAME": "L"}},
    ),
    "only-value-refused": (
        {"merge_fields": {"FNAME": "x"}}, ("FNAME",), {"FNAME": "bad FNAME"}, None,
    ),
    "create-without-the-value": (
        {"status_if_new": "subscribed", "merge_fields": {"FNAME": "x"}},
        ("FNAME",),
        {"FNAME": "bad FNAME"},
        {"email_address": ANN, "status_if_new": "subscribed"},
    ),
    "refused-rename-keeps-the-opt-out": (
        {"email_address": NEW, "status": "unsubscribed"},
        ("email address",),
        {"email_address": "bad email address"},
        {"email_address": ANN, "status": "unsubscribed"},
    ),
    "a-required-field-not-sent-is-no-value-of-this-write": (
        {"status": "unsubscribed"},
        ("LNAME",),
        {},
        None,
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "named", "refused", "again"), REFUSALS.values(), ids=REFUSALS.keys()
)
def test_a_write_is_sent_again_without_the_values_mailchimp_refused(
    body: dict[str, Any],
    named: tuple[str, ...],
    refused: dict[str, str],
    again: dict[str, Any] | None,
) -> None:
    sent = payload(**body)
    assert refused_values(sent, problem(*named)) == refused
    if not refused:
        return
    retry = without_values(sent, refused, ANN)
    if again is None:
        assert retry is None
        return
    assert retry is not None
    assert retry["body"] == again
    assert not {change["field"] for change in retry["changes"]} & set(refused)
