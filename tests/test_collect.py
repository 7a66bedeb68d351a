"""Mailchimp's batch results collected while HubSpot is written (run.collect)."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.run import decide
from tests.support.people import InitialWorld
from tests.support.sandbox import SandboxDriver
from tests.test_pipeline import CRM, SLOW_HUBSPOT, first_sync


@pytest.fixture
def decide_in_hundreds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 100, so a small world is decided during its read (a batch goes out in it)."""
    monkeypatch.setattr(decide, "RECONCILE_CHUNK", 100)


@pytest.mark.usefixtures("decide_in_hundreds")
def test_a_batch_done_during_the_read_is_settled_while_hubspot_is_written(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """With no time left to wait for batches after the writes (``batch_wait_seconds: 0``), the
    batch sent during the read is still settled by this run: it was collected while HubSpot's
    creates went. The next run finds nothing to collect, write or decide again."""
    world = InitialWorld(shared=300, hubspot_only=CRM, mailchimp_only=300)
    sim.seed_world(world)
    sim.configure("hubspot", SLOW_HUBSPOT)
    config = sim.write_config(tmp_path, sync={"batch_wait_seconds": 0, "batch_poll_seconds": 0.05})
    counts = first_sync(config)
    assert counts["batches_while_reading"] == 1
    assert counts["batches_collected_beside_hubspot"] >= 1
    assert counts["batches_processed"] >= 1
    assert counts["batches_open"] == counts["batches_submitted"] - counts["batches_processed"]
    sim.settle_batches()
    again = first_sync(config)
    assert again["written_hubspot"] == again["written_mailchimp"] == 0
    assert again["batches_open"] == 0
    members = {m["email_address"] for m in sim.mailchimp_members()}
    assert len(members) == world.shared + world.mailchimp_only + CRM // 2
    assert len(sim.hubspot_contacts(["email"])) == world.shared + CRM + world.mailchimp_only
