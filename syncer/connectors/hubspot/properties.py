"""A HubSpot property's options: read one property, create a multi-checkbox, add options.

HubSpot replaces an enumeration's options whole on ``PATCH /crm/v3/properties/contacts/{name}``
("you must include all of the options that you want to use with the property; there is no way
to append or remove a single option", HubSpot's properties docs), so adding an option sends every
existing option back unchanged, then the new ones. A value written to a multi-checkbox that is not
one of its options is refused (``INVALID_OPTION``), which is why the tags mirror adds an option
before the first write that needs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from syncer.connectors.http import ApiSession
from syncer.errors import RemoteError

PROPERTY = "/crm/v3/properties/contacts/{propertyName}"
MULTI_CHECKBOX = ("enumeration", "checkbox")


@dataclass(frozen=True)
class ChoiceProperty:
    """A property as far as its options matter: its kind, whether it is writable, the options."""

    name: str
    type: str
    field_type: str
    read_only: bool
    #: Each option as HubSpot returned it, so an update can send it back unchanged.
    options: tuple[dict[str, Any], ...]

    @property
    def values(self) -> frozenset[str]:
        return frozenset(str(option.get("value", "")) for option in self.options)

    @property
    def multi_checkbox(self) -> bool:
        return (self.type, self.field_type) == MULTI_CHECKBOX


class HubSpotProperties:
    def __init__(self, api: ApiSession) -> None:
        self.api = api

    def get(self, name: str) -> ChoiceProperty | None:
        try:
            response = self.api.request("GET", PROPERTY, path={"propertyName": name})
        except RemoteError as error:
            if error.status == 404:
                return None
            raise
        return _parse(response.data)

    def create_checkbox(self, name: str, label: str, values: Iterable[str]) -> ChoiceProperty:
        body = {
            "name": name,
            "label": label,
            "type": MULTI_CHECKBOX[0],
            "fieldType": MULTI_CHECKBOX[1],
            "groupName": "contactinformation",
            "description": "Mailchimp tags of the person's audience member, mirrored by syncer.",
            "options": [_option(value, order) for order, value in enumerate(sorted(values))],
        }
        response = self.api.request(
            "POST",
            "/crm/v3/properties/contacts",
            json_body=body,
            retry_safe_because="a property name is unique: a repeat is refused with 409",
        )
        return _parse(response.data)

    def add_options(self, prop: ChoiceProperty, values: Iterable[str]) -> ChoiceProperty:
        """Add ``values`` as options of ``prop``, keeping every option it has."""
        new = sorted(set(values) - prop.values)
        if not new:
            return prop
        start = 1 + max((int(o.get("displayOrder") or 0) for o in prop.options), default=-1)
        options = [*prop.options, *(_option(value, start + i) for i, value in enumerate(new))]
        response = self.api.request(
            "PATCH",
            PROPERTY,
            path={"propertyName": prop.name},
            json_body={"options": options},
            retry_safe_because="the full option list is sent: repeating it sets the same list",
        )
        return _parse(response.data)


def _option(value: str, order: int) -> dict[str, Any]:
    return {"label": value, "value": value, "displayOrder": order, "hidden": False}


def _parse(raw: Any) -> ChoiceProperty:
    if not isinstance(raw, dict) or "name" not in raw:
        raise RemoteError("hubspot: a property in the answer has no name")
    metadata = raw.get("modificationMetadata") or {}
    return ChoiceProperty(
        name=str(raw["name"]),
        type=str(raw.get("type", "")),
        field_type=str(raw.get("fieldType", "")),
        read_only=bool(metadata.get("readOnlyValue", False)),
        options=tuple(
            dict(option) for option in raw.get("options") or () if isinstance(option, dict)
        ),
    )
