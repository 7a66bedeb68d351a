"""The subscription as truth tables: DESIGN §6's table, then the consent edge cases of issue
13: pending is not consent, an unknown status is no status, a cleaned member is never written
to, a transactional member was never asked, and Mailchimp's whole seconds make a same-second
HubSpot change a tie."""

from __future__ import annotations

from datetime import timedelta

import pytest

from syncer.core.models import (
    EMAIL_KEY,
    SUBSCRIPTION_KEY,
    ContactView,
    HubSpotSide,
    MailchimpSide,
)
from syncer.core.reconcile import reconcile
from syncer.core.subscription import CLEANED_REASON, NEVER_REASON
from tests.reconcile_support import T0, hubspot, mailchimp, make_config, subscription_row

EMAIL = (EMAIL_KEY, ("ann@acme-mail.com", "ann@acme-mail.com"))

# -- the subscription, row by row -------------------------------------------------------------

DESIGN_TABLE = {
    # id: (newsletter, status, base pair, hubspot modified, member changed,
    #      expected newsletter write, expected status write, blocked)
    "in-sync-subscribed": ("true", "subscribed", None, 0, 0, None, None, None),
    "in-sync-pending": ("true", "pending", None, 0, 0, None, None, None),
    "in-sync-unsubscribed": ("false", "unsubscribed", None, 0, 0, None, None, None),
    "in-sync-never-set": ("", "unsubscribed", None, 0, 0, None, None, None),
    "unsub-archived-hubspot-newer": (
        "true", "archived", ("false", "archived"), 5, 1, None, "pending", None,
    ),
    "unsub-hubspot-newer-pending": (
        "true", "unsubscribed", ("false", "unsubscribed"), 5, 1, None, "pending", None,
    ),
    "unsub-mailchimp-newer": (
        "true", "unsubscribed", ("true", "subscribed"), 1, 5, "false", None, None,
    ),
    "cleaned-never-resubscribed": (
        "true", "cleaned", ("true", "subscribed"), 5, 1, None, None, CLEANED_REASON,
    ),
    "cleaned-not-wanted": ("false", "cleaned", ("true", "subscribed"), 5, 1, None, None, None),
    "hubspot-opts-out": (
        "false", "subscribed", ("true", "subscribed"), 5, 1, None, "unsubscribed", None,
    ),
    "hubspot-opts-out-pending": (
        "false", "pending", ("true", "pending"), 5, 1, None, "unsubscribed", None,
    ),
    "mailchimp-subscribes": (
        "false", "subscribed", ("false", "unsubscribed"), 1, 5, "true", None, None,
    ),
    "transactional-hubspot-newer": (
        "true", "transactional", ("false", "transactional"), 5, 1, None, "pending", None,
    ),
    "stale-timestamp-ignored-by-base": (
        "false", "subscribed", ("false", "unsubscribed"), 9, 1, "true", None, None,
    ),
}  # fmt: skip

