"""Issue 11.7: an edit made while syncer's batch waits in Mailchimp's queue is not overwritten
when the batch runs: the unstarted batch is cancelled, that write held, the rest sent again
(``syncer.run.cancel``).

The edit is made by the simulator right after it accepts the batch, which it pauses at the same
moment (``syncer.sandbox.triggers``), so the batch is still pending when syncer looks again.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.edits import (
    MEMBER,
    both_sides,
    edit_while_batch_waits,
    fname_edit,
    run,
    show,
    synced,
)
from tests.support.people import email
from tests.support.sandbox import SandboxDriver
from tests.test_sync_crash import start_run

BATCH = "/3.0/batches/{batch_id}"
LISTING = "GET /3.0/lists/{list_id}/members"
PAUSE = {"method": "POST", "path": "/_sim/config", "body": {"batch_paused": True}}
UNPAUSE = {"method": "POST", "path": "/_sim/config", "body": {"batch_paused": False}}
QUICK = {"batch_wait_seconds": 3, "batch_poll_seconds": 0.05, "direct_threshold": 0}


def edit_wins(sim: SandboxDriver, config: Path, *people: str) -> None:
    """Two more runs, each after the batches have run: the Mailchimp edit is on both sides."""
    for _ in range(2):
        sim.settle_batches()
        sim.advance(60)
        run(config)
    sim.settle_batches()
    for person in people:
        contact, member = both_sides(sim, person)
        assert (contact["firstname"], member["merge_fields"]["FNAME"]) == ("Mailchimp-Edit",) * 2


def test_a_mailchimp_edit_while_the_batch_is_pending_is_not_overwritten(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config, person, other = edit_while_batch_waits(sim, tmp_path, QUICK)

    report = run(config)
    assert [t["status"] for t in sim.triggered("mailchimp")] == [200, 200]
    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    member = sim.mailchimp_by_email()[person]
    assert member["merge_fields"]["FNAME"] == "Mailchimp-Edit", "the batch overwrote the edit"
    assert sim.mailchimp_by_email()[other]["merge_fields"]["FNAME"] == "Other-Name", "others go"
    calls = report["api_calls"]["mailchimp"]["by_endpoint"]
    assert calls.get("DELETE /batches/{batch_id}") == 1, calls
    assert calls.get("POST /batches") == 2, calls  # the batch, then the rest of it again
    assert "Mailchimp changed FNAME after syncer read it" in show(config, person)

    sim.advance(60)
    run(config)  # collects the batch sent again; both changed since they agreed: the edit wins
    sim.settle_batches()
    sim.advance(60)
    run(config)
    contact, member = both_sides(sim, person)
    assert (contact["firstname"], member["merge_fields"]["FNAME"]) == ("Mailchimp-Edit",) * 2
    assert sim.hubspot_by_email(["email", "firstname"])[other]["firstname"] == "Other-Name"
    sim.settle_batches()
    sim.advance(60)
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    run(config)
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes, "no loop"


@pytest.mark.parametrize("fault", ["slow", "late"])
def test_a_run_killed_while_it_cancels_a_batch_is_finished_by_the_next(
    sim: SandboxDriver, tmp_path: Path, fault: str
) -> None:
    """SIGKILL while the DELETE is in flight: before Mailchimp carries it out (``slow``) or
    after (``late``). The cache says ``cancelling``; the next run deletes the batch again (a
    404 is as good), sends its writes again, and the edit is decided in with the fetch."""
    config, person, other = edit_while_batch_waits(sim, tmp_path, QUICK)
    sim.configure("mailchimp", {"slow_s": 2})
    sim.faults("mailchimp", {"rate": 1, "kinds": [fault], "paths": [f"DELETE {BATCH}"]})

    process = start_run(config)
    sim.wait_for_request("mailchimp", f"DELETE {BATCH}")
    process.kill()
    process.communicate(timeout=10)
    time.sleep(2.5)  # the simulator finishes the killed call's DELETE, or not, either way
    sim.faults("mailchimp", {"rate": 0})

    sim.advance(60)
    run(config)
    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    members = sim.mailchimp_by_email()
    assert members[person]["merge_fields"]["FNAME"] == "Mailchimp-Edit", "the edit was overwritten"
    assert members[other]["merge_fields"]["FNAME"] == "Other-Name", "the rest was sent again"
    edit_wins(sim, config, person)


def test_a_mailchimp_edit_while_the_batch_runs_is_put_back_once_it_has_run(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """A started batch cannot be cancelled. The simulator pauses it after its first write and
    edits both members: one edit came after that member's write (it stands), the other will be
    written over when the batch goes on. The run's look sees both changed, notes what it saw on
    the writes still running, and once the batch has run reads the members again: the one whose
    write went over the edit gets the edit back (a ``restored`` event), the other is left."""
    config, hubspot_id = synced(sim, tmp_path, sync=QUICK)
    people = [email("shared", 1), email("shared", 2)]
    for number, person in enumerate(people, 1):
        sim.hubspot_edit(hubspot_id[person], {"firstname": f"HubSpot-{number}"})
    sim.advance(60)
    edits = [fname_edit(sim, person, "Mailchimp-Edit") for person in people]
    # The fetch lists current and archived members, the check before submitting too; the
    # third pair is the run's look while the batch is paused midway: then it goes on.
    first = f"batch PUT {MEMBER}"
    sim.plan_triggers(
        "mailchimp",
        [*({"after": first, **request} for request in [PAUSE, *edits])]
        + [{"after": LISTING, "nth": 6, **UNPAUSE}],
    )

    report = run(config)
    sim.configure("mailchimp", {"batch_paused": False})  # had the run not looked meanwhile
    sim.settle_batches()
    members = sim.mailchimp_by_email()
    assert [members[p]["merge_fields"]["FNAME"] for p in people] == ["Mailchimp-Edit"] * 2, (
        "the batch overwrote an edit"
    )
    assert [t["status"] for t in sim.triggered("mailchimp")] == [200] * 4
    assert report["counts"]["restored_overwritten"] == 1
    assert sum("restored FNAME in Mailchimp" in show(config, p) for p in people) == 1

    edit_wins(sim, config, *people)
    sim.advance(60)
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    run(config)
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes, "no loop"


def test_a_batch_waiting_past_many_looks_is_still_cancelled_for_a_late_edit(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Looks go on while a batch holding writes waits (within ``sync.batch_wait_seconds``),
    not for a fixed count: an edit made after ten looks still cancels it."""
    config, hubspot_id = synced(sim, tmp_path, sync=QUICK)
    person = email("shared", 1)
    sim.hubspot_edit(hubspot_id[person], {"firstname": "HubSpot-Name"})
    sim.advance(60)
    # 2 listings by the fetch, 2 by the check before submitting, then 2 a look.
    edit = fname_edit(sim, person, "Mailchimp-Edit")
    sim.plan_triggers(
        "mailchimp",
        [{"after": "POST /3.0/batches", **PAUSE}, {"after": LISTING, "nth": 24, **edit}],
    )

    report = run(config)
    fired = [t["status"] for t in sim.triggered("mailchimp")]
    assert fired == [200, 200], "the run stopped looking at the waiting batch before the edit"
    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    member = sim.mailchimp_by_email()[person]
    assert member["merge_fields"]["FNAME"] == "Mailchimp-Edit", "the batch overwrote the edit"
    assert report["counts"]["batches_cancelled"] == 1


