"""Issue 11.7: an edit made between syncer's fetch and its write is never written over, and the
next run merges it.

The edit is made by the simulator itself right after it answers syncer's last read of that side
(``syncer.sandbox.triggers``), so it lands between the read and the write on every machine.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncer.cli import cli
from syncer.core.identity import subscriber_hash
from tests.support.edits import MEMBER, PROPERTIES, both_sides, fname_edit, run, show, synced
from tests.support.people import email
from tests.support.sandbox import SandboxDriver

SEARCH = "POST /crm/v3/objects/contacts/search"
MEMBERS = "GET /3.0/lists/{list_id}/members"


def test_a_hubspot_edit_after_the_fetch_is_not_overwritten_and_wins_next_run(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config, hubspot_id = synced(sim, tmp_path)
    person, other = email("shared", 1), email("shared", 2)
    sim.mailchimp_edit(person, {"merge_fields": {"LNAME": "Mailchimp-Name"}})
    sim.mailchimp_edit(other, {"merge_fields": {"LNAME": "Other-Name"}})
    sim.advance(60)
    edit = {"id": hubspot_id[person], "properties": {"lastname": "HubSpot-Edit"}}
    sim.trigger_after("hubspot", SEARCH, {"method": "POST", "path": "/_sim/edit", "body": edit})

    report = run(config)
    assert [t["status"] for t in sim.triggered("hubspot")] == [200]
    contact, member = both_sides(sim, person)
    assert contact["lastname"] == "HubSpot-Edit", "the edit made after the fetch was overwritten"
    assert member["merge_fields"]["LNAME"] == "Mailchimp-Name"
    assert sim.hubspot_by_email(PROPERTIES)[other]["lastname"] == "Other-Name", "others go on"
    calls = report["api_calls"]["hubspot"]["by_endpoint"]
    # The check, and the history read after the other's update.
    assert calls.get("POST /crm/v3/objects/contacts/batch/read") == 2, calls
    assert "HubSpot changed lastname after syncer read it" in show(config, person)

    sim.advance(60)
    run(config)  # both changed since they agreed: HubSpot's edit is the newer
    contact, member = both_sides(sim, person)
    assert (contact["lastname"], member["merge_fields"]["LNAME"]) == ("HubSpot-Edit",) * 2
    sim.advance(60)
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    run(config)
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes, "no loop"


@pytest.mark.parametrize(("threshold", "listings", "reads"), [(10, 2, 2), (0, 4, 0)])
def test_a_mailchimp_edit_after_the_fetch_is_not_overwritten_and_wins_next_run(
    sim: SandboxDriver, tmp_path: Path, threshold: int, listings: int, reads: int
) -> None:
    """Direct writes (the default for a few) read each member just before writing it; a round
    of batches lists the members changed since the fetch once, before submitting."""
    quick = {"batch_wait_seconds": 10, "batch_poll_seconds": 0.05, "overlap_seconds": 120}
    config, hubspot_id = synced(sim, tmp_path, sync={**quick, "direct_threshold": threshold})
    person, other = email("shared", 1), email("shared", 2)
    sim.hubspot_edit(hubspot_id[person], {"firstname": "HubSpot-Name"})
    sim.hubspot_edit(hubspot_id[other], {"firstname": "Other-Name"})
    sim.advance(60)
    edit = fname_edit(sim, person, "Mailchimp-Edit")
    # The fetch lists current members, then archived ones: the edit follows the second listing.
    sim.trigger_after("mailchimp", MEMBERS, edit, nth=2)

    begun = time.time()
    report = run(config)
    ended = time.time()
    assert [t["status"] for t in sim.triggered("mailchimp")] == [200]
    contact, member = both_sides(sim, person)
    assert member["merge_fields"]["FNAME"] == "Mailchimp-Edit", "the edit was overwritten"
    assert contact["firstname"] == "HubSpot-Name"
    assert sim.mailchimp_by_email()[other]["merge_fields"]["FNAME"] == "Other-Name"
    calls = report["api_calls"]["mailchimp"]["by_endpoint"]
    # 2 fetch the changes, 2 check them before the batch goes (its wait looks again later).
    timeline = sim.timeline("mailchimp", begun)
    sent = min((e["arrived"] for e in timeline if e["key"] == "POST /3.0/batches"), default=ended)
    assert sum(e["key"] == MEMBERS and e["arrived"] < sent for e in timeline) == listings
    assert calls.get("GET /lists/{list_id}/members/{subscriber_hash}", 0) == reads, calls
    assert "Mailchimp changed FNAME after syncer read it" in show(config, person)

    sim.advance(60)
    run(config)
    contact, member = both_sides(sim, person)
    assert (contact["firstname"], member["merge_fields"]["FNAME"]) == ("Mailchimp-Edit",) * 2
    sim.advance(60)
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    run(config)
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes, "no loop"


@pytest.mark.parametrize(("after", "nth"), [(MEMBERS, 2), (f"GET {MEMBER}", 1)])
def test_an_unsubscribe_while_the_run_decides_reaches_hubspot_next_run(
    sim: SandboxDriver, tmp_path: Path, after: str, nth: int
) -> None:
    """A HubSpot name change for a member who unsubscribes while the run decides. After the
    fetch (the 2nd listing), the write to that member is held; after the read just before the
    write, the name is written, and its answer shows the new status: neither hides the opt-out,
    which reaches HubSpot next run."""
    config, hubspot_id = synced(sim, tmp_path)
    person = email("shared", 3)
    sim.hubspot_edit(hubspot_id[person], {"firstname": "Renamed"})
    sim.advance(60)
    path = f"/3.0/lists/{sim.list_id}/members/{subscriber_hash(person)}"
    edit = {"method": "PATCH", "path": path, "body": {"status": "unsubscribed"}}
    sim.trigger_after("mailchimp", after, edit, nth=nth)
    run(config)
    assert [t["status"] for t in sim.triggered("mailchimp")] == [200]
    assert sim.mailchimp_by_email()[person]["status"] == "unsubscribed"
    sim.advance(60)
    run(config)
    contact = sim.hubspot_by_email([*PROPERTIES, "newsletter"])[person]
    member = sim.mailchimp_by_email()[person]
    assert contact["newsletter"] == "false"
    assert (member["status"], member["merge_fields"]["FNAME"]) == ("unsubscribed", "Renamed")


def test_a_hubspot_edit_after_the_check_is_taken_in_by_the_next_run(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """An edit of another property between the check and the write: the write's answer shows
    it, and the next run sends it on instead of taking it for what syncer already knew."""
    config, hubspot_id = synced(sim, tmp_path)
    person = email("shared", 4)
    sim.mailchimp_edit(person, {"merge_fields": {"LNAME": "Mailchimp-Name"}})
    sim.advance(60)
    edit = {"id": hubspot_id[person], "properties": {"firstname": "Late-Edit"}}
    sim.trigger_after(
        "hubspot",
        "POST /crm/v3/objects/contacts/batch/read",
        {"method": "POST", "path": "/_sim/edit", "body": edit},
    )
    run(config)
    assert [t["status"] for t in sim.triggered("hubspot")] == [200]
    sim.advance(60)
    run(config)
    contact, member = both_sides(sim, person)
    assert (contact["firstname"], contact["lastname"]) == ("Late-Edit", "Mailchimp-Name")
    assert member["merge_fields"]["FNAME"] == "Late-Edit"


def test_a_mailchimp_edit_while_direct_writes_go_out_is_not_overwritten(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Direct writes go one call after another, seconds apart in a large round: an edit made to
    a member after the round's first write, before its own, is seen just before its write.

    Both members are edited right after the first write, as the order of the two writes is not
    fixed (it follows the people's cache ids, given as the first sync's reads came in): the one
    written first got its edit afterwards (kept, nothing held), the other is held."""
    config, hubspot_id = synced(sim, tmp_path)
    people = [email("shared", 1), email("shared", 2)]
    for number, person in enumerate(people, 1):
        sim.hubspot_edit(hubspot_id[person], {"firstname": f"HubSpot-{number}"})
    sim.advance(60)
    edits = [fname_edit(sim, person, "Mailchimp-Edit") for person in people]
    sim.triggers_after("mailchimp", f"PUT {MEMBER}", edits)

    report = run(config)
    assert [t["status"] for t in sim.triggered("mailchimp")] == [200, 200]
    members = sim.mailchimp_by_email()
    assert [members[p]["merge_fields"]["FNAME"] for p in people] == ["Mailchimp-Edit"] * 2, (
        "an edit was overwritten"
    )
    calls = report["api_calls"]["mailchimp"]["by_endpoint"]
    assert calls.get("GET /lists/{list_id}/members/{subscriber_hash}") == 2, calls
    assert calls.get("PUT /lists/{list_id}/members/{subscriber_hash}") == 1, calls
    held = ["Mailchimp changed FNAME after syncer read it" in show(config, p) for p in people]
    assert sorted(held) == [False, True], "the member written second is held, the first is not"

    sim.advance(60)
    run(config)  # both changed since they agreed: Mailchimp's edit is the newer
    for person in people:
        contact, member = both_sides(sim, person)
        assert (contact["firstname"], member["merge_fields"]["FNAME"]) == ("Mailchimp-Edit",) * 2


