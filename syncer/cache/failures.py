"""What a failing SQLite cache means to an operator, read from the error's code, never its words.

SQLite reports a full disk, a refused write, a read-only or corrupt file each with its own result
code (``sqlite_errorname``); each becomes a :class:`~syncer.errors.StateError` saying what
happened and what to do, instead of a traceback.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from syncer.errors import StateError

_MEANINGS: dict[str, tuple[str, str]] = {
    "SQLITE_FULL": (
        "the cache {path} could not be written: the disk is full",
        "Free space on that disk (or move state_path), then run again; nothing is lost.",
    ),
    "SQLITE_IOERR": (
        "the cache {path} could not be written: the disk refused the write",
        "Check that disk: free space, quotas, file-size limits, that it is still mounted; "
        "then run again. Nothing is lost.",
    ),
    "SQLITE_READONLY": (
        "the cache {path} could not be written: it is read-only",
        "Check the permissions of the file and its folder for the user cron runs syncer as.",
    ),
    "SQLITE_CORRUPT": (
        "the cache {path} is corrupt",
        "Move the file aside and run `syncer run --full` to build a new one from both sides.",
    ),
    "SQLITE_NOTADB": (
        "the cache {path} is not a syncer cache",
        "Check state_path: it points at a file that is not an SQLite database.",
    ),
    "SQLITE_BUSY": (
        "the cache {path} is locked by another program",
        "Something other than a syncer run holds the file open (a backup, an SQLite shell); "
        "close it and run again.",
    ),
}
_MEANINGS["SQLITE_LOCKED"] = _MEANINGS["SQLITE_BUSY"]


def cache_failure(error: BaseException, path: Path | None) -> StateError | None:
    """The operator's reading of an SQLite error met while using the cache at ``path``."""
    if not isinstance(error, sqlite3.Error):
        return None
    name = str(getattr(error, "sqlite_errorname", "") or "")
    primary = "_".join(name.split("_")[:2])
    meaning = _MEANINGS.get(primary)
    if meaning is None:
        return None
    message, hint = meaning
    return StateError(message.format(path=path or "file"), hint=hint)
