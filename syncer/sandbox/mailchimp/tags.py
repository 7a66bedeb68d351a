"""Tags as Mailchimp's static segments, and the record of tag writes automations would see.

Sources: Mailchimp's spec (reference §5, §12.6) and SDK ``mailchimp-marketing``
(``lists_api.py``: ``list_segments``, ``get_segment_members_list``, ``batch_segment_members``,
``update_list_member_tags``).

- A tag is a static segment: ``GET /lists/{id}/segments?type=static`` lists it with its
  ``member_count``; ``GET /lists/{id}/segments/{segment_id}/members`` pages its members (count at
  most 1,000).
- ``POST /lists/{id}/segments/{segment_id}`` with ``members_to_add`` / ``members_to_remove`` takes
  at most 500 addresses each: "Maximum allowed member items exceeded, please provide at most 500
  items in members_to_add field or members_to_remove field" (a recorded answer in
  hitobito/hitobito #1819).
- ``POST /lists/{id}/members/{hash}/tags`` accepts ``is_syncing: true`` so tag automations do not
  fire; the schema wants a boolean there (a string is refused like any schema mismatch).
- ``PUT`` never changes an existing member's tags (brandonseydel/MailChimp.Net #368; amro/gibbon
  #274): tags come only from ``POST`` creates and the tags endpoint.

Admin: ``GET /_sim/tag-writes`` lists every tag change made through the API as ``{email, tag,
status, is_syncing}``: a change without ``is_syncing`` is one a tag automation would act on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from syncer.sandbox.mailchimp.members import Audience, Member, not_found, stamp
from syncer.sandbox.mailchimp.schema import field_error, invalid
from syncer.sandbox.mailchimp.views import MemberView, paging, project
from syncer.sandbox.server import Handler, Request, Response

SEGMENT_LIMIT = 500


def check_tag_write(body: Any) -> tuple[list[dict[str, Any]], bool]:
    """The tags and ``is_syncing`` of a tag write, refused the way Mailchimp's schema does."""
    tags = body.get("tags") if isinstance(body, dict) else None
    if not isinstance(tags, list) or not all(
        isinstance(tag, dict)
        and isinstance(tag.get("name"), str)
        and tag["name"].strip()
        and tag.get("status") in {"active", "inactive"}
        for tag in tags
    ):
        raise field_error("tags", "Each tag needs a name and a status of active or inactive.")
    syncing = body.get("is_syncing", False)
    if not isinstance(syncing, bool):
        raise field_error(
            "is_syncing", f"Schema describes boolean, {type(syncing).__name__} found instead"
        )
    return tags, syncing


def record_tag_write(
    audience: Audience, member: Member, tags: list[dict[str, Any]], syncing: bool
) -> None:
    for tag in tags:
        name = tag["name"].strip()
        active = tag["status"] == "active"
        if (name in member.tags) != active:
            audience.tag_writes.append(
                {"email": member.email, "tag": name, "status": tag["status"], "is_syncing": syncing}
            )
        audience.tag(member, name, active=active)


class SegmentsApi:
    def __init__(self, audience: Audience, lock: threading.RLock, links_base: str) -> None:
        self.audience = audience
        self.lock = lock
        self.links_base = links_base

    def register(self, add: Callable[[str, str, Handler], None]) -> None:
        segments = "/3.0/lists/{list_id}/segments"
        add("GET", segments, self.segments)
        add("GET", f"{segments}/{{segment_id}}/members", self.segment_members)
        add("POST", f"{segments}/{{segment_id}}", self.batch_members)

    @property
    def admin(self) -> dict[tuple[str, str], Handler]:
        return {("GET", "/_sim/tag-writes"): self.tag_writes}

    def _check(self, request: Request) -> None:
        if request.params["list_id"] != self.audience.list_id:
            raise not_found()

    def _name(self, request: Request) -> str:
        wanted = request.params["segment_id"]
        for name, tag_id in self.audience.tag_ids.items():
            if str(tag_id) == wanted:
                return name
        raise not_found()

    def segments(self, request: Request) -> Response:
        count, offset = paging(request)
        with self.lock:
            self._check(request)
            kind = request.arg("type")
            found = [] if kind not in (None, "", "static") else self._all()
        payload = {
            "segments": found[offset : offset + count],
            "total_items": len(found),
            "_links": [],
        }
        return Response.json(project(payload, request))

    def _all(self) -> list[dict[str, Any]]:
        counts: dict[str, int] = dict.fromkeys(self.audience.tag_ids, 0)
        for member in self.audience.members.values():
            for name in member.tags:
                counts[name] += 1
        now = stamp(self.audience.now())
        return [
            {
                "id": tag_id,
                "name": name,
                "member_count": counts[name],
                "type": "static",
                "created_at": now,
                "updated_at": now,
                "list_id": self.audience.list_id,
            }
            for name, tag_id in self.audience.tag_ids.items()
        ]

    def segment_members(self, request: Request) -> Response:
        count, offset = paging(request)
        with self.lock:
            self._check(request)
            name = self._name(request)
            members = [m for m in self.audience.members.values() if name in m.tags]
            view = MemberView(self.audience, self.links_base)
            page = [view.render(m) for m in members[offset : offset + count]]
        payload = {"members": page, "total_items": len(members), "_links": []}
        return Response.json(project(payload, request))

    def batch_members(self, request: Request) -> Response:
        body = request.json() or {}
        add, remove = body.get("members_to_add") or [], body.get("members_to_remove") or []
        if len(add) > SEGMENT_LIMIT or len(remove) > SEGMENT_LIMIT:
            raise invalid(
                "Maximum allowed member items exceeded, please provide at most 500 items in "
                "members_to_add field or members_to_remove field"
            )
        with self.lock:
            self._check(request)
            name = self._name(request)
            added = self._apply(name, add, active=True)
            removed = self._apply(name, remove, active=False)
        payload = {
            "members_added": added,
            "members_removed": removed,
            "errors": [],
            "total_added": len(added),
            "total_removed": len(removed),
            "error_count": 0,
            "_links": [],
        }
        return Response.json(payload)

    def _apply(self, name: str, emails: list[Any], *, active: bool) -> list[dict[str, Any]]:
        view = MemberView(self.audience, self.links_base)
        done = []
        for email in emails:
            member = self.audience.find(str(email))
            if member is not None:
                status = "active" if active else "inactive"
                record_tag_write(self.audience, member, [{"name": name, "status": status}], False)
                done.append(view.render(member, ["id", "email_address", "status"]))
        return done

    def tag_writes(self, request: Request) -> Response:
        with self.lock:
            return Response.json({"writes": list(self.audience.tag_writes)})
