"""The plumbing both simulators share: routing, the request pipeline and the ``/_sim/`` API.

A simulator subclasses :class:`Simulator`, registers its API routes with :meth:`Simulator.route`
and fills in the hooks (authentication, error bodies, seeding). Everything an outside test relies
on regardless of which API it drives lives here: the admin endpoints and their exact shapes, the
request log and timeline, latency and fault injection. :mod:`.loopback` serves it over HTTP.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import unquote

from syncer.sandbox.clock import SimClock
from syncer.sandbox.faults import REFUSING_KINDS, FaultPlan
from syncer.sandbox.timeline import Entry, Timeline
from syncer.sandbox.triggers import TriggerPlan

JSON_TYPE = "application/json; charset=utf-8"


class SimError(Exception):
    """Raised by a route handler to answer with an API error; the simulator renders the body."""

    def __init__(self, status: int, title: str, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    template: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The last value of a query parameter, as most frameworks (and both vendors) read it."""
        values = self.query.get(name)
        return values[-1] if values else default

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: Records the answer holds, for the timeline only (never sent): a listing's members.
    subjects: list[str] = field(default_factory=list)

    @classmethod
    def json(
        cls, payload: Any, status: int = 200, content_type: str = JSON_TYPE, **headers: str
    ) -> Response:
        return cls(status, json.dumps(payload).encode(), {"Content-Type": content_type, **headers})

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status)


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


def compile_template(template: str) -> re.Pattern[str]:
    """``/lists/{list_id}/members`` -> a regex with one named group per placeholder."""
    parts = re.split(r"(\{[a-zA-Z_]+\})", template)
    regex = "".join(
        f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part) for part in parts
    )
    return re.compile(f"^{regex}/?$")