UPDATE = "POST /crm/v3/objects/contacts/batch/update"
CHECK = "POST /crm/v3/objects/contacts/batch/read"


def test_a_hubspot_edit_overwritten_by_a_resent_update_is_restored_and_wins(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """The window the check leaves: an update HubSpot carries out after an edit made since the
    check. Here its first attempt lands, the answer is lost, someone edits the contact, and the
    re-sent update writes over the edit; the answer shows syncer's values. HubSpot's property
    history shows the edit between the check and syncer's last version: it is put back in
    HubSpot and, being the newest, carried to Mailchimp."""
    config, hubspot_id = synced(sim, tmp_path)
    person, other = email("shared", 1), email("shared", 2)
    sim.mailchimp_edit(person, {"merge_fields": {"LNAME": "Mailchimp-Name"}})
    sim.mailchimp_edit(other, {"merge_fields": {"LNAME": "Other-Name"}})
    sim.advance(60)
    sim.faults("hubspot", {"rate": 1, "kinds": ["drop"], "paths": [UPDATE]})
    edit = {"id": hubspot_id[person], "properties": {"lastname": "HubSpot-Edit"}}
    sim.triggers_after(
        "hubspot",
        UPDATE,
        [
            {"method": "POST", "path": "/_sim/edit", "body": edit},
            {"method": "POST", "path": "/_sim/faults", "body": {"rate": 0}},
        ],
    )

    report = run(config)
    assert [t["status"] for t in sim.triggered("hubspot")] == [200, 200]
    contact, member = both_sides(sim, person)
    assert contact["lastname"] == "HubSpot-Edit", "the edit written over was not restored"
    calls = report["api_calls"]["hubspot"]["by_endpoint"]
    assert calls.get(UPDATE) == 3, calls  # the write, its re-sending, and the edit put back
    assert calls.get("POST /crm/v3/objects/contacts/batch/read") == 2, calls  # check, history
    assert sim.hubspot_by_email(PROPERTIES)[other]["lastname"] == "Other-Name", "others go on"
    assert "lastname" in show(config, person)
    assert "restored" in show(config, person)

    sim.advance(60)
    run(config)
    contact, member = both_sides(sim, person)
    assert (contact["lastname"], member["merge_fields"]["LNAME"]) == ("HubSpot-Edit",) * 2
    sim.advance(60)
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    run(config)
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes, "no loop"


@pytest.mark.parametrize("slow", [0.0, 0.4])
def test_a_hubspot_edit_between_the_check_and_a_prompt_update_is_restored(
    sim: SandboxDriver, tmp_path: Path, slow: float
) -> None:
    """The moment between the check and the update: here an edit right after the check's
    answer, before an update answered at once (or slowed inside HubSpot for 0.4 s, as the
    soak's ``slow`` fault does, which is still a prompt answer). Every update's contacts are
    read with their history after its answer (one batch read per 50), so the edit is found
    between the check and syncer's version and put back; nothing else is written."""
    config, hubspot_id = synced(sim, tmp_path)
    person, other = email("shared", 1), email("shared", 2)
    sim.mailchimp_edit(person, {"merge_fields": {"LNAME": "Mailchimp-Name"}})
    sim.mailchimp_edit(other, {"merge_fields": {"LNAME": "Other-Name"}})
    sim.advance(60)
    if slow:
        sim.configure("hubspot", {"slow_s": slow})
        sim.faults("hubspot", {"rate": 1, "kinds": ["slow"], "paths": [UPDATE]})
    edit = {"id": hubspot_id[person], "properties": {"lastname": "HubSpot-Edit"}}
    sim.trigger_after("hubspot", CHECK, {"method": "POST", "path": "/_sim/edit", "body": edit})

    report = run(config)
    sim.faults("hubspot", {"rate": 0})
    assert [t["status"] for t in sim.triggered("hubspot")] == [200]
    assert both_sides(sim, person)[0]["lastname"] == "HubSpot-Edit", "the edit was written over"
    assert sim.hubspot_by_email(PROPERTIES)[other]["lastname"] == "Other-Name", "others go on"
    calls = report["api_calls"]["hubspot"]["by_endpoint"]
    assert calls.get(UPDATE) == 2, calls  # the write, and the edit put back
    assert calls.get(CHECK) == 2, calls  # the check, and the history read after the answer
    assert report["counts"]["restored_overwritten"] == 1
    assert "restored lastname in HubSpot" in show(config, person)

    sim.advance(60)
    run(config)
    contact, member = both_sides(sim, person)
    assert (contact["lastname"], member["merge_fields"]["LNAME"]) == ("HubSpot-Edit",) * 2
    sim.advance(60)
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    run(config)
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes, "no loop"


def test_an_update_nobody_edited_over_costs_one_history_read_per_50(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Every update is read back with its history, 50 contacts a call: one update of one
    contact, one history read; nothing is put back."""
    config, hubspot_id = synced(sim, tmp_path)
    sim.mailchimp_edit(email("shared", 1), {"merge_fields": {"LNAME": "Mailchimp-Name"}})
    sim.advance(60)
    report = run(config)
    calls = report["api_calls"]["hubspot"]["by_endpoint"]
    assert calls.get(UPDATE) == 1, calls
    assert calls.get(CHECK) == 2, calls  # the check, and the history read after the answer
    assert report["counts"]["history_after_update"] == 1
    assert report["counts"].get("restored_overwritten", 0) == 0


def test_a_hubspot_edit_overwritten_by_an_unanswered_update_is_restored_next_run(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """An update never answered (a run killed while it waits; here every attempt times out):
    each attempt lands, the last one over an edit made after the first. The run gives up with
    the write queued as sent; the next one, before its fetch would take syncer's values for
    landed, reads the history, puts the edit back and carries it to Mailchimp."""
    config, hubspot_id = synced(sim, tmp_path, http={"read_timeout": 0.3, "max_tries": 2})
    person = email("shared", 1)
    sim.mailchimp_edit(person, {"merge_fields": {"LNAME": "Mailchimp-Name"}})
    sim.advance(60)
    sim.configure("hubspot", {"slow_s": 1.0})
    sim.faults("hubspot", {"rate": 1, "kinds": ["late"], "paths": [UPDATE]})
    edit = {"id": hubspot_id[person], "properties": {"lastname": "HubSpot-Edit"}}
    sim.trigger_after("hubspot", UPDATE, {"method": "POST", "path": "/_sim/edit", "body": edit})
    given_up = CliRunner().invoke(cli, ["--config", str(config), "run", "--json"])
    assert given_up.exit_code == 1, given_up.output  # partial: the update stays queued
    time.sleep(1.2)  # the last attempt's answer, which nobody waits for any more
    sim.faults("hubspot", {"rate": 0})
    assert sim.hubspot_by_email(PROPERTIES)[person]["lastname"] == "Mailchimp-Name"  # written over

    sim.advance(60)
    report = run(config)
    contact, member = both_sides(sim, person)
    assert contact["lastname"] == "HubSpot-Edit", "the edit written over was not restored"
    assert member["merge_fields"]["LNAME"] == "HubSpot-Edit"
    assert "restored lastname in HubSpot" in show(config, person)
    assert report["counts"]["restored_overwritten"] == 1
    sim.advance(60)
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    quiet = run(config)["api_calls"]["hubspot"]["by_endpoint"]
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes, "no loop"
    assert "POST /crm/v3/objects/contacts/batch/read" not in quiet, "nothing left in doubt"
