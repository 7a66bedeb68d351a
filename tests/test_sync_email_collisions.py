"""An email change onto an address the other side gives to someone else: that person is held
back with the reason, everyone else syncs, and the run says so (exit 1).

Before, a HubSpot change onto an address held by another Mailchimp member (a cleaned one with the
default config; any one with ``create.in_hubspot: false``) was taken for a rename that had landed,
and every later run crashed on ``UNIQUE constraint failed: contacts.unique_email_id``; a Mailchimp
change onto an existing HubSpot contact's address read as "archived or deleted".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from syncer.cli import cli
from syncer.errors import ExitCode
from tests.support.people import email, iso_ago
from tests.support.sandbox import SandboxDriver
from tests.support.state import listed_people

PROPERTIES = ["email", "firstname", "newsletter"]
BATCHES = {"direct_threshold": 0, "batch_wait_seconds": 10, "batch_poll_seconds": 0.05}


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def contact(address: str, first: str, *, wants: bool = True) -> dict[str, Any]:
    return {
        "properties": {"email": address, "firstname": first, "newsletter": str(wants).lower()},
        "timestamps": {"firstname": iso_ago(30), "newsletter": iso_ago(30), "email": iso_ago(30)},
        "createdate": iso_ago(48),
    }


def member(address: str, first: str, status: str = "subscribed") -> dict[str, Any]:
    return {
        "email_address": address,
        "status": status,
        "merge_fields": {"FNAME": first},
        "last_changed": iso_ago(20),
    }


def hubspot_id(sim: SandboxDriver, address: str) -> str:
    (found,) = [
        c["id"] for c in sim.hubspot_contacts(["email"]) if c["properties"]["email"] == address
    ]
    return str(found)


def problems(config: Path) -> dict[str, tuple[str, str]]:
    listed = listed_people(invoke(config, "errors", "--json", "--limit", "0").stdout)
    return {entry["email"]: (entry["state"], entry["reason"]) for entry in listed}


@pytest.mark.parametrize(
    ("held_by", "overrides"),
    [
        pytest.param("cleaned", {}, id="a cleaned member"),
        pytest.param("subscribed", {"create": {"in_hubspot": False}}, id="a member never created"),
        pytest.param("cleaned", {"sync": BATCHES}, id="a cleaned member, through a batch"),
    ],
)
def test_a_hubspot_email_change_onto_another_members_address_holds_that_person_only(
    sim: SandboxDriver, tmp_path: Path, held_by: str, overrides: dict[str, Any]
) -> None:
    mover, other, holder = email("mover", 1), email("other", 2), email("holder", 3)
    sim.seed_hubspot([contact(mover, "Mo"), contact(other, "Ot")])
    sim.seed_mailchimp([member(mover, "Mo"), member(other, "Ot"), member(holder, "Mo", held_by)])
    config = sim.write_config(tmp_path, **overrides)
    assert invoke(config, "run").exit_code == ExitCode.OK
    sim.advance(60)
    sim.hubspot_edit(hubspot_id(sim, mover), {"email": holder})
    sim.mailchimp_unsubscribe(other)
    sim.advance(60)
    first = invoke(config, "run")
    assert first.exit_code == ExitCode.PARTIAL, first.output
    sim.advance(60)
    again = invoke(config, "run")  # the person stays held, reported; the sync goes on
    assert again.exit_code == ExitCode.OK, again.output
    members = sim.mailchimp_by_email()
    assert members[mover]["status"] == "subscribed"  # the rename was not made
    assert members[holder]["status"] == held_by  # the other member untouched
    assert sim.hubspot_by_email(PROPERTIES)[other]["newsletter"] == "false"  # everyone else syncs
    state, reason = problems(config)[holder]
    assert state == "failed"
    assert "already held by another Mailchimp member" in reason
    listed = listed_people(invoke(config, "errors", "--json", "--limit", "0").stdout)
    (entry,) = [e for e in listed if e["email"] == holder]
    assert "Mailchimp" in entry["hint"]
    assert "another" in entry["hint"]


def test_a_mailchimp_email_change_onto_a_hubspot_contacts_address_holds_that_person_only(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    mover, other, taken = email("mover", 1), email("other", 2), email("taken", 3)
    sim.seed_hubspot(
        [contact(mover, "Mo"), contact(other, "Ot"), contact(taken, "Ta", wants=False)]
    )
    sim.seed_mailchimp([member(mover, "Mo"), member(other, "Ot")])
    config = sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == ExitCode.OK
    sim.advance(60)
    sim.mailchimp_edit(mover, {"email_address": taken})
    sim.mailchimp_unsubscribe(other)
    sim.advance(60)
    first = invoke(config, "run")
    assert first.exit_code == ExitCode.PARTIAL, first.output
    sim.advance(60)
    assert invoke(config, "run").exit_code in (ExitCode.OK, ExitCode.PARTIAL)
    contacts = sim.hubspot_by_email(PROPERTIES)
    assert contacts[mover]["firstname"] == "Mo"  # the contact keeps its address
    assert contacts[taken]["firstname"] == "Ta"  # and the other contact is untouched
    assert contacts[other]["newsletter"] == "false"
    found = problems(config)
    (state, reason), *_ = [found[key] for key in (mover, taken) if key in found]
    assert state == "failed"
    assert "another HubSpot contact" in reason
    assert "archived or deleted" not in reason
