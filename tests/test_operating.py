"""Operating syncer: health rules, errors with hints, retry, alerts, show, batches, init."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from syncer.cli import cli
from syncer.config import load_config
from syncer.errors import ExitCode
from tests.support.people import InitialWorld, email, iso_ago
from tests.support.sandbox import SandboxDriver
from tests.support.scripted_server import Reply, ScriptedServer
from tests.support.state import sql


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def synced(sim: SandboxDriver, tmp_path: Path, **overrides: Any) -> Path:
    world = InitialWorld(shared=20, hubspot_only=6, mailchimp_only=6, conflicts=2)
    sim.seed_world(world)
    config = sim.write_config(tmp_path, **overrides)
    assert invoke(config, "run").exit_code == 0
    return config


def status(config: Path) -> tuple[int, dict[str, Any]]:
    checked = invoke(config, "status", "--check", "--json")
    return checked.exit_code, json.loads(checked.stdout)


# -- health ---------------------------------------------------------------------------------


def test_a_fresh_successful_run_is_healthy(sim: SandboxDriver, tmp_path: Path) -> None:
    code, report = status(synced(sim, tmp_path))
    assert code == ExitCode.OK
    assert report["health"] == {"ok": True, "reasons": []}
    (run,) = report["runs"]
    assert run["outcome"] == "ok"
    assert run["counts"]["written"] > 0
    assert set(report["cursors"]) == {"hubspot", "mailchimp", "hubspot_deleted"}


def test_a_stale_last_run_is_unhealthy(sim: SandboxDriver, tmp_path: Path) -> None:
    config = synced(sim, tmp_path)
    old = (datetime.now(UTC) - timedelta(minutes=20)).isoformat(timespec="seconds")
    sql(tmp_path, "UPDATE runs SET started_at = ?, ended_at = ?", old, old)
    code, report = status(config)
    assert code == ExitCode.PARTIAL
    assert report["health"]["ok"] is False
    assert report["health"]["reasons"][0].startswith("no successful run in the last 15 minutes")


def test_a_high_error_rate_is_unhealthy(sim: SandboxDriver, tmp_path: Path) -> None:
    config = synced(sim, tmp_path)
    counts = {"written_hubspot": 90, "written_mailchimp": 5, "failed": 5}
    sql(tmp_path, "UPDATE runs SET outcome = 'partial', counts = ?", json.dumps(counts))
    code, report = status(config)
    assert code == ExitCode.PARTIAL
    assert report["health"]["reasons"] == ["the last run's error rate is 5.0% (over 1%)"]


def test_a_stuck_batch_is_unhealthy(sim: SandboxDriver, tmp_path: Path) -> None:
    config = synced(
        sim,
        tmp_path,
        sync={"direct_threshold": 0, "batch_wait_seconds": 0.1, "batch_poll_seconds": 0.05},
    )
    sim.configure("mailchimp", {"batch_paused": True})
    sim.hubspot_edit(_hubspot_id(sim, email("shared", 3)), {"lastname": "Held"})
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    code, report = status(config)
    assert code == ExitCode.OK
    assert len(report["batches"]) == 1
    old = (datetime.now(UTC) - timedelta(minutes=90)).isoformat(timespec="seconds")
    sql(tmp_path, "UPDATE batches SET submitted_at = ?, progress_at = ?", old, old)
    code, report = status(config)
    assert code == ExitCode.PARTIAL
    assert any("has been open for 90 minutes" in r for r in report["health"]["reasons"])


def test_high_hubspot_daily_usage_is_unhealthy(sim: SandboxDriver, tmp_path: Path) -> None:
    config = synced(sim, tmp_path)
    usage = json.dumps({"daily_limit": 250_000, "daily_remaining": 25_000})
    sql(tmp_path, "UPDATE runs SET hubspot_usage = ?", usage)
    code, report = status(config)
    assert code == ExitCode.PARTIAL
    assert report["health"]["reasons"] == ["HubSpot's daily API usage is at 90% (over 80%)"]


def _hubspot_id(sim: SandboxDriver, address: str) -> str:
    for contact in sim.hubspot_contacts(["email"]):
        if contact["properties"]["email"] == address:
            return str(contact["id"])
    raise AssertionError(address)


# -- errors and retry ---------------------------------------------------------------------------


def test_errors_explain_and_retry_syncs_once_the_address_is_fixed(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = sim.seed_hubspot(
        [
            {
                "properties": {"email": "bounced@northwind-mail.com", "newsletter": "true"},
                "timestamps": {"newsletter": iso_ago(1)},
            },
            {
                "properties": {
                    "email": "typo@example.com",
                    "newsletter": "true",
                    "firstname": "Ty",
                },
                "timestamps": {"newsletter": iso_ago(1)},
            },
        ]
    )
    sim.seed_mailchimp(
        [
            {
                "email_address": "bounced@northwind-mail.com",
                "status": "cleaned",
                "last_changed": iso_ago(5),
            }
        ]
    )
    config = sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == 0

    listed = invoke(config, "errors")
    assert listed.exit_code == 0
    text = listed.stdout
    assert "bounced@northwind-mail.com" in text
    assert "cleaned by Mailchimp after bounces: fix the address in HubSpot" in text
    assert "typo@example.com" in text
    assert "looks fake or invalid" in text
    assert "correct it in HubSpot, then `syncer retry EMAIL`" in text

    sim.hubspot_edit(ids[1], {"email": "ty.po@northwind-mail.com"})
    retried = invoke(config, "retry", "typo@example.com")
    assert retried.exit_code == 0, retried.output
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    member = sim.mailchimp_by_email()["ty.po@northwind-mail.com"]
    assert (member["status"], member["merge_fields"]["FNAME"]) == ("subscribed", "Ty")
    remaining = json.loads(invoke(config, "errors", "--json").stdout)
    assert [g["emails"] for g in remaining["groups"]] == [["bounced@northwind-mail.com"]]

    sim.hubspot_edit(ids[0], {"email": "not-bounced@northwind-mail.com"})
    assert invoke(config, "retry", "bounced@northwind-mail.com").exit_code == 0
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    members = sim.mailchimp_by_email()
    assert members["not-bounced@northwind-mail.com"]["status"] == "subscribed"
    assert members["bounced@northwind-mail.com"]["status"] == "cleaned"
    assert json.loads(invoke(config, "errors", "--json").stdout)["groups"] == []
    assert len(sim.hubspot_contacts(["email"])) == 2
    sim.advance(60)
    writes = (sim.writes("hubspot"), sim.writes("mailchimp"))
    assert invoke(config, "run", "--full").exit_code == 0
    assert (sim.writes("hubspot"), sim.writes("mailchimp")) == writes


def test_retry_needs_emails_or_all(sim: SandboxDriver, tmp_path: Path) -> None:
    config = synced(sim, tmp_path)
    assert invoke(config, "retry").exit_code == ExitCode.CONFIG
    assert invoke(config, "retry", "nobody@northwind-mail.com").exit_code == ExitCode.CONFIG
    done = invoke(config, "retry", "--all")
    assert done.exit_code == 0
    assert "0 contacts queued again" in done.stdout


# -- alerts -------------------------------------------------------------------------------------


def test_one_alert_for_failing_runs_and_one_for_the_recovery(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    receiver = ScriptedServer(fallback=Reply(200, b"ok"))
    with receiver.running():
        config = synced(
            sim,
            tmp_path,
            alerts={"webhook_url": f"{receiver.url}/hooks/secret-token"},
            http={"max_tries": 2, "max_time": 2},
        )
        assert receiver.seen == []
        sim.faults("hubspot", {"rate": 1.0, "kinds": ["503"], "seed": 1})
        sim.advance(60)
        assert invoke(config, "run").exit_code == ExitCode.REMOTE
        assert invoke(config, "run").exit_code == ExitCode.REMOTE
        sim.faults("hubspot", {"rate": 0})
        sim.advance(60)
        assert invoke(config, "run").exit_code == 0
        assert invoke(config, "run").exit_code == 0
    messages = [json.loads(seen.body) for seen in receiver.seen]
    assert len(messages) == 2
    assert "unhealthy" in messages[0]["text"]
    assert "the last run failed" in messages[0]["text"]
    assert "recovered" in messages[1]["text"]
    for message in messages:
        assert "secret-token" not in message["text"]
        assert sim.sandbox.info.hubspot_token not in message["text"]


# -- show, batches, init --------------------------------------------------------------------------


def test_show_tells_a_persons_story(sim: SandboxDriver, tmp_path: Path) -> None:
    config = synced(sim, tmp_path)
    shown = invoke(config, "show", email("shared", 0), "--json")
    assert shown.exit_code == 0
    story = json.loads(shown.stdout)
    assert (
        story["hubspot"]["values"]["firstname"] == story["mailchimp"]["values"]["fields"]["FNAME"]
    )
    assert story["base"]["firstname"]["hubspot"] == story["hubspot"]["values"]["firstname"]
    assert [e["kind"] for e in story["events"]] == ["conflict"]
    assert story["changes"]
    text = invoke(config, "show", email("shared", 0)).stdout
    assert "Decisions" in text
    assert invoke(config, "show", "nobody@northwind-mail.com").exit_code == ExitCode.CONFIG


def test_batches_lists_what_became_of_operations(sim: SandboxDriver, tmp_path: Path) -> None:
    config = synced(sim, tmp_path, sync={"direct_threshold": 0, "batch_poll_seconds": 0.05})
    (batch,) = json.loads(invoke(config, "batches", "--json").stdout)
    assert batch["status"] == "processed"
    assert batch["outcomes"]["succeeded"] == batch["total"]
    assert batch["id"] in invoke(config, "batches").stdout


def test_init_writes_a_valid_starter_config(tmp_path: Path) -> None:
    target = tmp_path / "syncer.yaml"
    made = CliRunner().invoke(cli, ["init", str(target)])
    assert made.exit_code == 0
    assert f"syncer check --config {target} --fix" in made.stdout
    config = load_config(target, environ={"HUBSPOT_TOKEN": "t", "MAILCHIMP_API_KEY": "0a-us1"})
    assert config.subscription.hubspot_property == "newsletter"
    assert CliRunner().invoke(cli, ["init", str(target)]).exit_code == ExitCode.CONFIG
    assert yaml.safe_load(target.read_text())["hubspot"]["token"] == "${HUBSPOT_TOKEN}"


@pytest.mark.parametrize(
    "command",
    [("status",), ("errors",), ("batches",), ("show", "ann@example.com"), ("retry", "--all")],
)
def test_read_only_commands_never_create_a_cache(
    sim: SandboxDriver, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Issue 14.7: a typo'd state_path is "no cache at PATH", never a new empty cache."""
    config = sim.write_config(tmp_path)
    done = invoke(config, *command)
    assert done.exit_code == ExitCode.CONFIG
    assert f"no cache at {tmp_path / 'state' / 'syncer.db'}" in done.stderr
    assert not (tmp_path / "state").exists(), "a read-only command created the cache's folder"
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "syncer.db").write_bytes(b"")
    assert invoke(config, *command).exit_code == ExitCode.CONFIG, "an empty file is no cache"


def test_a_run_creating_a_cache_says_so_first(sim: SandboxDriver, tmp_path: Path) -> None:
    config = sim.write_config(tmp_path)
    ran = invoke(config, "run")
    assert ran.exit_code == 0
    first = ran.stderr.splitlines()[0]
    assert "WARNING no cache at" in first
    assert "created a new one, so this is a first sync" in first
    assert "no cache at" not in invoke(config, "run").stderr
