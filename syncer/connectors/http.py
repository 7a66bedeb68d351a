"""One configured HTTP session per API: timeouts, retries, throttling, call counts, redaction.

Every request goes through :meth:`ApiSession.request`, named by its endpoint *template* (never the
filled-in URL): the template is what the call counter reports and what log lines and errors show,
so neither can leak an email address, a list id or a pre-signed archive URL. Credentials are
additionally scrubbed from every answer's parsed body (a vendor that echoes the token in a 401
then cannot carry it into an error, a log line, the cache or an alert), and from every message
this module writes.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

import backoff
import requests
from requests.adapters import HTTPAdapter

from syncer.connectors.answers import (
    GARBLED,
    AnswerCheck,
    describe_error,
    error_title_detail,
    parse_json,
)
from syncer.errors import AuthError, RemoteError, RetriableError

log = logging.getLogger("syncer.http")

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSED_STATUSES = frozenset({423, 429, 502, 503, 504})
#: Bodies are searched for credentials at least this long: no vendor issues shorter ones, and a
#: test's one-letter token would otherwise be "redacted" out of every key of every answer.
MIN_SECRET = 8


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts and total time bound every call; waits grow with jitter."""

    max_tries: int = 6
    max_time: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0


@dataclass(frozen=True)
class ApiResponse:
    status: int
    data: Any
    headers: Mapping[str, str]


class Throttle(Protocol):
    def before_request(self, endpoint: str) -> None: ...

    def after_response(self, endpoint: str, headers: Mapping[str, str]) -> None: ...


class ErrorReader(Protocol):
    """Vendor-specific reading of an error body into a typed error (or ``None`` for the default)."""

    def __call__(self, status: int, body: Any, endpoint: str) -> RemoteError | None: ...


def _no_special_errors(status: int, body: Any, endpoint: str) -> RemoteError | None:
    return None


