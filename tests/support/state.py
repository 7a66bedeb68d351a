"""Direct edits of a test's cache file, for states a test cannot reach by running syncer."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def sql(tmp_path: Path, statement: str, *params: object) -> None:
    """Run one statement on the cache that `SandboxDriver.write_config` puts under tmp_path."""
    connection = sqlite3.connect(tmp_path / "state" / "syncer.db")
    with connection:
        connection.execute(statement, params)
    connection.close()
