"""What every part of the cache shares: the connection, JSON columns, the clock, events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database


def utc_now() -> str:
    """Local time, for the cache's own bookkeeping only; never compared with a server's time."""
    return datetime.now(UTC).isoformat(timespec="seconds")


#: One encoder for every JSON column: ``json.dumps`` with options builds a new one per call,
#: which is most of its cost on the small values the cache stores by the hundred thousand.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class StoreBase:
    db: Database

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit; nested uses become savepoints."""
        with self.db.atomic():
            yield

    def add_event(
        self, run_id: int | None, contact_id: int | None, kind: str, detail: str, field: str = ""
    ) -> None:
        """Record a decision worth explaining later (a conflict, a block, a duplicate...)."""
        self.db.execute(
            "INSERT INTO events (run_id, contact_id, kind, field, detail, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, contact_id, kind, field or None, detail, utc_now()],
        )
