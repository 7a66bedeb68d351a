"""Groups (interest categories and interests) and GDPR marketing permissions of the audience.

Sources (reference §3-§5, §12.6; SDK ``mailchimp-marketing`` ``lists_api.py``:
``get_list_interest_categories``, ``create_list_interest_category``,
``list_interest_category_interests``, ``create_interest_category_interest``):

- ``GET/POST /lists/{id}/interest-categories`` (``{categories, list_id, total_items}``; a
  category is ``{list_id, id, title, display_order, type}``, ``type`` one of ``checkboxes``,
  ``dropdown``, ``radio``, ``hidden``), and ``GET/POST .../{category_id}/interests``
  (``{interests, list_id, category_id, total_items}``; an interest is ``{category_id, list_id,
  id, name, subscriber_count, display_order}``, ``subscriber_count`` a string). Both list 10 by
  default (mailchimp/mc-magento2 #1103: "only the first 10 are returned").
- At most 60 interests an audience, across all its categories: "Cannot have more than 60
  interests per list (Across all categories)", a 400 (AdobeDocs/experience-platform.en #202).
- A member's ``interests`` holds every interest of the audience, ``true`` or ``false``; a write
  names only the ids it changes. An id the audience does not have is refused whole:
  ``400 Invalid Resource``, detail "Invalid interest ID: 'c06bb4b529'." (drewm/mailchimp-api #294),
  and an array instead of an object is "Schema describes object, array found instead" (#98).
- Marketing permissions exist only in an audience with GDPR fields enabled (the list's
  ``marketing_permissions: true``). There is no endpoint listing them: integrators read them from a
  member (spatie/laravel-newsletter #174: "look at the successful response of an existing
  subscriber"; brandonseydel/MailChimp.Net #639 reads one member for them). Every member lists every
  permission, ``{marketing_permission_id, text, enabled}``, ``enabled`` false until the person (or a
  write) grants it (a new member's default, mailchimp/APIv3-examples #46, so "never answered" and
  "off" read alike); elsewhere the member's list is empty. A write sends an array of
  ``{marketing_permission_id, enabled}``: an object instead is "Schema describes array, object found
  instead" (drewm/mailchimp-api #264). An id this audience does not have (another audience's, or any
  id in an audience without GDPR fields) is refused whole, worded like the interest refusal above:
  Mailchimp's own wording for it is not on record, and syncer reads only the status and title.

Ids are 10 hex characters derived from the audience and the name, so another audience (another
simulator) has other ids for the same names, as in Mailchimp.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncer.sandbox.mailchimp.schema import field_error, invalid
from syncer.sandbox.server import SimError

CATEGORY_TYPES = ("checkboxes", "dropdown", "radio", "hidden")
MAX_INTERESTS = 60


@dataclass
class Interest:
    id: str
    category_id: str
    name: str
    display_order: int


@dataclass
class Category:
    id: str
    title: str
    type: str
    display_order: int
    interests: dict[str, Interest] = field(default_factory=dict)


@dataclass
class Permission:
    id: str
    text: str


def _token(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:10]


class Preferences:
    """The audience's groups and permissions. Callers hold the simulator's lock."""

    def __init__(self, list_id: str) -> None:
        self.list_id = list_id
        self.categories: dict[str, Category] = {}
        self.permissions: dict[str, Permission] = {}
        self.gdpr = False

    # -- definitions -----------------------------------------------------------------------------

    def interests(self) -> dict[str, Interest]:
        return {i.id: i for c in self.categories.values() for i in c.interests.values()}

    def add_category(self, title: str, kind: str) -> Category:
        if not title.strip():
            raise field_error("title", "This value should not be blank.")
        if kind not in CATEGORY_TYPES:
            raise field_error("type", f"Value must be one of: {', '.join(CATEGORY_TYPES)}")
        if any(c.title == title for c in self.categories.values()):
            raise invalid(f'Cannot add "{title}" because it already exists on the list.')
        category = Category(
            _token(self.list_id, "category", title), title, kind, len(self.categories)
        )
        self.categories[category.id] = category
        return category

    def add_interest(self, category: Category, name: str) -> Interest:
        if not name.strip():
            raise field_error("name", "This value should not be blank.")
        if any(i.name == name for i in category.interests.values()):
            raise invalid(f'Cannot add "{name}" because it already exists on the list.')
        if len(self.interests()) >= MAX_INTERESTS:
            raise invalid(
                f"Cannot have more than {MAX_INTERESTS} interests per list (Across all categories)"
            )
        interest = Interest(
            _token(self.list_id, "interest", category.id, name),
            category.id,
            name,
            len(category.interests) + 1,
        )
        category.interests[interest.id] = interest
        return interest

    def add_permission(self, text: str) -> Permission:
        """A GDPR marketing permission; the first one turns the audience's GDPR fields on."""
        self.gdpr = True
        for known in self.permissions.values():
            if known.text == text:
                return known
        permission = Permission(_token(self.list_id, "permission", text), text)
        self.permissions[permission.id] = permission
        return permission

    def category(self, category_id: str) -> Category:
        found = self.categories.get(category_id)
        if found is None:
            raise SimError(404, "Resource Not Found", "The requested resource could not be found.")
        return found

    # -- member values ---------------------------------------------------------------------------

    def check_interests(self, values: Mapping[str, bool]) -> None:
        known = self.interests()
        for interest_id in values:
            if interest_id not in known:
                raise invalid(f"Invalid interest ID: '{interest_id}'.")

    def check_permissions(self, values: Mapping[str, bool]) -> None:
        for permission_id in values:
            if permission_id not in self.permissions:
                raise invalid(f"Invalid marketing permission ID: '{permission_id}'.")

    def render_interests(self, chosen: Mapping[str, bool]) -> dict[str, bool]:
        return {interest_id: bool(chosen.get(interest_id)) for interest_id in self.interests()}

    def render_permissions(self, granted: Mapping[str, bool]) -> list[dict[str, Any]]:
        return [
            {
                "marketing_permission_id": permission.id,
                "text": permission.text,
                "enabled": bool(granted.get(permission.id)),
            }
            for permission in self.permissions.values()
        ]

    # -- seeding -----------------------------------------------------------------------------------

    def seed(self, payload: Mapping[str, Any]) -> None:
        """``interest_categories: [{title, type, interests: [name...]}]`` and
        ``marketing_permissions: [text...]`` (any permission turns GDPR fields on)."""
        for spec in payload.get("interest_categories") or []:
            title = str(spec.get("title") or "")
            category = next((c for c in self.categories.values() if c.title == title), None)
            if category is None:
                category = self.add_category(title, str(spec.get("type") or "checkboxes"))
            for name in spec.get("interests") or []:
                if not any(i.name == name for i in category.interests.values()):
                    self.add_interest(category, str(name))
        for text in payload.get("marketing_permissions") or []:
            self.add_permission(str(text))
        if payload.get("gdpr") is not None:
            self.gdpr = bool(payload["gdpr"])

    def seeded_choices(self, raw: Any, kind: str) -> dict[str, bool]:
        """A seeded member's interests or permissions, keyed by id or by name (text)."""
        if not isinstance(raw, Mapping):
            raise SimError(400, "Bad Request", f"a seeded member's {kind} is an object")
        if kind == "interests":
            by_name = {i.name: i.id for i in self.interests().values()}
            known = set(self.interests())
        else:
            by_name = {p.text: p.id for p in self.permissions.values()}
            known = set(self.permissions)
        chosen: dict[str, bool] = {}
        for key, value in raw.items():
            resolved = key if key in known else by_name.get(key)
            if resolved is None:
                raise SimError(400, "Bad Request", f"the audience has no {kind} {key!r}")
            chosen[resolved] = bool(value)
        return chosen
