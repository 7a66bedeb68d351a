"""`syncer status` shows the preferences mappings, what the audience resolved them to, how many
people have each granted or chosen on each side, and the people with a preference problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sandbox import SandboxDriver
from tests.test_json_shapes import valid
from tests.test_preferences_groups import add_topic_option
from tests.test_preferences_sync import config, run, seed
from tests.test_segments_tags import invoke

pytestmark = pytest.mark.timeout(120)


def test_status_shows_each_mapping_with_its_counts_on_both_sides(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = seed(sim, 3, gdpr_email="true")
    add_topic_option(sim, "Nws")
    path = config(sim, tmp_path)
    run(path)
    sim.hubspot_edit(ids[0], {"topics": "News;Offers", "gdpr_email": "false"})
    sim.hubspot_edit(ids[1], {"topics": "Nws"})
    sim.advance(60)
    invoke(path, "run")
    report = json.loads(invoke(path, "status", "--json").stdout)
    valid("status", report)
    section = report["preferences"]
    assert section["resolved_at"]
    events, topics = section["interests"]
    assert (events["hubspot"], events["category"], events["mailchimp"]) == (
        "wants_events",
        "Invites",
        "Events",
    )
    assert events["consent"]
    assert events["interests"] == ["Events"]
    assert events["chosen"] == {"hubspot": 0, "mailchimp": 0}
    assert topics["interests"] == ["News", "Offers"]
    assert topics["mailchimp"] is None
    assert topics["chosen"] == {"hubspot": 2, "mailchimp": 1}, "a name that is no interest"
    (email,) = section["permissions"]
    assert (email["hubspot"], email["mailchimp"], email["direction"]) == (
        "gdpr_email",
        "Email",
        "both",
    )
    assert email["resolved"]
    assert email["granted"] == {"hubspot": 2, "mailchimp": 2}
    assert section["problems"] == 1
    text = " ".join(invoke(path, "status").output.split())
    assert "Preferences" in text
    assert "gdpr_email permission 'Email' both 2 2" in text
    assert "topics group 'Topics' (News, Offers) both 2 1" in text
    assert "1 person with a group value that is no interest (`syncer errors`)" in text


def test_status_without_preferences_has_the_section_switched_off(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    seed(sim, 1)
    path = sim.write_config(tmp_path)
    run(path)
    report = json.loads(invoke(path, "status", "--json").stdout)
    valid("status", report)
    assert report["preferences"] == {
        "enabled": False,
        "resolved_at": None,
        "interests": [],
        "permissions": [],
        "problems": 0,
    }
    assert "Preferences" not in invoke(path, "status").output
