"""HubSpot's search lags its writes (reference: search results lag by seconds), and while it
lags it answers a contact's previous version. A result older than what syncer already holds for
the contact (its own write's answer, above all) is stale: it must decide nothing, or syncer would
send an old value back to Mailchimp, such as a permission withdrawn there, granted again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sandbox import SandboxDriver
from tests.test_segments_tags import invoke, people

pytestmark = pytest.mark.timeout(120)


def test_a_stale_search_result_never_sends_an_old_value_back(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    people(sim, 1)
    path = sim.write_config(tmp_path)
    assert invoke(path, "run").exit_code == 0
    sim.mailchimp_edit("person0@real.org", {"merge_fields": {"FNAME": "Mia"}})
    assert invoke(path, "run").exit_code == 0  # writes firstname Mia to HubSpot
    assert sim.hubspot_by_email(["email", "firstname"])["person0@real.org"]["firstname"] == "Mia"
    before = sim.writes("mailchimp")
    result = invoke(path, "run", "--json")  # at once: HubSpot's search still shows "P"
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads(result.stdout)["counts"]["written_mailchimp"] == 0
    assert sim.writes("mailchimp") == before
    assert sim.mailchimp_by_email()["person0@real.org"]["merge_fields"]["FNAME"] == "Mia"
