"""A simulator of HubSpot's CRM v3 contacts API, faithful enough for the official SDK.

It is served at the root of a loopback server with HubSpot's own paths, so a client only changes
its base URL. The spec it follows is the project's ``reference/hubspot-crm-api.md``; the parts live
beside this module: ``store`` (contacts, history, identity, index lag), ``merges`` (merges and
GDPR deletes), ``props`` (definitions and value rules), ``properties_api`` (the properties
endpoints), ``property_groups``, ``search``, ``lists`` (Lists v3), ``notes`` and ``notes_api``,
``batch``, ``limits``, ``errors`` and ``wire``. Each documents the choices it makes where
HubSpot's behaviour is unconfirmed; here: a missing contact is a 404 ``OBJECT_NOT_FOUND``
"resource not found".

Settings (``POST /_sim/config``): ``latency_ms``, ``slow_s``, ``ten_second_limit`` (100),
``search_per_second`` (5), ``search_cap`` (10,000), ``search_total_cap`` (10,000),
``index_lag_ms`` (2,000), ``straggler_rate`` (0), ``straggler_lag_ms`` (600,000),
``straggler_seed`` (0) and ``unstable_ties`` (false) (search lag, see ``store`` and ``search``),
``daily_limit`` (250,000), ``merged_ids_archived`` (true, see ``merges``), ``dates`` (``iso``;
``epoch_ms`` answers date and datetime values as epoch ms, as HubSpot has been seen to, §12.5).

Admin endpoints besides the shared ones (reset, seed, clock, faults, config, requests):

- ``POST /_sim/touch`` ``{"ids": [...]}`` or ``{"count": N}``: bump ``lastmodifieddate`` of those
  contacts (or the first N by id) to one identical timestamp, as HubSpot's background jobs do;
  answers ``{"touched": n, "lastmodifieddate": iso}``.
- ``POST /_sim/edit`` ``{"id", "properties", "sourceType": "CRM_UI", "sourceId"?}``: a person
  editing in HubSpot's UI (no rate limit; may set read-only values such as ``hs_email_optout``).
- ``GET /_sim/notes``: ``{"notes": [{"id", "properties", "contacts", "archived", ...}]}``.
- ``GET /_sim/writes``: ``{"writes": [{"id", "property", "value", "at", "via"}]}``, every value
  written through the API (``via`` is the request-log key), for soak tests.
"""

from __future__ import annotations

import gc
import uuid
from http import HTTPStatus
from typing import Any, ClassVar

from syncer.sandbox.clock import SimClock
from syncer.sandbox.hubspot.batch import (
    batch_archive,
    batch_create,
    batch_read,
    batch_update,
    batch_upsert,
)
from syncer.sandbox.hubspot.errors import (
    CORRELATION_HEADER,
    api_error,
    email_taken,
    error_body,
    invalid_values,
    rate_limit_body,
)
from syncer.sandbox.hubspot.limits import RateLimits
from syncer.sandbox.hubspot.lists import ListsApi, ListStore
from syncer.sandbox.hubspot.merges import gdpr_delete, merge_request
from syncer.sandbox.hubspot.notes import NoteStore
from syncer.sandbox.hubspot.notes_api import NotesApi
from syncer.sandbox.hubspot.properties_api import PropertiesApi
from syncer.sandbox.hubspot.property_groups import GroupsApi, GroupStore
from syncer.sandbox.hubspot.props import ms_iso, seeded_definition
from syncer.sandbox.hubspot.search import SearchIndex, parse
from syncer.sandbox.hubspot.store import (
    UI_USER,
    Contact,
    ContactStore,
    Source,
    api_source,
)
from syncer.sandbox.hubspot.wire import (
    flag,
    integer,
    json_object,
    names_param,
    properties_of,
    render,
    reply,
    written,
)
from syncer.sandbox.server import Handler, Request, Response, SimError, Simulator

CONTACTS = "/crm/v3/objects/contacts"
CONTACT = f"{CONTACTS}/{{contactId}}"
SEARCH = f"{CONTACTS}/search"
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
MAX_LIST = 100
MAX_LIST_WITH_HISTORY = 50


