"""HubSpot's Lists v3 API (lists, now called segments), as far as a sync reads and stages them.

Sources (checked 2026-12): the v3 lists guide (developers.hubspot.com/docs/guides/api/crm/lists/
overview) and the official SDK ``hubspot-api-client`` (``hubspot/crm/lists/api/*.py`` and its
models, which are the response shapes below, required fields included):

- ``processingType`` is ``MANUAL`` (members added and removed by people or the API only),
  ``DYNAMIC`` (HubSpot keeps the members matching the list's filters; "active" lists) or
  ``SNAPSHOT`` (filters evaluated once at creation, then manual). Membership writes
  (``/memberships/add``, ``/remove``, ``/add-and-remove``) "only work for lists that have a
  processingType of MANUAL or SNAPSHOT" (SDK docstrings); a DYNAMIC list refuses them here with a
  400 ``VALIDATION_ERROR`` (the exact message is unconfirmed).
- ``GET /crm/v3/lists/{listId}/memberships`` pages the members sorted by record id, ``limit`` at
  most 250 (SDK: "The maximum `limit` is 250"), ``after`` an opaque token; each result is
  ``{recordId, membershipTimestamp}`` (``JoinTimeAndRecordId``; hubspot-api-nodejs #544).
- There is no "changed since" filter on memberships (airbytehq/airbyte #37672: "There does not
  seem to have API filtering ... for incremental syncs"); ``/memberships/join-order`` sorts by join
  time (estuary/connectors #3627), which finds joins but never leaves.
- ``POST /crm/v3/lists/search`` ``{query, offset, count, processingTypes, listIds}`` answers
  ``{lists, total, offset, hasMore}``; an empty query pages through all lists.
- ``GET /crm/v3/lists/{listId}`` and ``GET /crm/v3/lists/object-type-id/0-1/name/{listName}``
  answer ``{"list": PublicObjectList}``; ``listId`` is the "ILS" id, not the legacy v1 list id
  (``/crm/v3/lists/idmapping`` translates those, not simulated).
- ``GET /crm/v3/lists/records/0-1/{recordId}/memberships`` lists the lists a record is in.

Choices where HubSpot is silent: an unknown list is a 404 ``OBJECT_NOT_FOUND``; archived (or
merged-away) contacts are members of no list; a DYNAMIC list's filter is the one
property-equality shape (``PROPERTY`` / ``IS_EQUAL_TO``) the simulator evaluates, re-evaluated
whenever a contact changed.

Admin: ``POST /_sim/lists`` ``{"name", "processingType", "members": [ids], "filter": {"property",
"value"}}`` creates a list as a person would (no rate limit) and answers ``{"listId"}``;
``POST /_sim/lists/members`` ``{"listId", "add": [...], "remove": [...]}`` changes a MANUAL list
the way a person in HubSpot's UI does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from syncer.sandbox.hubspot.errors import api_error
from syncer.sandbox.hubspot.props import ms_iso
from syncer.sandbox.hubspot.wire import integer, json_object, reply
from syncer.sandbox.server import Handler, Request, Response

if TYPE_CHECKING:
    from syncer.sandbox.hubspot.store import ContactStore

LISTS = "/crm/v3/lists"
CONTACT_TYPE = "0-1"
PROCESSING_TYPES = ("MANUAL", "DYNAMIC", "SNAPSHOT")
MAX_MEMBERSHIP_PAGE = 250
MAX_SEARCH_COUNT = 500
FIRST_LIST_ID = 1


@dataclass
class HubList:
    id: int
    name: str
    processing_type: str
    created: int
    updated: int
    filter: tuple[str, str] | None = None
    #: record id -> when it joined (ms); for DYNAMIC lists as of ``evaluated``.
    members: dict[int, int] = field(default_factory=dict)
    evaluated: int = -1
    version: int = 1


class ListStore:
    """The lists of one simulated portal; callers hold the simulator's lock."""

    def __init__(self) -> None:
        self.lists: dict[int, HubList] = {}
        self.next_id = FIRST_LIST_ID

    def create(self, spec: dict[str, Any], contacts: ContactStore) -> HubList:
        name = str(spec.get("name") or "").strip()
        kind = spec.get("processingType")
        if not name:
            raise api_error(400, "VALIDATION_ERROR", "name is required")
        if kind not in PROCESSING_TYPES:
            raise api_error(
                400,
                "VALIDATION_ERROR",
                f"processingType must be one of {', '.join(PROCESSING_TYPES)}",
            )
        if any(existing.name.lower() == name.lower() for existing in self.lists.values()):
            raise api_error(400, "VALIDATION_ERROR", f"A list named {name!r} already exists")
        now = contacts.now_ms()
        found = HubList(self.next_id, name, str(kind), now, now, _filter_of(spec, kind))
        self.next_id += 1
        self.lists[found.id] = found
        if kind != "DYNAMIC":
            found.members = {int(cid): now for cid in spec.get("members") or []}
            if kind == "SNAPSHOT" and found.filter:
                found.members = dict(self._matching(found, contacts, now))
        return found

    def get(self, key: str, contacts: ContactStore) -> HubList:
        found = self.lists.get(int(key)) if key.isdigit() else None
        if found is None:
            raise api_error(404, "OBJECT_NOT_FOUND", f"List does not exist with ID {key}.")
        self.refresh(found, contacts)
        return found

    def by_name(self, name: str, contacts: ContactStore) -> HubList:
        for found in self.lists.values():
            if found.name.lower() == name.lower():
                self.refresh(found, contacts)
                return found
        raise api_error(404, "OBJECT_NOT_FOUND", f"List does not exist with name {name}.")

    def refresh(self, found: HubList, contacts: ContactStore) -> None:
        """HubSpot's background processing: a DYNAMIC list follows its filter; nobody archived
        stays a member of any list."""
        if found.evaluated == contacts.version:
            return
        now = contacts.now_ms()
        if found.processing_type == "DYNAMIC":
            matching = dict(self._matching(found, contacts, now))
            joined = {cid: found.members.get(cid, at) for cid, at in matching.items()}
            if joined.keys() != found.members.keys():
                found.updated, found.version = now, found.version + 1
            found.members = joined
        else:
            gone = [cid for cid in found.members if _live(contacts, cid) is None]
            for cid in gone:
                del found.members[cid]
        found.evaluated = contacts.version

    def change(
        self, found: HubList, add: Iterable[Any], remove: Iterable[Any], contacts: ContactStore
    ) -> dict[str, list[str]]:
        if found.processing_type == "DYNAMIC":
            raise api_error(
                400,
                "VALIDATION_ERROR",
                f"List {found.id} has processingType DYNAMIC; its memberships cannot be changed "
                "manually.",
            )
        now = contacts.now_ms()
        added, removed, missing = [], [], []
        for raw in add:
            cid = int(raw) if str(raw).isdigit() else -1
            if _live(contacts, cid) is None:
                missing.append(str(raw))
            elif cid not in found.members:
                found.members[cid] = now
                added.append(str(cid))
        for raw in remove:
            cid = int(raw) if str(raw).isdigit() else -1
            if found.members.pop(cid, None) is not None:
                removed.append(str(cid))
            elif _live(contacts, cid) is None:
                missing.append(str(raw))
        if added or removed:
            found.updated, found.version = now, found.version + 1
        return {"recordIdsMissing": missing, "recordIdsRemoved": removed, "recordsIdsAdded": added}

    def _matching(
        self, found: HubList, contacts: ContactStore, now: int
    ) -> Iterable[tuple[int, int]]:
        if found.filter is None:
            return
        name, value = found.filter
        for cid, contact in contacts.contacts.items():
            state = contact.state
            live = state.archived_at is None and cid not in contacts.redirects
            if live and state.values.get(name, "").lower() == value.lower():
                yield cid, now


