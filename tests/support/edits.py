"""Set-up shared by the tests of edits made while a run is under way (issue 11.7): a small
synced world, runs through the CLI, and an edit the simulator makes at a chosen moment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from syncer.cli import cli
from syncer.core.identity import subscriber_hash
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver

MEMBER = "/3.0/lists/{list_id}/members/{subscriber_hash}"
PROPERTIES = ["email", "firstname", "lastname"]


def run(config: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--config", str(config), "run", "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def show(config: Path, address: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), "show", address])
    assert result.exit_code == 0, result.output
    return result.stdout


def synced(sim: SandboxDriver, tmp_path: Path, **settings: Any) -> tuple[Path, dict[str, str]]:
    """Six shared people, synced once; the config and each person's HubSpot id by address."""
    world = InitialWorld(shared=6, hubspot_only=0, mailchimp_only=0, conflicts=0)
    ids = sim.seed_world(world)
    config = sim.write_config(tmp_path, **settings)
    run(config)
    sim.advance(60)
    emails = [contact["properties"]["email"] for contact in world.hubspot_contacts()]
    return config, dict(zip(emails, ids, strict=True))


def both_sides(sim: SandboxDriver, address: str) -> tuple[dict[str, str], dict[str, Any]]:
    return sim.hubspot_by_email(PROPERTIES)[address], sim.mailchimp_by_email()[address]


def fname_edit(sim: SandboxDriver, address: str, value: str) -> dict[str, Any]:
    """A Mailchimp edit of a member's first name, as a simulator trigger makes it."""
    path = f"/3.0/lists/{sim.list_id}/members/{subscriber_hash(address)}"
    return {"method": "PATCH", "path": path, "body": {"merge_fields": {"FNAME": value}}}


def edit_while_batch_waits(
    sim: SandboxDriver, tmp_path: Path, sync: dict[str, Any]
) -> tuple[Path, str, str]:
    """Two people's HubSpot first names changed, so the next run batches both across; the
    simulator pauses its batches and edits the first person's member as soon as it accepts
    that batch. Returns the config, the edited person and the other."""
    config, hubspot_id = synced(sim, tmp_path, sync=sync)
    person, other = email("shared", 1), email("shared", 2)
    sim.hubspot_edit(hubspot_id[person], {"firstname": "HubSpot-Name"})
    sim.hubspot_edit(hubspot_id[other], {"firstname": "Other-Name"})
    sim.advance(60)
    pause = {"method": "POST", "path": "/_sim/config", "body": {"batch_paused": True}}
    edit = fname_edit(sim, person, "Mailchimp-Edit")
    sim.triggers_after("mailchimp", "POST /3.0/batches", [pause, edit])
    return config, person, other
