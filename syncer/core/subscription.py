"""The subscription merge: DESIGN §6's consent table, refined by the base.

The base comes first: a side whose subscription value equals the base did not change. Timestamps
decide only when both sides changed; on equal timestamps the opt-out wins.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncer.config import Config
from syncer.core.draft import Draft, newer_side, side_label
from syncer.core.models import (
    STATUS_MIRROR_KEY,
    SUBSCRIBED_STATUSES,
    SUBSCRIPTION_KEY,
    Conflict,
    FieldChange,
    HubSpotSide,
    MailchimpSide,
    Pair,
    Side,
)
from syncer.core.transforms import as_bool

CLEANED_REASON = "cleaned by Mailchimp after bounces: it can never be resubscribed"
NEVER_REASON = "unsubscribed in Mailchimp and `subscription.resubscribe` is `never`"


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
    if status == "cleaned":
        if wants:
            draft.blocked = CLEANED_REASON
        elif base != (h, status):
            draft.agreed_now[SUBSCRIPTION_KEY] = (h, status)
        return
    subscribed = status in SUBSCRIBED_STATUSES
    if wants == subscribed:
        if base != (h, status):
            draft.agreed_now[SUBSCRIPTION_KEY] = (h, status)
        return
    hubspot_changed = base is None or (as_bool(base[0]) is True) != wants
    mailchimp_changed = base is None or (base[1] in SUBSCRIBED_STATUSES) != subscribed
    conflict = None
    if hubspot_changed != mailchimp_changed:
        winner: Side = "hubspot" if hubspot_changed else "mailchimp"
    else:
        opt_out_side: Side = "mailchimp" if wants else "hubspot"
        decided = _subscription_winner(hubspot, name, mailchimp, opt_out_side)
        if decided is None:
            draft.needs_history.append(name)
            return
        winner, reason = decided
        conflict = Conflict(SUBSCRIPTION_KEY, h, status, winner, reason)
    if winner == "hubspot" and wants and config.subscription.resubscribe == "never":
        draft.blocked = NEVER_REASON
        return
    if conflict is not None:
        draft.conflicts.append(conflict)
    if winner == "mailchimp":
        new = "true" if subscribed else "false"
        draft.write_hubspot(SUBSCRIPTION_KEY, name, h, new, (new, status))
    elif not wants:
        set_status(draft, h, status, "unsubscribed")
    else:
        set_status(draft, h, status, "pending")


def _subscription_winner(
    hubspot: HubSpotSide, name: str, mailchimp: MailchimpSide, opt_out_side: Side
) -> tuple[Side, str] | None:
    """The newer side wins; on equal timestamps the opt-out wins; a never-set value is oldest."""
    newer = newer_side(hubspot, name, mailchimp.changed_at("status"))
    if newer is None:
        return None
    if newer == "tie":
        return opt_out_side, "equal timestamps: the opt-out wins"
    return newer, f"newer side wins: {side_label(newer)} changed more recently"


def set_status(draft: Draft, h: str, old: str, new: str) -> None:
    draft.mailchimp_status = new
    draft.after_mailchimp[SUBSCRIPTION_KEY] = (h, new)
    draft.changes.append(FieldChange("mailchimp", "status", old, new))


def mirror_status(
    draft: Draft, hubspot_values: Mapping[str, str], status: str, config: Config
) -> None:
    """Copy the Mailchimp status (as it will be after this run) into the optional property."""
    name = config.subscription.status_property
    if not name:
        return
    current = hubspot_values.get(name, "")
    if current != status:
        draft.write_hubspot(STATUS_MIRROR_KEY, name, current, status, (status, status))
