"""HubSpot notes: timeline entries on contacts, their properties and their contact associations.

What HubSpot documents or integrators recorded:

* ``hs_timestamp`` is required on create ("Error creating NOTE.  Some required properties were
  not set." with ``context.properties``: HubSpot/hubspot-api-nodejs #124); it takes ISO 8601 or
  epoch milliseconds and comes back as ISO with milliseconds, like any datetime property;
* ``hs_note_body`` holds at most 65,536 characters (HubSpot's notes guide);
* a note is associated with a contact at creation by ``associations: [{to: {id}, types:
  [{associationCategory: "HUBSPOT_DEFINED", associationTypeId: 202}]}]``; 202 is note to contact
  and 201 contact to note (notes guide; HubSpot/hubspot-api-nodejs #342);
* without ``properties`` a note shows ``hs_createdate``, ``hs_lastmodifieddate`` and
  ``hs_object_id``, as contacts show their defaults.

The simulator's choices where HubSpot is silent (each tested in ``test_hubspot_notes.py``): an
association to a contact that does not exist (or is archived), or of another type, refuses the
**whole** batch with a 400 ``VALIDATION_ERROR`` naming the ids, and nothing is created;
associations to a contact that is later archived stop being listed; a merged contact's
associations follow it to the merged record. Callers hold the simulator's lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncer.sandbox.hubspot.errors import Problem, api_error, invalid_values
from syncer.sandbox.hubspot.props import InvalidValue, PropertyDef, ms_iso, normalize
from syncer.sandbox.hubspot.store import ContactStore
from syncer.sandbox.server import SimError

NOTE_TO_CONTACT = 202
CONTACT_TO_NOTE = 201
#: Where note ids start, far from contact ids so that a client mixing them up is caught.
FIRST_NOTE_ID = 70_000_000_001
NOTE_PROPERTIES: dict[str, PropertyDef] = {
    prop.name: prop
    for prop in (
        PropertyDef("hs_note_body", "Note body", "string", "html", group_name="note"),
        PropertyDef("hs_timestamp", "Activity date", "datetime", "date", group_name="note"),
        PropertyDef(
            "hubspot_owner_id", "Activity assigned to", "string", "text", group_name="note"
        ),
        PropertyDef("hs_attachment_ids", "Attached file IDs", "string", "text", group_name="note"),
        PropertyDef("hs_object_id", "Record ID", "number", "number", read_only=True),
        PropertyDef("hs_createdate", "Create date", "datetime", "date", read_only=True),
        PropertyDef("hs_lastmodifieddate", "Last modified", "datetime", "date", read_only=True),
    )
}
DEFAULT_NOTE_NAMES = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")


@dataclass
class Note:
    id: int
    values: dict[str, str]
    created: int
    updated: int
    contacts: list[int] = field(default_factory=list)
    archived_at: int | None = None


class NoteStore:
    """Every note of the portal, by id."""

    def __init__(self, contacts: ContactStore) -> None:
        self.contacts = contacts
        self.notes: dict[int, Note] = {}
        self._next_id = FIRST_NOTE_ID

    def find(self, key: Any, *, archived: bool = False) -> Note | None:
        text = str(key).strip()
        note = self.notes.get(int(text)) if text.isdigit() else None
        if note is None or (note.archived_at is not None) != archived:
            return None
        return note

    def check(self, raw: Mapping[str, Any], *, creating: bool) -> dict[str, str]:
        """Validated values of one input, or the 400 HubSpot answers for the whole request."""
        problems: list[Problem] = []
        values: dict[str, str] = {}
        for name, given in raw.items():
            prop = NOTE_PROPERTIES.get(name)
            if prop is None:
                message = f'Property "{name}" does not exist'
                problems.append(Problem(name, "PROPERTY_DOESNT_EXIST", message))
            elif prop.read_only:
                message = f'"{name}" is a read only property; its value cannot be set.'
                problems.append(Problem(name, "READ_ONLY_VALUE", message, str(given)))
            else:
                try:
                    values[name] = normalize(prop, given, None)
                except InvalidValue as bad:
                    problems.append(Problem(name, bad.code, bad.message, str(given)))
        if problems:
            raise invalid_values(problems).as_error()
        if creating and not values.get("hs_timestamp"):
            raise api_error(
                400,
                "VALIDATION_ERROR",
                "Error creating NOTE.  Some required properties were not set.",
                context={"properties": ["hs_timestamp"]},
            )
        return values

    def associated_contacts(self, associations: Any) -> list[int]:
        """The contact ids a create's ``associations`` name, all of them existing, or a 400."""
        if associations is None:
            return []
        if not isinstance(associations, list):
            raise api_error(400, "VALIDATION_ERROR", "Invalid input JSON: associations is a list")
        ids: list[int] = []
        missing: list[str] = []
        for association in associations:
            target, kinds = _association_parts(association)
            if kinds != [("HUBSPOT_DEFINED", NOTE_TO_CONTACT)]:
                raise api_error(
                    400,
                    "VALIDATION_ERROR",
                    f"Association type {kinds} is not valid from NOTE to CONTACT; "
                    f"use HUBSPOT_DEFINED {NOTE_TO_CONTACT}.",
                )
            contact = self.contacts.find(target, None)
            if contact is None:
                missing.append(target)
            elif contact.state.id not in ids:
                ids.append(contact.state.id)
        if missing:
            raise api_error(
                400,
                "VALIDATION_ERROR",
                f"One or more associations are invalid: CONTACT ids {missing} do not exist.",
                context={"toObjectId": missing},
            )
        return ids

    def create(self, values: dict[str, str], contacts: list[int]) -> Note:
        now = self.contacts.now_ms()
        note = Note(self._next_id, values, now, now, contacts)
        self._next_id += 1
        self.notes[note.id] = note
        return note

    def update(self, note: Note, values: Mapping[str, str]) -> None:
        note.values.update(values)
        note.updated = self.contacts.now_ms()

    def archive(self, note: Note) -> None:
        note.archived_at = note.updated = self.contacts.now_ms()

    def contacts_of(self, note: Note) -> list[int]:
        """Associated contacts that still exist, under their current (merged) ids."""
        found: list[int] = []
        for contact_id in note.contacts:
            contact = self.contacts.find(str(contact_id), None)
            if contact is not None and contact.state.id not in found:
                found.append(contact.state.id)
        return found

    def notes_of(self, contact_id: int) -> list[Note]:
        return [
            note
            for note in self.notes.values()
            if note.archived_at is None and contact_id in self.contacts_of(note)
        ]

    def render(
        self, note: Note, names: Iterable[str] | None, *, associations: bool = False
    ) -> dict[str, Any]:
        """A note as HubSpot shows it; unknown requested names are left out."""
        shown = {
            **note.values,
            "hs_object_id": str(note.id),
            "hs_createdate": ms_iso(note.created),
            "hs_lastmodifieddate": ms_iso(note.updated),
        }
        body: dict[str, Any] = {
            "id": str(note.id),
            "properties": {
                name: shown.get(name)
                for name in (names or DEFAULT_NOTE_NAMES)
                if name in NOTE_PROPERTIES
            },
            "createdAt": ms_iso(note.created),
            "updatedAt": ms_iso(note.updated),
            "archived": note.archived_at is not None,
        }
        if note.archived_at is not None:
            body["archivedAt"] = ms_iso(note.archived_at)
        if associations:
            results = [
                {"id": str(contact_id), "type": "note_to_contact"}
                for contact_id in self.contacts_of(note)
            ]
            body["associations"] = {"contacts": {"results": results}} if results else {}
        return body


def _association_parts(association: Any) -> tuple[str, list[tuple[str, int]]]:
    if not isinstance(association, dict) or not isinstance(association.get("to"), dict):
        raise SimError(400, "VALIDATION_ERROR", "Invalid input JSON: an association needs to.id")
    target = str(association["to"].get("id", "")).strip()
    kinds = [
        (str(kind.get("associationCategory")), int(kind.get("associationTypeId", 0)))
        for kind in association.get("types") or []
        if isinstance(kind, dict)
    ]
    return target, kinds
