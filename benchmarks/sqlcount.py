"""Run the syncer command line, counting the SQL statements it executes (a benchmark's wrapper).

    python -m benchmarks.sqlcount OUT.json syncer-arguments...

Every connection the process opens is made with a counting factory: each ``execute`` is one
statement, each ``executemany`` as many statements as it has parameter rows (SQLite steps the
prepared statement once a row). The counts are written to ``OUT.json`` when the process exits, with
the transactions begun (``BEGIN``, a ``SAVEPOINT`` outside a transaction) among them. Counting is a
Python-level increment per call, so it costs the run well under a second; it changes nothing the
run does.
"""

from __future__ import annotations

import atexit
import json
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COUNTS: Counter[str] = Counter()


def _kind(sql: str) -> str:
    words = sql.lstrip().split(None, 1)
    return words[0].upper() if words else ""


class CountingConnection(sqlite3.Connection):
    """A connection that counts what it is asked to run."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        COUNTS["statements"] += 1
        COUNTS[_kind(sql)] += 1
        return super().execute(sql, *args)

    def executemany(self, sql: str, rows: Iterable[Any], /) -> sqlite3.Cursor:
        listed = list(rows)
        COUNTS["statements"] += len(listed)
        COUNTS[_kind(sql)] += len(listed)
        return super().executemany(sql, listed)


_connect = sqlite3.connect


def _counting_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
    kwargs.setdefault("factory", CountingConnection)
    return _connect(*args, **kwargs)


def main() -> None:
    out = Path(sys.argv[1])
    sys.argv = ["syncer", *sys.argv[2:]]
    sqlite3.connect = _counting_connect  # type: ignore[assignment]
    atexit.register(lambda: out.write_text(json.dumps(dict(COUNTS), sort_keys=True)))
    from syncer.cli import main as syncer_main

    syncer_main()


if __name__ == "__main__":
    main()
