"""The reconciler: pure decisions about one contact, per field and for the subscription.

Given both sides and the base (what they last agreed on), it returns a :class:`Decision`: what to
write where, the base pairs that hold afterwards, the conflicts and their reasons, and whether the
contact is blocked. It does no I/O and reads no clock, so every rule here is a unit test away.

The merge is three-way: a side whose value still equals the base did not change, whatever its
timestamps say. Timestamps decide only true conflicts (both sides changed, or no base yet), and
HubSpot's per-property timestamps are asked for (``needs_history``) only when HubSpot's contact
was modified after the Mailchimp member: otherwise Mailchimp is newer without looking.
"""

from __future__ import annotations

from syncer.config import Config
from syncer.core.draft import Draft, Newer, newer_side
from syncer.core.fields import Rule, merge_fields
from syncer.core.identity import normalise_email, plausible_email
from syncer.core.models import (
    EMAIL_KEY,
    SUBSCRIPTION_KEY,
    ContactView,
    Decision,
    HubSpotSide,
    MailchimpSide,
    Pair,
)
from syncer.core.segments import mirror_tags
from syncer.core.subscription import (
    known_status,
    merge_subscription,
    mirror_status,
    set_status,
    unknown_status_reason,
)
from syncer.core.transforms import as_bool

INVALID_EMAIL_REASON = "the email address is not valid"
CLEANED_UNLINKED = (
    "cleaned by Mailchimp after bounces, and no HubSpot contact has this address: it is left "
    "out of the sync (no contact is created for an address that bounces)"
)


def reconcile(view: ContactView, config: Config) -> Decision:
    """Decide what to do about one person."""
    hubspot, mailchimp = view.hubspot, view.mailchimp
    if hubspot is not None and mailchimp is not None:
        return _merge(hubspot, mailchimp, view, config)
    if hubspot is not None:
        return _create_member(hubspot, config)
    if mailchimp is not None:
        return _create_contact(mailchimp, config)
    return Decision()


# -- both sides exist -----------------------------------------------------------------------------


def _merge(
    hubspot: HubSpotSide, mailchimp: MailchimpSide, view: ContactView, config: Config
) -> Decision:
    if _readdressed_after_bounce(hubspot, mailchimp, view.base.get(EMAIL_KEY)):
        return Decision(detach_member=True)
    draft = Draft()

    def newer(rule: Rule) -> Newer | None:
        return newer_side(hubspot, rule.hubspot_name, mailchimp.changed_at(rule.mailchimp_name))

    merge_subscription(draft, hubspot, mailchimp, view.base.get(SUBSCRIPTION_KEY), config)
    if mailchimp.status != "archived" or draft.mailchimp_status is not None:
        # An archived member's data is out of the audience; updating it would bring it back.
        merge_fields(
            draft, config, hubspot.values, mailchimp.email, mailchimp.fields, view.base, newer
        )
    mirror_status(draft, hubspot.values, draft.mailchimp_status or mailchimp.status, config)
    mirror_tags(draft, hubspot.values, mailchimp.tags, config)
    return draft.freeze()


def _readdressed_after_bounce(
    hubspot: HubSpotSide, mailchimp: MailchimpSide, base: Pair | None
) -> bool:
    """HubSpot fixed the address of a member Mailchimp cleaned.

    A cleaned member stays cleaned whatever its address; the fixed address is a new member, so
    the contact lets go of the bounced one instead of renaming it.
    """
    if mailchimp.status != "cleaned" or base is None:
        return False
    hubspot_email = normalise_email(hubspot.email)
    return hubspot_email != normalise_email(base[0]) and hubspot_email != normalise_email(
        mailchimp.email
    )


# -- one side only --------------------------------------------------------------------------------


def _create_member(hubspot: HubSpotSide, config: Config) -> Decision:
    """A HubSpot contact with no member: add it when it wants the newsletter."""
    draft = Draft()
    name = config.subscription.hubspot_property
    h = hubspot.values.get(name, "")
    if as_bool(h) is not True or not config.create.in_mailchimp:
        return Decision()
    if not plausible_email(hubspot.email):
        draft.blocked = INVALID_EMAIL_REASON
        return draft.freeze()
    status = "pending" if config.subscription.double_opt_in else "subscribed"
    merge_fields(draft, config, hubspot.values, "", {}, {}, _unreachable)
    set_status(draft, h, "", status)
    mirror_status(draft, hubspot.values, status, config)
    return draft.freeze(create_mailchimp=True)


def _create_contact(mailchimp: MailchimpSide, config: Config) -> Decision:
    """A member with no HubSpot contact: create it, unless creation is off or the member is
    archived or cleaned (an address nobody can receive mail at is no new contact).

    The new contact is opted in only for a ``subscribed`` member: ``pending`` is a signup not
    yet confirmed, ``transactional`` a member nobody asked. A status syncer does not know
    creates nothing and blocks the person.
    """
    if not known_status(mailchimp.status):
        return Decision(blocked=unknown_status_reason(mailchimp.status))
    if mailchimp.status == "cleaned":
        return Decision(note=CLEANED_UNLINKED)
    if not config.create.in_hubspot or mailchimp.status == "archived":
        return Decision()
    draft = Draft()
    merge_fields(draft, config, {}, mailchimp.email, mailchimp.fields, {}, _unreachable)
    subscribed = "true" if mailchimp.status == "subscribed" else "false"
    draft.write_hubspot(
        SUBSCRIPTION_KEY,
        config.subscription.hubspot_property,
        "",
        subscribed,
        (subscribed, mailchimp.status),
    )
    mirror_status(draft, {}, mailchimp.status, config)
    mirror_tags(draft, {}, mailchimp.tags, config)
    return draft.freeze(create_hubspot=True)


def _unreachable(rule: Rule) -> Newer | None:
    """Timestamps are never compared against a missing side: one side is blank, no conflict."""
    raise AssertionError(f"no timestamp comparison is possible for {rule.key} with a side missing")
