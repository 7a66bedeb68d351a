"""Groups and marketing permissions in the reconciler: the CiviCRM extension's interest cases
(changed on one side, on both, with and without a base) as a truth table, and the consent
invariants as hypothesis properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.config import Config, parse_config
from syncer.core.models import (
    EMAIL_KEY,
    INTEREST_KEY,
    PERMISSION_KEY,
    SUBSCRIPTION_KEY,
    ContactView,
    Decision,
    Pair,
)
from syncer.core.preferences import flag, member_preferences, unknown_choices
from syncer.core.reconcile import reconcile
from tests.reconcile_support import apply, at, hubspot, mailchimp, with_history

EVENTS, NEWS, OFFERS, EMAIL = "ev01", "nw02", "of03", "pm04"
E_KEY, EMAIL_P = INTEREST_KEY + EVENTS, PERMISSION_KEY + EMAIL
CONFIG_TEXT = """
hubspot: {{token: t}}
mailchimp: {{api_key: 0a-us1, list_id: l}}
fields: []
interests:
  - {{hubspot: events, category: Invites, mailchimp: Events, winner: {winner}}}
  - {{hubspot: events_optin, category: Optins, mailchimp: Events, consent: true}}
  - {{hubspot: topics, category: Topics, winner: {winner}}}
permissions:
  - {{hubspot: gdpr_email, mailchimp: Email}}
"""
#: The address and the subscription agree, so only preferences are decided.
AGREED: dict[str, Pair] = {
    EMAIL_KEY: ("ann@acme-mail.com", "ann@acme-mail.com"),
    SUBSCRIPTION_KEY: ("true", "subscribed"),
}


def make(winner: str = "latest") -> Config:
    """A config as a run has it once the audience's ids are read (run/preferences.py)."""
    config = parse_config(CONFIG_TEXT.format(winner=winner), {})
    events, optin, topics = config.preferences.interests
    resolved = (
        replace(events, category_id="c1", resolved=((EVENTS, "Events"),)),
        replace(optin, category_id="c2", resolved=(("op05", "Events"),)),
        replace(topics, category_id="c3", resolved=((NEWS, "News"), (OFFERS, "Offers"))),
    )
    (permission,) = config.preferences.permissions
    preferences = replace(
        config.preferences,
        interests=resolved,
        permissions=(replace(permission, permission_id=EMAIL),),
    )
    return replace(config, preferences=preferences)


def view(
    hs: dict[str, str],
    mc: dict[str, str],
    base: dict[str, Pair] | None = None,
    *,
    hs_time: float = 0,
    mc_time: float = 0,
) -> ContactView:
    times = {name: at(hs_time) for name, value in hs.items() if value}
    side = replace(hubspot(modified=hs_time, newsletter="true", **hs), times=times)
    return ContactView(side, mailchimp(changed=mc_time, **mc), {**AGREED, **(base or {})})


def writes(decision: Decision) -> tuple[dict[str, str], dict[str, str]]:
    assert not decision.needs_history, "the timestamps given decide"
    return dict(decision.hubspot), dict(decision.mailchimp_fields)


# -- one interest, the CiviCRM extension's cases ---------------------------------------------------

CASES = [
    # (HubSpot, Mailchimp, base, HubSpot newer?) -> (HubSpot write, Mailchimp write)
    pytest.param("true", "true", None, True, None, None, id="no-base-agree"),
    pytest.param("", "false", None, True, None, None, id="no-base-blank-is-off"),
    pytest.param("true", "false", None, True, None, "true", id="no-base-differ-hubspot-newer"),
    pytest.param("true", "false", None, False, "false", None, id="no-base-differ-mailchimp-newer"),
    pytest.param("", "true", None, False, "true", None, id="no-base-mailchimp-only"),
    pytest.param("true", "false", ("false", "false"), False, None, "true", id="hubspot-changed"),
    pytest.param("false", "true", ("false", "false"), True, "true", None, id="mailchimp-changed"),
    pytest.param("false", "false", ("true", "true"), True, None, None, id="both-changed-alike"),
    pytest.param("", "true", ("true", "true"), True, None, "false", id="hubspot-cleared-is-off"),
]


