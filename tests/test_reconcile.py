"""The reconciler's rules as truth tables: fields, the consent table, creation and history."""

from __future__ import annotations

import pytest

from syncer.core.models import EMAIL_KEY, SUBSCRIPTION_KEY, ContactView, Decision
from syncer.core.reconcile import CLEANED_UNLINKED, INVALID_EMAIL_REASON, reconcile
from syncer.core.subscription import NEVER_REASON
from tests.reconcile_support import hubspot, mailchimp, make_config

CONFIG = make_config()
IN_SYNC = {SUBSCRIPTION_KEY: ("true", "subscribed"), EMAIL_KEY: ("ann@acme-mail.com",) * 2}


def decide(view: ContactView, **config: object) -> Decision:
    return reconcile(view, make_config(**config) if config else CONFIG)  # type: ignore[arg-type]


# -- two-way fields ---------------------------------------------------------------------------


FIELD_CASES = {
    # id: (hubspot firstname, mailchimp FNAME, base pair, expected hubspot write, mailchimp write)
    "unchanged": ("Ann", "Ann", ("Ann", "Ann"), None, None),
    "hubspot-changed": ("Anna", "Ann", ("Ann", "Ann"), None, "Anna"),
    "mailchimp-changed": ("Ann", "Anne", ("Ann", "Ann"), "Anne", None),
    "hubspot-cleared": ("", "Ann", ("Ann", "Ann"), None, ""),
    "both-same-new-value": ("Anna", "Anna", ("Ann", "Ann"), None, None),
    "first-link-fill-hubspot": ("", "Ann", None, "Ann", None),
    "first-link-fill-mailchimp": ("Ann", "", None, None, "Ann"),
}


@pytest.mark.parametrize(
    ("h", "m", "base", "to_hubspot", "to_mailchimp"), FIELD_CASES.values(), ids=FIELD_CASES.keys()
)
def test_three_way_merge_of_a_two_way_field(
    h: str, m: str, base: tuple[str, str] | None, to_hubspot: str | None, to_mailchimp: str | None
) -> None:
    bases = dict(IN_SYNC, **({"firstname": base} if base else {}))
    view = ContactView(hubspot(firstname=h, newsletter="true"), mailchimp(FNAME=m), bases)
    decision = decide(view)
    assert decision.hubspot.get("firstname") == to_hubspot
    assert decision.mailchimp_fields.get("FNAME") == to_mailchimp
    assert not decision.conflicts


def test_both_changed_same_value_only_moves_the_base() -> None:
    view = ContactView(
        hubspot(firstname="Anna", newsletter="true"),
        mailchimp(FNAME="Anna"),
        dict(IN_SYNC, firstname=("Ann", "Ann")),
    )
    decision = decide(view)
    assert decision.agreed_now["firstname"] == ("Anna", "Anna")
    assert not decision.writes_hubspot
    assert not decision.writes_mailchimp


@pytest.mark.parametrize(
    ("winner", "hubspot_time", "mailchimp_time", "kept"),
    [
        ("hubspot", 1, 5, "HS"),
        ("mailchimp", 5, 1, "MC"),
        ("latest", 5, 1, "HS"),
        ("latest", 1, 5, "MC"),
        ("latest", 3, 3, "HS"),
    ],
    ids=["winner-hubspot", "winner-mailchimp", "latest-hubspot", "latest-mailchimp", "tie"],
)
def test_true_conflicts_follow_the_winner(
    winner: str, hubspot_time: float, mailchimp_time: float, kept: str
) -> None:
    view = ContactView(
        hubspot(
            modified=hubspot_time,
            times={"firstname": hubspot_time},
            fetched=True,
            firstname="HS",
            newsletter="true",
        ),
        mailchimp(changed=mailchimp_time, FNAME="MC"),
        dict(IN_SYNC, firstname=("Old", "Old")),
    )
    decision = decide(view, winner=winner)
    (conflict,) = decision.conflicts
    assert conflict.key == "firstname"
    assert conflict.winner == ("hubspot" if kept == "HS" else "mailchimp")
    assert winner in conflict.reason
    if kept == "HS":
        assert decision.mailchimp_fields == {"FNAME": "HS"}
    else:
        assert decision.hubspot == {"firstname": "MC"}


