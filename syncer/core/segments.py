"""Segments, decided: which Mailchimp tags a person should carry, and whether they are in scope.

HubSpot decides the managed tags (those named by ``tags:`` rules): a person in a rule's list, or
with its property value, carries the tag; anyone else loses it. Tags are written only to members
that exist (a new member gets its tags on the run after its creation) and never to archived ones.
The scope says who is synced at all; someone leaving it gets ``scope.on_leave`` once, at the
transition, and never a delete. The other way, ``tags_to_hubspot`` mirrors members' tags into a
HubSpot multi-checkbox property as part of each person's decision (:func:`mirror_tags`).

Pure: values in, values out. The outbox payloads for these writes are shaped here too, so the
journal entry and the write always describe the same change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from syncer.config import Config, SafetyConfig
from syncer.config.segments import HubSpotCondition, ScopeConfig, SegmentsConfig
from syncer.core.draft import Draft
from syncer.core.identity import subscriber_hash
from syncer.core.models import TAGS_MIRROR_KEY
from syncer.core.records import ContactRow, NewOperation

TAG_FIELD = "tag:"
#: Outbox actions of this module; ``unsubscribe`` is the contact sync's own, guarded as usual.
TAG, UNTAG, ARCHIVE = "tag", "untag", "archive"
SEGMENT_ACTIONS = (TAG, UNTAG, ARCHIVE)
UNTAGGABLE = ("archived",)


@dataclass(frozen=True)
class Facts:
    """What the cache knows of one person, as far as segments care."""

    hubspot: Mapping[str, str] | None
    lists: frozenset[str]
    member_status: str | None
    member_tags: frozenset[str]

    @classmethod
    def of(
        cls, row: ContactRow, lists: frozenset[str], queued: Sequence[Mapping[str, object]] = ()
    ) -> Facts:
        """``queued``: the payloads of tag writes still queued for the member, oldest first.
        They will be sent, so the member is judged with their tags: a decision that no longer
        wants a tag one of them adds must take it back, or the stale add still lands."""
        member = row.mc
        tags = set(member.get("tags") or ()) if member else set()
        for payload in queued:
            apply_tag_body(tags, payload.get("body"))
        return cls(
            hubspot=row.hs if row.hubspot_id else None,
            lists=lists,
            member_status=str(member.get("status") or "") if member else None,
            member_tags=frozenset(tags) if member else frozenset(),
        )

    @property
    def taggable(self) -> bool:
        return self.member_status is not None and self.member_status not in UNTAGGABLE


@dataclass(frozen=True)
class TagChange:
    tag: str
    active: bool
    reason: str


def matches(condition: HubSpotCondition, facts: Facts, list_ids: Mapping[str, str]) -> bool:
    """Does the HubSpot side meet ``condition``? ``list_ids`` maps a configured list to its id."""
    if facts.hubspot is None:
        return False
    if condition.hubspot_list is not None:
        return list_ids.get(condition.hubspot_list, condition.hubspot_list) in facts.lists
    actual = facts.hubspot.get(condition.hubspot_property or "", "") or ""
    return actual.strip().lower() == (condition.value or "").strip().lower()


def in_scope(scope: ScopeConfig, facts: Facts, list_ids: Mapping[str, str]) -> bool:
    """Every configured side's condition holds: a HubSpot scope needs a contact that matches (so
    no Mailchimp-only member is created in HubSpot), a tag scope a member carrying the tag."""
    if scope.hubspot is not None and not matches(scope.hubspot, facts, list_ids):
        return False
    return scope.mailchimp_tag is None or scope.mailchimp_tag in facts.member_tags


def tag_changes(
    config: SegmentsConfig, facts: Facts, list_ids: Mapping[str, str]
) -> list[TagChange]:
    """The managed tags to add or remove on this member, each with why, sorted by tag."""
    if not facts.taggable:
        return []
    reasons: dict[str, list[str]] = {tag: [] for tag in config.managed_tags}
    for rule in config.tags:
        if matches(rule.condition, facts, list_ids):
            reasons[rule.tag].append(rule.condition.describe)
    changes = []
    for tag, why in sorted(reasons.items()):
        has = tag in facts.member_tags
        if why and not has:
            changes.append(TagChange(tag, True, f"in {' and '.join(why)}"))
        elif not why and has:
            rules = [r.condition.describe for r in config.tags if r.tag == tag]
            changes.append(TagChange(tag, False, f"no longer in {' or '.join(rules)}"))
    return changes


def leave_changes(config: SegmentsConfig, facts: Facts) -> list[TagChange]:
    """``on_leave: untag``: every managed tag the member carries, and the scope's own tag."""
    if not facts.taggable:
        return []
    tags = set(config.managed_tags)
    if config.scope.mailchimp_tag:
        tags.add(config.scope.mailchimp_tag)
    return [
        TagChange(tag, False, "left the sync's scope") for tag in sorted(tags & facts.member_tags)
    ]


