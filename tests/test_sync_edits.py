"""Edits on both sides between runs arrive, and the run after them writes nothing."""

from __future__ import annotations

from pathlib import Path

import requests
from click.testing import CliRunner, Result

from syncer.cli import cli
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver

PROPERTIES = ["email", "firstname", "lastname", "lifecyclestage", "newsletter"]


def run(config: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--config", str(config), "run", *args])
    assert result.exit_code == 0, result.output
    return result


def test_edits_on_both_sides_arrive_then_quiet(sim: SandboxDriver, tmp_path: Path) -> None:
    world = InitialWorld(shared=20, hubspot_only=4, mailchimp_only=4, conflicts=0)
    ids = sim.seed_world(world)
    config = sim.write_config(tmp_path)
    run(config)
    sim.advance(60)

    hubspot_id = dict(
        zip([c["properties"]["email"] for c in world.hubspot_contacts()], ids, strict=True)
    )
    sim.hubspot_edit(hubspot_id[email("shared", 1)], {"firstname": "Renamed-in-HubSpot"})
    sim.hubspot_edit(hubspot_id[email("shared", 2)], {"lifecyclestage": "customer"})
    sim.hubspot_edit(hubspot_id[email("shared", 3)], {"newsletter": "false"})
    sim.hubspot_edit(
        hubspot_id[email("shared", 4)], {"email": "moved-in-hubspot@northwind-mail.com"}
    )
    sim.mailchimp_edit(email("shared", 5), {"merge_fields": {"LNAME": "Renamed-in-Mailchimp"}})
    sim.mailchimp_unsubscribe(email("shared", 6))
    sim.mailchimp_edit(
        email("shared", 7), {"email_address": "moved-in-mailchimp@northwind-mail.com"}
    )
    archived = requests.delete(
        f"{sim.mc_url}/lists/{sim.list_id}/members/{email('shared', 8)}",
        auth=sim.mc_auth,
        timeout=10,
    )
    assert archived.status_code == 204
    sim.hubspot_edit(hubspot_id[email("crm", 1)], {"newsletter": "true"})  # wants it now
    sim.advance(60)
    run(config)

    hubspot = sim.hubspot_by_email(PROPERTIES)
    mailchimp = sim.mailchimp_by_email()
    assert mailchimp[email("shared", 1)]["merge_fields"]["FNAME"] == "Renamed-in-HubSpot"
    assert mailchimp[email("shared", 2)]["merge_fields"]["LCSTAGE"] == "customer"
    assert mailchimp[email("shared", 3)]["status"] == "unsubscribed"
    assert "moved-in-hubspot@northwind-mail.com" in mailchimp
    assert email("shared", 4) not in mailchimp
    assert hubspot[email("shared", 5)]["lastname"] == "Renamed-in-Mailchimp"
    assert hubspot[email("shared", 6)]["newsletter"] == "false"
    assert "moved-in-mailchimp@northwind-mail.com" in hubspot
    assert email("shared", 7) not in hubspot
    assert hubspot[email("shared", 8)]["newsletter"] == "false"
    assert email("shared", 8) not in mailchimp  # archived members are listed only on request
    assert mailchimp[email("crm", 1)]["status"] == "subscribed"
    assert len(hubspot) == 28
    assert len(mailchimp) == 20 + 4 + 3 - 1

    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    sim.advance(60)
    run(config)
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes
