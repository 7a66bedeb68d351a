"""`syncer demo`: the README's first command, ending with a healthy status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from syncer.cache.store import Store
from syncer.config import load_config


def test_the_demo_runs_the_whole_job_and_ends_healthy(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "demo", "--keep", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for step in ("1. A sandbox", "2. syncer run --dry-run", "3. syncer run", "4. syncer status"):
        assert step in out
    assert "would write:" in out
    assert "health: OK" in out.split("4. syncer status", 1)[1]
    config = load_config(tmp_path / "syncer.yaml")
    store = Store(config.state_path)
    try:
        states = {row["email"]: (row["state"], row["reason"]) for row in store.problem_contacts()}
        runs = store.runs()
        late = store.contact_by_email("dana.diallo@tailspin.dev")
    finally:
        store.close()
    assert [run["outcome"] for run in runs] == ["ok", "ok"], "the sync, then the list-to-tag step"
    tagged = out.split("5. A HubSpot list becomes a Mailchimp tag", 1)[1]
    assert int(tagged.split(" members tagged Customer", 1)[0].split()[-1]) > 0
    assert "cleaned" in states["bounced.inbox@contoso.net"][1]
    assert "fake" in states["someone@example.com"][1]
    assert late is not None
    assert late.mc is not None
    assert late.mc["status"] == "unsubscribed", "a create never forces a status"
    assert late.hs is not None
    assert late.hs["newsletter"] == "false", "the opt-out the create met reaches HubSpot"
