"""Every status a client asked Mailchimp for, member by member, whatever became of the request.

The transition log shows what *happened*; a refused write leaves nothing there. A client that
sends a bare ``subscribed`` for someone who opted out is breaking consent even when Mailchimp
refuses it this time (another account's settings, or a member whose lock an admin lifted, would
let it through), so tests judge consent from what was requested. This log is the simulator's
test-only record of that (``GET /_sim/status-requests``), not a vendor behaviour:

* a member write (``POST …/members``, ``PUT``/``PATCH …/members/{hash}``) is recorded as it
  arrives, before faults, limits or validation (a 429 or a dropped answer still counts: it was
  asked), once per attempt;
* a batch's member writes are recorded when the batch is submitted (``POST /batches``), which is
  when the client asks; a batch is never re-sent by Mailchimp;
* each entry carries the member's standing at that moment and ``asks``, the status the write
  would set if accepted (``status`` on a member; ``status_if_new`` only where it applies: a new
  member, or a ``PUT`` on an archived one), and ``opted_out``: the member is unsubscribed,
  cleaned or compliance-locked, or the address was permanently deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from syncer.sandbox.mailchimp.members import Audience, Member, stamp
from syncer.sandbox.server import compile_template

MEMBERS = "/3.0/lists/{list_id}/members"
MEMBER = "/3.0/lists/{list_id}/members/{subscriber_hash}"
BATCHES = "/3.0/batches"
_MEMBER = compile_template(MEMBER)
_MEMBERS = compile_template(MEMBERS)
OPTED_OUT = frozenset({"unsubscribed", "cleaned"})


@dataclass
class StatusRequests:
    """The log, oldest first; cleared with the simulator."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    def clear(self) -> None:
        self.entries.clear()

    def api_write(self, audience: Audience, method: str, segment: str | None, body: bytes) -> None:
        """One member write over HTTP (``segment`` is ``None`` for ``POST …/members``)."""
        self._record(audience, method, segment, _loads(body), "api")

    def batch(self, audience: Audience, body: bytes) -> None:
        """Every member write among a submitted batch's operations."""
        envelope = _loads(body)
        operations = envelope.get("operations") if isinstance(envelope, dict) else None
        for operation in operations if isinstance(operations, list) else []:
            if not isinstance(operation, dict):
                continue
            method = str(operation.get("method") or "").upper()
            path = urlsplit(str(operation.get("path") or "")).path
            found = _MEMBER.match(f"/3.0{path}") if method in ("PUT", "PATCH") else None
            listed = _MEMBERS.match(f"/3.0{path}") if method == "POST" else None
            if found is None and listed is None:
                continue
            segment = found.group("subscriber_hash") if found else None
            raw = operation.get("body")
            payload = _loads(raw.encode()) if isinstance(raw, str) else raw
            self._record(audience, method, segment, payload, "batch")

    def _record(
        self, audience: Audience, method: str, segment: str | None, body: Any, via: str
    ) -> None:
        if not isinstance(body, dict):
            return
        status, if_new = _text(body.get("status")), _text(body.get("status_if_new"))
        if status is None and if_new is None:
            return
        email = _text(body.get("email_address"))
        member = audience.find(segment) if segment else audience.find(email or "")
        standing = member.standing if member is not None else None
        address = member.email if member is not None else (email or segment or "")
        forgotten = member is None and address.lower() in audience.forgotten
        self.entries.append(
            {
                "at": stamp(audience.now()),
                "via": via,
                "method": method,
                "email": address,
                "status": status,
                "status_if_new": if_new,
                "standing": standing,
                "asks": _asks(method, member, status, if_new),
                "opted_out": forgotten
                or standing in OPTED_OUT
                or bool(member is not None and member.locked),
            }
        )


def _asks(method: str, member: Member | None, status: str | None, if_new: str | None) -> str | None:
    """The status the write would set if accepted, mirroring :meth:`Audience.write`."""
    if member is None:
        if method == "PATCH":
            return None
        return (if_new or status) if method == "PUT" else status
    if method == "PUT" and member.status == "archived":
        return status or if_new
    return status


def _loads(body: bytes | None) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def opted_out_subscribes(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The requests that asked a bare ``subscribed`` for someone who had opted out."""
    return [e for e in entries if e["asks"] == "subscribed" and e["opted_out"]]
