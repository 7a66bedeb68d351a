"""The blast-radius guard counts consent withdrawals: a broken mapping must not become a mass
withdrawal of marketing permissions any more than a mass unsubscribe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sandbox import SandboxDriver
from tests.test_preferences_sync import config, permission, run, seed
from tests.test_segments_tags import invoke

pytestmark = pytest.mark.timeout(120)
SAFETY = {"min_guarded": 3, "max_unsubscribe_share": 0.2}


def test_a_mass_withdrawal_stops_the_run_and_force_sends_it(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = seed(sim, 10, gdpr_email="true")
    path = config(sim, tmp_path, safety=SAFETY)
    run(path)
    assert all(permission(sim, f"person{i}@real.org") for i in range(10))
    for contact_id in ids[:6]:
        sim.hubspot_edit(contact_id, {"gdpr_email": "false"})
    sim.advance(60)
    plan = invoke(path, "run", "--dry-run", "--json")
    assert plan.exit_code == 5, plan.output + plan.stderr
    (check,) = [c for c in json.loads(plan.stdout)["guard"]["checks"] if c["what"] == "withdrawals"]
    assert (check["count"], check["tripped"]) == (6, True)
    before = sim.writes("mailchimp")
    stopped = invoke(path, "run")
    assert stopped.exit_code == 5, stopped.output + stopped.stderr
    assert "6 withdrawals > limit 3" in stopped.stderr
    assert sim.writes("mailchimp") == before
    assert invoke(path, "run", "--force").exit_code == 0
    sim.settle_batches()
    invoke(path, "run")
    assert sum(permission(sim, f"person{i}@real.org") for i in range(10)) == 4


def test_a_few_withdrawals_go_ahead(sim: SandboxDriver, tmp_path: Path) -> None:
    ids = seed(sim, 10, gdpr_email="true")
    path = config(sim, tmp_path, safety=SAFETY)
    run(path)
    sim.hubspot_edit(ids[0], {"gdpr_email": "false"})
    sim.advance(60)
    report = run(path)
    assert report["outcome"] == "ok"
    assert not permission(sim, "person0@real.org")