@pytest.mark.parametrize(("h", "m", "base", "hubspot_newer", "to_hs", "to_mc"), CASES)
def test_one_interest_merges_like_a_field(
    h: str, m: str, base: Pair | None, hubspot_newer: bool, to_hs: str | None, to_mc: str | None
) -> None:
    config = make()
    bases = {"events": base} if base else {}
    decision = reconcile(
        view(
            {"events": h},
            {E_KEY: m},
            bases,
            hs_time=5 if hubspot_newer else 1,
            mc_time=1 if hubspot_newer else 5,
        ),
        config,
    )
    hs_writes, mc_writes = writes(decision)
    assert hs_writes.get("events") == to_hs
    assert mc_writes.get(E_KEY) == to_mc


@pytest.mark.parametrize("winner", ["hubspot", "mailchimp"])
def test_a_whole_group_changed_on_both_sides_goes_to_the_winner(winner: str) -> None:
    topics = f"{INTEREST_KEY}{NEWS}", f"{INTEREST_KEY}{OFFERS}"
    decision = reconcile(
        view(
            {"topics": "News;Offers"},
            {topics[0]: "false", topics[1]: "false"},
            {"topics": ("News", "News")},
        ),
        make(winner),
    )
    assert [c.key for c in decision.conflicts] == ["topics"]
    if winner == "hubspot":
        assert decision.mailchimp_fields == {"@category:c3": "News;Offers"}
        interests, _ = member_preferences(decision.mailchimp_fields, make().preferences)
        assert interests == {NEWS: True, OFFERS: True}
    else:
        assert decision.hubspot == {"topics": ""}


def test_a_group_compares_as_a_set_of_known_names() -> None:
    topics = f"{INTEREST_KEY}{NEWS}", f"{INTEREST_KEY}{OFFERS}"
    decision = reconcile(
        view({"topics": "Offers;News;Gone"}, {topics[0]: "true", topics[1]: "true"}), make()
    )
    assert writes(decision) == ({}, {})


def test_a_group_written_to_hubspot_keeps_its_names_that_are_no_interest() -> None:
    topics = f"{INTEREST_KEY}{NEWS}", f"{INTEREST_KEY}{OFFERS}"
    config = make()
    decision = reconcile(
        view(
            {"topics": "News;Gone"},
            {topics[0]: "true", topics[1]: "true"},
            {"topics": ("News;Gone", "News")},
        ),
        config,
    )
    assert writes(decision) == ({"topics": "Gone;News;Offers"}, {})
    assert unknown_choices({"topics": "News;Gone;Ofers"}, config.preferences) == [
        "HubSpot topics holds 'Gone', which is no interest of Mailchimp group 'Topics' "
        "(its interests: News, Offers)",
        "HubSpot topics holds 'Ofers', which is no interest of Mailchimp group 'Topics' "
        "(did you mean 'Offers'?)",
    ]


# -- consent: permissions and opt-in interests -----------------------------------------------------

CONSENT = [
    pytest.param("", "false", None, 0, 0, None, None, id="never-answered-nothing-invented"),
    pytest.param("", "true", None, 0, 0, "true", None, id="mailchimp-grant-fills-blank"),
    pytest.param("true", "false", None, 0, 9, None, "true", id="first-link-hubspot-grant"),
    pytest.param("false", "true", None, 5, 5, None, "false", id="tie-goes-to-withdrawal"),
    pytest.param("true", "false", None, 5, 5, None, "true", id="no-base-off-is-no-answer"),
    pytest.param("", "true", ("true", "true"), 9, 0, None, None, id="cleared-is-not-withdrawal"),
    pytest.param(
        "true", "false", ("true", "true"), 9, 0, "false", None, id="mailchimp-withdrawal-wins"
    ),
    pytest.param(
        "false", "true", ("true", "true"), 0, 9, None, "false", id="hubspot-withdrawal-wins"
    ),
    pytest.param("true", "false", ("false", "true"), 5, 5, "false", None, id="both-tie-withdraws"),
    pytest.param("true", "false", ("false", "true"), 9, 2, None, "true", id="both-newer-hubspot"),
]


