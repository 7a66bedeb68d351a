"""Direct edits of a test's cache file, for states a test cannot reach by running syncer."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any


def sql(tmp_path: Path, statement: str, *params: object) -> None:
    """Run one statement on the cache that `SandboxDriver.write_config` puts under tmp_path."""
    connection = sqlite3.connect(tmp_path / "state" / "syncer.db")
    with connection:
        connection.execute(statement, params)
    connection.close()


def listed_people(errors_json: str) -> list[dict[str, Any]]:
    """`syncer errors --json --limit 0` flattened to one entry per person, in its order."""
    return [
        {"email": address, **{k: v for k, v in group.items() if k != "emails"}}
        for group in json.loads(errors_json)["groups"]
        for address in group["emails"]
    ]
