"""HubSpot's contact properties API: list, read, create and update property definitions.

``PATCH /crm/v3/properties/contacts/{propertyName}`` is a partial update: "Provided fields will be
overwritten" (HubSpot's v3 reference, "Update a property"). ``options`` is therefore replaced
whole: "you must include all of the options that you want to use with the property; there is no
way to append or remove a single option" (HubSpot's properties v1 docs, "Update a contact
property"). The result is checked like a create (types, field types, a bool's two options).

The simulator's choices where HubSpot's docs are silent: a HubSpot-defined property
(``readOnlyDefinition``) refuses every update with a 400 ``VALIDATION_ERROR``; ``name`` cannot
change; values contacts already hold stay as they are when their option is removed (new writes
of them are refused with ``INVALID_OPTION``, as for any value that is not an option). A
``groupName`` must name an existing group (see :mod:`.property_groups`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from syncer.sandbox.hubspot.errors import api_error
from syncer.sandbox.hubspot.props import PropertyDef, parse_definition
from syncer.sandbox.hubspot.store import ContactStore
from syncer.sandbox.hubspot.wire import flag, json_object, reply
from syncer.sandbox.server import Handler, Request, Response

PROPERTIES = "/crm/v3/properties/contacts"
#: Fields of a ``PropertyUpdate`` the simulator keeps (the SDK's model has these and more).
UPDATABLE = ("label", "description", "groupName", "type", "fieldType", "options")


class PropertiesApi:
    """The property handlers; ``portal`` gives the simulator's current store and its lock."""

    def __init__(self, portal: Any) -> None:
        self.portal = portal

    @property
    def store(self) -> ContactStore:
        store: ContactStore = self.portal.store
        return store

    def register(self, add: Callable[[str, str, Handler], None]) -> None:
        add("GET", PROPERTIES, self.list)
        add("POST", PROPERTIES, self.create)
        add("GET", f"{PROPERTIES}/{{propertyName}}", self.get)
        add("PATCH", f"{PROPERTIES}/{{propertyName}}", self.update)

    def list(self, request: Request) -> Response:
        """Properties are never archived here, so ``archived=true`` lists none."""
        with self.portal.lock:
            found = [] if flag(request, "archived") else list(self.store.properties.values())
        return reply({"results": [prop.to_json() for prop in found]})

    def get(self, request: Request) -> Response:
        with self.portal.lock:
            prop = self._existing(request)
        return reply(prop.to_json())

    def create(self, request: Request) -> Response:
        with self.portal.lock:
            prop = parse_definition(request.json(), self.store.now_ms())
            self.portal.groups.check_exists(prop.group_name)
            if not self.store.add_property(prop):
                raise api_error(409, "CONFLICT", f"A property named {prop.name} already exists.")
        return reply(prop.to_json(), 201)

    def update(self, request: Request) -> Response:
        body = json_object(request)
        with self.portal.lock:
            current = self._existing(request)
            if current.hubspot_defined:
                raise api_error(
                    400,
                    "VALIDATION_ERROR",
                    f"{current.name} is a HubSpot-defined property; its definition is read-only.",
                )
            merged = {
                **current.to_json(),
                **{key: body[key] for key in UPDATABLE if key in body},
            }
            updated = parse_definition({**merged, "name": current.name}, current.created_at)
            updated = replace(updated, read_only=current.read_only)
            if updated.group_name != current.group_name:
                self.portal.groups.check_exists(updated.group_name)
            self.store.update_property(updated)
        return reply(updated.to_json())

    def _existing(self, request: Request) -> PropertyDef:
        name = request.params["propertyName"]
        prop = self.store.properties.get(name)
        if prop is None:
            raise api_error(
                404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for object type contacts"
            )
        return prop
