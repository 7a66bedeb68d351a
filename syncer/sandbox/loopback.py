"""Serving a simulator on loopback: a threaded HTTP/1.1 server in a background thread.

The simulator (:class:`~syncer.sandbox.server.Simulator`) answers requests; this turns HTTP into
its :class:`~syncer.sandbox.server.Request` and back, carrying out the transport faults it asks
for (a dropped connection, a garbled or truncated body).
"""

from __future__ import annotations

import contextlib
import email.utils
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from syncer.sandbox.server import Request, Simulator


class _QuietHandler(BaseHTTPRequestHandler):
    """Adapts :mod:`http.server` to :meth:`Simulator.handle`; silent, HTTP/1.1, keep-alive."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, a keep-alive client
    # waits ~40 ms for a delayed ACK on every response.
    disable_nagle_algorithm = True
    server: SimHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Simulators are quiet: the request log is the record."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header follows the simulated clock, as a real server's follows its own."""
        moment = self.server.simulator.clock.now().timestamp() if timestamp is None else timestamp
        return email.utils.formatdate(moment, usegmt=True)

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
        )
        response, fault = self.server.simulator.handle(request)
        if fault == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)
            return
        payload = response.body
        if fault == "malformed":
            payload = b'{"truncated": tr'
        elif fault == "truncated_archive":
            payload = payload[: max(1, len(payload) // 2)]
        self.send_response(response.status)
        headers = {"X-Request-Id": str(uuid.uuid4()), **response.headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulator = simulator
        super().__init__((host, port), _QuietHandler)


class RunningServer:
    """A simulator served on loopback in a background thread."""

    def __init__(self, simulator: Simulator, port: int = 0) -> None:
        self.simulator = simulator
        self._server = SimHTTPServer(simulator, port=port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"sim-{simulator.name}", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> RunningServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.simulator.shutdown()

    @contextlib.contextmanager
    def running(self) -> Iterator[RunningServer]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