def _live(contacts: ContactStore, cid: int) -> object | None:
    contact = contacts.contacts.get(cid)
    if contact is None or contact.state.archived_at is not None or cid in contacts.redirects:
        return None
    return contact


def _filter_of(spec: dict[str, Any], kind: Any) -> tuple[str, str] | None:
    """The one filter shape simulated: ``{property, value}`` (admin) or the v3 filter branch
    ``OR`` > ``AND`` > one ``PROPERTY`` filter with operator ``IS_EQUAL_TO``."""
    if isinstance(spec.get("filter"), dict):
        return str(spec["filter"]["property"]), str(spec["filter"]["value"])
    branch = spec.get("filterBranch")
    if branch is None:
        if kind == "DYNAMIC":
            raise api_error(400, "VALIDATION_ERROR", "A DYNAMIC list needs a filterBranch")
        return None
    try:
        (inner,) = branch["filterBranches"]
        (only,) = inner["filters"]
        operation = only["operation"]
        if only["filterType"] != "PROPERTY" or operation["operator"] != "IS_EQUAL_TO":
            raise ValueError
        return str(only["property"]), str(
            operation.get("value", (operation.get("values") or [""])[0])
        )
    except (KeyError, TypeError, ValueError):
        raise api_error(
            400, "VALIDATION_ERROR", "the simulator evaluates one PROPERTY IS_EQUAL_TO filter only"
        ) from None


