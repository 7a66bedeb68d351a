"""Runs that fail: what is recorded, what is printed, what is alerted, and what never leaks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from syncer.cli import cli
from syncer.errors import ExitCode
from tests.support.sandbox import SandboxDriver
from tests.support.scripted_server import Reply, ScriptedServer


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def hubspot_at(sim: SandboxDriver, url: str, token: str) -> dict[str, Any]:
    """The config's HubSpot section, pointed at a scripted server instead of the simulator."""
    return {"token": token, "base_url": url, "search_per_second": 50}


def test_a_401_echoing_the_token_leaks_it_nowhere(sim: SandboxDriver, tmp_path: Path) -> None:
    token = "pat-na1-0123-echoed-secret"
    echoed = json.dumps({"status": "error", "message": f"The token {token} is expired"})
    hubspot = ScriptedServer(fallback=Reply(401, echoed.encode()))
    receiver = ScriptedServer(fallback=Reply(200, b"ok"))
    with hubspot.running(), receiver.running():
        config = sim.write_config(
            tmp_path,
            hubspot=hubspot_at(sim, hubspot.url, token),
            alerts={"webhook_url": f"{receiver.url}/hook"},
        )
        ran = invoke(config, "run")
        reported = invoke(config, "status", "--json")
    assert ran.exit_code == ExitCode.REMOTE
    assert "expired" in ran.stderr
    texts = {
        "stderr": ran.stderr + ran.stdout,
        "status": reported.stdout,
        "webhook": "".join(seen.body.decode() for seen in receiver.seen),
    }
    assert receiver.seen, "the failed run alerted nobody"
    for path in (tmp_path / "state").iterdir():
        texts[path.name] = path.read_bytes().decode(errors="replace")
    for where, text in texts.items():
        assert token not in text, where
