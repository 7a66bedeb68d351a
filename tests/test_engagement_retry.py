"""`syncer retry` re-attempts engagement as it does contacts: a note HubSpot refused (here a
private app without the notes scope: 403 on every create) stays refused, reported, until the
operator fixes the cause and runs `syncer retry EMAIL` or `--all`; the next run writes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from syncer.core import causes
from tests.engagement_support import engaged_config, invoke, notes, record, run_json, send_campaign
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver

WORLD = InitialWorld(shared=3, hubspot_only=0, mailchimp_only=0, conflicts=0)
CREATE = "POST /crm/v3/objects/notes/batch/create"
ANN, BOB = email("shared", 0), email("shared", 1)


def refused(sim: SandboxDriver, tmp_path: Path) -> Path:
    """Ann's and Bob's notes refused by HubSpot, then the cause fixed."""
    sim.seed_world(WORLD)
    config = engaged_config(sim, tmp_path)
    assert invoke(config, "check", "--fix").exit_code == 0
    assert run_json(config)["outcome"] == "ok"
    campaign = send_campaign(sim, "Spring sale")
    record(sim, campaign, {"email": ANN, "action": "open"}, {"email": BOB, "action": "open"})
    sim.faults("hubspot", {"rate": 1, "kinds": ["403"], "paths": [CREATE]})
    report = run_json(config)
    assert report["outcome"] == "partial", report
    assert notes(sim) == []
    assert set(problems(config)) == {ANN, BOB}
    sim.faults("hubspot", {"rate": 0})
    sim.advance(5)
    quiet = run_json(config)
    assert CREATE not in quiet["api_calls"]["hubspot"]["by_endpoint"], "refused stays refused"
    return config


def problems(config: Path) -> list[str]:
    listed = invoke(config, "errors", "--json")
    assert listed.exit_code == 0, listed.output
    groups: list[dict[str, Any]] = json.loads(listed.stdout)["groups"]
    return [e for g in groups if g["cause"] == causes.ENGAGEMENT_NOTE_REFUSED for e in g["emails"]]


def test_retry_email_writes_that_persons_refused_note_again(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config = refused(sim, tmp_path)
    retried = invoke(config, "retry", ANN)
    assert retried.exit_code == 0, retried.output
    assert problems(config) == [BOB], "Ann's problem is cleared, Bob's stays"
    report = run_json(config)
    assert report["outcome"] == "ok", report
    assert report["counts"]["engagement_notes_created"] == 1
    (note,) = notes(sim)
    assert "Opened 'Spring sale' 1 time." in note["properties"]["hs_note_body"]


def test_retry_all_writes_every_refused_note_again(sim: SandboxDriver, tmp_path: Path) -> None:
    config = refused(sim, tmp_path)
    retried = invoke(config, "retry", "--all")
    assert retried.exit_code == 0, retried.output
    assert "2 contacts queued again" in retried.stdout
    assert problems(config) == []
    report = run_json(config)
    assert report["counts"]["engagement_notes_created"] == 2
    assert len(notes(sim)) == 2
    assert run_json(config)["counts"].get("engagement_notes_created", 0) == 0