def test_latest_asks_for_history_only_when_hubspot_may_be_newer() -> None:
    both_changed = dict(IN_SYNC, firstname=("Old", "Old"))
    newer_member = ContactView(
        hubspot(modified=1, firstname="HS", newsletter="true"),
        mailchimp(changed=5, FNAME="MC"),
        both_changed,
    )
    assert decide(newer_member).hubspot == {"firstname": "MC"}
    newer_contact = ContactView(
        hubspot(modified=9, firstname="HS", newsletter="true"),
        mailchimp(changed=5, FNAME="MC"),
        both_changed,
    )
    decision = decide(newer_contact)
    assert decision.needs_history == ("firstname",)
    assert not decision.writes_hubspot
    assert not decision.writes_mailchimp


@pytest.mark.parametrize(
    ("h", "m", "expected"),
    [
        ("customer", "lead", "customer"),
        ("", "lead", ""),
        ("customer", "customer", None),
    ],
    ids=["overwrites", "clears", "equal"],
)
def test_one_way_fields_overwrite_their_target(h: str, m: str, expected: str | None) -> None:
    view = ContactView(
        hubspot(lifecyclestage=h, newsletter="true"),
        mailchimp(LCSTAGE=m),
        dict(IN_SYNC, lifecyclestage=(m, m)),
    )
    assert decide(view).mailchimp_fields.get("LCSTAGE") == expected


def test_to_hubspot_fields_flow_from_mailchimp_even_when_hubspot_changed() -> None:
    view = ContactView(
        hubspot(score="3", newsletter="true"),
        mailchimp(SCORE="7"),
        dict(IN_SYNC, score=("7", "7")),
    )
    decision = decide(view)
    assert decision.hubspot == {"score": "7"}
    assert "SCORE" not in decision.mailchimp_fields


def test_date_transform_compares_in_mailchimp_form() -> None:
    view = ContactView(
        hubspot(last_contacted="2026-03-04T15:16:17.000Z", newsletter="true"),
        mailchimp(LASTCONT="2026-03-04"),
        IN_SYNC,
    )
    decision = decide(view)
    assert "LASTCONT" not in decision.mailchimp_fields
    assert decision.agreed_now["last_contacted"] == ("2026-03-04T15:16:17.000Z", "2026-03-04")


def test_email_change_in_hubspot_renames_the_member() -> None:
    view = ContactView(hubspot(email="ann@new-mail.com", newsletter="true"), mailchimp(), IN_SYNC)
    decision = decide(view)
    assert decision.mailchimp_email == "ann@new-mail.com"
    assert decision.agreed_after_mailchimp[EMAIL_KEY] == ("ann@new-mail.com",) * 2


def test_email_change_in_mailchimp_updates_hubspot() -> None:
    view = ContactView(hubspot(newsletter="true"), mailchimp(email="ann@new-mail.com"), IN_SYNC)
    assert decide(view).hubspot == {"email": "ann@new-mail.com"}


def test_email_case_differences_are_not_changes() -> None:
    view = ContactView(hubspot(newsletter="true"), mailchimp(email="Ann@Acme-Mail.com"), IN_SYNC)
    decision = decide(view)
    assert not decision.writes_hubspot
    assert not decision.writes_mailchimp


# -- the subscription (the rest of DESIGN §6's table is in test_reconcile_consent.py) ---------


def test_resubscribe_never_refuses_and_reports() -> None:
    view = ContactView(
        hubspot(modified=5, newsletter="true"),
        mailchimp("unsubscribed", changed=1),
        {SUBSCRIPTION_KEY: ("false", "unsubscribed")},
    )
    decision = decide(view, resubscribe="never")
    assert decision.blocked == NEVER_REASON
    assert decision.mailchimp_status is None


@pytest.mark.parametrize(
    ("hs_stamp", "mc_changed", "expected_status", "expected_newsletter"),
    [(8, 5, "unsubscribed", None), (5, 8, None, "true"), (6, 6, "unsubscribed", None)],
    ids=["hubspot-newer", "mailchimp-newer", "tie-opt-out-wins"],
)
def test_both_changed_subscription_is_decided_by_time(
    hs_stamp: float, mc_changed: float, expected_status: str | None, expected_newsletter: str | None
) -> None:
    view = ContactView(
        hubspot(modified=9, times={"newsletter": hs_stamp}, fetched=True, newsletter="false"),
        mailchimp("subscribed", changed=mc_changed),
        {},
    )
    decision = decide(view)
    assert decision.mailchimp_status == expected_status
    assert decision.hubspot.get("newsletter") == expected_newsletter
    (conflict,) = [c for c in decision.conflicts if c.key == SUBSCRIPTION_KEY]
    assert conflict.reason


def test_a_never_set_property_is_older_than_any_member() -> None:
    view = ContactView(
        hubspot(modified=9, fetched=True, newsletter=""), mailchimp("subscribed", changed=1), {}
    )
    assert decide(view).hubspot.get("newsletter") == "true"


def test_status_mirror_shows_the_status_after_this_run() -> None:
    view = ContactView(
        hubspot(newsletter="false", mc_status="subscribed"),
        mailchimp("subscribed"),
        {SUBSCRIPTION_KEY: ("true", "subscribed"), EMAIL_KEY: IN_SYNC[EMAIL_KEY]},
    )
    decision = decide(view, status_property="mc_status")
    assert decision.mailchimp_status == "unsubscribed"
    assert decision.hubspot == {"mc_status": "unsubscribed"}


# -- creation ---------------------------------------------------------------------------------


def test_hubspot_only_subscriber_becomes_a_member() -> None:
    view = ContactView(hubspot(newsletter="true", firstname="Ann", score="4"), None)
    decision = decide(view)
    assert decision.create_mailchimp
    assert decision.mailchimp_status == "subscribed"
    assert decision.mailchimp_email == "ann@acme-mail.com"
    assert decision.mailchimp_fields == {"FNAME": "Ann"}
    assert decide(view, double_opt_in=True).mailchimp_status == "pending"


@pytest.mark.parametrize("newsletter", ["false", ""], ids=["false", "never-set"])
def test_hubspot_only_non_subscriber_is_left_alone(newsletter: str) -> None:
    assert decide(ContactView(hubspot(newsletter=newsletter), None)) == Decision()


def test_hubspot_only_with_an_impossible_address_is_blocked() -> None:
    decision = decide(ContactView(hubspot(email="ann(at)acme", newsletter="true"), None))
    assert decision.blocked == INVALID_EMAIL_REASON
    assert not decision.writes_mailchimp


@pytest.mark.parametrize(
    ("status", "newsletter"),
    [("subscribed", "true"), ("pending", "false"), ("unsubscribed", "false")],
)
def test_mailchimp_only_member_becomes_a_contact(status: str, newsletter: str) -> None:
    decision = decide(ContactView(None, mailchimp(status, FNAME="Ann", SCORE="2")))
    assert decision.create_hubspot
    assert decision.hubspot == {
        "email": "ann@acme-mail.com",
        "firstname": "Ann",
        "newsletter": newsletter,
        "score": "2",
    }


@pytest.mark.parametrize(
    ("status", "note"), [("archived", None), ("cleaned", CLEANED_UNLINKED)], ids=str
)
def test_archived_or_cleaned_member_without_contact_is_not_created(
    status: str, note: str | None
) -> None:
    """A cleaned one is left out with a note (issue 13.8: never without a trace)."""
    assert decide(ContactView(None, mailchimp(status))) == Decision(note=note)


def test_a_fixed_address_lets_go_of_the_cleaned_member() -> None:
    view = ContactView(
        hubspot(email="ann@fixed-mail.com", newsletter="true"),
        mailchimp("cleaned"),
        {EMAIL_KEY: ("ann@acme-mail.com", "ann@acme-mail.com")},
    )
    assert decide(view) == Decision(detach_member=True)
    same_address = ContactView(hubspot(newsletter="true"), mailchimp("cleaned"), view.base)
    assert not decide(same_address).detach_member


def test_archived_member_gets_no_field_updates() -> None:
    view = ContactView(
        hubspot(firstname="Anna", newsletter="false"),
        mailchimp("archived", FNAME="Ann"),
        {"firstname": ("Ann", "Ann"), SUBSCRIPTION_KEY: ("false", "archived")},
    )
    decision = decide(view)
    assert not decision.writes_mailchimp