EDGE_CASES = {
    # as above; blocked is a word of the reason
    "pending-after-hubspot-opt-out-keeps-hubspot-false": (
        "false", "pending", ("false", "unsubscribed"), 1, 5, None, None, None,
    ),
    "pending-after-hubspot-opt-out-never-set": (
        "", "pending", ("", "unsubscribed"), 1, 5, None, None, None,
    ),
    "pending-confirmed-sets-hubspot-true": (
        "false", "subscribed", ("false", "pending"), 1, 5, "true", None, None,
    ),
    "pending-hubspot-opts-out-unsubscribes": (
        "false", "pending", ("true", "pending"), 5, 1, None, "unsubscribed", None,
    ),
    "pending-wanted-in-sync": ("true", "pending", ("true", "pending"), 5, 1, None, None, None),
    "unknown-status-wanted-is-blocked": (
        "true", "nonsubscribed", None, 5, 1, None, None, "nonsubscribed",
    ),
    "unknown-status-newer-writes-nothing": (
        "false", "nonsubscribed", ("false", "unsubscribed"), 1, 5, None, None, "nonsubscribed",
    ),
    "empty-status-is-unknown": ("true", "", ("true", "subscribed"), 1, 5, None, None, "''"),
    "transactional-newer-keeps-the-opt-in-and-asks-pending": (
        "true", "transactional", None, 1, 5, None, "pending", None,
    ),
    "transactional-after-opt-in-asks-pending": (
        "true", "transactional", ("false", "transactional"), 5, 1, None, "pending", None,
    ),
    "transactional-not-wanted-in-sync": (
        "false", "transactional", None, 1, 5, None, None, None,
    ),
    "transactional-never-set-in-sync": ("", "transactional", None, 5, 1, None, None, None),
    "cleaned-wanted-blocked": ("true", "cleaned", None, 5, 1, None, None, "cleaned"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("newsletter", "status", "base", "hs_time", "mc_time", "write_hs", "write_status", "blocked"),
    [*DESIGN_TABLE.values(), *EDGE_CASES.values()],
    ids=[*DESIGN_TABLE, *EDGE_CASES],
)
def test_consent_table(
    newsletter: str,
    status: str,
    base: tuple[str, str] | None,
    hs_time: float,
    mc_time: float,
    write_hs: str | None,
    write_status: str | None,
    blocked: str | None,
) -> None:
    decision = subscription_row(newsletter, status, base, hs_time, mc_time, make_config())
    assert decision.hubspot.get("newsletter") == write_hs
    assert decision.mailchimp_status == write_status
    assert decision.mailchimp_status != "subscribed"
    if blocked is None:
        assert decision.blocked is None
    else:
        assert decision.blocked is not None
        assert blocked in decision.blocked
    assert not decision.needs_history


def test_a_transactional_member_with_resubscribe_never_is_refused() -> None:
    view = ContactView(hubspot(modified=5, newsletter="true"), mailchimp("transactional"), {})
    decision = reconcile(view, make_config(resubscribe="never"))
    assert decision.mailchimp_status is None
    assert decision.blocked is not None
    assert "`never`" in decision.blocked
    assert decision.blocked != NEVER_REASON  # it names transactional, not an opt-out


@pytest.mark.parametrize("status", ["unsubscribed", "archived"])
def test_a_refused_resubscribe_is_reported_blocked_not_as_a_conflict_each_run(status: str) -> None:
    """Blocked is the whole story: a conflict recorded too would be recorded again every time
    the person is decided, though nothing changed (found by the convergence property)."""
    view = ContactView(
        hubspot(modified=1, times={"newsletter": 1}, newsletter="true"), mailchimp(status), {}
    )
    decision = reconcile(view, make_config(resubscribe="never"))
    assert decision.blocked == NEVER_REASON
    assert decision.mailchimp_status is None
    assert not decision.conflicts


def test_pending_is_shown_by_the_status_mirror_but_is_no_opt_in() -> None:
    view = ContactView(
        hubspot(modified=1, newsletter="false", mc_status="unsubscribed"),
        mailchimp("pending", changed=5),
        dict([EMAIL, (SUBSCRIPTION_KEY, ("false", "unsubscribed"))]),
    )
    decision = reconcile(view, make_config(status_property="mc_status"))
    assert decision.hubspot == {"mc_status": "pending"}
    assert decision.mailchimp_status is None


def test_an_unknown_status_is_not_mirrored_and_nothing_is_written_to_the_member() -> None:
    view = ContactView(
        hubspot(modified=5, newsletter="true", firstname="Anna", mc_status="subscribed"),
        mailchimp("nonsubscribed", changed=1, FNAME="Ann"),
        dict([EMAIL, ("firstname", ("Ann", "Ann"))]),
    )
    decision = reconcile(view, make_config(status_property="mc_status"))
    assert not decision.writes_mailchimp
    assert decision.hubspot == {}
    assert decision.blocked is not None
    assert "'nonsubscribed'" in decision.blocked


# -- nothing is ever written to a cleaned member ---------------------------------------------

CLEANED = {
    # id: (newsletter, hubspot firstname, FNAME, base firstname pair, hubspot write, blocked)
    "hubspot-rename-not-sent": ("false", "Anna", "Ann", ("Ann", "Ann"), None, CLEANED_REASON),
    "hubspot-rename-wanted-not-sent": ("true", "Anna", "Ann", ("Ann", "Ann"), None, CLEANED_REASON),
    "mailchimp-rename-reaches-hubspot": ("false", "Ann", "Anne", ("Ann", "Ann"), "Anne", None),
    "first-link-fill-not-sent": ("false", "Ann", "", None, None, CLEANED_REASON),
    "nothing-to-write": ("false", "Ann", "Ann", ("Ann", "Ann"), None, None),
}  # fmt: skip


@pytest.mark.parametrize(
    ("newsletter", "h", "m", "base", "to_hubspot", "blocked"), CLEANED.values(), ids=CLEANED.keys()
)
def test_a_cleaned_member_is_never_written_to(
    newsletter: str,
    h: str,
    m: str,
    base: tuple[str, str] | None,
    to_hubspot: str | None,
    blocked: str | None,
) -> None:
    bases = dict([EMAIL, (SUBSCRIPTION_KEY, (newsletter, "cleaned"))])
    if base:
        bases["firstname"] = base
    view = ContactView(
        hubspot(newsletter=newsletter, firstname=h), mailchimp("cleaned", FNAME=m), bases
    )
    decision = reconcile(view, make_config())
    assert not decision.writes_mailchimp
    assert decision.hubspot.get("firstname") == to_hubspot
    assert decision.blocked == blocked


# -- creating a contact from a member ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "newsletter"),
    [("subscribed", "true"), ("pending", "false"), ("transactional", "false")],
)
def test_a_contact_from_a_member_is_opted_in_only_when_subscribed(
    status: str, newsletter: str
) -> None:
    decision = reconcile(ContactView(None, mailchimp(status)), make_config())
    assert decision.create_hubspot
    assert decision.hubspot["newsletter"] == newsletter


