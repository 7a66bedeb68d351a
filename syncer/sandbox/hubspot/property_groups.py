"""HubSpot's contact property groups: ``/crm/v3/properties/contacts/groups``.

A group is ``{name, label, displayOrder, archived}`` (the v3 reference, "Create a property
group": ``name`` and ``label`` required, ``displayOrder`` -1 by default, shown after the positive
ones). A second group with a name in use is a 409 ("Returns a 409 Conflict response if there is
already a group with the name, as groups must have unique names", the v1 reference, which also
says names "use only lowercase letters, numbers, and underscores"); the simulator refuses other
names with a 400. A property's ``groupName`` must name an existing group: the simulator refuses
a property in an unknown group with a 400 ``VALIDATION_ERROR`` (HubSpot's wording unrecorded).
A new portal has HubSpot's usual default contact groups (a selection; they are HubSpot-defined).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syncer.sandbox.hubspot.errors import api_error
from syncer.sandbox.hubspot.wire import json_object, reply
from syncer.sandbox.server import Handler, Request, Response, SimError

GROUPS = "/crm/v3/properties/contacts/groups"
_NAME = re.compile(r"^[a-z0-9_]+$")
DEFAULT_GROUPS = (
    ("contactinformation", "Contact information"),
    ("emailinformation", "Email information"),
    ("conversioninformation", "Conversion information"),
    ("socialmediainformation", "Social media information"),
    ("analyticsinformation", "Web analytics history"),
    ("sales_properties", "Sales properties"),
    ("salesforceinformation", "Salesforce information"),
    ("facebook_ads_properties", "Facebook Ads properties"),
)


@dataclass
class Group:
    name: str
    label: str
    display_order: int = -1

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "displayOrder": self.display_order,
            "archived": False,
        }


class GroupStore:
    """The portal's contact property groups, by name."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {
            name: Group(name, label, order) for order, (name, label) in enumerate(DEFAULT_GROUPS)
        }

    def require(self, name: str) -> Group:
        group = self.groups.get(name)
        if group is None:
            raise api_error(
                404, "OBJECT_NOT_FOUND", f"Unable to find property group {name} for contacts"
            )
        return group

    def check_exists(self, name: str) -> None:
        """What a property create or update with ``groupName`` meets."""
        if name not in self.groups:
            raise api_error(
                400, "VALIDATION_ERROR", f"Property group {name} does not exist for contacts."
            )


class GroupsApi:
    """The group handlers; ``portal`` gives the simulator's current stores and its lock."""

    def __init__(self, portal: Any) -> None:
        self.portal = portal

    @property
    def store(self) -> GroupStore:
        groups: GroupStore = self.portal.groups
        return groups

    def register(self, add: Callable[[str, str, Handler], None]) -> None:
        add("GET", GROUPS, self.list)
        add("POST", GROUPS, self.create)
        add("GET", f"{GROUPS}/{{groupName}}", self.get)
        add("PATCH", f"{GROUPS}/{{groupName}}", self.update)

    def list(self, request: Request) -> Response:
        with self.portal.lock:
            return reply({"results": [group.to_json() for group in self.store.groups.values()]})

    def get(self, request: Request) -> Response:
        with self.portal.lock:
            return reply(self.store.require(request.params["groupName"]).to_json())

    def create(self, request: Request) -> Response:
        body = json_object(request)
        missing = [
            key for key in ("name", "label") if not isinstance(body.get(key), str) or not body[key]
        ]
        if missing:
            raise api_error(
                400,
                "VALIDATION_ERROR",
                f"Some required fields were not set: [{', '.join(missing)}]",
            )
        name = str(body["name"])
        if not _NAME.match(name):
            raise api_error(
                400,
                "VALIDATION_ERROR",
                f"Property group name {name} may use only lowercase letters, numbers and "
                "underscores.",
            )
        group = Group(name, str(body["label"]), _order(body.get("displayOrder", -1)))
        with self.portal.lock:
            if name in self.store.groups:
                raise api_error(409, "CONFLICT", f"A property group named {name} already exists.")
            self.store.groups[name] = group
            return reply(group.to_json(), 201)

    def update(self, request: Request) -> Response:
        body = json_object(request)
        with self.portal.lock:
            group = self.store.require(request.params["groupName"])
            if isinstance(body.get("label"), str) and body["label"]:
                group.label = body["label"]
            if "displayOrder" in body:
                group.display_order = _order(body["displayOrder"])
            return reply(group.to_json())


def _order(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise SimError(400, "VALIDATION_ERROR", "displayOrder must be an integer")
    return raw
