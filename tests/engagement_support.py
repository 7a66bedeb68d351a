"""Driving engagement tests: campaigns and activity in the Mailchimp simulator, notes read back
from the HubSpot one, a config with engagement on, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from syncer.cli import cli
from syncer.config.engagement import PROPERTIES
from tests.support.sandbox import SandboxDriver

#: The engagement properties as `check --fix` would create them, for tests that seed them.
PROPERTY_SPECS = [
    {"name": name, "label": label, "type": kind, "fieldType": field_type}
    for name, kind, field_type, label in PROPERTIES.values()
]
NAMES = [spec["name"] for spec in PROPERTY_SPECS]


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--config", str(config)])


def run_json(config: Path, *args: str) -> dict[str, Any]:
    result = invoke(config, "run", "--json", *args)
    assert result.exit_code in (0, 1), result.output
    return dict(json.loads(result.stdout))


def engaged_config(sim: SandboxDriver, folder: Path, **engagement: Any) -> Path:
    settings = {"enabled": True, "every_minutes": 0, **engagement}
    return sim.write_config(
        folder,
        engagement=settings,
        sync={"batch_wait_seconds": 10, "batch_poll_seconds": 0.05, "overlap_seconds": 120},
    )


def send_campaign(sim: SandboxDriver, title: str, **body: Any) -> str:
    return str(sim._post(f"{sim.mc_root}/_sim/campaigns", {"title": title, **body})["id"])


def record(sim: SandboxDriver, campaign_id: str, *events: dict[str, Any]) -> None:
    sim._post(
        f"{sim.mc_root}/_sim/campaigns/events", {"campaign_id": campaign_id, "events": list(events)}
    )


def delete_campaign(sim: SandboxDriver, campaign_id: str) -> None:
    sim._post(f"{sim.mc_root}/_sim/campaigns/delete", {"campaign_id": campaign_id})


def notes(sim: SandboxDriver) -> list[dict[str, Any]]:
    response = sim.http.get(f"{sim.hs_url}/_sim/notes", timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json()["notes"])