@pytest.mark.parametrize(("h", "m", "base", "hs_t", "mc_t", "to_hs", "to_mc"), CONSENT)
@pytest.mark.parametrize(("prop", "key"), [("gdpr_email", EMAIL_P), ("events_optin", "op05")])
def test_consent_rules(
    prop: str,
    key: str,
    h: str,
    m: str,
    base: Pair | None,
    hs_t: float,
    mc_t: float,
    to_hs: str | None,
    to_mc: str | None,
) -> None:
    key = key if key.startswith("@") else INTEREST_KEY + key
    decision = reconcile(
        view({prop: h}, {key: m}, {prop: base} if base else {}, hs_time=hs_t, mc_time=mc_t),
        make(),
    )
    hs_writes, mc_writes = writes(decision)
    assert hs_writes.get(prop) == to_hs
    assert mc_writes.get(key) == to_mc


# -- invariants ------------------------------------------------------------------------------------

FLAGS = st.sampled_from(["", "true", "false"])
MC_FLAGS = st.sampled_from(["true", "false"])
KEYS = {"gdpr_email": EMAIL_P, "events_optin": INTEREST_KEY + "op05", "events": E_KEY}


@st.composite
def views(draw: st.DrawFn) -> ContactView:
    hs = {prop: draw(FLAGS) for prop in KEYS}
    hs["topics"] = draw(st.sampled_from(["", "News", "News;Offers", "Offers"]))
    mc = {key: draw(MC_FLAGS) for key in KEYS.values()}
    mc.update({INTEREST_KEY + NEWS: draw(MC_FLAGS), INTEREST_KEY + OFFERS: draw(MC_FLAGS)})
    base: dict[str, Pair] = {}
    for prop in [*KEYS, "topics"]:
        if draw(st.booleans()):
            base[prop] = (draw(FLAGS), draw(MC_FLAGS))
    hs_t, mc_t = draw(st.integers(0, 5)), draw(st.integers(0, 5))
    return view(hs, mc, base, hs_time=hs_t, mc_time=mc_t)


def settle(current: ContactView, decision: Decision, config: Config, now: datetime) -> ContactView:
    """The world after the writes, Mailchimp storing a group's write as its interests."""
    interests, permissions = member_preferences(decision.mailchimp_fields, config.preferences)
    values = {k: v for k, v in decision.mailchimp_fields.items() if not k.startswith("@category")}
    values.update({INTEREST_KEY + k: "true" if v else "false" for k, v in interests.items()})
    values.update({PERMISSION_KEY + k: "true" if v else "false" for k, v in permissions.items()})
    return apply(current, replace(decision, mailchimp_fields=values), now)


@settings(max_examples=300, deadline=None)
@given(views())
def test_preferences_converge_and_then_decide_nothing(start: ContactView) -> None:
    config = make()
    decision = reconcile(with_history(start), config)
    after = settle(with_history(start), decision, config, at(100))
    again = reconcile(with_history(after), config)
    assert not again.hubspot, again
    assert not again.mailchimp_fields, again


@settings(max_examples=300, deadline=None)
@given(views())
def test_a_grant_is_never_invented(start: ContactView) -> None:
    """A consent value becomes "true" on a side only when the other side says "true"."""
    config = make()
    decision = reconcile(with_history(start), config)
    assert start.hubspot is not None
    assert start.mailchimp is not None
    for prop in ("gdpr_email", "events_optin"):
        key = KEYS[prop]
        if decision.hubspot.get(prop) == "true":
            assert start.mailchimp.fields[key] == "true"
        if decision.mailchimp_fields.get(key) == "true":
            assert flag(start.hubspot.values[prop]) == "true"


