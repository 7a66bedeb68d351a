"""HubSpot's notes endpoints (CRM v3 objects and v4 associations) over a :class:`NoteStore`.

Batches take at most 100 inputs and refuse more, or a repeated id, exactly as the contact batches
do (:func:`batch_inputs`); unknown ids in a read or an update are a 207 with one
``OBJECT_NOT_FOUND`` error naming them, the rest done; an archive ignores them (204). A bad value
or association refuses the whole request (see :mod:`.notes`) unless every input carries its own
``objectWriteTraceId``: then, as for contacts (reference §5), only that input fails, as one error
of a 207 whose ``context.objectWriteTraceId`` names it, and results echo their trace ids. Every
call counts against the portal's rate limits like any other.
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
from syncer.sandbox.server import Handler, Request, Response, SimError

NOTES = "/crm/v3/objects/notes"
MAX_PAGE = 100
#: v4 association batch reads: inputs per call (unconfirmed; HubSpot documents 1,000 for the
#: association batch endpoints) and targets per input per page (as ``get_page``'s 500).
MAX_ASSOCIATION_INPUTS = 1000
ASSOCIATION_PAGE = 500
_OBJECT_TYPES = {"contact": "contacts", "contacts": "contacts", "0-1": "contacts"}
_OBJECT_TYPES |= {"note": "notes", "notes": "notes", "0-46": "notes"}
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
        add("POST", "/crm/v4/associations/{fromType}/{toType}/batch/read", self.batch_associations)

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
        partial = _traced(inputs)
        with self.portal.lock:
            started = self.contacts.now_ms()
            errors = ErrorGroups()
            planned: list[tuple[dict[str, Any], dict[str, str], list[int]]] = []
            for item in inputs:
                try:
                    values = self.store.check(properties_of(item), creating=True)
                    contacts = self.store.associated_contacts(item.get("associations"))
                except SimError as error:
                    _refuse(errors, error, item, partial=partial, with_id=False)
                    continue
                planned.append((item, values, contacts))
            results = []
            for item, values, contacts in planned:
                note = self.store.create(values, contacts)
                results.append(_traced_result(self.store.render(note, _echoed(values)), item))
            return self._answer(results, errors, started, 201)

    def batch_update(self, request: Request) -> Response:
        inputs = batch_inputs(json_object(request), unique=True)
        partial = _traced(inputs)
        with self.portal.lock:
            started = self.contacts.now_ms()
            errors = ErrorGroups()
            planned: list[tuple[dict[str, Any], Note, dict[str, str]]] = []
            for item in inputs:
                note = self.store.find(item.get("id", ""))
                try:
                    values = self.store.check(properties_of(item), creating=False)
                except SimError as error:
                    _refuse(errors, error, item, partial=partial, with_id=True)
                    continue
                if note is None:
                    self._missing(errors, item)
                else:
                    planned.append((item, note, values))
            results = []
            for item, note, values in planned:
                self.store.update(note, values)
                results.append(_traced_result(self.store.render(note, _echoed(values)), item))
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

    def batch_associations(self, request: Request) -> Response:
        """v4 batch read between contacts and notes: 500 a page per input, ``after`` to go on.

        An input with nothing associated (or that does not exist) is an error of a 207, as
        HubSpot's ``NO_ASSOCIATIONS_FOUND`` (the wording here is the simulator's own).
        """
        kinds = (_object_type(request.params["fromType"]), _object_type(request.params["toType"]))
        if kinds not in {("contacts", "notes"), ("notes", "contacts")}:
            raise api_error(400, "VALIDATION_ERROR", f"Unsupported association {kinds}")
        inputs = json_object(request).get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
            raise api_error(400, "VALIDATION_ERROR", "Invalid input JSON: inputs must be a list")
        if len(inputs) > MAX_ASSOCIATION_INPUTS:
            raise api_error(
                400,
                "VALIDATION_ERROR",
                f"Too many inputs: {len(inputs)}. "
                f"A batch may contain at most {MAX_ASSOCIATION_INPUTS} inputs.",
            )
        with self.portal.lock:
            started = self.contacts.now_ms()
            errors = ErrorGroups()
            results = []
            for item in inputs:
                source = str(item.get("id", ""))
                targets, type_id = self._targets(kinds[0], source)
                if not targets:
                    message = f"No {kinds[1]} are associated with {kinds[0]} {source}."
                    failure = Failure(404, "OBJECT_NOT_FOUND", message)
                    errors.add(failure, object_id=source, trace_id=None)
                    continue
                after = str(item.get("after") or "0")
                rest = (
                    [target for target in targets if target > int(after)] if after.isdigit() else []
                )
                page = rest[:ASSOCIATION_PAGE]
                result: dict[str, Any] = {
                    "from": {"id": source},
                    "to": [_v4(target, type_id) for target in page],
                }
                if len(rest) > ASSOCIATION_PAGE:
                    result["paging"] = {"next": {"after": str(page[-1])}}
                results.append(result)
            return self._answer(results, errors, started)

    def _targets(self, from_kind: str, source: str) -> tuple[list[int], int]:
        if from_kind == "contacts":
            contact = self.contacts.find(source, None)
            notes = [] if contact is None else self.store.notes_of(contact.state.id)
            return sorted(note.id for note in notes), CONTACT_TO_NOTE
        note = self.store.find(source)
        return ([] if note is None else sorted(self.store.contacts_of(note))), NOTE_TO_CONTACT

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
        errors.add(failure, object_id=str(item.get("id")), trace_id=_trace(item))

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


def _trace(item: dict[str, Any]) -> str | None:
    trace = item.get("objectWriteTraceId")
    return trace if isinstance(trace, str) and trace else None


def _traced(inputs: list[dict[str, Any]]) -> bool:
    """Failures are per input only when every input carries its own trace id, as for contacts."""
    traces = [_trace(item) for item in inputs]
    return all(traces) and len(set(traces)) == len(traces)


def _refuse(
    errors: ErrorGroups, error: SimError, item: dict[str, Any], *, partial: bool, with_id: bool
) -> None:
    """An input's failure: the whole request's without trace ids, else one error of the 207."""
    if not partial:
        raise error
    failure = Failure(error.status, error.title, error.detail, error.extra.get("errors") or [])
    object_id = str(item.get("id")) if with_id else None
    errors.add(failure, object_id=object_id, trace_id=_trace(item))


def _traced_result(body: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    if _trace(item):
        body["objectWriteTraceId"] = _trace(item)
    return body


def _echoed(values: dict[str, str]) -> list[str]:
    """A write's answer shows what it wrote plus the properties HubSpot always shows."""
    return [*values, *DEFAULT_NOTE_NAMES]


def _object_type(name: str) -> str:
    return _OBJECT_TYPES.get(name.lower(), name)


def _v4(object_id: int, type_id: int) -> dict[str, Any]:
    kind = {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
    return {"toObjectId": object_id, "associationTypes": [kind]}