def test_a_member_with_an_unknown_status_is_no_new_contact() -> None:
    decision = reconcile(ContactView(None, mailchimp("nonsubscribed")), make_config())
    assert not decision.create_hubspot
    assert not decision.writes_hubspot
    assert decision.blocked is not None
    assert "nonsubscribed" in decision.blocked


# -- ties at Mailchimp's resolution (whole seconds) -------------------------------------------

SECOND = T0 + timedelta(hours=1)


def _same_second(
    newsletter: str, status: str, hubspot_ms: int, member_second: int = 0
) -> ContactView:
    """Both sides changed since the base; HubSpot's value stamped ``hubspot_ms`` past SECOND."""
    stamp = SECOND + timedelta(milliseconds=hubspot_ms)
    return ContactView(
        HubSpotSide(
            values={"email": "ann@acme-mail.com", "newsletter": newsletter},
            modified=stamp,
            times={"newsletter": stamp},
            history_fetched=True,
        ),
        MailchimpSide(
            email="ann@acme-mail.com",
            status=status,
            fields={},
            last_changed=SECOND + timedelta(seconds=member_second),
        ),
        {},
    )


TIES = {
    # id: (newsletter, status, HubSpot ms past the second, member's second,
    #      expected newsletter write, expected status write)
    "opt-in-at-400ms-ties-an-unsubscribe": ("true", "unsubscribed", 400, 0, "false", None),
    "opt-in-at-999ms-ties-an-unsubscribe": ("true", "unsubscribed", 999, 0, "false", None),
    "opt-in-a-second-later-wins-pending": ("true", "unsubscribed", 1000, 0, None, "pending"),
    "opt-in-just-before-the-second-loses": ("true", "unsubscribed", -1, 0, "false", None),
    "opt-out-at-400ms-ties-a-subscribe": ("false", "subscribed", 400, 0, None, "unsubscribed"),
    "opt-out-before-the-second-loses": ("false", "subscribed", -1, 0, "true", None),
}  # fmt: skip


@pytest.mark.parametrize(
    ("newsletter", "status", "ms", "second", "write_hs", "write_status"),
    TIES.values(),
    ids=TIES.keys(),
)
def test_a_hubspot_change_in_the_members_second_is_a_tie(
    newsletter: str,
    status: str,
    ms: int,
    second: int,
    write_hs: str | None,
    write_status: str | None,
) -> None:
    decision = reconcile(_same_second(newsletter, status, ms, second), make_config())
    assert decision.hubspot.get("newsletter") == write_hs
    assert decision.mailchimp_status == write_status
    (conflict,) = [c for c in decision.conflicts if c.key == SUBSCRIPTION_KEY]
    assert ("equal timestamps" in conflict.reason) == (0 <= ms < 1000)


def test_a_field_changed_in_the_members_second_is_a_tie_kept_by_hubspot() -> None:
    stamp = SECOND + timedelta(milliseconds=400)
    view = ContactView(
        HubSpotSide(
            values={"email": "ann@acme-mail.com", "newsletter": "true", "firstname": "HS"},
            modified=stamp,
            times={"firstname": stamp},
            history_fetched=True,
        ),
        MailchimpSide("ann@acme-mail.com", "subscribed", {"FNAME": "MC"}, SECOND),
        dict([EMAIL, (SUBSCRIPTION_KEY, ("true", "subscribed")), ("firstname", ("Old", "Old"))]),
    )
    decision = reconcile(view, make_config())
    (conflict,) = decision.conflicts
    assert "equal timestamps" in conflict.reason
    assert decision.mailchimp_fields == {"FNAME": "HS"}
