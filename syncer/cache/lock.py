"""The run lock: one `syncer run` per state file at a time.

An advisory ``flock`` on a file beside the cache. The kernel drops the lock when its holder dies,
SIGKILL included, so a lock left by a killed run is taken over by the next one without any
staleness heuristics; the holder's pid is written into the file only to name it in the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from syncer.errors import LockHeld, StateError


def lock_path_for(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".lock")


@contextlib.contextmanager
def run_lock(state_path: Path) -> Iterator[None]:
    """Hold the run lock for the duration of the block, or raise :class:`LockHeld` at once."""
    path = lock_path_for(state_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise StateError(f"cannot create the lock file {path}: {error.strerror}") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
            raise LockHeld(f"another syncer run (pid {holder}) holds the lock on {path}") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def lock_holder(state_path: Path) -> int | None:
    """The pid of the live process holding the run lock, ``None`` when no run is going.

    Read from the pid the holder wrote, never by taking the lock: a status check that took it,
    even for an instant, could make a cron run starting at that moment exit with "locked".
    A run killed without unlocking leaves its pid, which then names no live process.
    """
    try:
        text = lock_path_for(state_path).read_text(errors="replace").strip()
    except OSError:
        return None
    if not text.isdigit():
        return None
    pid = int(text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # alive, under another user
    return pid
