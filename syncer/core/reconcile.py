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

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from syncer.config import Config, FieldMapping
from syncer.core.identity import normalise_email, plausible_email
from syncer.core.models import (
    EMAIL_KEY,
    STATUS_MIRROR_KEY,
    SUBSCRIBED_STATUSES,
    SUBSCRIPTION_KEY,
    Conflict,
    ContactView,
    Decision,
    FieldChange,
    HubSpotSide,
    MailchimpSide,
    Pair,
    Side,
)
from syncer.core.transforms import as_bool, conversion

#: The decision for a person whose sides agree and whose base is up to date (immutable, shared).
IN_SYNC = Decision()
CLEANED_REASON = "cleaned by Mailchimp after bounces: it can never be resubscribed"
_Newer = Literal["hubspot", "mailchimp", "tie"]

NEVER_REASON = "unsubscribed in Mailchimp and `subscription.resubscribe` is `never`"
INVALID_EMAIL_REASON = "the email address is not valid"


@dataclass(frozen=True)
class _Rule:
    """How one key flows: which way, how values convert, and who wins a true conflict."""

    key: str
    hubspot_name: str
    mailchimp_name: str
    to_mailchimp: Callable[[str], str]
    to_hubspot: Callable[[str], str]
    same: Callable[[str, str], bool]
    flows_to_mailchimp: bool = True
    flows_to_hubspot: bool = True
    winner: str = "latest"


