"""Seeded fault injection shared by both simulators.

Faults model what the real services do to a client on a bad day. Where a fault strikes matters:
``429``, ``500`` and ``503`` refuse the request before it runs, while ``drop`` and ``malformed`` run
it and then lose or garble the answer, so a client that retries a write must be idempotent to
survive them. ``slow`` waits, then runs the request; ``late`` runs it, then waits before answering
(a write that has landed while its client may still be killed waiting: asked for by name only).
``truncated_archive`` applies only to batch result downloads. ``paths`` limits faults to some
endpoints (``"POST /crm/v3/objects/contacts/batch/create"``), for tests that aim at one call.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Collection
from typing import Any

FAULT_KINDS = (
    "429",
    "500",
    "502",
    "503",
    "504",
    "423",
    "403",
    "slow",
    "late",
    "drop",
    "malformed",
    "truncated_archive",
)
REFUSING_KINDS = frozenset({"429", "500", "502", "503", "504", "423", "403"})
#: Kinds a plan draws from only when named: the others are what a bad day brings by default.
ON_REQUEST_KINDS = frozenset({"late"})


class FaultPlan:
    """Decides, request by request, whether and how to misbehave."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configure({"rate": 0})

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        rate = float(spec.get("rate", 0))
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        kinds = list(spec.get("kinds") or [k for k in FAULT_KINDS if k not in ON_REQUEST_KINDS])
        unknown = sorted(set(kinds) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds: {', '.join(unknown)}")
        seed = spec.get("seed")
        paths = spec.get("paths")
        with self._lock:
            self.rate = rate
            self.kinds = kinds
            self.paths = frozenset(paths) if paths else None
            self.seed = seed
            self._random = random.Random(seed)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        paths = sorted(self.paths) if self.paths else None
        return {"rate": self.rate, "kinds": list(self.kinds), "seed": self.seed, "paths": paths}

    def draw(self, applicable: Collection[str], endpoint: str) -> str | None:
        """Return the fault to inject into this request (``endpoint``: ``"POST /template"``)."""
        with self._lock:
            if self.rate <= 0 or (self.paths is not None and endpoint not in self.paths):
                return None
            candidates: list[str] = [kind for kind in self.kinds if kind in applicable]
            if not candidates or self._random.random() >= self.rate:
                return None
            return self._random.choice(candidates)
