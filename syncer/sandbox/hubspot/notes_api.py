"""HubSpot's notes endpoints (CRM v3 objects and v4 associations) over a :class:`NoteStore`.

Batches take at most 100 inputs and refuse more, or a repeated id, exactly as the contact batches
do (:func:`batch_inputs`); unknown ids in a read or an update are a 207 with one
``OBJECT_NOT_FOUND`` error naming them, the rest done; an archive ignores them (204). A bad value
or association refuses the whole request (see :mod:`.notes`). Every call counts against the
portal's rate limits like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncer.sandbox.hubspot.batch import batch_inputs
from syncer.sandbox.hubspot.errors import ErrorGroups, Failure, api_error
from syncer.sandbox.hubspot.notes import (
    CONTACT_TO_NOTE,
    DEFAULT_NOTE_NAMES,
    NOTE_TO_CONTACT,
    Note,
    NoteStore,
)
from syncer.sandbox.hubspot.props import ms_iso
from syncer.sandbox.hubspot.store import ContactStore
from syncer.sandbox.hubspot.wire import (
    flag,
    integer,
    json_object,
    names_param,
    properties_of,
    reply,
)
from syncer.sandbox.server import Handler, Request, Response

NOTES = "/crm/v3/objects/notes"
MAX_PAGE = 100
NOTE_NOT_FOUND = (
    "Could not get some NOTE objects, they may be deleted or not exist. Check that ids are valid."
)


class NotesApi:
    """The notes handlers; ``portal`` gives the simulator's current stores and its lock."""

    def __init__(self, portal: Any) -> None:
        self.portal = portal

    @property
    def store(self) -> NoteStore:
        notes: NoteStore = self.portal.notes
        return notes

    @property
    def contacts(self) -> ContactStore:
        contacts: ContactStore = self.portal.store
        return contacts

    def register(self, add: Callable[[str, str, Handler], None]) -> None:
        # Fixed paths before "/{noteId}", as the router takes the first match.
        add("POST", f"{NOTES}/batch/create", self.batch_create)
        add("POST", f"{NOTES}/batch/update", self.batch_update)
        add("POST", f"{NOTES}/batch/read", self.batch_read)
        add("POST", f"{NOTES}/batch/archive", self.batch_archive)
        add("GET", NOTES, self.list_notes)
        add("POST", NOTES, self.create)
        add("GET", f"{NOTES}/{{noteId}}", self.get)
        add("GET", "/crm/v4/objects/notes/{noteId}/associations/contacts", self.note_contacts)
        add("GET", "/crm/v4/objects/contacts/{contactId}/associations/notes", self.contact_notes)

    def admin(self) -> dict[tuple[str, str], Handler]:
        return {("GET", "/_sim/notes"): self.admin_notes}

    # -- v3 objects --------------------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        body = json_object(request)
        with self.portal.lock:
            note = self._create_one(body)
            return reply(self.store.render(note, _echoed(note.values)), 201)

    def batch_create(self, request: Request) -> Response:
        inputs = batch_inputs(json_object(request), unique=False)
        with self.portal.lock:
            started = self.contacts.now_ms()
            planned = [
                (
                    self.store.check(properties_of(item), creating=True),
                    self.store.associated_contacts(item.get("associations")),
                )
                for item in inputs
            ]
            notes = [self.store.create(values, contacts) for values, contacts in planned]
            results = [self.store.render(note, _echoed(note.values)) for note in notes]
            return self._answer(results, ErrorGroups(), started, 201)

    def batch_update(self, request: Request) -> Response:
        inputs = batch_inputs(json_object(request), unique=True)
        with self.portal.lock:
            started = self.contacts.now_ms()
            errors = ErrorGroups()
            planned: list[tuple[Note, dict[str, str]]] = []
            for item in inputs:
                note = self.store.find(item.get("id", ""))
                values = self.store.check(properties_of(item), creating=False)
                if note is None:
                    self._missing(errors, item)
                else:
                    planned.append((note, values))
            for note, values in planned:
                self.store.update(note, values)
            results = [self.store.render(note, _echoed(values)) for note, values in planned]
            return self._answer(results, errors, started)

    def batch_read(self, request: Request) -> Response:
        body = json_object(request)
        inputs = batch_inputs(body, unique=True)
        names = names_param(body.get("properties"))
        with self.portal.lock:
            started = self.contacts.now_ms()
            errors = ErrorGroups()
            results = []
            for item in inputs:
                note = self.store.find(item.get("id", ""), archived=flag(request, "archived"))
                if note is None:
                    self._missing(errors, item)
                else:
                    results.append(self.store.render(note, names))
            return self._answer(results, errors, started)

    def batch_archive(self, request: Request) -> Response:
        inputs = batch_inputs(json_object(request), unique=False)
        with self.portal.lock:
            for item in inputs:
                note = self.store.find(item.get("id", ""))
                if note is not None:
                    self.store.archive(note)
        return Response.empty(204)

    def get(self, request: Request) -> Response:
        names = names_param(request.query.get("properties"))
        with self.portal.lock:
            note = self.store.find(request.params["noteId"], archived=flag(request, "archived"))
            if note is None:
                raise api_error(404, "OBJECT_NOT_FOUND", "resource not found")
            return reply(self.store.render(note, names, associations=self._wants(request)))

    def list_notes(self, request: Request) -> Response:
        limit = integer(request.arg("limit", "10"), "limit")
        if not 1 <= limit <= MAX_PAGE:
            raise api_error(400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_PAGE}")
        after = integer(request.arg("after") or "0", "after")
        names = names_param(request.query.get("properties"))
        archived = flag(request, "archived")
        with self.portal.lock:
            chosen = [
                note
                for note_id, note in sorted(self.store.notes.items())
                if note_id > after and (note.archived_at is not None) == archived
            ]
            page = chosen[:limit]
            body: dict[str, Any] = {
                "results": [
                    self.store.render(note, names, associations=self._wants(request))
                    for note in page
                ]
            }
        if len(chosen) > limit:
            body["paging"] = {"next": {"after": str(page[-1].id)}}
        return reply(body)

    # -- v4 associations ---------------------------------------------------------------------------

    def note_contacts(self, request: Request) -> Response:
        with self.portal.lock:
            note = self.store.find(request.params["noteId"])
            if note is None:
                raise api_error(404, "OBJECT_NOT_FOUND", "resource not found")
            ids = self.store.contacts_of(note)
        return reply({"results": [_v4(contact_id, NOTE_TO_CONTACT) for contact_id in ids]})

    def contact_notes(self, request: Request) -> Response:
        with self.portal.lock:
            contact = self.contacts.find(request.params["contactId"], None)
            if contact is None:
                raise api_error(404, "OBJECT_NOT_FOUND", "resource not found")
            notes = self.store.notes_of(contact.state.id)
        return reply({"results": [_v4(note.id, CONTACT_TO_NOTE) for note in notes]})

    # -- admin -------------------------------------------------------------------------------------

    def admin_notes(self, request: Request) -> Response:
        """Every note, archived ones too, with all its values and its associated contacts."""
        with self.portal.lock:
            notes = [
                {
                    "id": str(note.id),
                    "properties": dict(note.values),
                    "contacts": [str(contact_id) for contact_id in self.store.contacts_of(note)],
                    "archived": note.archived_at is not None,
                    "createdAt": ms_iso(note.created),
                    "updatedAt": ms_iso(note.updated),
                }
                for note in self.store.notes.values()
            ]
        return reply({"notes": notes})

    # -- helpers -----------------------------------------------------------------------------------

    def _create_one(self, body: dict[str, Any]) -> Note:
        values = self.store.check(properties_of(body), creating=True)
        return self.store.create(values, self.store.associated_contacts(body.get("associations")))

    def _wants(self, request: Request) -> bool:
        wanted = names_param(request.query.get("associations")) or []
        return "contacts" in wanted or "contact" in wanted

    def _missing(self, errors: ErrorGroups, item: dict[str, Any]) -> None:
        failure = Failure(404, "OBJECT_NOT_FOUND", NOTE_NOT_FOUND)
        errors.add(failure, object_id=str(item.get("id")), trace_id=None)

    def _answer(
        self, results: list[dict[str, Any]], errors: ErrorGroups, started: int, status: int = 200
    ) -> Response:
        found = errors.as_list()
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if found:
            body.update(numErrors=len(found), errors=found)
        body.update(
            requestedAt=ms_iso(started),
            startedAt=ms_iso(started),
            completedAt=ms_iso(self.contacts.now_ms()),
        )
        return reply(body, 207 if found else status)


def _echoed(values: dict[str, str]) -> list[str]:
    """A write's answer shows what it wrote plus the properties HubSpot always shows."""
    return [*values, *DEFAULT_NOTE_NAMES]


def _v4(object_id: int, type_id: int) -> dict[str, Any]:
    kind = {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
    return {"toObjectId": object_id, "associationTypes": [kind]}
