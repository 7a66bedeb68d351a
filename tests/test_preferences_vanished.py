"""Groups and permissions that are not (or no longer) in the audience: a name that is not there
stops a run before any write with the nearest names, and an interest deleted while a run's
writes wait in a batch never takes a new member's subscription with it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.support.sandbox import SandboxDriver
from tests.test_preferences_sync import PROPERTIES, config, interest_ids, member, seed
from tests.test_segments_tags import invoke

pytestmark = pytest.mark.timeout(120)


def test_a_name_the_audience_lacks_is_named_with_the_nearest_ones(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    seed(sim, 1)
    path = config(
        sim,
        tmp_path,
        interests=[
            {"hubspot": "wants_events", "category": "Topics", "mailchimp": "Ofers"},
            {"hubspot": "topics", "category": "Invite"},
        ],
        permissions=[{"hubspot": "gdpr_email", "mailchimp": "E-mail"}],
    )
    before = sim.writes("mailchimp"), sim.writes("hubspot")
    result = invoke(path, "run")
    assert result.exit_code == 2, result.output + result.stderr
    stderr = " ".join(result.stderr.split())
    assert "interests[0].mailchimp: group 'Topics' has no interest 'Ofers' (did you mean " in (
        stderr
    )
    assert "'Offers'?" in stderr
    assert "interests[1].category: the audience has no group 'Invite' (did you mean 'Invites'?" in (
        stderr
    )
    assert "no marketing permission 'E-mail' (did you mean 'Email'?" in stderr
    assert (sim.writes("mailchimp"), sim.writes("hubspot")) == before


def _delete_when_batched(sim: SandboxDriver, interest: str, done: threading.Event) -> None:
    """Once the run has submitted its batch (held by the simulator), delete ``interest`` in the
    audience, then let the batch run."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(
        key.startswith("POST") and key.endswith("/batches")
        for key in sim.requests("mailchimp")["counts"]
    ):
        time.sleep(0.02)
    categories = sim.http.get(
        f"{sim.mc_url}/lists/{sim.list_id}/interest-categories", auth=sim.mc_auth, timeout=10
    ).json()["categories"]
    topics = next(c["id"] for c in categories if c["title"] == "Topics")
    sim.http.delete(
        f"{sim.mc_url}/lists/{sim.list_id}/interest-categories/{topics}/interests/{interest}",
        auth=sim.mc_auth,
        timeout=10,
    )
    sim.configure("mailchimp", {"batch_paused": False})
    done.set()


def test_an_interest_deleted_while_a_create_waits_never_takes_the_subscription_with_it(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    seed(sim, 0)
    sim.seed_hubspot(
        [{"properties": {"email": "new@real.org", "newsletter": "true", "topics": "News"}}],
        PROPERTIES,
    )
    path = config(
        sim,
        tmp_path,
        sync={"direct_threshold": 0, "batch_wait_seconds": 20, "batch_poll_seconds": 0.05},
    )
    news = interest_ids(sim)["News"]
    sim.configure("mailchimp", {"batch_paused": True})
    done = threading.Event()
    deleter = threading.Thread(target=_delete_when_batched, args=(sim, news, done), daemon=True)
    deleter.start()
    result = invoke(path, "run")
    deleter.join(timeout=35)
    assert done.is_set()
    assert result.exit_code == 1, result.output + result.stderr  # partial: the refused create
    assert member(sim, "new@real.org")["status"] == "subscribed", "the create went again alone"
    assert "new@real.org" in invoke(path, "errors").output
    again = invoke(path, "run")
    assert again.exit_code == 1, again.output + again.stderr
    errors = " ".join(invoke(path, "errors").output.split())
    assert "HubSpot topics holds 'News', which is no interest of Mailchimp group 'Topics'" in (
        errors
    )
