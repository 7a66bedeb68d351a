"""The command line an operator meets in the first week (issue 14 points 5, 8 and 12).

Global options after the command, examples and exit codes in --help, `-V`, `syncer` alone,
`init` into a new folder, YAML errors on the right line, empty variables named, plurals,
`show` following a rename, and the signal rules.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncer import __version__
from syncer.cli import cli
from syncer.config import parse_config
from syncer.errors import EXIT_CODE_MEANINGS, ConfigError, ExitCode
from syncer.operate.stopping import REPEAT_WINDOW
from syncer.run.report import summary_lines
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver

COMMANDS = sorted(cli.commands)
ENV = {"HUBSPOT_TOKEN": "pat-na1-x", "MAILCHIMP_API_KEY": "0123abcd-us21"}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_shows_the_global_options_and_examples(command: str) -> None:
    shown = CliRunner().invoke(cli, [command, "--help"]).output
    for option in ("--config PATH", "-v, --verbose", "-q, --quiet", "--debug", "--log-file PATH"):
        assert option in shown, (command, option)
    assert "Examples:" in shown
    assert f"  syncer {command}" in shown


def test_global_options_work_after_the_command(sim: SandboxDriver, tmp_path: Path) -> None:
    sim.seed_world(InitialWorld(shared=4, hubspot_only=1, mailchimp_only=1, conflicts=0))
    config = sim.write_config(tmp_path)
    after = CliRunner().invoke(cli, ["run", "--config", str(config), "--quiet"])
    assert after.exit_code == 0, after.output
    assert " INFO " not in after.stderr, "--quiet after the command keeps the summary out"
    assert " WARNING no cache at " in after.stderr, "but not the warning of a new cache"
    before = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    assert json.loads(before.stdout)["runs"][0]["outcome"] == "ok"
    missing = CliRunner().invoke(cli, ["status", "--config", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == ExitCode.CONFIG
    assert "no configuration file at" in missing.stderr


def test_syncer_alone_shows_help_and_the_exit_codes() -> None:
    alone = CliRunner().invoke(cli, [])
    assert alone.exit_code == 0
    assert "Commands:" in alone.output
    flat = " ".join(alone.output.split())
    for code, meaning in EXIT_CODE_MEANINGS.items():
        assert f"{int(code)} {' '.join(meaning.replace('`', '').split())}" in flat
    assert CliRunner().invoke(cli, ["--help"]).output == alone.output


def test_dash_capital_v_prints_the_version() -> None:
    shown = CliRunner().invoke(cli, ["-V"])
    assert shown.exit_code == 0
    assert __version__ in shown.output


def test_init_creates_a_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "newdir" / "x.yaml"
    made = CliRunner().invoke(cli, ["init", str(target)])
    assert made.exit_code == 0, made.output
    assert target.exists()
    assert f"syncer check --config {target} --fix" in made.stdout


def test_a_key_missing_its_colon_is_reported_on_its_own_line() -> None:
    text = "hubspot:\n  token ${HUBSPOT_TOKEN}\n  base_url: https://api.hubapi.com\n"
    with pytest.raises(ConfigError) as raised:
        parse_config(text, ENV)
    (problem,) = raised.value.problems
    assert problem.startswith("the file is not valid YAML at line 2:"), problem


def test_an_unclosed_quote_is_reported_where_it_opens() -> None:
    text = 'mailchimp:\n  list_id: "abc\n  base_url: null\nfields: []\n'
    with pytest.raises(ConfigError) as raised:
        parse_config(text, ENV)
    assert raised.value.problems[0].startswith("the file is not valid YAML at line 2:")


def test_an_empty_variable_is_named_and_the_hint_says_how_to_pass_one() -> None:
    text = "hubspot:\n  token: ${HUBSPOT_TOKEN}\nmailchimp:\n  api_key: ${MC}\n  list_id: x\n"
    with pytest.raises(ConfigError) as raised:
        parse_config(text, {"HUBSPOT_TOKEN": ""})
    assert "hubspot.token: environment variable HUBSPOT_TOKEN is set but empty" in (
        raised.value.problems
    )
    assert "mailchimp.api_key: environment variable MC is not set" in raised.value.problems
    assert "export HUBSPOT_TOKEN=..." in raised.value.hint
    assert "crontab.example" in raised.value.hint


def test_counts_of_one_read_as_one() -> None:
    counts = {"fetched_hubspot": 1, "fetched_mailchimp": 1, "changed": 1, "conflicts": 1}
    lines = summary_lines(counts, {"hubspot": {"x": 1}, "mailchimp": {"y": 1}}, "ok")
    assert lines[0] == (
        "run ok: fetched 1 HubSpot contact and 1 Mailchimp member; 1 person to update, 1 conflict"
    )
    assert lines[-1] == "API calls: 1 HubSpot call, 1 Mailchimp call"


def test_show_old_email_follows_a_rename(sim: SandboxDriver, tmp_path: Path) -> None:
    sim.seed_world(InitialWorld(shared=3, hubspot_only=0, mailchimp_only=0, conflicts=0))
    config = sim.write_config(tmp_path)
    assert CliRunner().invoke(cli, ["run", "--config", str(config)]).exit_code == 0
    old, new = email("shared", 0), "renamed@northwind-mail.com"
    (contact,) = [c for c in sim.hubspot_contacts(["email"]) if c["properties"]["email"] == old]
    sim.hubspot_edit(contact["id"], {"email": new})
    sim.advance(60)
    assert CliRunner().invoke(cli, ["run", "--config", str(config)]).exit_code == 0
    shown = CliRunner().invoke(cli, ["show", old, "--config", str(config), "--json"])
    assert shown.exit_code == 0, shown.output
    story = json.loads(shown.stdout)
    assert (story["email"], story["renamed_from"]) == (new, old)
    text = CliRunner().invoke(cli, ["show", old, "--config", str(config)]).stdout
    assert text.startswith(f"{old} was renamed; this is the same person now")


def _slow_run(sim: SandboxDriver, tmp_path: Path) -> subprocess.Popen[str]:
    sim.seed_world(InitialWorld(shared=20, hubspot_only=5, mailchimp_only=5, conflicts=0))
    sim.configure("hubspot", {"latency_ms": 1500})
    config = sim.write_config(tmp_path)
    return subprocess.Popen(
        [sys.executable, "-m", "syncer", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_stop_line(process: subprocess.Popen[str], name: str) -> str:
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if f"{name}: stopping at the next safe point" in line:
            break
    return "".join(seen)


def test_sighup_stops_a_run_like_sigterm(sim: SandboxDriver, tmp_path: Path) -> None:
    with _slow_run(sim, tmp_path) as process:
        sim.wait_for_request("hubspot", "GET /crm/v3/properties/contacts")
        process.send_signal(signal.SIGHUP)
        seen = _wait_for_stop_line(process, "SIGHUP")
        _, rest = process.communicate(timeout=60)
    assert process.returncode == ExitCode.INTERRUPTED, seen + rest
    status = CliRunner().invoke(
        cli, ["status", "--json", "--config", str(tmp_path / "syncer.yaml")]
    )
    assert json.loads(status.stdout)["runs"][0]["outcome"] == "interrupted"


def test_the_same_signal_twice_at_once_counts_once(sim: SandboxDriver, tmp_path: Path) -> None:
    """GNU timeout signals the process group: one TERM may arrive twice in the same instant."""
    with _slow_run(sim, tmp_path) as process:
        sim.wait_for_request("hubspot", "GET /crm/v3/properties/contacts")
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGTERM)
        seen = _wait_for_stop_line(process, "SIGTERM")
        _, rest = process.communicate(timeout=60)
    assert process.returncode == ExitCode.INTERRUPTED, seen + rest
    status = CliRunner().invoke(
        cli, ["status", "--json", "--config", str(tmp_path / "syncer.yaml")]
    )
    (run,) = json.loads(status.stdout)["runs"]
    assert run["outcome"] == "interrupted", "stopped at a safe point, recorded, not cut short"
    assert REPEAT_WINDOW >= 1.0
