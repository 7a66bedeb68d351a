"""A local Mailchimp Marketing API v3 that the official SDK and syncer's client use unchanged.

It follows ``reference/mailchimp-marketing-api.md``: HTTP basic auth with the API key as password,
problem+json errors whose ``instance`` is the ``X-Request-Id``, at most ``max_connections``
simultaneous requests per key, one audience with Mailchimp's consent rules, and batches that run
in the background and publish a pre-signed result archive at ``/_batch-results/<id>.tar.gz``.
The store lives in :mod:`.members`, the routes in :mod:`.api`, batches in :mod:`.batches`, tags
as segments in :mod:`.tags`, groups and GDPR marketing permissions in :mod:`.preferences`, sent
campaigns in :mod:`.campaigns` with their reports in :mod:`.reports`, the test-only ``/_sim/``
additions in :mod:`.admin` and :mod:`.campaign_admin`, and the log of every status a client
asked for (``GET /_sim/status-requests``) in :mod:`.requested`.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from syncer.sandbox.clock import SimClock
from syncer.sandbox.mailchimp.admin import AdminApi, seed
from syncer.sandbox.mailchimp.api import AudienceApi, OperationRequest, body_of
from syncer.sandbox.mailchimp.batches import ARCHIVE_PREFIX, BatchQueue, Operation, parse_operations
from syncer.sandbox.mailchimp.campaign_admin import CampaignAdmin
from syncer.sandbox.mailchimp.campaigns import CampaignStore
from syncer.sandbox.mailchimp.members import Audience, member_hash
from syncer.sandbox.mailchimp.preferences_api import PreferencesApi
from syncer.sandbox.mailchimp.reports import ReportsApi
from syncer.sandbox.mailchimp.requested import BATCHES, MEMBER, MEMBERS, StatusRequests
from syncer.sandbox.mailchimp.tags import SegmentsApi
from syncer.sandbox.mailchimp.views import paging, project
from syncer.sandbox.server import Handler, Request, Response, SimError, Simulator

PROBLEM_TYPE = "application/problem+json; charset=utf-8"
ERRORS_URL = "https://mailchimp.com/developer/marketing/docs/errors/"
SCHEMA_URL = "https://us1.api.mailchimp.com/schema/3.0/ProblemDetailDocument.json"
ARCHIVE_FAULTS = frozenset({"truncated_archive", "drop", "slow", "500", "503"})
_FAULT_DETAILS = {
    500: "An unexpected internal error has occurred. Please contact Support for more information.",
    503: "This method has been disabled.",
}


class MailchimpSimulator(Simulator):
    """Mailchimp for one API key and one audience (``list_id``)."""

    name: ClassVar[str] = "mailchimp"
    default_config: ClassVar[dict[str, Any]] = {
        **Simulator.default_config,
        "batch_delay_s": 0.1,
        "max_connections": 10,
        "fake_domains": ["example.com", "example.org", "example.net", "test.com", "mailinator.com"],
        "max_pending_batches": 500,
        "archive_ttl_s": 600,
        "archive_split": 500,
        "archive_empty_file": True,
        "batch_paused": False,
        "api_unsubscribe_locks": True,
    }

    def __init__(self, clock: SimClock | None = None, *, api_key: str, list_id: str) -> None:
        clock = clock or SimClock()
        self.api_key = api_key
        self.list_id = list_id
        self._in_flight: Counter[str] = Counter()
        self._in_flight_lock = threading.Lock()
        lock = threading.RLock()
        self.audience = Audience(list_id, clock, self._settings)
        datacenter = api_key.rsplit("-", 1)[1] if "-" in api_key else "us1"
        self.audience_api = AudienceApi(
            self.audience, lock, f"https://{datacenter}.api.mailchimp.com/3.0"
        )
        self.admin_api = AdminApi(self.audience, lock)
        self.campaigns = CampaignStore(self.audience)
        self.reports_api = ReportsApi(
            self.campaigns, lock, f"https://{datacenter}.api.mailchimp.com/3.0"
        )
        self.campaign_admin = CampaignAdmin(self.campaigns, lock)
        self.segments_api = SegmentsApi(
            self.audience, lock, f"https://{datacenter}.api.mailchimp.com/3.0"
        )
        self.preferences_api = PreferencesApi(self.audience, lock)
        self.batches = BatchQueue(lock, clock, self._settings, self._execute)
        self.status_requests = StatusRequests()
        super().__init__(clock)
        self.lock = lock  # the one lock the store, the batch worker and the shared plumbing share

    def _settings(self) -> Mapping[str, Any]:
        return self.config

    # -- hooks -----------------------------------------------------------------------------------

    def register_routes(self) -> None:
        self.audience_api.register(self.add_route)
        self.segments_api.register(self.add_route)
        self.preferences_api.register(self.add_route)
        self.reports_api.register(self.add_route)
        self.add_route("GET", "/3.0/ping", self._ping)
        self.add_route("POST", "/3.0/batches", self._start_batch)
        self.add_route("GET", "/3.0/batches", self._list_batches)
        self.add_route("GET", "/3.0/batches/{batch_id}", self._get_batch)
        self.add_route("DELETE", "/3.0/batches/{batch_id}", self._delete_batch)
        self.add_route("GET", f"{ARCHIVE_PREFIX}/{{archive}}", self._download)

    def reset(self) -> None:
        self.audience.clear()
        self.campaigns.clear()
        self.batches.clear()
        self.status_requests.clear()

    def seed(self, payload: Any) -> Any:
        return seed(self.audience, payload)

    def extra_admin(self) -> dict[tuple[str, str], Handler]:
        return {
            **self.admin_api.routes,
            **self.segments_api.admin,
            **self.campaign_admin.routes,
            ("GET", "/_sim/status-requests"): self._status_requests,
        }

    def observe(self, request: Request) -> None:
        """Log every status asked for (see :mod:`.requested`), refused or not."""
        template = (request.method, request.template)
        with self.lock:
            if template in {("POST", MEMBERS), ("PUT", MEMBER), ("PATCH", MEMBER)}:
                segment = request.params.get("subscriber_hash")
                self.status_requests.api_write(self.audience, request.method, segment, request.body)
            elif template == ("POST", BATCHES):
                self.status_requests.batch(self.audience, request.body)

    def _status_requests(self, request: Request) -> Response:
        with self.lock:
            return Response.json({"requests": list(self.status_requests.entries)})

    def shutdown(self) -> None:
        self.batches.shutdown()

    def authenticate(self, request: Request) -> Response | None:
        """Any username, the API key as password; the archive is pre-signed instead."""
        if request.template.startswith(ARCHIVE_PREFIX) or _api_key(request) == self.api_key:
            return None
        return self.error_response(
            SimError(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )
        )

    def admit(self, request: Request) -> Response | None:
        """Mailchimp's only limit: ``max_connections`` requests in flight per API key."""
        key = self._limited_key(request)
        if key is None:
            return None
        limit = int(self.config["max_connections"])
        with self._in_flight_lock:
            if self._in_flight[key] >= limit:
                return self.fault_response("429")
            self._in_flight[key] += 1
        return None

    def release(self, request: Request) -> None:
        key = self._limited_key(request)
        if key is not None:
            with self._in_flight_lock:
                self._in_flight[key] -= 1

    def _limited_key(self, request: Request) -> str | None:
        return None if request.template.startswith(ARCHIVE_PREFIX) else _api_key(request)

    def error_response(self, error: SimError) -> Response:
        """A problem document whose ``instance`` is the ``X-Request-Id`` sent with it."""
        request_id = str(uuid.uuid4())
        body = {
            "type": ERRORS_URL,
            "title": error.title,
            "status": error.status,
            "detail": error.detail,
            "instance": request_id,
            **error.extra,
        }
        headers = {
            "X-Request-Id": request_id,
            "Link": f'<{SCHEMA_URL}>; rel="describedBy"',
        }
        return Response.json(body, error.status, PROBLEM_TYPE, **headers)

    def fault_response(self, kind: str) -> Response:
        """``403`` is the bare, body-less refusal Mailchimp gives at very high volume."""
        if kind == "403":
            return Response.empty(403)
        status = int(kind)
        if status == 429:
            limit = int(self.config["max_connections"])
            detail = f"You have exceeded the limit of {limit} simultaneous connections."
            return self.error_response(SimError(429, "Too Many Requests", detail))
        phrase = HTTPStatus(status).phrase
        return self.error_response(SimError(status, phrase, _FAULT_DETAILS.get(status, phrase)))

    def fault_kinds(self, request: Request) -> frozenset[str]:
        if request.template.startswith(ARCHIVE_PREFIX):
            return ARCHIVE_FAULTS
        return super().fault_kinds(request)

    def subjects(self, request: Request, response: Response) -> list[str]:
        """The member or batch a request names (a member named by its address as by its hash);
        a batch accepted names its new id, a listing of changed members those it answered."""
        params = request.params
        named = [member_hash(params["subscriber_hash"])] if "subscriber_hash" in params else []
        named += [params["batch_id"]] if "batch_id" in params else []
        if (request.method, request.template) == ("POST", BATCHES) and response.status == 200:
            named.append(str(json.loads(response.body)["id"]))
        return named + response.subjects

    # -- ping and batches ------------------------------------------------------------------------

    def _ping(self, request: Request) -> Response:
        return Response.json({"health_status": "Everything's Chimpy!"})

    def _start_batch(self, request: Request) -> Response:
        operations = parse_operations(body_of(request))
        with self.lock:
            batch = self.batches.submit(operations, request.header("host") or "127.0.0.1")
            return Response.json(batch.as_json(""))

    def _list_batches(self, request: Request) -> Response:
        count, offset = paging(request)
        host = request.header("host")
        with self.lock:
            batches = list(self.batches.batches.values())
            page = [
                batch.as_json(self.batches.download_url(batch, host))
                for batch in batches[offset : offset + count]
            ]
        payload = {"batches": page, "total_items": len(batches), "_links": []}
        return Response.json(project(payload, request))

    def _get_batch(self, request: Request) -> Response:
        with self.lock:
            batch = self.batches.require(request.params["batch_id"])
            payload = batch.as_json(self.batches.download_url(batch, request.header("host")))
        return Response.json(project(payload, request))

    def _delete_batch(self, request: Request) -> Response:
        """``DELETE /batches/{batch_id}``: 204, then the batch is gone (404).

        Mailchimp: "Stops a batch request from running. Since only one batch request is run at a
        time, this can be used to cancel a long running request. The results of any completed
        operations will not be available after this call." (Marketing API reference, Batches,
        "Delete batch request"; the SDKs' ``delete_request``: "Delete a batch request and stop it
        from processing further"; 204 No Content, an unknown id 404 "Resource Not Found"). So a
        pending batch never runs; a started one keeps the operations it already carried out (no
        rollback), runs none of the rest, and no one can learn which ran
        (:meth:`BatchQueue.delete`).
        """
        with self.lock:
            self.batches.delete(request.params["batch_id"])
        return Response.empty()

    def _download(self, request: Request) -> Response:
        with self.lock:
            return self.batches.archive(
                request.params["archive"], request.arg("Expires"), request.arg("Signature")
            )

    def _execute(self, batch_id: str, operation: Operation) -> Response:
        """Run one batch operation through the same routes and handlers as an HTTP call."""
        self.count("batch_operations")
        split = urlsplit(operation.path)
        query = parse_qs(split.query, keep_blank_values=True)
        query.update({key: [value] for key, value in operation.params.items()})
        request = OperationRequest(
            operation.method, f"/3.0{split.path}", query, {}, operation.body.encode()
        )
        try:
            route = self.match(request)
        except SimError as error:
            return self.error_response(error)
        if route is None or route.template.startswith(ARCHIVE_PREFIX):
            return self.error_response(
                SimError(404, "Resource Not Found", "The requested resource could not be found.")
            )
        entry = self.timeline.begin(f"batch {request.method} {route.template}", request.path, query)
        entry["ran"] = entry["arrived"]
        try:
            response = self._guarded(route.handler, request)
        except Exception as error:  # noqa: BLE001 - one broken operation must not stop the worker
            response = self.error_response(SimError(500, "Internal Server Error", repr(error)))
        self.timeline.end(
            entry, response.status, [*self.subjects(request, response), batch_id], None
        )
        # A test can act between two operations of a running batch (pause it there, edit a
        # member): triggers count these answers apart, as ``batch PUT /3.0/lists/...``.
        self._pull_triggers(f"batch {operation.method} {route.template}")
        return response


def _api_key(request: Request) -> str | None:
    """The password of HTTP basic auth, whatever the username; ``None`` without one."""
    scheme, _, encoded = (request.header("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except ValueError:
        return None
    return decoded.partition(":")[2]
