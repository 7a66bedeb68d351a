"""Who is who: normalised emails, Mailchimp's subscriber hash, and who survives a HubSpot merge."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from syncer.core.models import SUBSCRIPTION_KEY
from syncer.core.records import ContactRow
from syncer.core.transforms import as_bool

# Deliberately loose: the vendors decide what they accept. This only catches what cannot possibly
# be delivered, so that no API call is spent on it.
_PLAUSIBLE_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def normalise_email(email: str | None) -> str:
    """The join key: trimmed and lower-cased (both vendors treat addresses case-insensitively)."""
    return (email or "").strip().lower()


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id for an address; prefer the id Mailchimp returned when there is one."""
    return hashlib.md5(normalise_email(email).encode(), usedforsecurity=False).hexdigest()


def plausible_email(email: str) -> bool:
    return bool(_PLAUSIBLE_EMAIL.match(email.strip()))


def merge_survivor(rows: Sequence[ContactRow], email: str) -> tuple[ContactRow, bool]:
    """Which of the people HubSpot merged into one contact keeps the link, and whether it is the
    person the merged record is about (its email is theirs: HubSpot keeps the primary's email).

    A person with a Mailchimp member comes first, the one with the merged record's address
    before any other; then, among people without a member, the one with that address. ``rows``
    come oldest first, which breaks the remaining ties.
    """
    members = [row for row in rows if row.mc is not None]
    for row in members:
        if normalise_email(str((row.mc or {}).get("email", ""))) == email:
            return row, True
    if members:
        return members[0], False
    for row in rows:
        if row.email == email:
            return row, True
    return rows[0], False


def base_after_merge(
    base: Mapping[str, list[str]],
    hubspot_values: Mapping[str, str],
    member_status: str | None,
    subscription_property: str,
    *,
    same_person: bool,
) -> dict[str, list[str]]:
    """The base a person starts from once linked to the record HubSpot merged them into.

    The merged record is the same person's when it carries their address: what both sides last
    agreed on still holds. Otherwise nothing agreed holds, and the first-link rules decide each
    field (conflicts recorded). Either way a merge never changes the member's subscription
    (DESIGN §5): when the merged record's property disagrees with a subscribed or unsubscribed
    member, the base is set so that the member's status reads as the newer change, and HubSpot's
    property follows the member.
    """
    kept = dict(base) if same_person else {}
    if member_status not in ("subscribed", "unsubscribed"):
        return kept
    value = hubspot_values.get(subscription_property, "")
    subscribed = member_status == "subscribed"
    if (as_bool(value) is True) == subscribed:
        kept[SUBSCRIPTION_KEY] = [value, member_status]
    else:
        kept[SUBSCRIPTION_KEY] = [value, "unsubscribed" if subscribed else "subscribed"]
    return kept
