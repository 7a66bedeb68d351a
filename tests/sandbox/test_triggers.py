"""Scripted outside edits (syncer.sandbox.triggers): once, right after the nth answer, uncounted."""

from __future__ import annotations

from tests.support.sandbox import SandboxDriver

LISTING = "GET /crm/v3/objects/contacts"


def test_a_trigger_fires_once_right_after_its_nth_answer(sim: SandboxDriver) -> None:
    (contact_id,) = sim.seed_hubspot(
        [{"properties": {"email": "ann@example.com", "firstname": "Ann"}}]
    )
    edit = {"id": contact_id, "properties": {"firstname": "Edited"}}
    sim.trigger_after("hubspot", LISTING, {"method": "POST", "path": "/_sim/edit", "body": edit}, 2)

    names = [sim.hubspot_contacts(["firstname"])[0]["properties"]["firstname"] for _ in range(3)]
    assert names == ["Ann", "Ann", "Edited"], "the second answer went out before the edit"
    assert sim.triggered("hubspot") == [
        {"after": LISTING, "method": "POST", "path": "/_sim/edit", "status": 200}
    ]
    assert set(sim.requests("hubspot")["counts"]) == {LISTING}, "the edit is the simulator's own"


def test_a_reset_forgets_waiting_triggers(sim: SandboxDriver) -> None:
    (contact_id,) = sim.seed_hubspot(
        [{"properties": {"email": "ann@example.com", "firstname": "Ann"}}]
    )
    edit = {"id": contact_id, "properties": {"firstname": "Edited"}}
    sim.trigger_after("hubspot", LISTING, {"method": "POST", "path": "/_sim/edit", "body": edit})
    sim.reset()
    sim.seed_hubspot([{"properties": {"email": "ann@example.com", "firstname": "Ann"}}])
    sim.hubspot_contacts(["firstname"])
    assert sim.triggered("hubspot") == []