class Simulator:
    """One simulated API: its routes, its store and its admin endpoints."""

    name: ClassVar[str] = "simulator"
    #: Settings accepted by ``POST /_sim/config`` and their defaults; subclasses extend this.
    default_config: ClassVar[dict[str, Any]] = {"latency_ms": 0, "slow_s": 2.0}

    def __init__(self, clock: SimClock | None = None) -> None:
        self.clock = clock or SimClock()
        self.lock = threading.RLock()
        self.faults = FaultPlan()
        self.triggers = TriggerPlan()
        self.config: dict[str, Any] = dict(self.default_config)
        self.counts: Counter[str] = Counter()
        self.timeline = Timeline()
        self._routes: list[Route] = []
        self._admin: dict[tuple[str, str], Handler] = {
            ("POST", "/_sim/reset"): self._admin_reset,
            ("POST", "/_sim/seed"): self._admin_seed,
            ("POST", "/_sim/clock"): self._admin_clock,
            ("POST", "/_sim/faults"): self._admin_faults,
            ("POST", "/_sim/config"): self._admin_config,
            ("GET", "/_sim/requests"): self._admin_requests,
            ("POST", "/_sim/triggers"): lambda r: Response.json(
                self.triggers.configure(r.json() or {})
            ),
            ("GET", "/_sim/triggers"): lambda r: Response.json(self.triggers.describe()),
            ("GET", "/_sim/timeline"): lambda r: Response.json(
                {"entries": self.timeline.since(float(r.arg("since") or 0))}
            ),
        }
        self.register_routes()
        self.reset()

    # -- hooks for subclasses -------------------------------------------------------------------

    def register_routes(self) -> None:
        """Register the API's routes with :meth:`route`."""

    def reset(self) -> None:
        """Empty the store back to its freshly-created state."""

    def seed(self, payload: Any) -> Any:
        """Load the ``/_sim/seed`` payload; return the answer body."""
        raise SimError(404, "Not Found", "this simulator cannot be seeded")

    def authenticate(self, request: Request) -> Response | None:
        """Return an error response when the request is not authorised, else ``None``."""
        return None

    def observe(self, request: Request) -> None:
        """Note a routed request as it arrives, before limits, faults or validation (test logs)."""

    def admit(self, request: Request) -> Response | None:
        """Apply rate or concurrency limits; return a refusal or ``None``. See :meth:`release`."""
        return None

    def release(self, request: Request) -> None:
        """Undo what :meth:`admit` took once the request has been answered."""

    def error_response(self, error: SimError) -> Response:
        """Render an API error in this vendor's shape."""
        return Response.json({"message": error.detail or error.title}, error.status)

    def fault_response(self, kind: str) -> Response:
        """The answer for a refusing fault (``429``, ``5xx``...) in this vendor's shape."""
        status = int(kind)
        return self.error_response(SimError(status, HTTPStatus(status).phrase))

    def fault_kinds(self, request: Request) -> frozenset[str]:
        """Which fault kinds may strike this request."""
        return REFUSING_KINDS | {"slow", "late", "drop", "malformed"}

    def subjects(self, request: Request, response: Response) -> list[str]:
        """The records a request names, for the timeline (:mod:`syncer.sandbox.timeline`)."""
        return []

    def extra_admin(self) -> dict[tuple[str, str], Handler]:
        """Simulator-specific admin endpoints, keyed like the shared ones."""
        return {}

    def shutdown(self) -> None:
        """Stop background work (batch workers and the like) when the server stops."""

    # -- routing ---------------------------------------------------------------------------------

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._routes.append(Route(method, template, compile_template(template), handler))
            return handler

        return register

    def add_route(self, method: str, template: str, handler: Handler) -> None:
        self._routes.append(Route(method, template, compile_template(template), handler))

    def match(self, request: Request) -> Route | None:
        allowed = False
        for candidate in self._routes:
            found = candidate.pattern.match(request.path)
            if not found:
                continue
            allowed = True
            if candidate.method == request.method:
                request.params = {key: unquote(value) for key, value in found.groupdict().items()}
                request.template = candidate.template
                return candidate
        if allowed:
            raise SimError(
                405, "Method Not Allowed", "The requested method and resource are not compatible."
            )
        return None

    # -- request pipeline ------------------------------------------------------------------------

    def handle(self, request: Request) -> tuple[Response, str | None]:
        """Answer one request; the second value is a transport fault (``drop``/``malformed``)."""
        admin = {**self._admin, **self.extra_admin()}.get(
            (request.method, request.path.rstrip("/"))
        )
        if admin is not None:
            return self._guarded(admin, request), None
        try:
            matched = self.match(request)
        except SimError as error:
            self.count(f"{request.method} {request.path}")
            return self.error_response(error), None
        if matched is None:
            self.count(f"{request.method} {request.path}")
            return self.error_response(
                SimError(404, "Resource Not Found", "The requested resource could not be found.")
            ), None
        key = f"{request.method} {matched.template}"
        self.count(key)
        self.observe(request)
        entry = self.timeline.begin(key, request.path, request.query)
        response, fault = self._answer(matched, request, entry)
        self.timeline.end(entry, response.status, self.subjects(request, response), fault)
        return response, fault if fault in {"drop", "malformed", "truncated_archive"} else None

    def _answer(
        self, matched: Route, request: Request, entry: Entry
    ) -> tuple[Response, str | None]:
        """Limits, authentication, latency and a fault drawn, then the handler; the fault."""
        refusal = self.admit(request)
        if refusal is not None:
            return refusal, None
        try:
            denied = self.authenticate(request)
            if denied is not None:
                return denied, None
            latency = float(self.config.get("latency_ms", 0)) / 1000
            if latency > 0:
                time.sleep(latency)
            fault = self.faults.draw(self.fault_kinds(request), entry["key"])
            if fault in REFUSING_KINDS:
                return self.fault_response(fault), fault
            if fault == "slow":
                time.sleep(float(self.config.get("slow_s", 2.0)))
            entry["ran"] = time.time()
            response = self._guarded(matched.handler, request)
            self._pull_triggers(entry["key"])
            if fault == "late":
                time.sleep(float(self.config.get("slow_s", 2.0)))
            return response, fault
        finally:
            self.release(request)

    def _pull_triggers(self, endpoint: str) -> None:
        """Make the requests scripted to follow this answer (:mod:`syncer.sandbox.triggers`)."""
        for trigger in self.triggers.due(endpoint):
            body = b"" if trigger.body is None else json.dumps(trigger.body).encode()
            scripted = Request(trigger.method, trigger.path, {}, {}, body)
            admin = {**self._admin, **self.extra_admin()}.get((scripted.method, scripted.path))
            route = None if admin else self.match(scripted)
            handler = admin or (route.handler if route else None)
            answer = self._guarded(handler, scripted) if handler else Response(404)
            self.triggers.record(trigger, answer.status)

    def _guarded(self, handler: Handler, request: Request) -> Response:
        try:
            return handler(request)
        except SimError as error:
            return self.error_response(error)
        except (ValueError, TypeError, KeyError) as error:
            return self.error_response(SimError(400, "Bad Request", str(error)))

    def count(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1

    def count_many(self, key: str, amount: int) -> None:
        with self.lock:
            self.counts[key] += amount

    # -- admin API (shapes are a contract used by tests outside this repository) ------------------

    def _admin_reset(self, request: Request) -> Response:
        with self.lock:
            self.counts.clear()
            self.timeline.clear()
            self.triggers.configure({})
            self.reset()
        return Response.json({"ok": True})

    def _admin_seed(self, request: Request) -> Response:
        with self.lock:
            return Response.json(self.seed(request.json() or {}))

    def _admin_clock(self, request: Request) -> Response:
        payload = request.json() or {}
        now = self.clock.advance(float(payload.get("advance", 0)))
        return Response.json({"now": now.isoformat()})

    def _admin_faults(self, request: Request) -> Response:
        return Response.json(self.faults.configure(request.json() or {}))

    def _admin_config(self, request: Request) -> Response:
        payload = request.json() or {}
        unknown = sorted(set(payload) - set(self.default_config))
        if unknown:
            raise SimError(400, "Bad Request", f"unknown settings: {', '.join(unknown)}")
        with self.lock:
            self.config.update(payload)
            return Response.json(dict(self.config))

    def _admin_requests(self, request: Request) -> Response:
        """Counts since the last reset; operations run inside batches are counted apart."""
        with self.lock:
            counts = dict(self.counts)
        batch_operations = counts.get("batch_operations", 0)
        total = sum(value for key, value in counts.items() if key != "batch_operations")
        return Response.json(
            {"total": total, "counts": counts, "batch_operations": batch_operations}
        )
