"""A first sync never starts by accident: when a run may create a cache, and what it records.

A missing cache means a first sync only where syncer has never run. Every run leaves a trace
beside the cache file: the run lock file, kept after each run, and, after a run killed while it
wrote, SQLite's write-ahead log. A new cache is built under another name and renamed into place,
so syncer never leaves a zero-length cache either. A cache that is missing where those traces
are, or that is empty, was deleted, truncated or moved, or state_path changed by mistake:
starting again from nothing would decide for everyone anew, with the blast-radius guard's
first-sync exemption. So that takes ``--full``, and the cache records why it was created; the
guard exempts only a first sync of a cache that records it.

A run killed while it built the first cache leaves the lock file and the half-built one under
its building name: that folder never had a cache, and the next run starts the first sync.
"""

from __future__ import annotations

import json
from pathlib import Path

from syncer.cache.base import utc_now
from syncer.cache.lock import lock_path_for
from syncer.errors import AccidentalFirstSync

#: Meta key: when and why the cache was created, as JSON (``{"at": ..., "why": ...}``).
CREATED = "created"
#: Meta key: the Mailchimp audience whose sync the cache holds.
AUDIENCE = "mailchimp_audience"

NEW_FOLDER = "a first sync in a state folder where syncer had not run"


def earlier_traces(state_path: Path) -> list[Path]:
    """The files an earlier run of this state_path left beside it. Read before the run takes
    its lock, which leaves the first of them itself."""
    beside = [lock_path_for(state_path), *(Path(f"{state_path}{end}") for end in ("-wal", "-shm"))]
    return [path for path in beside if path.exists()]


def building_path(state_path: Path, pid: int) -> Path:
    """Where a new cache is built before it is renamed into place."""
    return state_path.with_name(f"{state_path.name}.new-{pid}")


def unfinished_builds(state_path: Path) -> list[Path]:
    """Caches whose building stopped before their rename (a run killed in its first moments):
    their state folder has a lock file but never had a cache."""
    return sorted(state_path.parent.glob(f"{state_path.name}.new-*"))


def creation_reason(state_path: Path, *, full: bool, traces: list[Path]) -> str | None:
    """Why a run creates a new cache now, ``None`` when a cache is there.

    Raises :class:`AccidentalFirstSync` when the cache is empty, or missing beside traces of
    earlier runs, unless ``full`` asks for a new first sync on purpose.
    """
    try:
        size: int | None = state_path.stat().st_size
    except FileNotFoundError:
        size = None
    if size:
        return None
    if size == 0:
        found = f"the cache {state_path} is an empty file"
    elif traces:
        found = f"no cache at {state_path}, but {traces[0].name} beside it shows syncer ran there"
    else:
        return f"{NEW_FOLDER} (--full)" if full else NEW_FOLDER
    if size is None and unfinished_builds(state_path):
        return f"{NEW_FOLDER} (an earlier run stopped while it created the cache)"
    if not full:
        raise AccidentalFirstSync(f"{found}: a new first sync would start by accident")
    return f"--full, where {found}"


def created_record(why: str) -> str:
    return json.dumps({"at": utc_now(), "why": why}, sort_keys=True)
