"""The `--json` outputs keep their published shapes (docs/schemas/*.schema.json).

Each command's real output, from a sync against the sandbox, is validated against its JSON
Schema: every key present (zeros included), one shape of api_calls, failures as objects, no
internal key such as `@email`. A run that fails still answers in its shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator

from syncer.cli import cli
from syncer.errors import ExitCode
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--config", str(config)])


def valid(name: str, document: Any) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    problems = sorted(Draft202012Validator(schema).iter_errors(document), key=str)
    assert not problems, [f"{list(p.absolute_path)}: {p.message}" for p in problems[:5]]


@pytest.fixture
def synced(sim: SandboxDriver, tmp_path: Path) -> Path:
    sim.seed_world(InitialWorld(shared=12, hubspot_only=4, mailchimp_only=4, conflicts=2))
    config = sim.write_config(
        tmp_path, sync={"direct_threshold": 0, "batch_poll_seconds": 0.05, "batch_wait_seconds": 10}
    )
    planned = invoke(config, "run", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.output
    valid("plan", json.loads(planned.stdout))
    ran = invoke(config, "run", "--json")
    assert ran.exit_code == 0, ran.output
    valid("run", json.loads(ran.stdout))
    return config


def test_every_json_output_has_its_published_shape(synced: Path) -> None:
    valid("status", json.loads(invoke(synced, "status", "--json").stdout))
    valid("errors", json.loads(invoke(synced, "errors", "--json").stdout))
    batches = json.loads(invoke(synced, "batches", "--json").stdout)
    assert batches
    valid("batches", batches)
    story = json.loads(invoke(synced, "show", email("shared", 0), "--json").stdout)
    valid("show", story)
    assert "newsletter" in story["base"], "the subscription by its property, not @subscription"


def test_zeros_are_present_and_api_calls_have_one_shape(synced: Path) -> None:
    quiet = json.loads(invoke(synced, "run", "--json").stdout)
    assert quiet["counts"]["written_hubspot"] == 0
    assert quiet["counts"]["failed"] == 0
    plan = json.loads(invoke(synced, "run", "--dry-run", "--json").stdout)
    assert plan["counts"]["mailchimp_unsubscribe"] == 0
    status = json.loads(invoke(synced, "status", "--json").stdout)
    shapes = {
        json.dumps(sorted(calls["hubspot"]))
        for calls in (quiet["api_calls"], plan["api_calls"], status["runs"][0]["api_calls"])
    }
    assert shapes == {json.dumps(["by_endpoint", "total"])}


def test_a_failed_run_still_prints_its_json(sim: SandboxDriver, tmp_path: Path) -> None:
    sim.seed_world(InitialWorld(shared=4, hubspot_only=1, mailchimp_only=1, conflicts=0))
    config = sim.write_config(tmp_path, http={"max_tries": 1, "max_time": 2, "read_timeout": 5})
    sim.faults("hubspot", {"rate": 1.0, "kinds": ["503"], "seed": 1})
    failed = invoke(config, "run", "--json")
    assert failed.exit_code == ExitCode.REMOTE
    document = json.loads(failed.stdout)
    valid("run", document)
    assert document["outcome"] == "failed"
    assert document["error"].startswith("hubspot:")
    assert document["api_calls"]["hubspot"]["total"] >= 1, "the failed run's own record"
