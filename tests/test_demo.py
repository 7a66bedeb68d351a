"""`syncer demo`: the README's first command, telling the story and ending with a healthy status."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from syncer.cache.store import Store
from syncer.config import load_config
from syncer.sandbox.demo_engagement import featured_person
from tests.test_output_modes import ANSI, in_terminal

STEPS = (
    "1. A sandbox",
    "2. syncer run --dry-run",
    "3. syncer run",
    "4. syncer status",
    "5. A HubSpot list becomes a Mailchimp tag",
    "6. Newsletter engagement lands on the HubSpot contact",
    "7. syncer errors",
    "8. syncer show dana.diallo@tailspin.dev",
)


def test_the_demo_runs_the_whole_job_and_ends_healthy(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "demo", "--keep", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    positions = [out.index(step) for step in STEPS]
    assert positions == sorted(positions)
    assert "would write:" in out
    assert "health: OK" in out.split("4. syncer status", 1)[1]
    config = load_config(tmp_path / "syncer.yaml")
    store = Store(config.state_path)
    try:
        states = {row["email"]: (row["state"], row["reason"]) for row in store.problem_contacts()}
        runs = store.runs()
        late = store.contact_by_email("dana.diallo@tailspin.dev")
        reader = store.contact_by_email(featured_person())
        assert reader is not None
        recorded = store.engagement_of(reader.id)
        written = store.engagement_written(reader.id)
    finally:
        store.close()
    assert [run["outcome"] for run in runs] == ["ok", "ok", "ok"], "sync, list-to-tag, engagement"
    tagged = out.split("5. A HubSpot list becomes a Mailchimp tag", 1)[1]
    assert int(tagged.split(" members tagged Customer", 1)[0].split()[-1]) > 0
    assert "cleaned" in states["bounced.inbox@contoso.net"][1]
    assert "fake" in states["someone@example.com"][1]
    assert late is not None
    assert late.mc is not None
    assert late.mc["status"] == "unsubscribed", "a create never forces a status"
    assert late.hs is not None
    assert late.hs["newsletter"] == "false", "the opt-out the create met reaches HubSpot"
    assert f"The config and cache stay in {tmp_path}" in out
    _engagement_landed(out.split(STEPS[5], 1)[1].split(STEPS[6], 1)[0], recorded, written)


def _engagement_landed(step: str, recorded: list[dict[str, Any]], written: dict[str, str]) -> None:
    """The demo's reader: 3 opens and 2 clicks recorded, a note made, the properties written,
    and what the demo printed (read back from HubSpot's API) says the same."""
    reader = featured_person()
    assert "created the property group mailchimp_engagement and 6 contact properties" in step
    (campaign,) = recorded
    actions = [event[0] for event in campaign["events"]]
    assert (actions.count("open"), actions.count("click")) == (3, 2)
    assert campaign["note_state"] == "ok"
    assert campaign["note_id"]
    assert (written["mailchimp_opens_90d"], written["mailchimp_clicks_90d"]) == ("3", "2")
    shown = step.split(f"{reader} in HubSpot", 1)[1]
    cells = [line.partition(" ") for line in shown.splitlines()[2:8]]
    rows = {name: value.strip() for name, _, value in cells}
    assert rows["mailchimp_opens_90d"] == "3"
    assert rows["mailchimp_clicks_90d"] == "2"
    assert rows["mailchimp_last_campaign"] == "November newsletter"
    assert rows["mailchimp_last_click"] == written["mailchimp_last_click"]
    (note,) = [line for line in shown.splitlines() if line.startswith("note: ")]
    assert (
        "Opened 'November newsletter' 3 times, clicked 2 links: https://example.com/pricing" in note
    )
    created = int(step.split(" notes created", 1)[0].split()[-1])
    assert created > 1, "the other openers got their note too"


def test_the_demo_tells_the_interesting_part_first(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "demo"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    plan = done.stdout.split("2. syncer run --dry-run", 1)[1].split("3. syncer run", 1)[0]
    lines = plan.splitlines()
    first_ordinary = next(
        i for i, line in enumerate(lines) if line.startswith("  Mailchimp create")
    )
    story = "\n".join(lines[:first_ordinary])
    assert re.search(r"conflict on firstname: .* kept \(", story), "a conflict, winner and reason"
    assert "conflict on newsletter:" in story, "the subscription by its property, not @subscription"
    assert "blocked: cleaned by Mailchimp" in story
    assert "HubSpot unsubscribe:" in story
    assert "more people (`syncer run --dry-run` lists them all)" in plan
    assert "blast-radius guard: a real run would go ahead" in plan
    ran = done.stdout.split("3. syncer run", 1)[1].split("4. syncer status", 1)[0]
    assert "blocked 2" in ran
    assert "(the plan counted 1 blocked: those syncer itself refuses to write; " in ran
    errors = done.stdout.split("7. syncer errors", 1)[1]
    assert "someone@example.com" in errors
    assert "hint: Mailchimp refuses this address" in errors
    dana = done.stdout.split("8. syncer show dana.diallo@tailspin.dev", 1)[1]
    assert "She stands at: Mailchimp 'unsubscribed', HubSpot newsletter 'false'." in dana


def test_in_a_terminal_the_demo_draws_its_phases_once_as_progress_rows() -> None:
    drawn = ANSI.sub("", in_terminal("demo")).replace("\r", "\n")
    assert "━" in drawn, "no progress bars on a terminal"
    assert not re.search(r"INFO\s+reconciling", drawn), "phases printed as log lines as well"