def with_queued(
    queued: Iterable[Mapping[str, object]], changes: list[TagChange]
) -> list[TagChange]:
    """One write for a new decision and the tag writes still queued, which it supersedes: their
    changes are kept where the decision says nothing of the tag, the decision's win elsewhere."""
    merged: dict[str, TagChange] = {}
    for payload in queued:
        body = payload.get("body")
        for item in body.get("tags", []) if isinstance(body, dict) else []:
            active = item["status"] == "active"
            merged[item["name"]] = TagChange(item["name"], active, "queued earlier")
    merged.update((change.tag, change) for change in changes)
    return [merged[tag] for tag in sorted(merged)]


def tag_operation(row: ContactRow, changes: list[TagChange], action: str = TAG) -> NewOperation:
    """One tags write for the member linked to the person, with ``is_syncing``: Mailchimp's tag
    automations stay quiet."""
    return NewOperation(
        target="mailchimp",
        action=action,
        payload={
            "hash": linked_hash(row),
            "method": "POST",
            "suffix": "/tags",
            "body": {
                "tags": [
                    {"name": c.tag, "status": "active" if c.active else "inactive"} for c in changes
                ],
                "is_syncing": True,
            },
            "changes": [
                {
                    "side": "mailchimp",
                    "field": TAG_FIELD + c.tag,
                    "old": "" if c.active else "active",
                    "new": "active" if c.active else "",
                }
                for c in changes
            ],
        },
        agreed={},
    )


def archive_operation(row: ContactRow) -> NewOperation:
    """Archive (never delete) a member that left the scope: it keeps its history and can return."""
    status = str((row.mc or {}).get("status") or "")
    return NewOperation(
        target="mailchimp",
        action=ARCHIVE,
        payload={
            "hash": linked_hash(row),
            "method": "DELETE",
            "body": {},
            "changes": [{"side": "mailchimp", "field": "status", "old": status, "new": "archived"}],
        },
        agreed={},
    )


def settled(row: ContactRow, action: str, payload: Mapping[str, object]) -> None:
    """What a succeeded segment write does to the cached member (its answer has no body)."""
    member = row.mc
    if member is None:
        return
    if action == ARCHIVE:
        member["status"] = "archived"
        return
    tags = set(member.get("tags") or ())
    apply_tag_body(tags, payload.get("body"))
    member["tags"] = sorted(tags)


def apply_tag_body(tags: set[str], body: object) -> None:
    """What a tags write's body does to a member's tags."""
    for item in body.get("tags", []) if isinstance(body, dict) else []:
        if item["status"] == "active":
            tags.add(item["name"])
        else:
            tags.discard(item["name"])


def leave_verdict(queued: Mapping[str, int], linked: int, safety: SafetyConfig) -> str | None:
    """The blast-radius guard for people leaving the scope: archives and untags together are held
    to the unsubscribe limit (unsubscribes are already guarded as such)."""
    leaving = queued.get(f"mailchimp:{ARCHIVE}", 0) + queued.get(f"mailchimp:{UNTAG}", 0)
    limit = max(safety.min_guarded, safety.max_unsubscribe_share * linked)
    if leaving > limit:
        return (
            f"{leaving} people leaving the scope (archive or untag) would exceed the limit of "
            f"{limit:.0f} ({safety.max_unsubscribe_share:.0%} of {linked} linked people)"
        )
    return None


def linked_hash(row: ContactRow) -> str:
    """Where the person's member is now: a segment write goes there, whatever address the
    contact has (a refused rename leaves the new address to someone else)."""
    member = row.mc or {}
    return row.mailchimp_id or subscriber_hash(str(member.get("email") or row.email))


def mirror_tags(
    draft: Draft, hubspot_values: Mapping[str, str], member_tags: tuple[str, ...], config: Config
) -> None:
    """Copy the member's tags (all, or those ``only`` names) into the mirror property.

    One way, like the status mirror: the property is syncer's own, so a value that differs is
    overwritten. Values are compared as sets, since a multi-checkbox's order carries no meaning;
    the value syncer wrote comes back equal and causes nothing.
    """
    mirror = config.segments.mirror
    if mirror is None or not mirror_differs(hubspot_values, member_tags, config):
        return
    current = hubspot_values.get(mirror.property, "")
    value = ";".join(mirror.mirrored(member_tags))
    draft.write_hubspot(TAGS_MIRROR_KEY, mirror.property, current, value, (value, value))


def mirror_differs(
    hubspot_values: Mapping[str, str], member_tags: Iterable[str], config: Config
) -> bool:
    """Does the contact's mirror property show other tags than these (the member's)?"""
    mirror = config.segments.mirror
    if mirror is None:
        return False
    wanted = set(mirror.mirrored(tuple(member_tags)))
    return checkbox_values(hubspot_values.get(mirror.property, "")) != wanted


def checkbox_values(text: str) -> set[str]:
    """The values of a multi-checkbox property, as HubSpot writes them: ``;``-separated."""
    return {part for part in text.split(";") if part}