def test_an_edit_the_next_runs_fetch_reads_while_a_batch_waits_is_put_back(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """A run that stops waiting at once leaves its batch queued; the member is edited; the next
    run's fetch reads the edit while the batch still waits, and the person is not decided
    again (its write is out). The fetch is a look too: what it saw is noted on the waiting
    write, and once the batch has run over it, the edit is put back (soak seed 12 lost one so:
    the batch ran 0.3 s after the next run's read)."""
    _, hubspot_id = synced(sim, tmp_path, sync=QUICK)
    config = sim.write_config(tmp_path, sync={**QUICK, "batch_wait_seconds": 0})
    person = email("shared", 1)
    sim.hubspot_edit(hubspot_id[person], {"firstname": "HubSpot-Name"})
    sim.advance(60)
    sim.trigger_after("mailchimp", "POST /3.0/batches", PAUSE)
    run(config)  # submits the batch, which waits, and does not wait for it
    sim.mailchimp_edit(person, {"merge_fields": {"FNAME": "Mailchimp-Edit"}})
    sim.advance(60)
    run(config)  # reads the edit; the batch is still waiting
    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    assert sim.mailchimp_by_email()[person]["merge_fields"]["FNAME"] == "HubSpot-Name"

    sim.advance(60)
    report = run(config)  # collects the batch: it went over what the fetch saw
    assert report["counts"]["restored_overwritten"] == 1
    assert "restored FNAME in Mailchimp" in show(config, person)
    edit_wins(sim, config, person)


def test_a_look_while_waiting_cancels_an_earlier_runs_batch_for_an_edit(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """The looks while a run waits for its own batch see every write out, not only its own: a
    batch an earlier run left queued, holding a write to a member edited meanwhile, is
    cancelled as the run's own would be."""
    _, hubspot_id = synced(sim, tmp_path, sync=QUICK)
    person, other = email("shared", 1), email("shared", 2)
    sim.hubspot_edit(hubspot_id[person], {"firstname": "HubSpot-Name"})
    sim.advance(60)
    sim.trigger_after("mailchimp", "POST /3.0/batches", PAUSE)
    run(sim.write_config(tmp_path, sync={**QUICK, "batch_wait_seconds": 0}))
    config = sim.write_config(tmp_path, sync=QUICK)
    sim.hubspot_edit(hubspot_id[other], {"firstname": "Other-Name"})
    sim.advance(60)
    sim.trigger_after("mailchimp", "POST /3.0/batches", fname_edit(sim, person, "Mailchimp-Edit"))

    report = run(config)  # its own batch waits behind the earlier one
    assert report["counts"]["batches_cancelled"] == 1
    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    members = sim.mailchimp_by_email()
    assert members[person]["merge_fields"]["FNAME"] == "Mailchimp-Edit", "the batch overwrote it"
    assert members[other]["merge_fields"]["FNAME"] == "Other-Name"
    edit_wins(sim, config, person)
