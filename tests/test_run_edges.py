"""Smaller ways a sync went wrong without saying so: a clock stored in the future, a certificate
refused under the wrong name, credentials sent over plain HTTP, commands racing on a new cache."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from syncer.cli import cli
from syncer.config import parse_config
from syncer.connectors.http import ApiSession
from syncer.errors import ConfigError, ExitCode, RemoteError, RetriableError
from syncer.run.deletions import CHECKED
from tests.support.people import InitialWorld
from tests.support.sandbox import SandboxDriver
from tests.support.scripted_server import Reply, ScriptedServer
from tests.support.state import sql

LIST = "GET /crm/v3/objects/contacts"


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


# -- the deletion check's clock -----------------------------------------------------------------


def test_a_deletion_check_stamped_in_the_future_is_due_not_skipped_for_good(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """A run under a clock a year ahead stored that year; every run after skipped the check."""
    sim.seed_world(InitialWorld(shared=5, hubspot_only=0, mailchimp_only=0, conflicts=0))
    config = sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == ExitCode.OK
    ahead = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    sql(tmp_path, "UPDATE cursors SET value = ? WHERE source = ?", ahead, CHECKED)
    listed = sim.requests("hubspot")["counts"].get(LIST, 0)
    sim.advance(60)
    assert invoke(config, "run").exit_code == ExitCode.OK
    assert sim.requests("hubspot")["counts"].get(LIST, 0) > listed, "the archive was not read"
    stamped = json.loads(invoke(config, "status", "--json").stdout)["cursors"][CHECKED]["value"]
    assert datetime.fromisoformat(stamped) <= datetime.now(UTC)


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        check=False,
    )
    if made.returncode:
        pytest.skip("openssl could not make a certificate")
    return cert, key


def test_a_self_signed_certificate_is_refused_as_a_certificate_problem(
    self_signed: tuple[Path, Path],
) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)
    server = ScriptedServer(fallback=Reply(200, b"{}"), tls=context)
    with server.running():
        api = ApiSession("hubspot", server.url, secrets=())
        with pytest.raises(RemoteError) as raised:
            api.request("GET", "/crm/v3/objects/contacts")
    assert server.url.startswith("https://")
    assert not isinstance(raised.value, RetriableError)  # a retry gets the same certificate
    assert "certificate" in str(raised.value)
    assert "connection failed" not in str(raised.value)
    assert "REQUESTS_CA_BUNDLE" in raised.value.hint


# -- plain HTTP beyond this machine --------------------------------------------------------------

BASE = "hubspot: {token: pat-test-token}\nmailchimp: {api_key: 0a-us1, list_id: l}\n"


@pytest.mark.parametrize(
    ("key", "section"),
    [
        (
            "hubspot.base_url",
            "hubspot: {token: pat-test-token, base_url: 'http://api.example.com'}",
        ),
        (
            "mailchimp.base_url",
            "mailchimp: {api_key: k, list_id: l, base_url: 'http://10.0.0.5/3.0'}",
        ),
        ("alerts.webhook_url", "alerts: {webhook_url: 'http://hooks.example.com/T0/B0/x'}"),
    ],
)
def test_plain_http_to_another_machine_is_refused(key: str, section: str) -> None:
    document = {**yaml.safe_load(BASE), **yaml.safe_load(section)}
    with pytest.raises(ConfigError) as raised:
        parse_config(yaml.safe_dump(document), {})
    (problem,) = [p for p in raised.value.problems if p.startswith(key)]
    assert "https://" in problem


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:80", "https://x.example"]
)
def test_https_and_plain_http_on_this_machine_are_fine(url: str) -> None:
    document = yaml.safe_load(BASE)
    document["hubspot"]["base_url"] = url
    document["alerts"] = {"webhook_url": url}
    assert parse_config(yaml.safe_dump(document), {}).hubspot.base_url == url


# -- commands racing on a brand-new cache --------------------------------------------------------


def test_status_and_run_started_together_on_a_new_cache_do_not_trip_on_each_other(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_world(InitialWorld(shared=10, hubspot_only=5, mailchimp_only=5, conflicts=0))
    config = sim.write_config(tmp_path)
    commands = [["status"]] * 3 + [["run"]]
    for attempt in range(3):  # the race is in the first milliseconds; try it a few times
        state = tmp_path / "state"
        for path in state.glob("*") if state.exists() else []:
            path.unlink()
        started = [
            subprocess.Popen(
                [sys.executable, "-m", "syncer", "--config", str(config), *command],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for command in commands
        ]
        finished = [(process, process.communicate(timeout=120)[1]) for process in started]
        for process, stderr in finished:
            code = process.returncode
            assert "database is locked" not in stderr, (attempt, stderr)
            assert "already exists" not in stderr, (attempt, stderr)
            assert "Traceback" not in stderr, (attempt, stderr)
            # A status that starts before the run has made the cache says so (issue 14.7:
            # read-only commands never create one); it must never trip on the run's start.
            no_cache_yet = code == ExitCode.CONFIG and "no cache at" in stderr
            assert code == ExitCode.OK or no_cache_yet, (attempt, code, stderr)
        sim.advance(60)
