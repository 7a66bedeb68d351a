"""Reading one answer's body before a deadline and under a size cap.

``requests`` bounds each socket read, not an answer: a server dripping a byte a second never
trips a 60-second read timeout, and one that keeps sending fills memory. So a body is read here
in pieces with ``read1`` (whatever has arrived, never waiting to fill a buffer), the socket's
timeout re-armed to what is left of the deadline before each piece, and the size counted after
decompression (a small gzip answer can unpack to gigabytes). Failures come out as ``requests``'
own exceptions, so the HTTP layer classifies a slow body like a slow answer.
"""

from __future__ import annotations

import time
from typing import BinaryIO

import requests
import urllib3

PIECE = 64 * 1024


class TooLarge(Exception):
    """The body passed the cap; how far it got is not worth knowing."""


def read_body(
    response: requests.Response, *, until: float, limit: int, sink: BinaryIO | None = None
) -> bytes:
    """The decoded body (or ``b""`` when written to ``sink``), read before ``until``
    (``time.monotonic()``) and at most ``limit`` bytes long."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    raw: urllib3.HTTPResponse = response.raw
    pieces: list[bytes] = []
    size = 0
    while True:
        _arm(raw, until)
        try:
            piece = raw.read1(PIECE, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError:
            raise requests.ReadTimeout from None
        except urllib3.exceptions.DecodeError:
            raise requests.exceptions.ContentDecodingError from None
        except (urllib3.exceptions.HTTPError, OSError):
            raise requests.ConnectionError from None
        if not piece:
            return b"".join(pieces)
        size += len(piece)
        if size > limit:
            raise TooLarge
        if sink is None:
            pieces.append(piece)
        else:
            sink.write(piece)


def _arm(raw: urllib3.HTTPResponse, until: float) -> None:
    """Give the next socket read only the time left, or time out now."""
    left = until - time.monotonic()
    if left <= 0:
        raise requests.ReadTimeout
    connection = raw.connection
    sock = getattr(connection, "sock", None) if connection is not None else None
    if sock is not None:
        sock.settimeout(left)
