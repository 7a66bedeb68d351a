"""The three-way merge of the email and every mapped field (DESIGN §6 "Fields").

A side whose value still equals the base did not change, whatever its timestamps say; timestamps
decide only true conflicts (both sides changed, or no base yet) under the mapping's ``winner``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping

from syncer.config import Config, FieldMapping
from syncer.core.draft import Draft, Newer, side_label
from syncer.core.identity import normalise_email
from syncer.core.models import EMAIL_KEY, Conflict, Pair, Side
from syncer.core.preferences import flag, preference_rules
from syncer.core.rules import Rule
from syncer.core.transforms import conversion

__all__ = ["Rule", "field_rules", "merge_fields"]


_RULES_FOR: dict[int, tuple[Config, tuple[Rule, ...]]] = {}


def field_rules(config: Config) -> tuple[Rule, ...]:
    """The email first, then every mapped field, each as a :class:`Rule`.

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


def _build_rules(config: Config) -> tuple[Rule, ...]:
    rules = [
        Rule(
            key=EMAIL_KEY,
            hubspot_name="email",
            mailchimp_name="email_address",
            to_mailchimp=str.strip,
            to_hubspot=str.strip,
            same=lambda h, m: normalise_email(h) == normalise_email(m),
        )
    ]
    rules.extend(_mapping_rule(mapping) for mapping in config.fields)
    rules.extend(preference_rules(config.preferences))
    return tuple(rules)


def _mapping_rule(mapping: FieldMapping) -> Rule:
    convert = conversion(mapping)
    to_mailchimp = convert.to_mailchimp

    def same(hubspot_value: str, mailchimp_value: str) -> bool:
        return to_mailchimp(hubspot_value) == mailchimp_value

    return Rule(
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


def merge_fields(
    draft: Draft,
    config: Config,
    hubspot_values: Mapping[str, str],
    mailchimp_email: str,
    mailchimp_fields: Mapping[str, str],
    base: Mapping[str, Pair],
    newer: Callable[[Rule], Newer | None],
) -> None:
    """Merge the email and every mapped field; a missing side is merged as an empty one.

    Most values agree, so that test is made here and only differences pay for a call.
    """
    for rule in field_rules(config):
        h = hubspot_values.get(rule.hubspot_name, "")
        if rule.key == EMAIL_KEY:
            m = mailchimp_email
        elif rule.read_mailchimp is not None:
            m = rule.read_mailchimp(mailchimp_fields)
        else:
            m = mailchimp_fields.get(rule.mailchimp_name, "")
        pair = base.get(rule.key)
        if not rule.same(h, m):
            _merge_difference(draft, rule, h, m, pair, newer)
        elif pair != (h, m):
            draft.agreed_now[rule.key] = (h, m)


def _merge_difference(
    draft: Draft,
    rule: Rule,
    h: str,
    m: str,
    base: Pair | None,
    newer: Callable[[Rule], Newer | None],
) -> None:
    if rule.consent and _consent_settled(draft, rule, h, m, base):
        return
    if not (rule.flows_to_mailchimp and rule.flows_to_hubspot):
        # One-way: the target follows its source, except that a blank source never clears a
        # value on first link (that would destroy data nobody decided to remove).
        source: Side = "hubspot" if rule.flows_to_mailchimp else "mailchimp"
        if base is not None or (h if source == "hubspot" else m):
            _take(draft, rule, source, h, m)
        return
    hubspot_changed = base is None or h != base[0]
    mailchimp_changed = base is None or m != base[1]
    if base is None and not (h and m):
        _take(draft, rule, "hubspot" if h else "mailchimp", h, m)
        return
    if hubspot_changed != mailchimp_changed:
        _take(draft, rule, "hubspot" if hubspot_changed else "mailchimp", h, m)
        return
    winner, reason = _conflict_winner(rule, newer, h)
    if winner is None:
        draft.needs_history.append(rule.hubspot_name)
        return
    if winner == "mailchimp" or draft.member_closed is None:
        # A conflict HubSpot wins over a member nothing may be written to is no decision:
        # the person is blocked instead, and the conflict is not recorded on every fetch.
        draft.conflicts.append(Conflict(rule.key, h, m, winner, reason))
    _take(draft, rule, winner, h, m)


def _consent_settled(draft: Draft, rule: Rule, h: str, m: str, base: Pair | None) -> bool:
    """The consent rules that come before the merge; ``True`` when they decided.

    A blank HubSpot value is "unknown", never a withdrawal sent to Mailchimp: only a grant
    Mailchimp made since the base reaches HubSpot. With no base, Mailchimp's ``false`` is no
    answer either (every member of a GDPR audience starts with every permission off), so an
    explicit HubSpot grant goes to Mailchimp. One way into HubSpot, Mailchimp's ``false`` is
    mirrored only as a withdrawal (Mailchimp said yes at the last agreement): a member who never
    answered shows every permission off (mailchimp/APIv3-examples #46), and writing that as a
    "no" would record a withdrawal nobody made.
    """
    if not h:
        mailchimp_changed = base is None or m != base[1]
        if flag(m) == "true" and mailchimp_changed and rule.flows_to_hubspot:
            _take(draft, rule, "mailchimp", h, m)
        return True
    if not rule.flows_to_mailchimp and flag(m) == "false":
        if base is not None and flag(base[1]) == "true":
            _take(draft, rule, "mailchimp", h, m)
        return True
    if base is None and flag(h) == "true" and flag(m) == "false" and rule.flows_to_mailchimp:
        _take(draft, rule, "hubspot", h, m)
        return True
    return False


def _take(draft: Draft, rule: Rule, source: Side, h: str, m: str) -> None:
    """Copy ``source``'s value onto the other side."""
    if source == "hubspot":
        new = rule.to_mailchimp(h)
        draft.write_mailchimp(rule.key, rule.mailchimp_name, m, new, (h, new))
    else:
        new = rule.to_hubspot(m) if rule.over_hubspot is None else rule.over_hubspot(m, h)
        draft.write_hubspot(rule.key, rule.hubspot_name, h, new, (new, m))


def _conflict_winner(
    rule: Rule, newer: Callable[[Rule], Newer | None], h: str
) -> tuple[Side | None, str]:
    if rule.winner == "hubspot":
        return "hubspot", "winner: hubspot"
    if rule.winner == "mailchimp":
        return "mailchimp", "winner: mailchimp"
    side = newer(rule)
    if side is None:
        return None, ""
    if side == "tie" and rule.consent:
        withdrawn: Side = "hubspot" if flag(h) == "false" else "mailchimp"
        return withdrawn, "winner: latest; equal timestamps, the withdrawal kept"
    if side == "tie":
        return "hubspot", "winner: latest; equal timestamps, HubSpot kept"
    return side, f"winner: latest; {side_label(side)} changed more recently"
