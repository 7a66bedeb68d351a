"""Seeded fault injection shared by both simulators.

Faults model what the real services do to a client on a bad day. Where a fault strikes matters:
``429``, ``500`` and ``503`` refuse the request before it runs, while ``drop`` and ``malformed`` run
it and then lose or garble the answer, so a client that retries a write must be idempotent to
survive them. ``slow`` answers correctly, late. ``truncated_archive`` applies only to batch result
downloads.
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
    "drop",
    "malformed",
    "truncated_archive",
)
REFUSING_KINDS = frozenset({"429", "500", "502", "503", "504", "423", "403"})


class FaultPlan:
    """Decides, request by request, whether and how to misbehave."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configure({"rate": 0})

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        rate = float(spec.get("rate", 0))
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        kinds = list(spec.get("kinds") or FAULT_KINDS)
        unknown = sorted(set(kinds) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds: {', '.join(unknown)}")
        seed = spec.get("seed")
        with self._lock:
            self.rate = rate
            self.kinds = kinds
            self.seed = seed
            self._random = random.Random(seed)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        return {"rate": self.rate, "kinds": list(self.kinds), "seed": self.seed}

    def draw(self, applicable: Collection[str]) -> str | None:
        """Return the fault to inject into this request, or ``None``."""
        with self._lock:
            if self.rate <= 0:
                return None
            candidates: list[str] = [kind for kind in self.kinds if kind in applicable]
            if not candidates or self._random.random() >= self.rate:
                return None
            return self._random.choice(candidates)