@settings(max_examples=300, deadline=None)
@given(views())
def test_a_withdrawal_since_the_base_is_never_overwritten_by_a_side_that_did_not_change(
    start: ContactView,
) -> None:
    config = make()
    decision = reconcile(with_history(start), config)
    assert start.hubspot is not None
    assert start.mailchimp is not None
    for prop in ("gdpr_email", "events_optin"):
        base = start.base.get(prop)
        key = KEYS[prop]
        h, m = start.hubspot.values[prop], start.mailchimp.fields[key]
        if base is None:
            continue
        hubspot_withdrew = h == "false" and base[0] != "false"
        mailchimp_withdrew = m == "false" and base[1] != "false"
        if hubspot_withdrew and m == base[1]:
            assert decision.hubspot.get(prop) is None
        if mailchimp_withdrew and h == base[0]:
            assert decision.mailchimp_fields.get(key) is None


# -- a one-way permission into HubSpot -------------------------------------------------------------

ONE_WAY = [
    pytest.param("", "false", None, None, id="never-answered-stays-blank"),
    pytest.param("true", "false", None, None, id="first-link-off-is-no-withdrawal"),
    pytest.param("true", "false", ("", "false"), None, id="never-said-yes-is-no-withdrawal"),
    pytest.param("true", "false", ("false", "false"), None, id="hubspot-grant-kept"),
    pytest.param("", "true", None, "true", id="mailchimp-grant-fills-blank"),
    pytest.param("false", "true", ("false", "false"), "true", id="mailchimp-grant-mirrored"),
    pytest.param("true", "false", ("true", "true"), "false", id="mailchimp-withdrawal-mirrored"),
]


@pytest.mark.parametrize(("h", "m", "base", "to_hs"), ONE_WAY)
def test_a_one_way_permission_mirrors_answers_never_mailchimps_default_off(
    h: str, m: str, base: Pair | None, to_hs: str | None
) -> None:
    """Mailchimp shows every permission of a member who never answered as ``enabled: false``
    (mailchimp/APIv3-examples #46): mirrored into HubSpot only once Mailchimp said yes."""
    config = make()
    (permission,) = config.preferences.permissions
    one_way = replace(
        config.preferences, permissions=(replace(permission, direction="to_hubspot"),)
    )
    decision = reconcile(
        view({"gdpr_email": h}, {EMAIL_P: m}, {"gdpr_email": base} if base else {}),
        replace(config, preferences=one_way),
    )
    hs_writes, mc_writes = writes(decision)
    assert hs_writes.get("gdpr_email") == to_hs
    assert EMAIL_P not in mc_writes


@pytest.mark.parametrize(
    ("then_h", "then_m", "to_hs", "to_mc"),
    [
        pytest.param("true", "false", None, "true", id="hubspot-grants-again"),
        pytest.param("", "true", "true", None, id="mailchimp-grants-again"),
    ],
)
def test_a_withdrawal_while_hubspot_is_blank_is_the_base_for_what_comes_next(
    then_h: str, then_m: str, to_hs: str | None, to_mc: str | None
) -> None:
    """Both agreed on a grant; HubSpot was cleared (unknown), then Mailchimp withdrew: nothing
    to write, but that is where both now stand. A later grant on either side is a change since
    then and reaches the other side; the older withdrawal must not overwrite it."""
    config = make()
    first = reconcile(
        view({"gdpr_email": ""}, {EMAIL_P: "false"}, {"gdpr_email": ("true", "true")}), config
    )
    assert writes(first) == ({}, {})
    base = dict(first.agreed_now).get("gdpr_email", ("true", "true"))
    decision = reconcile(
        view({"gdpr_email": then_h}, {EMAIL_P: then_m}, {"gdpr_email": base}, hs_time=9), config
    )
    hs_writes, mc_writes = writes(decision)
    assert hs_writes.get("gdpr_email") == to_hs
    assert mc_writes.get(EMAIL_P) == to_mc
