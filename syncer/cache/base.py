"""What every part of the cache shares: the connection, JSON columns, the clock, events."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
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

    def select(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> Iterator[dict[str, Any]]:
        """Rows of a read, as dicts, straight from the connection.

        Not sqlite-utils' ``query()``: that wraps every read in a savepoint (to undo a statement
        that turns out not to return rows), which outside a transaction is a transaction of its
        own, three statements for one SELECT. Every read here is a SELECT written in this package.
        """
        cursor = self.db.conn.execute(sql, params)
        keys = [column[0] for column in cursor.description]
        return (dict(zip(keys, row, strict=True)) for row in cursor)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit; nested uses become savepoints."""
        with self.db.atomic():
            yield

    @contextmanager
    def joined(self) -> Iterator[None]:
        """One atomic unit, or a part of the transaction already open, without a savepoint.

        A savepoint copies every page it changes to a statement journal first (a temporary
        file once past 64 KB): for a fetched page, thousands of pages written for nothing. Inside
        a caller's transaction an error here ends that whole transaction, whose work is then
        undone with it: the caller must not carry on past the error in the same transaction.
        """
        if self.db.conn.in_transaction:
            yield
            return
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
