"""A HubSpot email change onto an address a cleaned Mailchimp member holds is refused (issue 11
point 1), and refused again every run until the address is free. The person's tags then wait:
they were written to the cleaned member at the new address, whose own decision took them back
off, an add and a remove every run for good (found by the preferences soak, seed 3 at 2,000
people). CLI, cache file, both simulators."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.errors import ExitCode
from tests.support.sandbox import SandboxDriver
from tests.test_segments_inflight import BATCHED, DIRECT
from tests.test_segments_mirror import MIRROR, mirrored
from tests.test_segments_tags import config_with, hubspot_list, invoke, tag_writes, tags_of

MOVER, HOLDER = "mover@real.org", "holder@real.org"


def run(config: Path, code: ExitCode = ExitCode.OK) -> None:
    result = invoke(config, "run")
    assert result.exit_code == code, result.output + result.stderr


@pytest.mark.parametrize("sync", [DIRECT, BATCHED], ids=["direct", "batched"])
def test_a_refused_rename_holds_the_tag_writes_and_nothing_is_written_every_run(
    sim: SandboxDriver, tmp_path: Path, sync: dict[str, float]
) -> None:
    (cid,) = sim.seed_hubspot(
        [{"properties": {"email": MOVER, "firstname": "M", "newsletter": "true"}}]
    )
    sim.seed_mailchimp(
        [
            {"email_address": MOVER, "status": "subscribed"},
            {"email_address": HOLDER, "status": "cleaned"},
        ]
    )
    hubspot_list(sim, "MQLs", [cid])
    config = config_with(sim, tmp_path, sync=sync, tags_to_hubspot={"property": MIRROR})
    assert invoke(config, "check", "--fix").exit_code == ExitCode.OK
    assert invoke(config, "run").exit_code == ExitCode.OK
    assert tags_of(sim) == {MOVER: ["MQL"], HOLDER: []}
    sim.advance(60)
    sim.hubspot_edit(cid, {"email": HOLDER, "lifecyclestage": "customer"})
    sim.advance(60)
    run(config, ExitCode.PARTIAL)  # the rename refused: the person reported, exit 1
    for _ in range(2):  # later runs leave the person failed, as issue 11 wants
        sim.settle_batches()
        sim.advance(60)
        run(config)
    sim.settle_batches()
    assert [w for w in tag_writes(sim) if w["email"] == HOLDER] == []
    assert tags_of(sim) == {MOVER: ["MQL"], HOLDER: []}  # Customer waits for the rename
    assert mirrored(sim) == {HOLDER: {"MQL"}}  # the contact mirrors its own member's tags
    sim.advance(60)
    before = sim.writes("mailchimp"), sim.writes("hubspot")
    run(config)
    assert (sim.writes("mailchimp"), sim.writes("hubspot")) == before  # not a write every run
