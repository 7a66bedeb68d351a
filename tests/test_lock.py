"""The run lock between real processes, including one killed with SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer.cache.lock import lock_path_for, run_lock
from syncer.errors import LockHeld

HOLD = """
import sys, time
from collections.abc import Iterator
from pathlib import Path
from syncer.cache.lock import run_lock
with run_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(30)
"""


@contextlib.contextmanager
def holder(state: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process holding the lock on ``state`` until it is killed."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state)], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        try:
            yield child
        finally:
            child.kill()


def test_a_second_holder_is_refused_at_once_naming_the_first(tmp_path: Path) -> None:
    state = tmp_path / "syncer.db"
    with holder(state) as child:
        started = time.monotonic()
        with pytest.raises(LockHeld, match=f"pid {child.pid}"), run_lock(state):
            pass
        assert time.monotonic() - started < 1


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    state = tmp_path / "syncer.db"
    with holder(state) as child:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    assert lock_path_for(state).exists()
    with run_lock(state):
        assert lock_path_for(state).read_text().strip() == str(os.getpid())