class HubSpotSimulator(Simulator):
    name: ClassVar[str] = "hubspot"
    default_config: ClassVar[dict[str, Any]] = {
        **Simulator.default_config,
        "ten_second_limit": 100,
        "search_per_second": 5,
        "search_cap": 10_000,
        "search_total_cap": 10_000,
        "index_lag_ms": 2_000,
        "straggler_rate": 0.0,
        "straggler_lag_ms": 600_000,
        "straggler_seed": 0,
        "unstable_ties": False,
        "daily_limit": 250_000,
        "merged_ids_archived": True,
        "dates": "iso",
    }
    store: ContactStore
    lists: ListStore
    notes: NoteStore
    groups: GroupStore
    limits: RateLimits
    searches: SearchIndex

    def __init__(self, clock: SimClock | None = None, *, token: str) -> None:
        self.token = token
        super().__init__(clock)

    # -- hooks -----------------------------------------------------------------------------------

    def register_routes(self) -> None:
        # Fixed paths first: "/search", "/merge", "/gdpr-delete" and "/batch/..." must win over
        # "/{contactId}".
        for method, template, handler in [
            ("POST", SEARCH, self._search),
            ("POST", f"{CONTACTS}/merge", self._merge),
            ("POST", f"{CONTACTS}/gdpr-delete", self._gdpr_delete),
            ("POST", f"{CONTACTS}/batch/read", self._batch_read),
            ("POST", f"{CONTACTS}/batch/create", self._batch_create),
            ("POST", f"{CONTACTS}/batch/update", self._batch_update),
            ("POST", f"{CONTACTS}/batch/upsert", self._batch_upsert),
            ("POST", f"{CONTACTS}/batch/archive", self._batch_archive),
            ("GET", CONTACTS, self._list),
            ("POST", CONTACTS, self._create),
            ("GET", CONTACT, self._get),
            ("PATCH", CONTACT, self._update),
            ("DELETE", CONTACT, self._archive),
        ]:
            self.add_route(method, template, handler)
        self.groups_api = GroupsApi(self)  # before the properties: "groups" is no property name
        self.groups_api.register(self.add_route)
        self.properties_api = PropertiesApi(self)
        self.properties_api.register(self.add_route)
        self.notes_api = NotesApi(self)
        self.notes_api.register(self.add_route)
        self.lists_api = ListsApi(self)
        self.lists_api.register(self.add_route)

    def reset(self) -> None:
        """A fresh portal: default properties only, no contacts, empty rate-limit windows."""
        self.store = ContactStore(self.clock, self.config)
        self.limits = RateLimits(self.clock)
        self.searches = SearchIndex()
        self.lists = ListStore()
        self.notes = NoteStore(self.store)
        self.groups = GroupStore()

    def seed(self, payload: Any) -> Any:
        """``{"properties": [...], "contacts": [...]}`` -> ``{"ids": [...]}``, in order.

        Contacts are loaded as they already stand: no rate limit, no index lag, no entry in
        ``/_sim/writes``, and duplicate emails allowed (real portals have them, from imports). A
        property whose name exists keeps its definition.
        """
        if not isinstance(payload, dict):
            raise api_error(400, "VALIDATION_ERROR", "the seed is an object")
        now = self.store.now_ms()
        for spec in payload.get("properties") or []:
            self.store.add_property(seeded_definition(spec, now))
        ids: list[str] = []
        # Seeding 100,000 contacts allocates millions of small objects, none of them in a cycle;
        # the cyclic collector would rescan the growing heap again and again, doubling the time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for position, spec in enumerate(payload.get("contacts") or []):
                try:
                    ids.append(str(self.store.seed(spec)))
                except SimError as error:
                    detail = f"contacts[{position}]: {error.detail}"
                    raise SimError(error.status, error.title, detail, **error.extra) from None
                except (ValueError, TypeError) as error:
                    raise api_error(
                        400, "VALIDATION_ERROR", f"contacts[{position}]: {error}"
                    ) from None
        finally:
            if collecting:
                gc.enable()
        return {"ids": ids}

    def authenticate(self, request: Request) -> Response | None:
        if self._authorised(request):
            return None
        return self.error_response(api_error(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE))

    def admit(self, request: Request) -> Response | None:
        """Rate limits apply to authenticated calls only; a refusal takes nothing."""
        if not self._authorised(request):
            return None
        policy = self.limits.admit(search=request.template == SEARCH, settings=self.config)
        return None if policy is None else self._rate_limited(policy)

    def handle(self, request: Request) -> tuple[Response, str | None]:
        """Every answer carries a correlation id; non-search API answers the rate-limit headers."""
        response, fault = super().handle(request)
        if request.template and request.template != SEARCH and self._authorised(request):
            response.headers.update(self.limits.headers(self.config))
        response.headers.setdefault(CORRELATION_HEADER, str(uuid.uuid4()))
        return response, fault

    def error_response(self, error: SimError) -> Response:
        correlation_id = str(uuid.uuid4())
        response = reply(error_body(error, correlation_id), error.status)
        response.headers[CORRELATION_HEADER] = correlation_id
        return response

    def fault_response(self, kind: str) -> Response:
        status = int(kind)
        if status == 429:
            return self._rate_limited("TEN_SECONDLY_ROLLING")
        if status == 423:
            message = "The object is locked by a concurrent write; retry after 2 seconds."
            return self.error_response(api_error(423, "LOCKED", message))
        if status == 403:
            message = "This app hasn't been granted all required scopes to make this call."
            return self.error_response(api_error(403, "MISSING_SCOPES", message))
        return self.error_response(api_error(status, "INTERNAL_ERROR", HTTPStatus(status).phrase))

    def extra_admin(self) -> dict[tuple[str, str], Handler]:
        return {
            ("POST", "/_sim/touch"): self._admin_touch,
            ("POST", "/_sim/edit"): self._admin_edit,
            ("GET", "/_sim/writes"): self._admin_writes,
            **self.lists_api.admin(),
            **self.notes_api.admin(),
        }

    # -- contacts --------------------------------------------------------------------------------

    def _list(self, request: Request) -> Response:
        history = names_param(request.query.get("propertiesWithHistory")) or []
        most = MAX_LIST_WITH_HISTORY if history else MAX_LIST
        limit = integer(request.arg("limit", "10"), "limit")
        if not 1 <= limit <= most:
            raise api_error(400, "VALIDATION_ERROR", f"limit must be between 1 and {most}")
        after = integer(request.arg("after") or "0", "after")
        names = names_param(request.query.get("properties"))
        with self.lock:
            found, next_id = self.store.page(after, limit, archived=flag(request, "archived"))
            body: dict[str, Any] = {"results": [self._show(c, names, history) for c in found]}
        if next_id is not None:
            body["paging"] = {"next": {"after": str(next_id)}}
            if request.header("host"):
                body["paging"]["next"]["link"] = (
                    f"http://{request.header('host')}{CONTACTS}?after={next_id}"
                )
        return reply(body)

    def _get(self, request: Request) -> Response:
        history = names_param(request.query.get("propertiesWithHistory")) or []
        names = names_param(request.query.get("properties"))
        with self.lock:
            contact = self._find(request, archived=flag(request, "archived"))
            return reply(self._show(contact, names, history))

    def _create(self, request: Request) -> Response:
        raw = properties_of(json_object(request))
        with self.lock:
            return reply(self._save(None, raw, api_source(_via(request))), 201)

    def _update(self, request: Request) -> Response:
        raw = properties_of(json_object(request))
        with self.lock:
            return reply(self._save(self._find(request), raw, api_source(_via(request))))

    def _archive(self, request: Request) -> Response:
        with self.lock:
            contact = self.store.find(request.params["contactId"], request.arg("idProperty"))
            if contact is not None:
                self.store.archive(contact)
        return Response.empty(204)

    def _merge(self, request: Request) -> Response:
        body = json_object(request)
        with self.lock:
            keep_old = bool(self.config["merged_ids_archived"])
            return reply(merge_request(self.store, body, keep_old=keep_old))

    def _gdpr_delete(self, request: Request) -> Response:
        body = json_object(request)
        with self.lock:
            gdpr_delete(self.store, body)
        return Response.empty(204)

    def _search(self, request: Request) -> Response:
        with self.lock:
            search = parse(request.json(), self.store.properties, int(self.config["search_cap"]))
            config = self.config
            lagging = int(config["index_lag_ms"]) > 0 or float(config["straggler_rate"]) > 0
            answer = self.searches.run(
                self.store,
                search,
                lagging=lagging,
                total_cap=int(config["search_total_cap"]),
                unstable_ties=bool(config["unstable_ties"]),
            )
            return reply(answer)

    def _batch_read(self, request: Request) -> Response:
        with self.lock:
            return batch_read(self.store, request.json(), archived=flag(request, "archived"))

    def _batch_create(self, request: Request) -> Response:
        with self.lock:
            return batch_create(self.store, request.json(), _via(request))

    def _batch_update(self, request: Request) -> Response:
        with self.lock:
            return batch_update(self.store, request.json(), _via(request))

    def _batch_upsert(self, request: Request) -> Response:
        with self.lock:
            return batch_upsert(self.store, request.json(), _via(request))

    def _batch_archive(self, request: Request) -> Response:
        with self.lock:
            return batch_archive(self.store, request.json())

    # -- admin -----------------------------------------------------------------------------------

    def _admin_touch(self, request: Request) -> Response:
        payload = request.json() or {}
        with self.lock:
            touched, at = self.store.touch(payload.get("ids"), int(payload.get("count", 0)))
        return Response.json({"touched": touched, "lastmodifieddate": ms_iso(at)})

    def _admin_edit(self, request: Request) -> Response:
        payload = json_object(request)
        source = Source(
            str(payload.get("sourceType") or "CRM_UI"), str(payload.get("sourceId") or UI_USER)
        )
        with self.lock:
            contact = self.store.find(str(payload.get("id")), None)
            if contact is None:
                raise api_error(404, "OBJECT_NOT_FOUND", "resource not found")
            return Response.json(self._save(contact, properties_of(payload), source, trusted=True))

    def subjects(self, request: Request, response: Response) -> list[str]:
        """The contacts a batch read or update names, for the timeline (``server``)."""
        if request.method != "POST" or not request.template.endswith(("/read", "/update")):
            return []
        try:
            inputs = (request.json() or {}).get("inputs") or []
        except (ValueError, AttributeError):
            return []
        return [str(item["id"]) for item in inputs if isinstance(item, dict) and "id" in item]

    def _admin_writes(self, request: Request) -> Response:
        with self.lock:
            return Response.json({"writes": list(self.store.writes)})

    # -- helpers ---------------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        return request.header("authorization") == f"Bearer {self.token}"

    def _rate_limited(self, policy: str) -> Response:
        body = rate_limit_body(policy)
        response = reply(body, 429)
        response.headers[CORRELATION_HEADER] = body["correlationId"]
        return response

    def _find(self, request: Request, *, archived: bool = False) -> Contact:
        key = request.params["contactId"]
        contact = self.store.find(key, request.arg("idProperty"), archived=archived)
        if contact is None:
            raise api_error(404, "OBJECT_NOT_FOUND", "resource not found")
        return contact

    def _show(self, contact: Contact, names: list[str] | None, history: list[str]) -> Any:
        return render(
            contact.state,
            names,
            self.store.properties,
            history=contact if history else None,
            history_names=history,
            epoch_dates=self.store.epoch_dates,
        )

    def _save(
        self, target: Contact | None, raw: Any, source: Source, *, trusted: bool = False
    ) -> dict[str, Any]:
        """Validate and apply one create (``target`` is ``None``) or update, as HubSpot does."""
        changes, problems = self.store.check(raw, target.state if target else None, trusted=trusted)
        if problems:
            raise invalid_values(problems).as_error()
        found = self.store.conflict(changes, target)
        if found is not None:
            raise email_taken(*found, target.state.id if target else None).as_error()
        if target is None:
            contact = self.store.create(changes, source)
            return written(
                contact,
                changes,
                self.store.properties,
                created=True,
                epoch_dates=self.store.epoch_dates,
            )
        self.store.write(target, changes, source)
        return written(target, changes, self.store.properties, epoch_dates=self.store.epoch_dates)


def _via(request: Request) -> str:
    """The request-log key, e.g. ``PATCH /crm/v3/objects/contacts/{contactId}``."""
    return f"{request.method} {request.template}"