class ApiSession:
    """A ``requests.Session`` for one API, safe to share between threads."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        secrets: tuple[str, ...],
        auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
        policy: RetryPolicy | None = None,
        read_error: ErrorReader = _no_special_errors,
        throttle: Throttle | None = None,
        max_connections: int = 10,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.calls: Counter[str] = Counter()
        self._secrets = tuple(secret for secret in secrets if secret)
        self._secret_bytes = tuple(
            secret.encode() for secret in self._secrets if len(secret) >= MIN_SECRET
        )
        self._timeout = timeout
        self._read_error = read_error
        self._throttle = throttle
        self._slots = threading.BoundedSemaphore(max_connections)
        self._count_lock = threading.Lock()
        self._earliest_date: datetime | None = None
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max_connections, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"Accept": "application/json", **(headers or {})})
        if auth is not None:
            self._session.auth = auth

    def close(self) -> None:
        self._session.close()

    def begin_walk(self) -> None:
        """Start noting the server's clock: see :meth:`walk_started`."""
        self._earliest_date = None

    def walk_started(self) -> datetime | None:
        """The server's time (its ``Date`` header) at the first answer since :meth:`begin_walk`.

        A cursor may move up to it once the walk is complete: everything changed before that
        moment was there to be read, by the server's own clock.
        """
        return self._earliest_date

    def request(
        self,
        method: str,
        template: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        retry_safe_because: str | None = None,
        expect: AnswerCheck | None = None,
    ) -> ApiResponse:
        """Send one API call, retrying transient failures within the policy's bounds.

        A write must say why repeating it is harmless (``retry_safe_because``): a retry after a
        dropped connection may repeat a request the server already carried out. A successful
        answer that fails ``expect`` is retried like a garbled one.
        """
        if method in MUTATING and not retry_safe_because:
            raise ValueError(f"{method} {template}: say why a retried write is harmless")
        url = self.base_url + template.format(
            **{k: quote(v, safe="") for k, v in (path or {}).items()}
        )
        endpoint = f"{method} {template}"
        return self._with_retries(endpoint)(
            lambda: self._send(
                method, url, endpoint, params, json_body, authenticated=True, expect=expect
            )
        )

    def download(self, url: str, label: str) -> bytes:
        """GET an absolute URL without the API's credentials (pre-signed archive URLs).

        ``label`` names it in counts and logs instead of the URL, which is itself a secret.
        """
        endpoint = f"GET {label}"
        response = self._with_retries(endpoint)(
            lambda: self._send("GET", url, endpoint, None, None, authenticated=False, raw=True)
        )
        return bytes(response.data)

    def _with_retries(self, endpoint: str) -> Callable[[Callable[[], ApiResponse]], ApiResponse]:
        policy = self.policy

        def log_retry(details: Any) -> None:
            error = details["exception"]
            log.warning(
                "%s: %s %s; retrying in %.1f s (attempt %d of %d)",
                self.name,
                endpoint,
                self.redact(str(error)),
                details["wait"],
                details["tries"] + 1,
                policy.max_tries,
            )

        def run(call: Callable[[], ApiResponse]) -> ApiResponse:
            retrying = backoff.on_exception(
                lambda: _waits(policy),
                RetriableError,
                max_tries=policy.max_tries,
                max_time=policy.max_time,
                jitter=None,
                on_backoff=log_retry,
                logger=None,
            )(call)
            started = time.monotonic()
            try:
                return retrying()
            except RetriableError as error:
                elapsed = time.monotonic() - started
                raise RetriableError(
                    f"{error.message} (gave up after {elapsed:.0f} s of retries)",
                    status=error.status,
                    body=error.body,
                ) from None

        return run

    def _send(
        self,
        method: str,
        url: str,
        endpoint: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        *,
        authenticated: bool,
        raw: bool = False,
        expect: AnswerCheck | None = None,
    ) -> ApiResponse:
        if self._throttle is not None and authenticated:
            self._throttle.before_request(endpoint)
        with self._count_lock:
            self.calls[endpoint] += 1
        try:
            with self._slots:
                if authenticated:
                    response = self._session.request(
                        method, url, params=params, json=json_body, timeout=self._timeout
                    )
                else:
                    response = requests.get(url, timeout=self._timeout)
        except requests.Timeout:
            raise RetriableError(f"{self.name}: {endpoint} timed out") from None
        except requests.ConnectionError:
            raise RetriableError(
                f"{self.name}: {endpoint}: the connection failed or dropped"
            ) from None
        except requests.RequestException as error:
            raise RemoteError(f"{self.name}: {endpoint} failed: {type(error).__name__}") from None
        if self._throttle is not None and authenticated:
            self._throttle.after_response(endpoint, response.headers)
        return self._interpret(response, endpoint, raw, expect)

    def _interpret(
        self,
        response: requests.Response,
        endpoint: str,
        raw: bool,
        expect: AnswerCheck | None = None,
    ) -> ApiResponse:
        self._note_date(response.headers.get("Date"))
        status = response.status_code
        if raw and 200 <= status < 300:
            return ApiResponse(status, response.content, response.headers)
        content = response.content
        body = parse_json(content)
        if body is not GARBLED and self._echoes_a_secret(content):
            body = self._redact_value(body)
        if 200 <= status < 300:
            if content and body is GARBLED:
                raise RetriableError(
                    f"{self.name}: {endpoint} answered {status} with a garbled body"
                )
            data = None if body is GARBLED else body
            lacking = expect(data) if expect is not None else None
            if lacking:
                raise RetriableError(f"{self.name}: {endpoint} answered {status} without {lacking}")
            return ApiResponse(status, data, response.headers)
        parsed = None if body is GARBLED else body
        special = self._read_error(status, parsed, endpoint)
        if special is not None:
            raise special
        described = describe_error(parsed)
        message = f"{self.name}: {endpoint} answered {status}" + (
            f": {described}" if described else ""
        )
        message = self.redact(message)
        if status in REFUSED_STATUSES or status >= 500 or (status == 403 and parsed is None):
            raise RetriableError(
                message, retry_after=_retry_after(response.headers), status=status, body=parsed
            )
        if status in (401, 403):
            raise AuthError(message, status=status, body=parsed)
        title, detail = error_title_detail(parsed)
        raise RemoteError(message, status=status, title=title, detail=detail, body=parsed)

    def _note_date(self, header: str | None) -> None:
        if not header:
            return
        try:
            moment = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        with self._count_lock:
            if self._earliest_date is None or moment < self._earliest_date:
                self._earliest_date = moment

    def redact(self, text: str) -> str:
        """Remove every credential this session knows from ``text``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _echoes_a_secret(self, content: bytes) -> bool:
        return any(secret in content for secret in self._secret_bytes)

    def _redact_value(self, value: Any) -> Any:
        """:meth:`redact` through a parsed body, keys and values (the bytes are left whole, so
        a credential that happens to look like JSON syntax cannot corrupt the answer)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self._redact_value(item) for item in value]
        if isinstance(value, dict):
            return {self.redact(k): self._redact_value(v) for k, v in value.items()}
        return value


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` as seconds, from either of its two forms."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _waits(policy: RetryPolicy) -> Generator[float, Any, None]:
    """Backoff's wait generator: exponential with full jitter, or the server's own figure.

    backoff sends each caught exception into the generator, which is how a ``Retry-After``
    reaches the wait; a server-given wait is clamped but never jittered.
    """
    attempt = 0
    error = yield 0.0
    while True:
        given = getattr(error, "retry_after", None)
        if given is not None:
            wait = min(float(given), policy.max_retry_after)
        else:
            wait = random.uniform(0, min(policy.max_delay, policy.base_delay * 2**attempt))
        attempt += 1
        error = yield wait
