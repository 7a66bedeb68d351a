"""The routes of the audience's groups: interest categories and their interests.

Shapes, limits and refusals are those of :mod:`.preferences` (sources cited there). Marketing
permissions have no route of their own, as in Mailchimp: they are read from and written to
members, and set up for tests through ``/_sim/seed``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from syncer.sandbox.mailchimp.api import body_of
from syncer.sandbox.mailchimp.members import Audience, not_found
from syncer.sandbox.mailchimp.preferences import Category, Interest
from syncer.sandbox.mailchimp.schema import field_error
from syncer.sandbox.mailchimp.views import paging, project
from syncer.sandbox.server import Handler, Request, Response


class PreferencesApi:
    """Handlers over one :class:`Audience`'s groups; each takes the simulator's lock."""

    def __init__(self, audience: Audience, lock: threading.RLock) -> None:
        self.audience = audience
        self.lock = lock

    def register(self, add: Callable[[str, str, Handler], None]) -> None:
        categories = "/3.0/lists/{list_id}/interest-categories"
        category = f"{categories}/{{interest_category_id}}"
        add("GET", categories, self.list_categories)
        add("POST", categories, self.add_category)
        add("GET", category, self.get_category)
        add("GET", f"{category}/interests", self.list_interests)
        add("POST", f"{category}/interests", self.add_interest)
        add("GET", f"{category}/interests/{{interest_id}}", self.get_interest)
        add("DELETE", f"{category}/interests/{{interest_id}}", self.delete_interest)

    def _check_list(self, request: Request) -> None:
        if request.params["list_id"] != self.audience.list_id:
            raise not_found()

    def _category(self, request: Request) -> Category:
        self._check_list(request)
        return self.audience.preferences.category(request.params["interest_category_id"])

    def _interest(self, request: Request) -> Interest:
        found = self._category(request).interests.get(request.params["interest_id"])
        if found is None:
            raise not_found()
        return found

    # -- categories ------------------------------------------------------------------------------

    def list_categories(self, request: Request) -> Response:
        count, offset = paging(request)
        kind = request.arg("type") or None
        with self.lock:
            self._check_list(request)
            chosen = [
                self._category_json(category)
                for category in self.audience.preferences.categories.values()
                if kind is None or category.type == kind
            ]
        payload = {
            "list_id": self.audience.list_id,
            "categories": chosen[offset : offset + count],
            "total_items": len(chosen),
            "_links": [],
        }
        return Response.json(project(payload, request))

    def add_category(self, request: Request) -> Response:
        body = _object(body_of(request))
        with self.lock:
            self._check_list(request)
            category = self.audience.preferences.add_category(
                str(body.get("title") or ""), str(body.get("type") or "")
            )
            if isinstance(body.get("display_order"), int):
                category.display_order = body["display_order"]
            return Response.json(self._category_json(category))

    def get_category(self, request: Request) -> Response:
        with self.lock:
            payload = self._category_json(self._category(request))
        return Response.json(project(payload, request))

    def _category_json(self, category: Category) -> dict[str, Any]:
        return {
            "list_id": self.audience.list_id,
            "id": category.id,
            "title": category.title,
            "display_order": category.display_order,
            "type": category.type,
            "_links": [],
        }

    # -- interests -------------------------------------------------------------------------------

    def list_interests(self, request: Request) -> Response:
        count, offset = paging(request)
        with self.lock:
            category = self._category(request)
            chosen = [self._interest_json(interest) for interest in category.interests.values()]
        payload = {
            "interests": chosen[offset : offset + count],
            "list_id": self.audience.list_id,
            "category_id": category.id,
            "total_items": len(chosen),
            "_links": [],
        }
        return Response.json(project(payload, request))

    def add_interest(self, request: Request) -> Response:
        body = _object(body_of(request))
        with self.lock:
            category = self._category(request)
            interest = self.audience.preferences.add_interest(category, str(body.get("name") or ""))
            if isinstance(body.get("display_order"), int):
                interest.display_order = body["display_order"]
            return Response.json(self._interest_json(interest))

    def get_interest(self, request: Request) -> Response:
        with self.lock:
            payload = self._interest_json(self._interest(request))
        return Response.json(project(payload, request))

    def delete_interest(self, request: Request) -> Response:
        """The interest goes; members' choices of it go with it (no longer listed)."""
        with self.lock:
            interest = self._interest(request)
            del self.audience.preferences.categories[interest.category_id].interests[interest.id]
            for member in self.audience.members.values():
                member.interests.pop(interest.id, None)
        return Response.empty()

    def _interest_json(self, interest: Interest) -> dict[str, Any]:
        members = self.audience.members.values()
        return {
            "category_id": interest.category_id,
            "list_id": self.audience.list_id,
            "id": interest.id,
            "name": interest.name,
            "subscriber_count": str(sum(1 for m in members if m.interests.get(interest.id))),
            "display_order": interest.display_order,
            "_links": [],
        }


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise field_error("", "Schema describes object, other type found instead")
    return body
