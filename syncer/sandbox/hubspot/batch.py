"""HubSpot's contact batch endpoints: read, create, update, upsert and archive, 100 inputs each.

How failures surface (reference §5; the simulator's own choices are marked *):

- more than 100 inputs, or the same id twice (read/update/upsert): 400 for the whole request;
- a read asking for ``propertiesWithHistory`` takes at most 50 inputs: more is a 400
  ``VALIDATION_ERROR`` with HubSpot's own message (reference §12.1: activepieces PR #9359,
  PipedreamHQ/pipedream #8462 and #10988 quote it);
- ids that do not exist: 207 with one ``OBJECT_NOT_FOUND`` error naming them in ``context.ids``;
- an id merged away names the merged record (reference §12.2): a read answers the merged record
  (its new id, once however many of its old ids were asked for); an update lands on it but is
  left out of the results, as a recording shows (reference §5);
- bad values, unknown or read-only properties and email collisions fail only their input when
  **every** input carries a unique ``objectWriteTraceId`` (207; errors grouped by message, with
  ``context.objectWriteTraceId`` and, for updates, ``context.ids``). Otherwise the first of them
  fails the whole request - 400, or 409 naming the first existing email for a create - and
  nothing is written;
- * two creates with one email in the same batch: the later one is a 409 ``CONFLICT`` "Duplicate
  email in batch input: <email>" (HubSpot answers 409; its wording is unrecorded);
- * results come in input order (clients must not rely on it: HubSpot does not promise it);
- * upsert by email never succeeds partially (HubSpot documents no partial upserts with email as
  the id property): any bad input fails the whole request, trace ids or not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from syncer.sandbox.hubspot.errors import (
    NOT_FOUND_IN_BATCH,
    ErrorGroups,
    Failure,
    already_has_value,
    api_error,
    duplicate_ids,
    email_taken,
    invalid_values,
)
from syncer.sandbox.hubspot.identity import email_entries
from syncer.sandbox.hubspot.props import ms_iso
from syncer.sandbox.hubspot.store import Contact, ContactStore, api_source
from syncer.sandbox.hubspot.wire import names_param, properties_of, render, reply, written
from syncer.sandbox.server import Response

MAX_INPUTS = 100
MAX_HISTORY_INPUTS = 50
HISTORY_LIMIT_MESSAGE = (
    f"The maximum number of inputs supported in a batch request for property histories is "
    f"{MAX_HISTORY_INPUTS}. Please reduce the number of items and try again"
)


def batch_inputs(body: Any, *, unique: bool) -> list[dict[str, Any]]:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        raise api_error(400, "VALIDATION_ERROR", "Invalid input JSON: inputs must be a list")
    if len(inputs) > MAX_INPUTS:
        raise api_error(
            400,
            "VALIDATION_ERROR",
            f"Too many inputs: {len(inputs)}. A batch may contain at most {MAX_INPUTS} inputs.",
        )
    if unique:
        counts = Counter(str(item.get("id", "")) for item in inputs)
        duplicates = [key for key, count in counts.items() if count > 1]
        if duplicates:
            raise duplicate_ids(duplicates)
    return inputs


class _Batch:
    """One batch call: decides whether a failure is per input or fails it all, and answers."""

    def __init__(self, store: ContactStore, inputs: list[dict[str, Any]], *, partial: bool) -> None:
        traces = [item.get("objectWriteTraceId") for item in inputs]
        self.store = store
        self.partial = partial and all(isinstance(t, str) and t for t in traces)
        self.partial = self.partial and len(set(traces)) == len(traces)
        self.requested_at = store.now_ms()
        self.errors = ErrorGroups()
        self.results: list[dict[str, Any]] = []
        self._claimed: dict[str, tuple[int, int | None]] = {}

    def fail(self, failure: Failure, item: Mapping[str, Any], *, with_id: bool = True) -> None:
        if not self.partial:
            raise failure.as_error()
        object_id = str(item.get("id")) if with_id else None
        self.errors.add(failure, object_id=object_id, trace_id=item.get("objectWriteTraceId"))

    def missing(self, item: Mapping[str, Any]) -> None:
        """Unknown ids are a per-input 207 error whether or not trace ids were sent."""
        failure = Failure(404, "OBJECT_NOT_FOUND", NOT_FOUND_IN_BATCH)
        self.errors.add(
            failure, object_id=str(item.get("id")), trace_id=item.get("objectWriteTraceId")
        )

    def check(
        self, position: int, item: Mapping[str, Any], raw: Mapping[str, Any], target: Contact | None
    ) -> dict[str, str] | None:
        """Validated changes for one input, or ``None`` after recording why it fails."""
        changes, problems = self.store.check(raw, target.state if target else None)
        failure = (
            invalid_values(problems) if problems else self._collision(position, changes, target)
        )
        if failure is not None:
            self.fail(failure, item, with_id=target is not None)
            return None
        owner = target.state.id if target else None
        for _, email in email_entries(changes):
            self._claimed.setdefault(email.lower(), (position, owner))
        return changes

    def _collision(
        self, position: int, changes: Mapping[str, str], target: Contact | None
    ) -> Failure | None:
        """An email owned by another contact, or claimed by an earlier input of this batch."""
        found = self.store.conflict(changes, target)
        if found is not None:
            return email_taken(*found, target.state.id if target else None)
        for prop, email in email_entries(changes):
            earlier, claimant = self._claimed.get(email.lower(), (position, None))
            if earlier == position:
                continue
            if target is None or claimant is None:
                return Failure(409, "CONFLICT", f"Duplicate email in batch input: {email}")
            return already_has_value(prop, email, str(target.state.id), claimant)
        return None

    def result(self, body: dict[str, Any], item: Mapping[str, Any]) -> None:
        if item.get("objectWriteTraceId"):
            body["objectWriteTraceId"] = item["objectWriteTraceId"]
        self.results.append(body)

    def answer(self, status: int = 200) -> Response:
        errors = self.errors.as_list()
        body: dict[str, Any] = {"status": "COMPLETE", "results": self.results}
        if errors:
            body.update(numErrors=len(errors), errors=errors)
        body.update(
            requestedAt=ms_iso(self.requested_at),
            startedAt=ms_iso(self.requested_at),
            completedAt=ms_iso(self.store.now_ms()),
        )
        return reply(body, 207 if errors else status)


def batch_read(store: ContactStore, body: Any, *, archived: bool) -> Response:
    inputs = batch_inputs(body, unique=True)
    batch = _Batch(store, inputs, partial=False)
    names = names_param(body.get("properties"))
    history = names_param(body.get("propertiesWithHistory")) or []
    if history and len(inputs) > MAX_HISTORY_INPUTS:
        raise api_error(400, "VALIDATION_ERROR", HISTORY_LIMIT_MESSAGE)
    answered: set[int] = set()
    for item in inputs:
        contact = store.find(str(item.get("id", "")), body.get("idProperty"), archived=archived)
        if contact is None:
            batch.missing(item)
            continue
        if contact.state.id in answered:
            continue
        answered.add(contact.state.id)
        batch.results.append(
            render(
                contact.state,
                names,
                store.properties,
                history=contact if history else None,
                history_names=history,
                epoch_dates=store.epoch_dates,
            )
        )
    return batch.answer()


def batch_create(store: ContactStore, body: Any, via: str) -> Response:
    inputs = batch_inputs(body, unique=False)
    batch = _Batch(store, inputs, partial=True)
    planned = [
        (item, changes)
        for position, item in enumerate(inputs)
        if (changes := batch.check(position, item, properties_of(item), None)) is not None
    ]
    for item, changes in planned:
        contact = store.create(changes, api_source(via))
        batch.result(
            written(
                contact, changes, store.properties, created=True, epoch_dates=store.epoch_dates
            ),
            item,
        )
    return batch.answer(201)


def batch_update(store: ContactStore, body: Any, via: str) -> Response:
    inputs = batch_inputs(body, unique=True)
    batch = _Batch(store, inputs, partial=True)
    planned: list[tuple[dict[str, Any], Contact, dict[str, str]]] = []
    for position, item in enumerate(inputs):
        key, id_property = str(item.get("id", "")), item.get("idProperty")
        contact = store.find(key, id_property)
        if contact is None:
            batch.missing(item)
            continue
        changes = batch.check(position, item, properties_of(item), contact)
        if changes is not None:
            planned.append((item, contact, changes))
    for item, contact, changes in planned:
        store.write(contact, changes, api_source(via))
        if item.get("idProperty") or str(item.get("id", "")) == str(contact.state.id):
            batch.result(
                written(contact, changes, store.properties, epoch_dates=store.epoch_dates), item
            )
    return batch.answer()


def batch_upsert(store: ContactStore, body: Any, via: str) -> Response:
    inputs = batch_inputs(body, unique=True)
    batch = _Batch(store, inputs, partial=False)
    planned: list[tuple[dict[str, Any], Contact | None, dict[str, str]]] = []
    for position, item in enumerate(inputs):
        if item.get("idProperty") != "email":
            raise api_error(400, "VALIDATION_ERROR", "batch/upsert needs idProperty email")
        key = str(item.get("id", ""))
        contact = store.find(key, "email")
        raw = {**({"email": key} if contact is None else {}), **properties_of(item)}
        changes = batch.check(position, item, raw, contact)
        if changes is not None:
            planned.append((item, contact, changes))
    for item, contact, changes in planned:
        if contact is None:
            target = store.create(changes, api_source(via))
        else:
            store.write(contact, changes, api_source(via))
            target = contact
        answer = written(
            target,
            changes,
            store.properties,
            created=contact is None,
            epoch_dates=store.epoch_dates,
        )
        batch.result({**answer, "new": contact is None}, item)
    return batch.answer()


def batch_archive(store: ContactStore, body: Any) -> Response:
    for item in batch_inputs(body, unique=False):
        contact = store.find(str(item.get("id", "")), None)
        if contact is not None:
            store.archive(contact)
    return Response.empty(204)
