"""The soak's record of a run: a run that stops on an unexpected error keeps the error in the
journal (issue 11: a seed once failed with three exit-6 runs whose journal held only the hint)."""

from __future__ import annotations

import os
from pathlib import Path
from random import Random

import pytest

from syncer.errors import ExitCode
from tests.support.people import InitialWorld
from tests.support.sandbox import SandboxDriver
from tests.support.soak_runs import Runner

#: Loaded by the `syncer` subprocess's interpreter at start (``sitecustomize``): a reconciler
#: that raises stands in for any bug, as the monkeypatch does in test_run_failures.
A_BUG = """
from syncer.run import engine

def _a_bug(*args, **kwargs):
    raise RuntimeError("the reconciler tripped over its own feet")

engine.reconcile_dirty = _a_bug
"""


def test_a_run_ending_on_an_unexpected_error_keeps_the_error_and_traceback_in_the_journal(
    sim: SandboxDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.seed_world(InitialWorld(shared=4, hubspot_only=2, mailchimp_only=2, conflicts=0))
    config = sim.write_config(tmp_path)
    runner = Runner(Random(1), timeout=60)
    assert runner.run(config, "first sync").code == ExitCode.OK
    bug = tmp_path / "bug"
    bug.mkdir()
    (bug / "sitecustomize.py").write_text(A_BUG)
    path = [str(bug), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(path))
    record = runner.run(config, "buggy run")
    assert record.code == ExitCode.UNEXPECTED
    line = record.line()
    assert "error: unexpected error: RuntimeError: the reconciler tripped" in line
    # From --debug: the bug's own frame and exception, not only the way out through the CLI.
    assert "in _a_bug\n" in line
    assert "\n    RuntimeError: the reconciler tripped over its own feet\n" in line
