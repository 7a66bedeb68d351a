"""Scripted outside edits, made at an exact point of a client's run.

A test asks: right after the simulator has answered the nth call to an endpoint since the plan
was set (say the first ``POST /crm/v3/objects/contacts/search``), make this request, as someone
editing in the vendor's UI at that moment would. An edit between a client's read and its write
cannot be placed by timing from outside (a loaded machine moves it); placed by the simulator, it
lands there every time. The request runs as the simulator's own: no authentication, rate limit,
fault or count, and admin endpoints (``/_sim/edit``) work too.

``POST /_sim/triggers`` ``{"triggers": [{"after": "POST /template", "nth": 1, "method": "PATCH",
"path": "/...", "body": {...}}]}`` replaces the plan (``{}`` empties it, as a reset does);
``GET /_sim/triggers`` says how many still wait and what each fired one was answered.
Mailchimp's batch operations count apart, as ``batch PUT /3.0/lists/{list_id}/members/...``, so a
test can also act between two operations of a running batch (pause it there with
``/_sim/config``, edit a member).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Trigger:
    after: str
    nth: int
    method: str
    path: str
    body: Any = None


class TriggerPlan:
    """The requests waiting for their moment, and those made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configure({})

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        triggers = [
            Trigger(
                after=str(item["after"]),
                nth=int(item.get("nth", 1)),
                method=str(item["method"]).upper(),
                path=str(item["path"]),
                body=item.get("body"),
            )
            for item in spec.get("triggers") or []
        ]
        with self._lock:
            self._waiting = triggers
            self._answered: Counter[str] = Counter()
            self._fired: list[dict[str, Any]] = []
        return self.describe()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"waiting": len(self._waiting), "fired": list(self._fired)}

    def due(self, endpoint: str) -> list[Trigger]:
        """Count one answer to ``endpoint``; return the triggers whose moment it is."""
        with self._lock:
            if not self._waiting:
                return []
            self._answered[endpoint] += 1
            due = [
                t for t in self._waiting if (t.after, t.nth) == (endpoint, self._answered[endpoint])
            ]
            self._waiting = [t for t in self._waiting if t not in due]
        return due

    def record(self, trigger: Trigger, status: int) -> None:
        with self._lock:
            self._fired.append(
                {
                    "after": trigger.after,
                    "method": trigger.method,
                    "path": trigger.path,
                    "status": status,
                }
            )
