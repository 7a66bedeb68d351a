"""One configured HTTP session per API: timeouts, retries, throttling, call counts, redaction.

Every request goes through :meth:`ApiSession.request`, named by its endpoint *template* (never the
filled-in URL): the template is what the call counter reports and what log lines and errors show,
so neither can leak an email address, a list id or a pre-signed archive URL. Credentials are
additionally scrubbed from every answer's parsed body (a vendor that echoes the token in a 401
then cannot carry it into an error, a log line, the cache or an alert), and from every message
this module writes.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from syncer.connectors.answers import GARBLED, AnswerCheck, failure, parse_json, server_time
from syncer.connectors.body import TooLarge, read_body
from syncer.connectors.redact import Redactor
from syncer.connectors.retry import RetryPolicy, with_retries
from syncer.errors import (
    OutOfTime,
    RemoteError,
    ResponseTooLarge,
    RetriableError,
    SyncerError,
)

log = logging.getLogger("syncer.http")

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Downloads stay in memory up to this size, then go to a temporary file.
SPOOL_IN_MEMORY = 4 * 2**20
#: A timeout this close to the run's cutoff is the cutoff's doing.
CUTOFF_SLACK = 0.05


@dataclass(frozen=True)
class ApiResponse:
    status: int
    data: Any
    headers: Mapping[str, str]


#: Looks for what a write whose answer was lost did, given the seconds since it was first
#: sent: the answer it would have had, or ``None`` (it did nothing; send it again).
Recover = Callable[[float], ApiResponse | None]


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
        max_body_bytes: int = 64 * 2**20,
        url_key: str = "",
    ) -> None:
        """``url_key`` names the config key the base URL comes from, for connection errors."""
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).hostname or self.base_url
        if urlsplit(self.base_url).port:
            self.host += f":{urlsplit(self.base_url).port}"
        self._url_key = url_key or f"{name}.base_url"
        self.policy = policy or RetryPolicy()
        self.calls: Counter[str] = Counter()
        self._redactor = Redactor(secrets)
        self._timeout = timeout
        self.max_body_bytes = max_body_bytes
        self._cutoff: float | None = None
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

    def stop_calls_at(self, moment: float | None) -> None:
        """Cut any call still going at ``moment`` (``time.monotonic()``), retry waits included,
        with :class:`OutOfTime`: the run's ``--max-time`` and its grace."""
        self._cutoff = moment

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
        repeatable: bool = True,
        recover: Recover | None = None,
    ) -> ApiResponse:
        """Send one API call, retrying transient failures within the policy's bounds.

        A write must say why repeating it is harmless (``retry_safe_because``): a retry after a
        dropped connection may repeat a request the server already carried out. A write that
        is not (``repeatable=False``) is retried only after a 429, which the server refused
        before doing anything. A successful answer that fails ``expect`` is retried like a
        garbled one. With ``recover``, a write whose attempt may have been carried out (no
        answer, a garbled one, a 5xx) is first looked for: what ``recover`` finds stands for
        its answer, and only if it finds nothing is the write sent again.
        """
        if method in MUTATING and not retry_safe_because:
            raise ValueError(f"{method} {template}: say why a retried write is harmless")
        url = self.base_url + template.format(
            **{k: quote(v, safe="") for k, v in (path or {}).items()}
        )
        endpoint = f"{method} {template}"

        def attempt(until: float) -> ApiResponse:
            self._before(endpoint, throttled=True)
            sent = time.monotonic()
            headers: Mapping[str, str] = {}
            try:
                with self._slots:
                    response = self._open(
                        endpoint,
                        until,
                        lambda timeout: self._session.request(
                            method, url, params=params, json=json_body, timeout=timeout, stream=True
                        ),
                    )
                    content = self._body(response, endpoint, until)
                headers = response.headers
            finally:
                # Answered or not, the throttle hears that the request has ended.
                if self._throttle is not None:
                    self._throttle.after_response(endpoint, headers)
            log.debug(
                "%s: %s -> %d in %.0f ms",
                self.name,
                endpoint,
                response.status_code,
                1000 * (time.monotonic() - sent),
            )
            return self._interpret(response, content, endpoint, expect)

        return self._with_retries(endpoint, attempt, repeatable=repeatable, recover=recover)

    def download(self, url: str, label: str) -> BinaryIO:
        """GET an absolute URL without the API's credentials (pre-signed archive URLs), into a
        temporary file (in memory while small), returned at its start; the caller closes it.

        ``label`` names it in counts and logs instead of the URL, which is itself a secret.
        """
        endpoint = f"GET {label}"
        spool: BinaryIO = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - the caller closes it
            max_size=SPOOL_IN_MEMORY
        )  # type: ignore[assignment]

        def attempt(until: float) -> ApiResponse:
            self._before(endpoint, throttled=False)
            spool.seek(0)
            spool.truncate()
            response = self._open(
                endpoint, until, lambda timeout: requests.get(url, timeout=timeout, stream=True)
            )
            if 200 <= response.status_code < 300:
                self._body(response, endpoint, until, sink=spool)
                return ApiResponse(response.status_code, None, response.headers)
            return self._interpret(response, self._body(response, endpoint, until), endpoint)

        try:
            self._with_retries(endpoint, attempt)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    def _with_retries(
        self,
        endpoint: str,
        attempt: Callable[[float], ApiResponse],
        *,
        repeatable: bool = True,
        recover: Recover | None = None,
    ) -> ApiResponse:
        """Run ``attempt(until)`` within the policy's bounds (``retry``); ``until``
        (``time.monotonic()``) is when that attempt's answer must be in, last byte included."""

        def one_attempt(call_end: float) -> ApiResponse:
            until = min(time.monotonic() + self._timeout[0] + self._timeout[1], call_end)
            if self._cutoff is not None:
                until = min(until, self._cutoff)
            return attempt(until)

        return with_retries(
            one_attempt,
            self.policy,
            self._time_left,
            self.redact,
            repeatable=repeatable,
            recover=recover,
        )

    def _before(self, endpoint: str, *, throttled: bool) -> None:
        if self._throttle is not None and throttled:
            self._throttle.before_request(endpoint)
        with self._count_lock:
            self.calls[endpoint] += 1

    def _open(
        self,
        endpoint: str,
        until: float,
        send: Callable[[tuple[float, float]], requests.Response],
    ) -> requests.Response:
        """Send, and wait for the answer's head no longer than ``until``."""
        left = until - time.monotonic()
        if left <= 0:
            raise self._late(endpoint)
        try:
            return send((min(self._timeout[0], left), min(self._timeout[1], left)))
        except requests.Timeout:
            raise self._late(endpoint) from None
        except requests.exceptions.SSLError:
            raise RemoteError(
                f"{self.name}: {endpoint}: the server's TLS certificate was refused "
                "(self-signed, expired, or for another name)",
                hint="Check the base URL; a proxy or test server needs a certificate this "
                "machine trusts (REQUESTS_CA_BUNDLE names extra ones).",
            ) from None
        except requests.ConnectionError:
            raise RetriableError(
                f"{self.name}: could not connect to {self.host}, or the connection dropped "
                f"({endpoint})",
                f"Check {self._url_key} and the network; `syncer check` tries both APIs.",
            ) from None
        except requests.RequestException as error:
            raise RemoteError(f"{self.name}: {endpoint} failed: {type(error).__name__}") from None

    def _body(
        self,
        response: requests.Response,
        endpoint: str,
        until: float,
        sink: BinaryIO | None = None,
    ) -> bytes:
        """The answer's body, bounded in time and size; the connection is kept for the next
        call only when the body was read to its end."""
        try:
            content = read_body(response, until=until, limit=self.max_body_bytes, sink=sink)
        except TooLarge:
            response.close()
            raise ResponseTooLarge(
                f"{self.name}: {endpoint} answered more than the "
                f"{self.max_body_bytes / 2**20:g} MB allowed"
            ) from None
        except requests.Timeout:
            response.close()
            raise self._late(endpoint) from None
        except requests.ConnectionError:
            response.close()
            raise RetriableError(
                f"{self.name}: {endpoint}: the connection dropped mid-answer"
            ) from None
        except requests.RequestException as error:
            response.close()
            raise RemoteError(f"{self.name}: {endpoint} failed: {type(error).__name__}") from None
        response.raw.release_conn()
        return content

    def _late(self, endpoint: str) -> SyncerError:
        """A call out of time: the run's own cutoff, or this call's timeout (retried)."""
        if self._cutoff is not None and time.monotonic() >= self._cutoff - CUTOFF_SLACK:
            return OutOfTime(f"{self.name}: {endpoint} was cut: the run's time ran out")
        return RetriableError(f"{self.name}: {endpoint} timed out")

    def _time_left(self) -> float | None:
        """Seconds until the run's cutoff, ``None`` without one."""
        return None if self._cutoff is None else self._cutoff - time.monotonic()

    def _interpret(
        self,
        response: requests.Response,
        content: bytes,
        endpoint: str,
        expect: AnswerCheck | None = None,
    ) -> ApiResponse:
        self._note_date(response.headers.get("Date"))
        status = response.status_code
        body = parse_json(content)
        if body is not GARBLED:
            body = self._redactor.body(content, body)
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
        raise special or failure(f"{self.name}: {endpoint}", status, parsed, response.headers)

    def _note_date(self, header: str | None) -> None:
        """Remember the earliest server time seen; an unreadable ``Date`` is no time at all."""
        moment = server_time(header)
        if moment is None:
            return
        with self._count_lock:
            if self._earliest_date is None or moment < self._earliest_date:
                self._earliest_date = moment

    def redact(self, text: str) -> str:
        """Remove every credential this session knows from ``text``."""
        return self._redactor.text(text)