def list_json(found: HubList, *, search: bool = False) -> dict[str, Any]:
    """``PublicObjectList`` (or ``PublicObjectListSearchResult`` with ``search``)."""
    body: dict[str, Any] = {
        "listId": str(found.id),
        "listVersion": found.version,
        "name": found.name,
        "objectTypeId": CONTACT_TYPE,
        "processingType": found.processing_type,
        "processingStatus": "COMPLETE",
        "createdAt": ms_iso(found.created),
        "updatedAt": ms_iso(found.updated),
        "filtersUpdatedAt": ms_iso(found.created),
    }
    if search:
        body["additionalProperties"] = {"hs_list_size": str(len(found.members))}
    else:
        body["size"] = len(found.members)
    return body


class ListsApi:
    """The Lists v3 handlers; ``portal`` gives the simulator's current stores and its lock."""

    def __init__(self, portal: Any) -> None:
        self.portal = portal

    @property
    def store(self) -> ListStore:
        lists: ListStore = self.portal.lists
        return lists

    @property
    def contacts(self) -> ContactStore:
        contacts: ContactStore = self.portal.store
        return contacts

    def register(self, add: Callable[[str, str, Handler], None]) -> None:
        # Fixed paths before "/{listId}", as the router takes the first match.
        add("POST", f"{LISTS}/search", self.search)
        add("GET", f"{LISTS}/object-type-id/{{objectTypeId}}/name/{{listName}}", self.get_by_name)
        add("GET", f"{LISTS}/records/{{objectTypeId}}/{{recordId}}/memberships", self.record_lists)
        add("POST", f"{LISTS}/", self.create)
        add("POST", LISTS, self.create)
        add("GET", f"{LISTS}/{{listId}}", self.get)
        add("GET", f"{LISTS}/{{listId}}/memberships", self.memberships)
        add("PUT", f"{LISTS}/{{listId}}/memberships/add", self.add_members)
        add("PUT", f"{LISTS}/{{listId}}/memberships/remove", self.remove_members)
        add("PUT", f"{LISTS}/{{listId}}/memberships/add-and-remove", self.add_and_remove)

    def admin(self) -> dict[tuple[str, str], Handler]:
        return {
            ("POST", "/_sim/lists"): self.admin_create,
            ("POST", "/_sim/lists/members"): self.admin_members,
        }

    def search(self, request: Request) -> Response:
        body = json_object(request)
        query = str(body.get("query") or "").lower()
        offset = int(body.get("offset") or 0)
        count = int(body.get("count") or 20)
        if not 1 <= count <= MAX_SEARCH_COUNT:
            raise api_error(
                400, "VALIDATION_ERROR", f"count must be between 1 and {MAX_SEARCH_COUNT}"
            )
        kinds = set(body.get("processingTypes") or PROCESSING_TYPES)
        ids = {str(i) for i in body.get("listIds") or []}
        with self.portal.lock:
            found = [
                candidate
                for candidate in self.store.lists.values()
                if query in candidate.name.lower()
                and candidate.processing_type in kinds
                and (not ids or str(candidate.id) in ids)
            ]
            for candidate in found:
                self.store.refresh(candidate, self.contacts)
            page = found[offset : offset + count]
            answer = {
                "lists": [list_json(candidate, search=True) for candidate in page],
                "total": len(found),
                "offset": offset + len(page),
                "hasMore": offset + len(page) < len(found),
            }
        return reply(answer)

    def get(self, request: Request) -> Response:
        with self.portal.lock:
            return reply(
                {"list": list_json(self.store.get(request.params["listId"], self.contacts))}
            )

    def get_by_name(self, request: Request) -> Response:
        if request.params["objectTypeId"] != CONTACT_TYPE:
            raise api_error(400, "VALIDATION_ERROR", "only contact lists (0-1) are simulated")
        with self.portal.lock:
            found = self.store.by_name(request.params["listName"], self.contacts)
            return reply({"list": list_json(found)})

    def memberships(self, request: Request) -> Response:
        limit = integer(request.arg("limit", "100"), "limit")
        if not 1 <= limit <= MAX_MEMBERSHIP_PAGE:
            raise api_error(
                400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_MEMBERSHIP_PAGE}"
            )
        after = integer(request.arg("after") or "0", "after")
        with self.portal.lock:
            found = self.store.get(request.params["listId"], self.contacts)
            ids = sorted(cid for cid in found.members if cid > after)
            page = ids[: limit + 1]
            results = [
                {"recordId": str(cid), "membershipTimestamp": ms_iso(found.members[cid])}
                for cid in page[:limit]
            ]
            answer: dict[str, Any] = {"results": results, "total": len(found.members)}
        if len(page) > limit:
            token = str(page[limit - 1])
            answer["paging"] = {"next": {"after": token}}
        return reply(answer)

    def record_lists(self, request: Request) -> Response:
        if request.params["objectTypeId"] != CONTACT_TYPE:
            raise api_error(400, "VALIDATION_ERROR", "only contact lists (0-1) are simulated")
        key = request.params["recordId"]
        cid = int(key) if key.isdigit() else -1
        with self.portal.lock:
            results = []
            for found in self.store.lists.values():
                self.store.refresh(found, self.contacts)
                if cid in found.members:
                    at = ms_iso(found.members[cid])
                    results.append(
                        {
                            "listId": str(found.id),
                            "listVersion": found.version,
                            "firstAddedTimestamp": at,
                            "lastAddedTimestamp": at,
                        }
                    )
        return reply({"results": results, "total": len(results)})

    def create(self, request: Request) -> Response:
        body = json_object(request)
        if body.get("objectTypeId") != CONTACT_TYPE:
            raise api_error(400, "VALIDATION_ERROR", "only contact lists (0-1) are simulated")
        body.pop("filter", None)
        with self.portal.lock:
            return reply({"list": list_json(self.store.create(body, self.contacts))})

    def add_members(self, request: Request) -> Response:
        return self._change(request, _ids(request.json()), [])

    def remove_members(self, request: Request) -> Response:
        return self._change(request, [], _ids(request.json()))

    def add_and_remove(self, request: Request) -> Response:
        body = json_object(request)
        return self._change(
            request, _ids(body.get("recordIdsToAdd")), _ids(body.get("recordIdsToRemove"))
        )

    def _change(self, request: Request, add: list[Any], remove: list[Any]) -> Response:
        with self.portal.lock:
            found = self.store.get(request.params["listId"], self.contacts)
            return reply(self.store.change(found, add, remove, self.contacts))

    def admin_create(self, request: Request) -> Response:
        with self.portal.lock:
            found = self.store.create(json_object(request), self.contacts)
            return Response.json({"listId": str(found.id)})

    def admin_members(self, request: Request) -> Response:
        body = json_object(request)
        with self.portal.lock:
            found = self.store.get(str(body.get("listId")), self.contacts)
            answer = self.store.change(
                found, body.get("add") or [], body.get("remove") or [], self.contacts
            )
        return Response.json(answer)


def _ids(raw: Any) -> list[Any]:
    if not isinstance(raw, list):
        raise api_error(400, "VALIDATION_ERROR", "Invalid input JSON: expected an array of ids")
    return raw
