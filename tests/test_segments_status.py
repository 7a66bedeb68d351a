"""`syncer status` on segments: mapped lists, the scope, tag and mirror writes; text and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.sandbox import SandboxDriver
from tests.test_segments_mirror import MIRROR, member_hash
from tests.test_segments_tags import change_list, hubspot_list, invoke, people


def status(config: Path) -> dict[str, Any]:
    result = invoke(config, "status", "--json")
    assert result.exit_code in (0, 1), result.output + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_status_shows_each_list_the_scope_and_tag_writes(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = people(sim, 4)
    canary = hubspot_list(sim, "Canary", ids[:3])
    mqls = hubspot_list(sim, "MQLs", ids[:1])
    config = sim.write_config(
        tmp_path,
        tags=[{"hubspot_list": "MQLs", "mailchimp_tag": "MQL"}],
        scope={"hubspot_list": "Canary", "on_leave": "archive"},
        tags_to_hubspot={"property": MIRROR},
        segments={"list_read_minutes": 0},
    )
    assert invoke(config, "check", "--fix").exit_code == 0
    assert invoke(config, "run").exit_code == 0

    change_list(sim, canary, remove=[ids[2]])
    # A member deleted for good in Mailchimp, unseen by the member read: its tag write fails.
    response = sim.http.post(
        f"{sim.mc_url}/lists/{sim.list_id}/members/{member_hash('person1@real.org')}"
        "/actions/delete-permanent",
        auth=sim.mc_auth,
        timeout=10,
    )
    assert response.status_code == 204, response.text
    change_list(sim, mqls, add=[ids[1]])
    sim.advance(60)
    assert invoke(config, "run").exit_code == 1  # the failed tag write is a partial failure

    section = status(config)["segments"]
    assert section["enabled"] is True
    lists = {item["list"]: item for item in section["lists"]}
    assert sorted(lists) == ["Canary", "MQLs"]
    assert (lists["Canary"]["id"], lists["Canary"]["kind"], lists["Canary"]["size"]) == (
        canary,
        "static",
        2,
    )
    assert lists["MQLs"]["size"] == 2
    assert lists["MQLs"]["read_at"] is not None
    assert lists["MQLs"]["read_seconds_ago"] >= 0
    assert section["scope"] == {"limited": True, "in": 2, "out": 2, "left": {"archive": 1}}
    assert section["tag_writes"] == {"pending": {}, "failed": {"tag": 1}}
    assert section["mirror"] == {"property": MIRROR, "pending": 0, "failed": 0}

    text = invoke(config, "status")
    assert "Segments" in text.output
    assert "scope: 2 in, 2 out (left it: 1 archive)" in text.output
    assert "tag writes failed: 1 tag" in text.output
    assert f"tags mirror into HubSpot {MIRROR}: 0 writes pending, 0 failed" in text.output


def test_status_keeps_its_segments_key_without_segments(sim: SandboxDriver, tmp_path: Path) -> None:
    people(sim, 1)
    config = sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == 0
    section = status(config)["segments"]
    assert section == {
        "enabled": False,
        "lists": [],
        "scope": {"limited": False, "in": 0, "out": 0, "left": {}},
        "tag_writes": {"pending": {}, "failed": {}},
        "mirror": None,
    }
    assert "Segments" not in invoke(config, "status").output
