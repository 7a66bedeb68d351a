"""Builders for reconciler tests: configs, sides, and a pure model of applying a decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from syncer.config import Config, parse_config
from syncer.core.models import (
    EMAIL_KEY,
    SUBSCRIBED_STATUSES,
    SUBSCRIPTION_KEY,
    ContactView,
    Decision,
    HubSpotSide,
    MailchimpSide,
    Pair,
)
from syncer.core.reconcile import reconcile

T0 = datetime(2026, 1, 1, tzinfo=UTC)

CONFIG_TEXT = """
hubspot: {{token: t}}
mailchimp: {{api_key: 0a-us1, list_id: l}}
subscription:
  resubscribe: {resubscribe}
  double_opt_in: {double_opt_in}
  status_property: {status_property}
fields:
  - {{hubspot: firstname, mailchimp: FNAME, winner: {winner}}}
  - {{hubspot: lastname, mailchimp: LNAME, winner: {winner}}}
  - {{hubspot: lifecyclestage, mailchimp: LCSTAGE, direction: to_mailchimp}}
  - {{hubspot: score, mailchimp: SCORE, direction: to_hubspot}}
  - {{hubspot: last_contacted, mailchimp: LASTCONT, direction: to_mailchimp, transform: date}}
"""


def make_config(
    *,
    winner: str = "latest",
    resubscribe: str = "pending",
    double_opt_in: bool = False,
    status_property: str | None = None,
) -> Config:
    text = CONFIG_TEXT.format(
        winner=winner,
        resubscribe=resubscribe,
        double_opt_in=str(double_opt_in).lower(),
        status_property=status_property or "null",
    )
    return parse_config(text, {})


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def hubspot(
    modified: float = 0, times: dict[str, float] | None = None, fetched: bool = False, **values: str
) -> HubSpotSide:
    values.setdefault("email", "ann@acme-mail.com")
    return HubSpotSide(
        values=values,
        modified=at(modified),
        times={name: at(minute) for name, minute in (times or {}).items()},
        history_fetched=fetched,
    )


def mailchimp(
    status: str = "subscribed",
    changed: float = 0,
    email: str = "ann@acme-mail.com",
    **fields: str,
) -> MailchimpSide:
    return MailchimpSide(email=email, status=status, fields=fields, last_changed=at(changed))


def subscription_row(
    newsletter: str,
    status: str,
    base: tuple[str, str] | None,
    hs_time: float,
    mc_time: float,
    config: Config,
) -> Decision:
    """The decision on one row of a subscription truth table: one person, the e-mail in sync."""
    bases: dict[str, Pair] = {EMAIL_KEY: ("ann@acme-mail.com",) * 2}
    if base:
        bases[SUBSCRIPTION_KEY] = base
    view = ContactView(
        hubspot(modified=hs_time, newsletter=newsletter), mailchimp(status, changed=mc_time), bases
    )
    return reconcile(view, config)


def apply(view: ContactView, decision: Decision, now: datetime) -> ContactView:
    """The world after the decision's writes all succeeded, as the vendors would apply them.

    Mailchimp's consent rules are enforced here, stricter than Mailchimp: a status write of
    ``subscribed`` to an existing member raises, as does any write at all to a cleaned member.
    """
    base: dict[str, Pair] = dict(view.base)
    base.update(decision.agreed_now)
    hubspot_side = view.hubspot
    if decision.hubspot:
        values = dict(hubspot_side.values) if hubspot_side else {}
        values.update(decision.hubspot)
        times = dict(hubspot_side.times) if hubspot_side else {}
        times.update(dict.fromkeys(decision.hubspot, now))
        hubspot_side = HubSpotSide(values=values, modified=now, times=times)
        base.update(decision.agreed_after_hubspot)
    member = view.mailchimp
    if decision.writes_mailchimp:
        member = _apply_member(member, decision, now)
        base.update(decision.agreed_after_mailchimp)
    return ContactView(hubspot=hubspot_side, mailchimp=member, base=base)


def _apply_member(member: MailchimpSide | None, decision: Decision, now: datetime) -> MailchimpSide:
    status = decision.mailchimp_status
    if member is None:
        assert decision.create_mailchimp, "a write to a member that does not exist"
        assert status in ("subscribed", "pending")
        return MailchimpSide(
            email=decision.mailchimp_email or "",
            status=status,
            fields=dict(decision.mailchimp_fields),
            last_changed=now,
        )
    assert not decision.create_mailchimp
    assert member.status != "cleaned", "syncer wrote to a cleaned member"
    if status is not None:
        assert status != "subscribed", "syncer asked Mailchimp for a bare `subscribed`"
        if status == "pending" and member.status in SUBSCRIBED_STATUSES:
            raise AssertionError("pending asked for someone already subscribed")
    fields = dict(member.fields)
    fields.update(decision.mailchimp_fields)
    updated = replace(
        member,
        email=decision.mailchimp_email or member.email,
        status=status or member.status,
        fields=fields,
        last_changed=now,
    )
    return replace(updated, since=_since(member, updated))


def _since(before: MailchimpSide, after: MailchimpSide) -> dict[str, datetime]:
    """What the cache keeps: a value's first-seen time survives edits of other values."""
    values_before = {"status": before.status, "email_address": before.email, **before.fields}
    values_after = {"status": after.status, "email_address": after.email, **after.fields}
    return {
        key: before.changed_at(key) if values_before.get(key) == value else after.last_changed
        for key, value in values_after.items()
    }


def with_history(view: ContactView) -> ContactView:
    """The view once the engine has read HubSpot's property history (``times`` as given)."""
    assert view.hubspot is not None
    return replace(view, hubspot=replace(view.hubspot, history_fetched=True))


def detached(view: ContactView) -> ContactView:
    """The contact once it let go of its cleaned member (which lives on as its own record)."""
    return ContactView(hubspot=view.hubspot, mailchimp=None, base={})
