"""Mailchimp batch operations: the queue, the worker that runs it, and the result archives.

Mailchimp runs one batch at a time per account, slowly, and publishes the results as a pre-signed,
expiring S3 download. The simulator keeps those properties because the sync's crash-safety depends
on them: a batch is visible as unfinished for a while, results arrive only as an archive, and the
archive URL stops working. One daemon thread walks the batches in submission order through
``pending → preprocessing → started → finalizing → finished``, one step per ``batch_delay_s``.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import random
import secrets
import tarfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncer.sandbox.clock import SimClock
from syncer.sandbox.mailchimp.members import stamp
from syncer.sandbox.mailchimp.schema import ERRORS_DETAIL, invalid
from syncer.sandbox.server import Response, SimError

STATUSES = ("pending", "preprocessing", "started", "finalizing", "finished")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ARCHIVE_PREFIX = "/_batch-results"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    params: dict[str, str]
    body: str
    operation_id: str | None


@dataclass
class Batch:
    id: str
    operations: list[Operation]
    submitted_at: int
    host: str
    status: str = "pending"
    finished_operations: int = 0
    errored_operations: int = 0
    completed_at: int | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    archive: bytes = b""
    cancelled: bool = False

    def as_json(self, download_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "total_operations": len(self.operations),
            "finished_operations": self.finished_operations,
            "errored_operations": self.errored_operations,
            "submitted_at": stamp(self.submitted_at),
            "completed_at": stamp(self.completed_at),
            "response_body_url": download_url,
            "_links": [],
        }


def parse_operations(body: Any) -> list[Operation]:
    """The ``POST /batches`` envelope; any malformed part refuses the whole batch (a 400)."""
    if not isinstance(body, dict) or not isinstance(body.get("operations"), list):
        raise invalid(
            errors=[
                {
                    "field": "operations",
                    "message": "Schema describes array, other type found instead",
                }
            ]
        )
    operations = []
    for index, raw in enumerate(body["operations"]):
        where = f"operations.item:{index}"
        if not isinstance(raw, dict):
            raise invalid(
                errors=[
                    {"field": where, "message": "Schema describes object, other type found instead"}
                ]
            )
        problems = []
        if raw.get("method") not in METHODS:
            problems.append(("method", f"Value must be one of: {', '.join(METHODS)}"))
        if not isinstance(raw.get("path"), str) or not raw["path"].startswith("/"):
            problems.append(("path", "A path relative to /3.0, starting with /, is required."))
        if not isinstance(raw.get("params", {}), dict):
            problems.append(("params", "Schema describes object, other type found instead"))
        if not isinstance(raw.get("body", ""), str):
            problems.append(("body", "Schema describes string, other type found instead"))
        if not isinstance(raw.get("operation_id", ""), str):
            problems.append(("operation_id", "Schema describes string, other type found instead"))
        if problems:
            raise invalid(
                ERRORS_DETAIL,
                [{"field": f"{where}.{name}", "message": text} for name, text in problems],
            )
        params = {key: _query_text(value) for key, value in raw.get("params", {}).items()}
        operations.append(
            Operation(
                raw["method"], raw["path"], params, raw.get("body", ""), raw.get("operation_id")
            )
        )
    return operations


def _query_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def build_archive(
    results: list[dict[str, Any]], split: int, empty_file: bool, rng: random.Random
) -> bytes:
    """Reference §6: gzip tar, ``./`` first, JSON arrays in ``./<hex>.json`` files, random order."""
    shuffled = list(results)
    rng.shuffle(shuffled)
    size = max(1, split)
    files = [
        json.dumps(shuffled[start : start + size]).encode()
        for start in range(0, len(shuffled), size)
    ]
    if empty_file:
        files.insert(rng.randrange(len(files) + 1), b"")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        directory = tarfile.TarInfo("./")
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        archive.addfile(directory)
        for content in files:
            entry = tarfile.TarInfo(f"./{rng.getrandbits(128):032x}.json")
            entry.size = len(content)
            entry.mode = 0o644
            archive.addfile(entry, io.BytesIO(content))
    return buffer.getvalue()


class BatchQueue:
    """The batches of one account and the worker thread that runs them.

    ``execute`` runs one operation through the simulator's own routes; the queue calls it with the
    simulator's lock held, so once a ``DELETE`` is answered no operation of that batch runs.
    """

    def __init__(
        self,
        lock: threading.RLock,
        clock: SimClock,
        settings: Callable[[], Mapping[str, Any]],
        execute: Callable[[str, Operation], Response],
    ) -> None:
        self.lock = lock
        self.clock = clock
        self.settings = settings
        self.execute = execute
        self.batches: dict[str, Batch] = {}
        self._secret = secrets.token_bytes(32)
        self._rng = random.Random()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None

    # -- the API side (callers hold the lock) ------------------------------------------------------

    def submit(self, operations: list[Operation], host: str) -> Batch:
        # Mailchimp allows 500 unfinished batches per user; the 501st POST /batches is a 429
        # (https://mailchimp.com/developer/release-notes/batch-api-limit-now-considers-pending-batch-webhooks/).
        limit = int(self.settings()["max_pending_batches"])
        if sum(batch.status != "finished" for batch in self.batches.values()) >= limit:
            raise SimError(429, "Too Many Requests", f"You have more than {limit} pending batches.")
        batch_id = f"{self._rng.getrandbits(40):010x}"
        batch = Batch(batch_id, operations, int(self.clock.now().timestamp()), host)
        self.batches[batch_id] = batch
        self._start_worker()
        self._wake.set()
        return batch

    def require(self, batch_id: str) -> Batch:
        batch = self.batches.get(batch_id)
        if batch is None:
            raise SimError(404, "Resource Not Found", "The requested resource could not be found.")
        return batch

    def delete(self, batch_id: str) -> None:
        """Stop the batch between two operations, whatever its status; like Mailchimp, what
        already ran stays done and its results are gone with it (the record answers 404)."""
        self.require(batch_id).cancelled = True
        del self.batches[batch_id]

    def clear(self) -> None:
        for batch in self.batches.values():
            batch.cancelled = True
        self.batches.clear()

    def download_url(self, batch: Batch, host: str | None) -> str:
        """A fresh pre-signed URL, valid ``archive_ttl_s`` on the simulator clock, or ``""``."""
        if batch.status != "finished":
            return ""
        expires = int(self.clock.now().timestamp()) + int(self.settings()["archive_ttl_s"])
        signature = self._sign(batch.id, expires)
        path = f"{ARCHIVE_PREFIX}/{batch.id}.tar.gz"
        return f"http://{host or batch.host}{path}?Expires={expires}&Signature={signature}"

    def archive(self, name: str, expires: str | None, signature: str | None) -> Response:
        """Serve an archive the way S3 does, including its XML refusals."""
        batch_id = name.removesuffix(".tar.gz")
        batch = self.batches.get(batch_id)
        if batch is None or batch.status != "finished" or not name.endswith(".tar.gz"):
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        try:
            deadline = int(expires or "")
        except ValueError:
            return _s3_error(
                403, "AccessDenied", "Query-string authentication requires the Expires parameter"
            )
        if not hmac.compare_digest(self._sign(batch_id, deadline), signature or ""):
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if self.clock.now().timestamp() > deadline:
            return _s3_error(403, "AccessDenied", "Request has expired")
        return Response(200, batch.archive, {"Content-Type": "application/x-tar"})

    def _sign(self, batch_id: str, expires: int) -> str:
        return hmac.new(self._secret, f"{batch_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    # -- the worker --------------------------------------------------------------------------------

    def _start_worker(self) -> None:
        if self._worker is None and not self._stopping.is_set():
            self._worker = threading.Thread(target=self._run, name="mailchimp-batches", daemon=True)
            self._worker.start()

    def shutdown(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self.lock:
                batch = next((b for b in self.batches.values() if b.status != "finished"), None)
            if batch is None:
                self._wake.wait(0.05)
                self._wake.clear()
                continue
            if self._stopping.wait(float(self.settings()["batch_delay_s"])) or not self._hold():
                return
            self._step(batch)

    def _hold(self) -> bool:
        """Make no progress while ``batch_paused``; ``False`` once the queue is shutting down."""
        while self.settings()["batch_paused"]:
            if self._stopping.wait(0.02):
                return False
        return not self._stopping.is_set()

    def _step(self, batch: Batch) -> None:
        with self.lock:
            if batch.cancelled:
                return
            batch.status = STATUSES[STATUSES.index(batch.status) + 1]
            if batch.status == "finished":
                settings = self.settings()
                batch.archive = build_archive(
                    batch.results,
                    int(settings["archive_split"]),
                    bool(settings["archive_empty_file"]),
                    self._rng,
                )
                batch.completed_at = int(self.clock.now().timestamp())
        if batch.status == "started":
            self._run_operations(batch)

    def _run_operations(self, batch: Batch) -> None:
        for operation in batch.operations:
            if not self._hold():
                return
            with self.lock:
                if batch.cancelled:
                    return
                response = self.execute(batch.id, operation)
                batch.finished_operations += 1
                batch.errored_operations += not 200 <= response.status < 300
                batch.results.append(
                    {
                        "status_code": response.status,
                        "operation_id": operation.operation_id,
                        "response": response.body.decode(),
                    }
                )


def _s3_error(status: int, code: str, message: str) -> Response:
    xml = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n{xml}'
    return Response(status, body.encode(), {"Content-Type": "application/xml"})
