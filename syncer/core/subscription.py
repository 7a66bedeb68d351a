"""The subscription merge: DESIGN §6's consent table, refined by the base.

The base comes first: a side whose subscription value equals the base did not change. Timestamps
decide only when both sides changed; on equal timestamps (the same second, at Mailchimp's
resolution) the opt-out wins.

Mailchimp's statuses say different things about consent, and each is read for what it says:
``subscribed`` is consent; ``pending`` is consent asked for and not yet given, so it never makes
HubSpot's property true; ``unsubscribed`` and ``archived`` are an opt-out; ``transactional`` is a
member nobody ever asked (a store created it), so it neither clears an opt-in nor is one;
``cleaned`` is an address that bounces, never written to again. A status syncer does not know
means nothing at all is written about the subscription, and the person is reported.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncer.config import Config
from syncer.core.draft import Draft, newer_side, side_label
from syncer.core.models import (
    MAILCHIMP_STATUSES,
    STATUS_MIRROR_KEY,
    SUBSCRIPTION_KEY,
    Conflict,
    FieldChange,
    HubSpotSide,
    MailchimpSide,
    Pair,
    Side,
)
from syncer.core.transforms import as_bool

CLEANED_REASON = "cleaned by Mailchimp after bounces: it is never written to or resubscribed"
NEVER_REASON = "unsubscribed in Mailchimp and `subscription.resubscribe` is `never`"
TRANSACTIONAL_NEVER_REASON = (
    "transactional in Mailchimp (never asked to subscribe) and `subscription.resubscribe` is "
    "`never`"
)

#: What each status says about consent; a change of status within one kind is no change.
CONSENT = {
    "subscribed": "given",
    "pending": "asked",
    "unsubscribed": "refused",
    "archived": "refused",
    "transactional": "never asked",
    "cleaned": "bounced",
}
#: The statuses that agree with HubSpot's property as it is (``pending`` agrees with a wish
#: to subscribe; with no wish it is a signup awaiting confirmation, decided below).
_AGREES_WITH = {
    True: ("subscribed", "pending"),
    False: ("unsubscribed", "archived", "transactional"),
}


def unknown_status_reason(status: str) -> str:
    return (
        f"Mailchimp reports the status {status!r}, which syncer does not know: nothing about "
        "the subscription is written"
    )


def known_status(status: str) -> bool:
    return status in MAILCHIMP_STATUSES


def merge_subscription(
    draft: Draft,
    hubspot: HubSpotSide,
    mailchimp: MailchimpSide,
    base: Pair | None,
    config: Config,
) -> None:
    name = config.subscription.hubspot_property
    h = hubspot.values.get(name, "")
    wants = as_bool(h) is True
    status = mailchimp.status
    if not known_status(status):
        draft.blocked = unknown_status_reason(status)
        draft.close_member(draft.blocked)
        return
    if status == "cleaned":
        draft.close_member(CLEANED_REASON)
        if wants:
            draft.blocked = CLEANED_REASON
        else:
            _agree(draft, base, h, status)
        return
    if status in _AGREES_WITH[wants]:
        _agree(draft, base, h, status)
        return
    if status == "transactional":
        _ask_to_confirm(draft, h, status, config, TRANSACTIONAL_NEVER_REASON)
        return
    if base is not None and (as_bool(base[0]) is True) == wants and _same_consent(base[1], status):
        _agree(draft, base, h, status)  # neither side changed since they last agreed
        return
    decided = _winner(hubspot, name, mailchimp, base, wants)
    if decided is None:
        draft.needs_history.append(name)
        return
    winner, conflict = decided
    if winner == "hubspot":
        if wants:
            _ask_to_confirm(draft, h, status, config, NEVER_REASON)
        else:
            set_status(draft, h, status, "unsubscribed")
    elif status == "pending":
        _agree(draft, base, h, status)  # a signup awaiting confirmation is no opt-in yet
    else:
        new = "true" if status == "subscribed" else "false"
        draft.write_hubspot(SUBSCRIPTION_KEY, name, h, new, (new, status))
    if conflict is not None and draft.blocked is None:
        # A refusal is reported as blocked; as a conflict it would recur at every decision.
        draft.conflicts.append(conflict)


def _agree(draft: Draft, base: Pair | None, h: str, status: str) -> None:
    if base != (h, status):
        draft.agreed_now[SUBSCRIPTION_KEY] = (h, status)


def _ask_to_confirm(draft: Draft, h: str, status: str, config: Config, never: str) -> None:
    """HubSpot wants a member who is not subscribed: ``pending``, never a bare ``subscribed``."""
    if config.subscription.resubscribe == "never":
        draft.blocked = never
    else:
        set_status(draft, h, status, "pending")


def _same_consent(before: str, now: str) -> bool:
    return CONSENT.get(before) == CONSENT[now]


def _winner(
    hubspot: HubSpotSide, name: str, mailchimp: MailchimpSide, base: Pair | None, wants: bool
) -> tuple[Side, Conflict | None] | None:
    """The side that changed since the base; when both did, the newer (``None``: need history)."""
    hubspot_changed = base is None or (as_bool(base[0]) is True) != wants
    mailchimp_changed = base is None or not _same_consent(base[1], mailchimp.status)
    if hubspot_changed != mailchimp_changed:
        return ("hubspot" if hubspot_changed else "mailchimp"), None
    newer = newer_side(hubspot, name, mailchimp.changed_at("status"))
    if newer is None:
        return None
    if newer == "tie":
        winner: Side = "mailchimp" if wants else "hubspot"
        reason = "equal timestamps: the opt-out wins"
    else:
        winner, reason = newer, f"newer side wins: {side_label(newer)} changed more recently"
    h = hubspot.values.get(name, "")
    return winner, Conflict(SUBSCRIPTION_KEY, h, mailchimp.status, winner, reason)


def set_status(draft: Draft, h: str, old: str, new: str) -> None:
    draft.mailchimp_status = new
    draft.after_mailchimp[SUBSCRIPTION_KEY] = (h, new)
    draft.changes.append(FieldChange("mailchimp", "status", old, new))


def mirror_status(
    draft: Draft, hubspot_values: Mapping[str, str], status: str, config: Config
) -> None:
    """Copy the Mailchimp status (as it will be after this run) into the optional property.

    A status syncer does not know is not copied: nothing about such a subscription is written.
    """
    name = config.subscription.status_property
    if not name or not known_status(status):
        return
    current = hubspot_values.get(name, "")
    if current != status:
        draft.write_hubspot(STATUS_MIRROR_KEY, name, current, status, (status, status))
