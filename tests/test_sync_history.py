"""Conflicts decided by HubSpot's property history, read at most 50 contacts a call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from syncer.cli import cli
from tests.support.people import email, iso_ago
from tests.support.sandbox import SandboxDriver

BATCH_READ = "POST /crm/v3/objects/contacts/batch/read"
PEOPLE = 130


def contact(i: int) -> dict[str, Any]:
    """Renamed 1 h ago (even) or 30 h ago (odd); touched 1 h ago either way, so the contact
    alone cannot tell which side is newer than the member's rename 2 h ago."""
    renamed = iso_ago(1 if i % 2 == 0 else 30)
    return {
        "properties": {
            "email": email("shared", i),
            "firstname": f"Hs{i}",
            "lastname": f"Last{i}",
            "lifecyclestage": "lead",
            "newsletter": "true",
        },
        "timestamps": {
            "email": iso_ago(48),
            "firstname": renamed,
            "lastname": iso_ago(48),
            "newsletter": iso_ago(48),
            "lifecyclestage": iso_ago(1),
        },
        "createdate": iso_ago(48),
    }


def member(i: int) -> dict[str, Any]:
    return {
        "email_address": email("shared", i),
        "status": "subscribed",
        "merge_fields": {"FNAME": f"Mc{i}", "LNAME": f"Last{i}"},
        "last_changed": iso_ago(2),
    }


def test_a_sync_of_130_conflicts_reads_history_in_fifties_and_decides_each(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_hubspot([contact(i) for i in range(PEOPLE)])
    sim.seed_mailchimp([member(i) for i in range(PEOPLE)])
    config = sim.write_config(tmp_path)

    result = CliRunner().invoke(cli, ["--config", str(config), "run", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["conflicts"] == PEOPLE
    # every conflict needs history: three reads of at most 50, none refused; one more re-reads
    # the 65 contacts about to be updated just before the write (run.recheck), and two read
    # them back with their history after it (50 + 15: run.overwritten)
    assert sim.requests("hubspot")["counts"][BATCH_READ] == 3 + 1 + 2
    hubspot = sim.hubspot_by_email(["email", "firstname"])
    members = sim.mailchimp_by_email()
    for i in range(PEOPLE):
        expected = f"Hs{i}" if i % 2 == 0 else f"Mc{i}"
        assert hubspot[email("shared", i)]["firstname"] == expected, i
        assert members[email("shared", i)]["merge_fields"]["FNAME"] == expected, i
