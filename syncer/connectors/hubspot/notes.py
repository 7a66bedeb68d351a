"""HubSpot notes (timeline entries on every tier) and the property group engagement lives in.

Notes are created and updated 100 a call (``/crm/v3/objects/notes/batch/create|update``), each
created with its association to the contact (type 202, note to contact, HUBSPOT_DEFINED).

A create is not idempotent: HubSpot would make a second note. So a create is never retried by
the HTTP layer after it may have reached HubSpot (a dropped connection, a timeout, a 5xx); only a
429, which HubSpot refuses before doing anything, is retried. Any other failure raises, and the
run then looks for the notes on their contacts (:meth:`HubSpotNotes.notes_of` and
:meth:`HubSpotNotes.bodies`, by the marker each body carries) before creating them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from syncer.connectors.answers import has_list
from syncer.connectors.http import ApiSession
from syncer.connectors.hubspot.parse import record_id
from syncer.connectors.paging import LoopGuard, chunks
from syncer.core.engagement import marked_key
from syncer.errors import RemoteError

NOTES = "/crm/v3/objects/notes"
BATCH = 100
#: HubSpot's association type of a note to a contact (HUBSPOT_DEFINED).
NOTE_TO_CONTACT = 202
GROUPS = "/crm/v3/properties/contacts/groups"
ASSOCIATIONS_PAGE = 500


@dataclass(frozen=True)
class NoteInput:
    trace_id: str
    contact_id: str
    body: str
    timestamp: str
    note_id: str | None = None


@dataclass(frozen=True)
class NoteResult:
    trace_id: str
    outcome: Literal["ok", "missing", "error"]
    note_id: str | None = None
    message: str = ""


class HubSpotNotes:
    def __init__(self, api: ApiSession) -> None:
        self.api = api

    def create(self, chunk: Sequence[NoteInput]) -> list[NoteResult]:
        """Create up to 100 notes, each associated with its contact: one call, never repeated
        once it may have reached HubSpot (a repeat would make a second note)."""
        body = {
            "inputs": [
                {
                    "properties": {"hs_note_body": item.body, "hs_timestamp": item.timestamp},
                    "associations": [
                        {
                            "to": {"id": item.contact_id},
                            "types": [
                                {
                                    "associationCategory": "HUBSPOT_DEFINED",
                                    "associationTypeId": NOTE_TO_CONTACT,
                                }
                            ],
                        }
                    ],
                    "objectWriteTraceId": item.trace_id,
                }
                for item in chunk
            ]
        }
        response = self.api.request(
            "POST",
            f"{NOTES}/batch/create",
            json_body=body,
            retry_safe_because="only a 429 is retried, which HubSpot refuses before creating",
            repeatable=False,
            expect=has_list("results", "errors"),
        )
        return _results(chunk, response.data, by_id=False)

    def update(self, chunk: Sequence[NoteInput]) -> list[NoteResult]:
        body = {
            "inputs": [
                {
                    "id": item.note_id,
                    "properties": {"hs_note_body": item.body, "hs_timestamp": item.timestamp},
                    "objectWriteTraceId": item.trace_id,
                }
                for item in chunk
            ]
        }
        response = self.api.request(
            "POST",
            f"{NOTES}/batch/update",
            json_body=body,
            retry_safe_because="an update sets the same body again",
            expect=has_list("results", "errors"),
        )
        return _results(chunk, response.data, by_id=True)

    def notes_of(self, contact_ids: Sequence[str]) -> dict[str, list[str]]:
        """The ids of the notes associated with each contact (v4 associations, 500 a page).

        One call per contact: only used for the few notes whose create may have been lost.
        """
        found: dict[str, list[str]] = {}
        for contact_id in dict.fromkeys(contact_ids):
            found[contact_id] = []
            after: str | None = None
            guard = LoopGuard(10_000, f"hubspot: reading the notes of contact {contact_id}")
            while True:
                guard.tick()
                params = {"limit": ASSOCIATIONS_PAGE, **({"after": after} if after else {})}
                response = self.api.request(
                    "GET",
                    "/crm/v4/objects/contacts/{contactId}/associations/notes",
                    path={"contactId": contact_id},
                    params=params,
                    expect=has_list("results"),
                )
                data = response.data or {}
                found[contact_id] += [str(r.get("toObjectId")) for r in data["results"]]
                after = ((data.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
        return found

    def bodies(self, note_ids: Sequence[str]) -> dict[str, str]:
        """Each note's body, 100 notes a call; a note HubSpot does not answer is left out."""
        found: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(note_ids)), BATCH):
            response = self.api.request(
                "POST",
                f"{NOTES}/batch/read",
                json_body={
                    "properties": ["hs_note_body"],
                    "inputs": [{"id": note_id} for note_id in chunk],
                },
                retry_safe_because="a batch read reads only",
                expect=has_list("results"),
            )
            for raw in (response.data or {}).get("results", []):
                note_id = record_id(raw)
                if note_id is not None:
                    found[note_id] = str((raw.get("properties") or {}).get("hs_note_body") or "")
        return found

    # -- the property group ----------------------------------------------------------------------

    def group_exists(self, name: str) -> bool:
        try:
            self.api.request("GET", f"{GROUPS}/{{groupName}}", path={"groupName": name})
        except RemoteError as error:
            if error.status == 404:
                return False
            raise
        return True

    def create_group(self, name: str, label: str) -> None:
        self.api.request(
            "POST",
            GROUPS,
            json_body={"name": name, "label": label, "displayOrder": -1},
            retry_safe_because="a group name is unique: a repeat is refused with 409",
        )


def _results(chunk: Sequence[NoteInput], data: Any, *, by_id: bool) -> list[NoteResult]:
    """One result per input: by trace id, else by note id (updates) or by the key in the
    body's marker (creates: HubSpot promises neither their order nor an echoed trace id). An
    input in neither the results nor the errors counts as missing."""
    data = data if isinstance(data, dict) else {}
    by_trace = {item.trace_id: item for item in chunk}
    by_note = {item.note_id: item for item in chunk if item.note_id}
    results: dict[str, NoteResult] = {}
    for raw in data.get("results") or []:
        if not isinstance(raw, dict):
            continue
        note_id = record_id(raw)
        item = by_trace.get(str(raw.get("objectWriteTraceId") or ""))
        if item is None and by_id:
            item = by_note.get(note_id or "")
        if item is None and not by_id:
            item = by_trace.get(marked_key((raw.get("properties") or {}).get("hs_note_body")) or "")
        if item is not None and note_id is not None:
            results[item.trace_id] = NoteResult(item.trace_id, "ok", note_id)
    for error in data.get("errors") or []:
        context = error.get("context") or {}
        named = [
            by_trace[t] for t in map(str, context.get("objectWriteTraceId") or []) if t in by_trace
        ]
        named += [by_note[i] for i in map(str, context.get("ids") or []) if i in by_note]
        outcome: Literal["missing", "error"] = (
            "missing" if error.get("category") == "OBJECT_NOT_FOUND" else "error"
        )
        for item in named:
            results[item.trace_id] = NoteResult(
                item.trace_id, outcome, item.note_id, str(error.get("message") or "refused")
            )
    return [
        results.get(item.trace_id)
        or NoteResult(item.trace_id, "missing", item.note_id, "absent from HubSpot's answer")
        for item in chunk
    ]
