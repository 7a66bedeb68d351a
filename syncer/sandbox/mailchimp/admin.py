"""The Mailchimp simulator's test-only surface: seeding, the person's own actions, what happened.

Seeding is an outside edit, not an API call: it may set any status (``cleaned``, ``archived``,
``transactional``) and overrides consent rules, which is how tests stage what people and Mailchimp
do on their own. The shapes answered here are a contract used by tests outside this repository.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from syncer.sandbox.clock import parse_iso
from syncer.sandbox.mailchimp.members import Audience
from syncer.sandbox.mailchimp.schema import (
    ALL_STATUSES,
    MERGE_TYPES,
    MergeField,
    check_merge_values,
)
from syncer.sandbox.server import Handler, Request, Response, SimError


def seed(audience: Audience, payload: Any) -> dict[str, int]:
    """Upsert merge fields then members; answer how many members this payload carried."""
    if not isinstance(payload, dict):
        raise SimError(400, "Bad Request", "the seed is a JSON object")
    for spec in payload.get("merge_fields") or []:
        _seed_merge_field(audience, spec)
    audience.preferences.seed(payload)
    by_tag = audience.fields_by_tag()
    members = payload.get("members") or []
    for spec in members:
        _seed_member(audience, spec, by_tag)
    return {"members": len(members)}


def _seed_merge_field(audience: Audience, spec: Mapping[str, Any]) -> None:
    tag = str(spec.get("tag") or "").upper()
    kind = spec.get("type", "text")
    if not tag or kind not in MERGE_TYPES:
        raise SimError(400, "Bad Request", f"a seeded merge field needs a tag and a type: {spec}")
    definition = audience.fields_by_tag().get(tag)
    if definition is None:
        definition = MergeField(audience.next_merge_id, tag, "", kind)
        definition.display_order = definition.merge_id
        audience.fields[definition.merge_id] = definition
        audience.next_merge_id += 1
    definition.name = str(spec.get("name") or tag)
    definition.type = kind
    definition.required = bool(spec.get("required", False))
    definition.options = dict(spec.get("options") or {})


def _seed_member(
    audience: Audience, spec: Mapping[str, Any], by_tag: Mapping[str, MergeField]
) -> None:
    email = spec.get("email_address")
    status = spec.get("status", "subscribed")
    if not isinstance(email, str) or "@" not in email or status not in ALL_STATUSES:
        raise SimError(400, "Bad Request", f"a seeded member needs an address and a status: {spec}")
    email = email.strip()
    at = int(parse_iso(spec["last_changed"]).timestamp()) if spec.get("last_changed") else None
    at = audience.now() if at is None else at
    merge = check_merge_values(spec.get("merge_fields") or {}, by_tag)
    member = audience.find(email)
    if member is None:
        audience.forgotten.discard(email.lower())
        member = audience.add(email, status, via="seed", last_changed=at, merge=merge)
    else:
        member.email = email
        member.merge.update(merge)
        if status != member.status:
            audience.set_status(member, status, "seed", at)
    member.locked = member.standing in {"unsubscribed", "cleaned"}
    if spec.get("interests") is not None:
        member.interests = audience.preferences.seeded_choices(spec["interests"], "interests")
    if spec.get("marketing_permissions") is not None:
        member.permissions = audience.preferences.seeded_choices(
            spec["marketing_permissions"], "marketing permission"
        )
    if spec.get("tags") is not None:
        member.tags.clear()
        for name in spec["tags"]:
            audience.tag(member, str(name), active=True)
    audience.touch(member, at)


class AdminApi:
    """``/_sim/`` endpoints of the Mailchimp simulator beyond the shared ones."""

    def __init__(self, audience: Audience, lock: threading.RLock) -> None:
        self.audience = audience
        self.lock = lock
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", "/_sim/transitions"): self.transitions,
            ("GET", "/_sim/emails"): self.emails,
            ("POST", "/_sim/unsubscribe"): self.unsubscribe,
            ("POST", "/_sim/confirm"): self.confirm,
        }

    def transitions(self, request: Request) -> Response:
        """Every status change in order: creation is from null, a permanent delete to null."""
        with self.lock:
            return Response.json({"transitions": list(self.audience.transitions)})

    def emails(self, request: Request) -> Response:
        """The confirmation emails Mailchimp would have sent (one per move into ``pending``)."""
        with self.lock:
            return Response.json({"emails": list(self.audience.emails)})

    def unsubscribe(self, request: Request) -> Response:
        """The person clicks the unsubscribe link: unsubscribed and compliance-locked."""
        return self._person(request, self.audience.person_unsubscribe)

    def confirm(self, request: Request) -> Response:
        """The person confirms a pending subscription: subscribed, lock lifted."""
        return self._person(request, self.audience.person_confirm)

    def _person(self, request: Request, action: Callable[[str], bool]) -> Response:
        payload = request.json() or {}
        email = str(payload.get("email") or "")
        with self.lock:
            done = action(email)
        if not done:
            raise SimError(404, "Resource Not Found", f"no member {email!r} in a state for that")
        return Response.json({"ok": True})
