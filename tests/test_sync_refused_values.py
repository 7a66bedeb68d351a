"""Values Mailchimp refuses, end to end: an opt-out is never lost to a refused name, the refused
field is reported on its own, and dates are written in the field's own format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from syncer.cli import cli
from syncer.sandbox.world import MERGE_FIELDS
from tests.support.people import email, iso_ago
from tests.support.sandbox import SandboxDriver
from tests.support.state import listed_people

LONG = "Maximiliana " * 25  # 300 characters: over the 255 of a text merge field


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def contact(name: str, newsletter: str, **properties: str) -> dict[str, Any]:
    values = {"email": email(name, 0), "firstname": name, "lastname": "Last", **properties}
    return {
        "properties": {**values, "newsletter": newsletter},
        "timestamps": dict.fromkeys([*values, "newsletter"], iso_ago(10)),
        "createdate": iso_ago(100),
    }


def member(name: str, **fields: str) -> dict[str, Any]:
    return {
        "email_address": email(name, 0),
        "status": "subscribed",
        "merge_fields": {"FNAME": name, "LNAME": "Last", **fields},
        "last_changed": iso_ago(10),
    }


def errors_of(config: Path) -> list[dict[str, str]]:
    done = invoke(config, "errors", "--json", "--limit", "0")
    assert done.exit_code in (0, 1), done.output
    return listed_people(done.stdout)


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "batch"])
def test_an_opt_out_beside_a_refused_name_still_unsubscribes(
    sim: SandboxDriver, tmp_path: Path, direct: bool
) -> None:
    """Issue 11.3: HubSpot opts Ann out and gives her a name Mailchimp refuses, in one edit."""
    ids = sim.seed_hubspot([contact("ann", "true"), contact("bob", "true")])
    sim.seed_mailchimp([member("ann"), member("bob")])
    sync = {"direct_threshold": 10 if direct else 0, "batch_poll_seconds": 0.05}
    config = sim.write_config(tmp_path, sync=sync)
    assert invoke(config, "run").exit_code == 0
    sim.advance(60)
    sim.hubspot_edit(ids[0], {"newsletter": "false", "firstname": LONG})
    sim.hubspot_edit(ids[1], {"lastname": "Changed"})
    sim.advance(60)

    done = invoke(config, "run", "--json")
    assert done.exit_code == 1, done.output  # partial: one value was refused
    members = sim.mailchimp_by_email()
    ann = members[email("ann", 0)]
    assert ann["status"] == "unsubscribed", "the opt-out was lost with the refused name"
    assert ann["merge_fields"]["FNAME"] == "ann"
    assert members[email("bob", 0)]["merge_fields"]["LNAME"] == "Changed"
    (error,) = errors_of(config)
    assert error["email"] == email("ann", 0)
    assert error["state"] == "failed"
    assert error["reason"].startswith("Mailchimp refused the value of FNAME: ")
    assert "the rest was synced" in error["hint"]
    status = json.loads(invoke(config, "status", "--json").stdout)
    assert status["problems"]["failed"] == {error["reason"]: 1}
    assert not status["health"]["ok"]

    sim.advance(60)
    before = sim.writes("mailchimp")
    again = invoke(config, "run")
    assert again.exit_code == 0, again.output
    assert sim.writes("mailchimp") == before, "the refused value is not sent again and again"


def test_a_new_member_with_an_over_long_name_is_added_without_it(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Issue 10.7: the over-long value is reported for that field alone; the person is still
    added, subscribed, with every other field."""
    sim.seed_hubspot([contact("cyd", "true", firstname=LONG, lastname="Jones")])
    config = sim.write_config(tmp_path)
    done = invoke(config, "run")
    assert done.exit_code == 1, done.output
    added = sim.mailchimp_by_email()[email("cyd", 0)]
    assert added["status"] == "subscribed"
    assert added["merge_fields"]["LNAME"] == "Jones"
    assert added["merge_fields"]["FNAME"] == ""
    (error,) = errors_of(config)
    assert "FNAME" in error["reason"]
    assert "LNAME" not in error["reason"]


@pytest.mark.parametrize(
    ("date_format", "expected"),
    [("DD/MM/YYYY", "04/03/2026"), ("MM/DD/YYYY", "03/04/2026"), (None, "2026-03-04")],
    ids=["dd-mm-yyyy", "mm-dd-yyyy", "default"],
)
def test_dates_are_written_in_the_fields_format_and_then_agree(
    sim: SandboxDriver, tmp_path: Path, date_format: str | None, expected: str
) -> None:
    """Issue 10.7: a HubSpot date reaches a Mailchimp date field in that field's own format,
    and the next run sees the two sides agree (no write at rest)."""
    fields = [
        {**spec, "options": {"date_format": date_format}}
        if spec["tag"] == "LASTCONT" and date_format
        else spec
        for spec in MERGE_FIELDS
    ]
    ids = sim.seed_hubspot(
        [contact("dee", "true", notes_last_contacted="2026-03-04T10:00:00.000Z")]
    )
    sim.seed_mailchimp([member("dee")], merge_fields=fields)
    config = sim.write_config(tmp_path)
    done = invoke(config, "run")
    assert done.exit_code == 0, done.output
    assert sim.mailchimp_by_email()[email("dee", 0)]["merge_fields"]["LASTCONT"] == expected
    sim.advance(60)
    sim.hubspot_edit(ids[0], {"lastname": "New"})
    sim.advance(60)
    before = sim.writes("mailchimp")
    assert invoke(config, "run").exit_code == 0
    member_now = sim.mailchimp_by_email()[email("dee", 0)]
    assert member_now["merge_fields"]["LNAME"] == "New"
    assert member_now["merge_fields"]["LASTCONT"] == expected
    assert sim.writes("mailchimp") == before + 1  # the name alone, not the date again
