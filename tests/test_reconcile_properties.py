"""Invariants of the reconciler, checked by hypothesis over generated contacts and histories."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.config import Config
from syncer.core.models import (
    EMAIL_KEY,
    MAILCHIMP_STATUSES,
    SUBSCRIPTION_KEY,
    ContactView,
    Decision,
    HubSpotSide,
    MailchimpSide,
    Pair,
)
from syncer.core.reconcile import reconcile
from tests.reconcile_support import apply, at, detached, make_config, with_history

NAMES = st.sampled_from(["", "Ann", "Anna", "Bob"])
STAGES = st.sampled_from(["", "lead", "customer"])
DATES = st.sampled_from(["", "2026-03-04T15:16:17.000Z", "2026-03-05"])
FLAGS = st.sampled_from(["", "true", "false"])
#: Mailchimp's statuses, and one it may add some day that syncer does not know.
STATUSES = st.sampled_from([*sorted(MAILCHIMP_STATUSES), "nonsubscribed"])
EMAILS = st.sampled_from(["ann@acme-mail.com", "ANN@acme-mail.com", "ann@new-mail.com"])
MINUTES = st.integers(min_value=0, max_value=10)

CONFIGS = st.builds(
    make_config,
    winner=st.sampled_from(["latest", "hubspot", "mailchimp"]),
    resubscribe=st.sampled_from(["pending", "never"]),
    double_opt_in=st.booleans(),
    status_property=st.sampled_from([None, "mc_status"]),
)


@st.composite
def hubspot_sides(draw: st.DrawFn) -> HubSpotSide:
    values = {
        "email": draw(EMAILS),
        "firstname": draw(NAMES),
        "lastname": draw(NAMES),
        "lifecyclestage": draw(STAGES),
        "score": draw(st.sampled_from(["", "3", "7"])),
        "last_contacted": draw(DATES),
        "newsletter": draw(FLAGS),
        "mc_status": draw(st.sampled_from(["", "subscribed", "unsubscribed"])),
    }
    modified = draw(MINUTES)
    times = {
        name: at(draw(st.integers(min_value=0, max_value=modified)))
        for name, value in values.items()
        if value and draw(st.booleans())
    }
    return HubSpotSide(values=values, modified=at(modified), times=times)


@st.composite
def mailchimp_sides(draw: st.DrawFn) -> MailchimpSide:
    return MailchimpSide(
        email=draw(EMAILS),
        status=draw(STATUSES),
        fields={
            "FNAME": draw(NAMES),
            "LNAME": draw(NAMES),
            "LCSTAGE": draw(STAGES),
            "SCORE": draw(st.sampled_from(["", "3", "7"])),
            "LASTCONT": draw(st.sampled_from(["", "2026-03-04"])),
        },
        last_changed=at(draw(MINUTES)),
    )


@st.composite
def views(draw: st.DrawFn) -> ContactView:
    hubspot = draw(st.none() | hubspot_sides())
    mailchimp = draw(mailchimp_sides() if hubspot is None else st.none() | mailchimp_sides())
    base: dict[str, Pair] = {}
    if hubspot is not None and mailchimp is not None:
        keys = ["firstname", "lastname", "lifecyclestage", "score", "last_contacted"]
        for key in draw(st.lists(st.sampled_from(keys), unique=True)):
            base[key] = (draw(NAMES), draw(NAMES))
        if draw(st.booleans()):
            base[SUBSCRIPTION_KEY] = (draw(FLAGS), draw(STATUSES))
        if draw(st.booleans()):
            base[EMAIL_KEY] = (draw(EMAILS), draw(EMAILS))
    return ContactView(hubspot=hubspot, mailchimp=mailchimp, base=base)


def decide(view: ContactView, config: Config) -> tuple[ContactView, Decision]:
    """Reconcile as the engine does: again with history if asked, again once detached."""
    decision = reconcile(view, config)
    if decision.detach_member:
        view = detached(view)
        decision = reconcile(view, config)
    if decision.needs_history:
        view = with_history(view)
        decision = reconcile(view, config)
        assert not decision.needs_history, "history was asked for twice"
    return view, decision


def idle(decision: Decision) -> bool:
    return not decision.writes_hubspot and not decision.writes_mailchimp


@settings(max_examples=400, deadline=None)
@given(views(), CONFIGS)
def test_applying_decisions_converges_and_then_decides_nothing(
    view: ContactView, config: Config
) -> None:
    view, decision = decide(view, config)
    converged = apply(view, decision, at(100))
    _, again = decide(converged, config)
    assert idle(again), again
    assert not again.conflicts


@settings(max_examples=400, deadline=None)
@given(views(), CONFIGS)
def test_never_a_bare_subscribed_for_an_existing_member(view: ContactView, config: Config) -> None:
    decided_on, decision = decide(view, config)
    if decided_on.mailchimp is not None:
        assert not decision.create_mailchimp
        assert decision.mailchimp_status in (None, "pending", "unsubscribed")
        if decided_on.mailchimp.status == "cleaned":
            assert decision.mailchimp_status is None
        if decided_on.mailchimp.status in ("unsubscribed", "archived", "transactional"):
            assert decision.mailchimp_status != "unsubscribed"


@settings(max_examples=400, deadline=None)
@given(views(), CONFIGS)
def test_what_each_status_says_about_consent_is_respected(
    view: ContactView, config: Config
) -> None:
    """Nothing is written to a cleaned member; `pending` never opts HubSpot in; `transactional`
    never clears an opt-in; a status syncer does not know writes nothing about the subscription
    and blocks the person."""
    decided_on, decision = decide(view, config)
    member, contact = decided_on.mailchimp, decided_on.hubspot
    if member is None:
        return
    newsletter = decision.hubspot.get("newsletter")
    if member.status == "cleaned":
        assert not decision.writes_mailchimp
    if member.status == "pending":
        assert newsletter != "true"
    if member.status == "transactional" and contact and contact.values["newsletter"] == "true":
        assert newsletter is None
    if member.status not in MAILCHIMP_STATUSES:
        assert decision.blocked is not None
        assert not decision.writes_mailchimp
        assert newsletter is None
        assert "mc_status" not in decision.hubspot


EDITS = st.sampled_from(
    [
        "hs-subscribe",
        "hs-unsubscribe",
        "mc-unsubscribe",
        "mc-clean",
        "mc-confirm",
        "hs-rename",
        "hs-readdress",
    ]
)


@settings(max_examples=200, deadline=None)
@given(views(), CONFIGS, st.lists(EDITS, max_size=8))
def test_no_sequence_of_edits_turns_an_opt_out_or_a_bounce_into_subscribed(
    view: ContactView, config: Config, edits: list[str]
) -> None:
    """Only the person (confirming a pending subscription) ever makes a member `subscribed`.

    ``apply`` raises when syncer asks Mailchimp for a bare `subscribed` or touches a cleaned
    member's status; here the world also tracks who opted out or bounced, and checks after every
    round that none of them became `subscribed` by syncer's hand.
    """
    minute = 20
    opted_out = view.mailchimp is not None and view.mailchimp.status in ("unsubscribed", "cleaned")
    for edit in [*edits, None]:
        minute += 5
        if edit is not None:
            view = _outside_edit(view, edit, at(minute))
            if edit in ("mc-unsubscribe", "mc-clean") and view.mailchimp is not None:
                opted_out = True
        before = view.mailchimp
        view, decision = decide(view, config)
        minute += 5
        view = apply(view, decision, at(minute))
        after = view.mailchimp
        if before is None or after is None or after.email != before.email:
            opted_out = False  # a new address: a new member with a consent of its own
            continue
        if opted_out and before.status != "subscribed":
            assert after.status != "subscribed"
        if before.status == "cleaned":
            assert after.status == "cleaned"


def _outside_edit(view: ContactView, edit: str, now: datetime) -> ContactView:
    hubspot, member = view.hubspot, view.mailchimp
    if hubspot is not None and edit.startswith("hs-"):
        values = dict(hubspot.values)
        name, value = {
            "hs-subscribe": ("newsletter", "true"),
            "hs-unsubscribe": ("newsletter", "false"),
            "hs-rename": ("firstname", "Renamed"),
            "hs-readdress": ("email", f"fixed{len(values)}-{now.minute}@acme-mail.com"),
        }[edit]
        values[name] = value
        hubspot = HubSpotSide(values, now, {**hubspot.times, name: now})
    if member is not None and edit in ("mc-unsubscribe", "mc-clean", "mc-confirm"):
        if edit == "mc-confirm" and member.status == "pending":
            member = replace(member, status="subscribed", last_changed=now)
        elif edit == "mc-unsubscribe" and member.status != "cleaned":
            member = replace(member, status="unsubscribed", last_changed=now)
        elif edit == "mc-clean":
            member = replace(member, status="cleaned", last_changed=now)
    return replace(view, hubspot=hubspot, mailchimp=member)
