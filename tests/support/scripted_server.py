"""A loopback HTTP server that answers from a script, for testing the HTTP layer's reactions."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer: a status with body and headers, or a misbehaviour."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay: float = 0.0
    #: Seconds between the body's bytes: a server that answers, then barely sends.
    drip: float = 0.0
    #: Send the body with ``Transfer-Encoding: chunked`` (no length announced), 64 KiB a chunk.
    chunked: bool = False


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    at: float
    body: bytes = b""
    #: The client's (host, port): the same port twice means a kept-alive connection.
    client: tuple[str, int] = ("", 0)


class _Quiet(ThreadingHTTPServer):
    """A client refusing the certificate, or hanging up mid-answer, is what tests do here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class ScriptedServer:
    """Pops one :class:`Reply` per request; when the script runs out, repeats ``fallback``."""

    def __init__(
        self, *replies: Reply, fallback: Reply | None = None, tls: ssl.SSLContext | None = None
    ) -> None:
        """``tls`` serves HTTPS with that server context (a test's self-signed certificate)."""
        self.script: deque[Reply] = deque(replies)
        self.fallback = fallback or Reply()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with owner._lock:
                    owner.seen.append(
                        Seen(
                            self.command,
                            self.path,
                            dict(self.headers.items()),
                            time.monotonic(),
                            body,
                            (str(self.client_address[0]), int(self.client_address[1])),
                        )
                    )
                    reply = owner.script.popleft() if owner.script else owner.fallback
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)
                    return
                self.send_response(reply.status)
                for key, value in {"Content-Type": "application/json", **reply.headers}.items():
                    self.send_header(key, value)
                if reply.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                try:
                    self._write_body(reply)
                except OSError:  # the client gave up on the answer: nothing more to do
                    self.close_connection = True

            def _write_body(self, reply: Reply) -> None:
                if reply.drip:
                    for index in range(len(reply.body)):
                        self.wfile.write(reply.body[index : index + 1])
                        self.wfile.flush()
                        time.sleep(reply.drip)
                elif reply.chunked:
                    for start in range(0, len(reply.body), 65536):
                        piece = reply.body[start : start + 65536]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

        self._server = _Quiet(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    @contextlib.contextmanager
    def running(self) -> Iterator[ScriptedServer]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=5)
