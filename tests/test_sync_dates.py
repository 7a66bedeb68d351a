"""Date and datetime values in whichever spelling HubSpot answers (reference §12.5).

HubSpot answers a date as ``YYYY-MM-DD`` or epoch milliseconds, a datetime as ISO 8601 or epoch
milliseconds. syncer reads both in one spelling, so a switch of spelling is no change at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from syncer.cli import cli
from syncer.errors import ExitCode
from tests.support.people import InitialWorld, email, iso_ago
from tests.support.sandbox import SandboxDriver

RENEWAL = {"name": "renewal", "label": "Renewal", "type": "date", "fieldType": "date"}
#: A custom datetime property (HubSpot's own notes_last_contacted is read-only).
LAST_SEEN = {
    "name": "last_contacted",
    "label": "Last seen",
    "type": "datetime",
    "fieldType": "date",
}
FIELDS = [
    {"hubspot": "firstname", "mailchimp": "FNAME"},
    {"hubspot": "last_contacted", "mailchimp": "LASTSEEN"},
    {"hubspot": "renewal", "mailchimp": "RENEWAL"},
]
MERGE_FIELDS = [
    {"tag": "LASTSEEN", "name": "Last seen", "type": "text"},
    {"tag": "RENEWAL", "name": "Renewal", "type": "text"},
]
PEOPLE = 3


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def contact(i: int) -> dict[str, Any]:
    return {
        "properties": {
            "email": email("dated", i),
            "firstname": f"Dated{i}",
            "newsletter": "true",
            "last_contacted": f"2026-03-0{i + 1}T10:00:00.000Z",
            "renewal": f"2027-0{i + 1}-15",
        },
        "timestamps": {"firstname": iso_ago(5)},
        "createdate": iso_ago(48),
    }


def writes(sim: SandboxDriver) -> tuple[int, int]:
    return sim.writes("hubspot"), sim.writes("mailchimp")


def test_dates_answered_as_epoch_milliseconds_cause_no_writes(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = sim.seed_hubspot([contact(i) for i in range(PEOPLE)], properties=[RENEWAL, LAST_SEEN])
    sim._post(f"{sim.mc_root}/_sim/seed", {"merge_fields": MERGE_FIELDS, "members": []})
    config = sim.write_config(tmp_path, fields=FIELDS)
    assert invoke(config, "run").exit_code == ExitCode.OK
    members = sim.mailchimp_by_email()
    assert members[email("dated", 0)]["merge_fields"]["LASTSEEN"] == "2026-03-01T10:00:00.000Z"
    assert members[email("dated", 0)]["merge_fields"]["RENEWAL"] == "2027-01-15"

    # HubSpot now answers every date and datetime as epoch ms; the contacts are fetched again
    sim.configure("hubspot", {"dates": "epoch_ms"})
    sim._post(f"{sim.hs_url}/_sim/touch", {"ids": ids})
    sim.advance(60)
    before = writes(sim)
    for _ in range(2):
        rested = invoke(config, "run")
        assert rested.exit_code == ExitCode.OK, rested.output
        sim.advance(60)
    assert writes(sim) == before, "a date in another spelling is no change"
    assert sim.mailchimp_by_email() == members

    # a date set in Mailchimp reaches HubSpot, which answers it as epoch ms: still at rest after
    sim.mailchimp_edit(email("dated", 1), {"merge_fields": {"RENEWAL": "2028-02-29"}})
    sim.advance(60)
    assert invoke(config, "run").exit_code == ExitCode.OK
    sim.configure("hubspot", {"dates": "iso"})
    assert sim.hubspot_by_email(["email", "renewal"])[email("dated", 1)]["renewal"] == "2028-02-29"
    sim.configure("hubspot", {"dates": "epoch_ms"})
    sim.advance(60)
    before = writes(sim)
    assert invoke(config, "run").exit_code == ExitCode.OK
    assert writes(sim) == before


def test_a_run_reads_the_merge_fields_once_for_the_check_and_the_formats(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """The field check and the date formats both need the audience's merge fields: one read."""
    sim.seed_world(InitialWorld(shared=2, hubspot_only=1, mailchimp_only=1, conflicts=0))
    ran = invoke(sim.write_config(tmp_path), "run", "--json")
    assert ran.exit_code == ExitCode.OK, ran.output
    calls = json.loads(ran.stdout)["api_calls"]["mailchimp"]["by_endpoint"]
    assert calls["GET /lists/{list_id}/merge-fields"] == 1
