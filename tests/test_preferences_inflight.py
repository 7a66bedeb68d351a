"""The base a group or permission write leaves: the member's value as the merge reads it, so a
HubSpot value changed back before the next decision is the newer change, never written over
(found by the soak: a HubSpot permission cleared after its grant came back as "true")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.sandbox import SandboxDriver
from tests.test_preferences_sync import config, interests_by_name, permission, seed
from tests.test_segments_tags import invoke

pytestmark = pytest.mark.timeout(120)

BATCHED = {"direct_threshold": 0, "batch_wait_seconds": 5, "batch_poll_seconds": 0.05}
DIRECT = {"direct_threshold": 10}


def run(path: Path) -> None:
    result = invoke(path, "run")
    assert result.exit_code == 0, result.output + result.stderr


@pytest.mark.parametrize("sync", [DIRECT, BATCHED], ids=["direct", "batched"])
@pytest.mark.parametrize(
    ("prop", "first", "then"),
    [
        pytest.param("gdpr_email", "true", "", id="permission-granted-then-cleared"),
        pytest.param("wants_events", "true", "", id="interest-chosen-then-cleared"),
        pytest.param("topics", "News", "", id="group-chosen-then-emptied"),
    ],
)
def test_a_hubspot_value_changed_back_after_syncers_write_stays(
    sim: SandboxDriver, tmp_path: Path, sync: dict[str, Any], prop: str, first: str, then: str
) -> None:
    ids = seed(sim, 1)
    path = config(sim, tmp_path, sync=sync)
    run(path)
    sim.hubspot_edit(ids[0], {prop: first})
    sim.advance(60)
    run(path)  # written to Mailchimp
    sim.hubspot_edit(ids[0], {prop: then})
    sim.advance(60)
    run(path)
    run(path)
    shown = sim.hubspot_by_email(["email", prop])["person0@real.org"].get(prop) or ""
    assert shown == then, "HubSpot's newer value stays"
    if prop == "gdpr_email":
        assert permission(sim, "person0@real.org"), "a clear is no withdrawal: Mailchimp keeps it"
    elif prop == "topics":
        assert interests_by_name(sim, "person0@real.org") == set(), "emptied in Mailchimp too"