@dataclass
class _Plan:
    """The decision being assembled; frozen into a :class:`Decision` at the end."""

    hubspot: dict[str, str] = field(default_factory=dict)
    mailchimp_fields: dict[str, str] = field(default_factory=dict)
    mailchimp_email: str | None = None
    mailchimp_status: str | None = None
    agreed_now: dict[str, Pair] = field(default_factory=dict)
    after_hubspot: dict[str, Pair] = field(default_factory=dict)
    after_mailchimp: dict[str, Pair] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    changes: list[FieldChange] = field(default_factory=list)
    needs_history: list[str] = field(default_factory=list)
    blocked: str | None = None

    def write_hubspot(self, key: str, name: str, old: str, new: str, pair: Pair) -> None:
        self.hubspot[name] = new
        self.after_hubspot[key] = pair
        self.changes.append(FieldChange("hubspot", name, old, new))

    def write_mailchimp(self, key: str, name: str, old: str, new: str, pair: Pair) -> None:
        if key == EMAIL_KEY:
            self.mailchimp_email = new
        else:
            self.mailchimp_fields[name] = new
        self.after_mailchimp[key] = pair
        self.changes.append(FieldChange("mailchimp", name, old, new))

    def freeze(self, *, create_hubspot: bool = False, create_mailchimp: bool = False) -> Decision:
        if self.needs_history:
            return Decision(needs_history=tuple(sorted(set(self.needs_history))))
        if not (self.changes or self.conflicts or self.agreed_now or self.blocked):
            # Every write, a create included, is also a change: this person is in sync.
            return IN_SYNC
        return Decision(
            hubspot=dict(sorted(self.hubspot.items())),
            create_hubspot=create_hubspot,
            mailchimp_fields=dict(sorted(self.mailchimp_fields.items())),
            mailchimp_email=self.mailchimp_email,
            mailchimp_status=self.mailchimp_status,
            create_mailchimp=create_mailchimp,
            agreed_now=self.agreed_now,
            agreed_after_hubspot=self.after_hubspot,
            agreed_after_mailchimp=self.after_mailchimp,
            conflicts=tuple(self.conflicts),
            changes=tuple(self.changes),
            blocked=self.blocked,
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


_RULES_FOR: dict[int, tuple[Config, tuple[_Rule, ...]]] = {}


def field_rules(config: Config) -> tuple[_Rule, ...]:
    """The email first, then every mapped field, each as a :class:`_Rule`.

    Built once per config (a run decides for every contact with the same one); the config itself
    is kept beside its rules, so an id reused by another object is never mistaken for it.
    """
    cached = _RULES_FOR.get(id(config))
    if cached is not None and cached[0] is config:
        return cached[1]
    if len(_RULES_FOR) > 16:
        _RULES_FOR.clear()
    rules = _build_rules(config)
    _RULES_FOR[id(config)] = (config, rules)
    return rules


def _build_rules(config: Config) -> tuple[_Rule, ...]:
    rules = [
        _Rule(
            key=EMAIL_KEY,
            hubspot_name="email",
            mailchimp_name="email_address",
            to_mailchimp=str.strip,
            to_hubspot=str.strip,
            same=lambda h, m: normalise_email(h) == normalise_email(m),
        )
    ]
    rules.extend(_mapping_rule(mapping) for mapping in config.fields)
    return tuple(rules)


def _mapping_rule(mapping: FieldMapping) -> _Rule:
    convert = conversion(mapping)
    to_mailchimp = convert.to_mailchimp

    def same(hubspot_value: str, mailchimp_value: str) -> bool:
        return to_mailchimp(hubspot_value) == mailchimp_value

    return _Rule(
        key=mapping.hubspot,
        hubspot_name=mapping.hubspot,
        mailchimp_name=mapping.mailchimp,
        to_mailchimp=to_mailchimp,
        to_hubspot=convert.to_hubspot,
        same=operator.eq if convert.plain else same,
        flows_to_mailchimp=mapping.to_mailchimp,
        flows_to_hubspot=mapping.to_hubspot,
        winner=mapping.winner,
    )


# -- both sides exist -----------------------------------------------------------------------------


def _merge(
    hubspot: HubSpotSide, mailchimp: MailchimpSide, view: ContactView, config: Config
) -> Decision:
    if _readdressed_after_bounce(hubspot, mailchimp, view.base.get(EMAIL_KEY)):
        return Decision(detach_member=True)
    plan = _Plan()

    def newer(rule: _Rule) -> _Newer | None:
        return _newer_side(hubspot, rule.hubspot_name, mailchimp.changed_at(rule.mailchimp_name))

    _merge_subscription(plan, hubspot, mailchimp, view.base.get(SUBSCRIPTION_KEY), config)
    if mailchimp.status != "archived" or plan.mailchimp_status is not None:
        # An archived member's data is out of the audience; updating it would bring it back.
        _merge_fields(
            plan, config, hubspot.values, mailchimp.email, mailchimp.fields, view.base, newer
        )
    _mirror_status(plan, hubspot.values, plan.mailchimp_status or mailchimp.status, config)
    return plan.freeze()


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


def _merge_fields(
    plan: _Plan,
    config: Config,
    hubspot_values: Mapping[str, str],
    mailchimp_email: str,
    mailchimp_fields: Mapping[str, str],
    base: Mapping[str, Pair],
    newer: Callable[[_Rule], _Newer | None],
) -> None:
    """Merge the email and every mapped field; a missing side is merged as an empty one.

    Most values agree, so that test is made here and only differences pay for a call.
    """
    for rule in field_rules(config):
        h = hubspot_values.get(rule.hubspot_name, "")
        m = (
            mailchimp_email
            if rule.key == EMAIL_KEY
            else mailchimp_fields.get(rule.mailchimp_name, "")
        )
        pair = base.get(rule.key)
        if not rule.same(h, m):
            _merge_difference(plan, rule, h, m, pair, newer)
        elif pair != (h, m):
            plan.agreed_now[rule.key] = (h, m)


def _merge_difference(
    plan: _Plan,
    rule: _Rule,
    h: str,
    m: str,
    base: Pair | None,
    newer: Callable[[_Rule], _Newer | None],
) -> None:
    if not (rule.flows_to_mailchimp and rule.flows_to_hubspot):
        # One-way: the target follows its source, except that a blank source never clears a
        # value on first link (that would destroy data nobody decided to remove).
        source: Side = "hubspot" if rule.flows_to_mailchimp else "mailchimp"
        if base is not None or (h if source == "hubspot" else m):
            _take(plan, rule, source, h, m)
        return
    hubspot_changed = base is None or h != base[0]
    mailchimp_changed = base is None or m != base[1]
    if base is None and not (h and m):
        _take(plan, rule, "hubspot" if h else "mailchimp", h, m)
        return
    if hubspot_changed != mailchimp_changed:
        _take(plan, rule, "hubspot" if hubspot_changed else "mailchimp", h, m)
        return
    winner, reason = _conflict_winner(rule, newer)
    if winner is None:
        plan.needs_history.append(rule.hubspot_name)
        return
    plan.conflicts.append(Conflict(rule.key, h, m, winner, reason))
    _take(plan, rule, winner, h, m)


def _take(plan: _Plan, rule: _Rule, source: Side, h: str, m: str) -> None:
    """Copy ``source``'s value onto the other side."""
    if source == "hubspot":
        new = rule.to_mailchimp(h)
        plan.write_mailchimp(rule.key, rule.mailchimp_name, m, new, (h, new))
    else:
        new = rule.to_hubspot(m)
        plan.write_hubspot(rule.key, rule.hubspot_name, h, new, (new, m))


def _conflict_winner(
    rule: _Rule, newer: Callable[[_Rule], _Newer | None]
) -> tuple[Side | None, str]:
    if rule.winner == "hubspot":
        return "hubspot", "winner: hubspot"
    if rule.winner == "mailchimp":
        return "mailchimp", "winner: mailchimp"
    side = newer(rule)
    if side is None:
        return None, ""
    if side == "tie":
        return "hubspot", "winner: latest; equal timestamps, HubSpot kept"
    return side, f"winner: latest; {_side_label(side)} changed more recently"


def _newer_side(hubspot: HubSpotSide, name: str, mailchimp_changed: datetime) -> _Newer | None:
    """Which side's value is newer: ``hubspot``, ``mailchimp``, ``tie``, or ``None`` (need history).

    HubSpot's per-property timestamp is at most its contact's ``lastmodifieddate``, so a contact
    last modified before the member changed is older without reading its history.
    """
    if hubspot.modified < mailchimp_changed:
        return "mailchimp"
    stamp = hubspot.times.get(name)
    if stamp is None:
        return "mailchimp" if hubspot.history_fetched else None
    if stamp == mailchimp_changed:
        return "tie"
    return "hubspot" if stamp > mailchimp_changed else "mailchimp"


def _side_label(side: Side) -> str:
    return "HubSpot" if side == "hubspot" else "Mailchimp"


# -- the subscription (DESIGN §6's table) ---------------------------------------------------------


def _merge_subscription(
    plan: _Plan,
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
            plan.blocked = CLEANED_REASON
        elif base != (h, status):
            plan.agreed_now[SUBSCRIPTION_KEY] = (h, status)
        return
    subscribed = status in SUBSCRIBED_STATUSES
    if wants == subscribed:
        if base != (h, status):
            plan.agreed_now[SUBSCRIPTION_KEY] = (h, status)
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
            plan.needs_history.append(name)
            return
        winner, reason = decided
        conflict = Conflict(SUBSCRIPTION_KEY, h, status, winner, reason)
    if winner == "hubspot" and wants and config.subscription.resubscribe == "never":
        plan.blocked = NEVER_REASON
        return
    if conflict is not None:
        plan.conflicts.append(conflict)
    if winner == "mailchimp":
        new = "true" if subscribed else "false"
        plan.write_hubspot(SUBSCRIPTION_KEY, name, h, new, (new, status))
    elif not wants:
        _set_status(plan, h, status, "unsubscribed")
    else:
        _set_status(plan, h, status, "pending")


def _subscription_winner(
    hubspot: HubSpotSide, name: str, mailchimp: MailchimpSide, opt_out_side: Side
) -> tuple[Side, str] | None:
    """The newer side wins; on equal timestamps the opt-out wins; a never-set value is oldest."""
    newer = _newer_side(hubspot, name, mailchimp.changed_at("status"))
    if newer is None:
        return None
    if newer == "tie":
        return opt_out_side, "equal timestamps: the opt-out wins"
    return newer, f"newer side wins: {_side_label(newer)} changed more recently"


def _set_status(plan: _Plan, h: str, old: str, new: str) -> None:
    plan.mailchimp_status = new
    plan.after_mailchimp[SUBSCRIPTION_KEY] = (h, new)
    plan.changes.append(FieldChange("mailchimp", "status", old, new))


def _mirror_status(
    plan: _Plan, hubspot_values: Mapping[str, str], status: str, config: Config
) -> None:
    """Copy the Mailchimp status (as it will be after this run) into the optional property."""
    name = config.subscription.status_property
    if not name:
        return
    current = hubspot_values.get(name, "")
    if current != status:
        plan.write_hubspot(STATUS_MIRROR_KEY, name, current, status, (status, status))


# -- one side only --------------------------------------------------------------------------------


def _create_member(hubspot: HubSpotSide, config: Config) -> Decision:
    """A HubSpot contact with no member: add it when it wants the newsletter."""
    plan = _Plan()
    name = config.subscription.hubspot_property
    h = hubspot.values.get(name, "")
    if as_bool(h) is not True or not config.create.in_mailchimp:
        return Decision()
    if not plausible_email(hubspot.email):
        plan.blocked = INVALID_EMAIL_REASON
        return plan.freeze()
    status = "pending" if config.subscription.double_opt_in else "subscribed"
    _merge_fields(plan, config, hubspot.values, "", {}, {}, _unreachable)
    _set_status(plan, h, "", status)
    _mirror_status(plan, hubspot.values, status, config)
    return plan.freeze(create_mailchimp=True)


def _create_contact(mailchimp: MailchimpSide, config: Config) -> Decision:
    """A member with no HubSpot contact: create it, unless creation is off or the member is
    archived or cleaned (an address nobody can receive mail at is no new contact)."""
    if not config.create.in_hubspot or mailchimp.status in ("archived", "cleaned"):
        return Decision()
    plan = _Plan()
    _merge_fields(plan, config, {}, mailchimp.email, mailchimp.fields, {}, _unreachable)
    subscribed = "true" if mailchimp.status in SUBSCRIBED_STATUSES else "false"
    plan.write_hubspot(
        SUBSCRIPTION_KEY,
        config.subscription.hubspot_property,
        "",
        subscribed,
        (subscribed, mailchimp.status),
    )
    _mirror_status(plan, {}, mailchimp.status, config)
    return plan.freeze(create_hubspot=True)


def _unreachable(rule: _Rule) -> _Newer | None:
    """Timestamps are never compared against a missing side: one side is blank, no conflict."""
    raise AssertionError(f"no timestamp comparison is possible for {rule.key} with a side missing")
