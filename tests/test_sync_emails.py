"""Addresses as HubSpot takes them (reference §12.7): stored lower-cased, refused without a real
top-level domain or with quotes; one refused address blocks that person only."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from syncer.cli import cli
from syncer.errors import ExitCode
from syncer.run.settle import HUBSPOT_INVALID_EMAIL
from tests.support.people import iso_ago
from tests.support.sandbox import SandboxDriver
from tests.support.state import listed_people

REFUSED = ["typo@northwind-mail.con", '"quoted"@northwind-mail.com']


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def member(address: str, first: str) -> dict[str, object]:
    return {
        "email_address": address,
        "status": "subscribed",
        "merge_fields": {"FNAME": first, "LNAME": "Member"},
        "last_changed": iso_ago(2),
    }


def test_refused_addresses_block_their_people_and_the_rest_sync_to_rest(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_hubspot([])
    sim.seed_mailchimp(
        [
            member("Mixed.Case@Northwind-Mail.com", "Mixed"),
            member("plain@northwind-mail.com", "Plain"),
            *(member(address, "Refused") for address in REFUSED),
        ]
    )
    config = sim.write_config(tmp_path)

    first = invoke(config, "run", "--json")

    assert first.exit_code == ExitCode.OK, first.output
    assert json.loads(first.stdout)["failures"] == []
    contacts = sim.hubspot_by_email(["email", "firstname", "newsletter"])
    assert sorted(contacts) == ["mixed.case@northwind-mail.com", "plain@northwind-mail.com"]
    assert contacts["mixed.case@northwind-mail.com"]["firstname"] == "Mixed"
    listed = listed_people(invoke(config, "errors", "--json", "--limit", "0").stdout)
    assert {(e["email"], e["state"], e["reason"]) for e in listed} == {
        (address.lower(), "blocked", HUBSPOT_INVALID_EMAIL) for address in REFUSED
    }
    assert all("top-level domain" in e["hint"] for e in listed)
    assert sim.mailchimp_by_email()["mixed.case@northwind-mail.com"]["email_address"] == (
        "Mixed.Case@Northwind-Mail.com"
    ), "HubSpot's lower-cased copy renames nobody"
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    for _ in range(2):
        sim.advance(60)
        assert invoke(config, "run").exit_code == ExitCode.OK
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes
