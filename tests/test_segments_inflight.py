"""Tag writes still on their way (queued after a lost answer, or in an open Mailchimp batch) when
the next run decides the person's tags again: the later decision wins, and the write reaches the
member wherever an earlier write moved it. CLI, cache file, both simulators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncer.errors import ExitCode
from tests.support.sandbox import SandboxDriver
from tests.test_segments_tags import (
    change_list,
    config_with,
    hubspot_list,
    invoke,
    people,
    tags_of,
)

TAGS_PATH = "POST /3.0/lists/{list_id}/members/{subscriber_hash}/tags"
BATCHED = {"direct_threshold": 0, "batch_wait_seconds": 0.3, "batch_poll_seconds": 0.05}
DIRECT = {**BATCHED, "direct_threshold": 10}
QUICK_HTTP = {"max_tries": 2, "max_time": 5}


def run(config: Path, *, faulty: bool = False) -> None:
    result = invoke(config, "run")
    allowed = (ExitCode.OK, ExitCode.PARTIAL) if faulty else (ExitCode.OK,)
    assert result.exit_code in allowed, result.output + result.stderr


def quiet(sim: SandboxDriver, config: Path) -> None:
    """A run after everything settled writes nothing more."""
    sim.settle_batches()
    sim.advance(60)
    before = sim.writes("mailchimp"), sim.writes("hubspot")
    run(config)
    assert (sim.writes("mailchimp"), sim.writes("hubspot")) == before


def stage(sim: SandboxDriver, contact_id: str, value: str) -> None:
    sim.hubspot_edit(contact_id, {"lifecyclestage": value})
    sim.advance(60)


def config_for(sim: SandboxDriver, tmp_path: Path, sync: dict[str, Any]) -> Path:
    return config_with(sim, tmp_path, sync=sync, http=QUICK_HTTP)


def test_a_tag_add_left_queued_by_a_lost_answer_is_not_sent_once_unwanted(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Found by the 5,000-people soak (seed 1): the add stayed queued, the next decision saw
    a member without the tag and an unwanted tag, so it queued nothing, and the stale add was
    sent; the member kept ``Customer`` with its contact an ``opportunity``."""
    (cid,) = people(sim, 1, lifecyclestage="lead")
    hubspot_list(sim, "MQLs", [])
    config = config_for(sim, tmp_path, DIRECT)
    run(config)
    stage(sim, cid, "customer")
    sim.faults("mailchimp", {"rate": 1, "kinds": ["503"], "paths": [TAGS_PATH]})
    run(config, faulty=True)
    sim.faults("mailchimp", {"rate": 0})
    assert tags_of(sim) == {"person0@real.org": []}

    stage(sim, cid, "opportunity")
    run(config)
    assert tags_of(sim) == {"person0@real.org": []}
    quiet(sim, config)
    assert tags_of(sim) == {"person0@real.org": []}


def test_a_tag_add_in_an_open_batch_is_taken_back_after_it_lands(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """The add waits in a batch Mailchimp has not run when the person leaves the list. Judged
    by the member as cached (no tag yet), the leave asked for nothing; the add then landed, its
    answer put the tag in the cache, the member's next read matched the cache, and the tag
    stayed. A remove sent at once would be no better: it would run before the batch."""
    (cid,) = people(sim, 1)
    mqls = hubspot_list(sim, "MQLs", [])
    config = config_for(sim, tmp_path, BATCHED)
    run(config)
    change_list(sim, mqls, add=[cid])
    sim.configure("mailchimp", {"batch_paused": True})
    run(config)  # the add is submitted; its batch stays open

    change_list(sim, mqls, remove=[cid])
    config = config_for(sim, tmp_path, DIRECT)
    run(config)
    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    sim.advance(60)
    run(config)
    assert tags_of(sim) == {"person0@real.org": []}
    quiet(sim, config)
    assert tags_of(sim) == {"person0@real.org": []}
    shown = invoke(config, "show", "person0@real.org").output
    assert "remove tag 'MQL': no longer in HubSpot list 'MQLs'" in shown


def test_a_tag_write_after_a_rename_still_in_an_open_batch_reaches_the_renamed_member(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """An earlier run's rename waits in an open batch when the next run decides a tag: the tag
    write must not go to the old address, where nobody is once the rename has run."""
    contact = {"email": "old@real.org", "firstname": "N", "newsletter": "true"}
    (cid,) = sim.seed_hubspot([{"properties": contact}])
    sim.seed_mailchimp([{"email_address": "old@real.org", "status": "subscribed"}])
    hubspot_list(sim, "MQLs", [cid])
    config = config_for(sim, tmp_path, BATCHED)
    run(config)
    assert tags_of(sim) == {"old@real.org": ["MQL"]}
    sim.advance(60)
    sim.hubspot_edit(cid, {"email": "new@real.org"})
    sim.advance(60)
    sim.configure("mailchimp", {"batch_paused": True})
    run(config)  # the rename is submitted; its batch stays open

    stage(sim, cid, "customer")
    run(config)
    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    sim.advance(60)
    run(config)
    sim.settle_batches()
    sim.advance(60)
    run(config)
    assert tags_of(sim) == {"new@real.org": ["Customer", "MQL"]}
    quiet(sim, config)
    problems = invoke(config, "errors").output
    assert "Resource Not Found" not in problems, problems
