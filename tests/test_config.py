"""Config loading and validation: every problem at once, with its path, and no secret shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from syncer.cli import cli
from syncer.config import Secret, find_config_path, load_config, parse_config
from syncer.errors import ConfigError, ExitCode

ROOT = Path(__file__).resolve().parent.parent
ENV = {"HUBSPOT_TOKEN": "pat-na1-very-secret", "MAILCHIMP_API_KEY": "0123456789abcdef-us21"}

MINIMAL = """
hubspot:
  token: ${HUBSPOT_TOKEN}
mailchimp:
  api_key: ${MAILCHIMP_API_KEY}
  list_id: a1b2c3d4e5
"""

BROKEN = """
hubspot:
  token: ${HUBSPOT_TOKEN}
  base_ulr: https://api.hubapi.com
mailchimp:
  api_key: ${MAILCHIMP_API_KEY}
  list_id: a1b2c3d4e5
subscription:
  resubscribe: always
  double_opt_in: maybe
fields:
  - hubspot: firstname
    mailchimp: FNAME
  - hubspot: firstname
    mailchimp: FNAME
  - hubspot: lastname
    mailchimp: FNAME
"""


def test_the_example_config_is_valid() -> None:
    config = load_config(ROOT / "config.example.yaml", environ=ENV)
    assert config.hubspot.token.reveal() == ENV["HUBSPOT_TOKEN"]
    assert config.mailchimp.api_url == "https://us21.api.mailchimp.com/3.0"
    assert [m.hubspot for m in config.fields] == [
        "firstname",
        "lastname",
        "lifecyclestage",
        "notes_last_contacted",
    ]
    assert config.fields[3].transform == "date"
    assert config.state_path == ROOT / "syncer.db"


def test_defaults_fill_what_is_left_out() -> None:
    config = parse_config(MINIMAL, ENV)
    assert config.subscription.hubspot_property == "newsletter"
    assert config.subscription.resubscribe == "pending"
    assert config.create.in_hubspot
    assert config.create.in_mailchimp
    assert [(m.hubspot, m.mailchimp, m.direction, m.winner) for m in config.fields] == [
        ("firstname", "FNAME", "both", "latest"),
        ("lastname", "LNAME", "both", "latest"),
    ]


def test_five_mistakes_give_five_problems_with_key_paths_and_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    result = CliRunner().invoke(cli, ["--config", str(path), "check"], env=ENV)
    assert result.exit_code == ExitCode.CONFIG
    messages = [line.split(" ERROR ", 1)[-1] for line in result.stderr.splitlines()]
    lines = [message.strip() for message in messages if message.startswith("  ")]
    assert lines == [
        "hubspot.base_ulr: unknown key",
        "subscription.resubscribe: must be one of pending, never (got 'always')",
        "subscription.double_opt_in: must be true or false (got 'maybe')",
        "fields[1]: duplicate mapping of firstname <-> FNAME",
        "fields[2].mailchimp: FNAME is already mapped by fields[0]",
    ]
    assert "5 problems" in result.stderr
    for secret in ENV.values():
        assert secret not in result.output
        assert secret not in result.stderr


def test_a_missing_environment_variable_is_named() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(MINIMAL, {"MAILCHIMP_API_KEY": ENV["MAILCHIMP_API_KEY"]})
    assert raised.value.problems == ["hubspot.token: environment variable HUBSPOT_TOKEN is not set"]


def test_env_references_work_inside_longer_values() -> None:
    text = MINIMAL + "state_path: ${STATE_DIR}/sync.db\n"
    config = parse_config(text, {**ENV, "STATE_DIR": "/var/lib/syncer"})
    assert config.state_path == Path("/var/lib/syncer/sync.db")


def test_wrong_secret_types_do_not_echo_values() -> None:
    text = MINIMAL.replace("${MAILCHIMP_API_KEY}", "not-a-key-with-dc")
    with pytest.raises(ConfigError) as raised:
        parse_config(text, ENV)
    assert raised.value.problems == [
        "mailchimp.api_key: must end in -<data center> such as -us21 (or set mailchimp.base_url)"
    ]
    assert "not-a-key" not in str(raised.value.problems)


@pytest.mark.parametrize(
    ("snippet", "problem"),
    [
        ("hubspot: [1, 2]", "hubspot: must be a mapping of keys to values"),
        (
            "fields:\n  - hubspot: x\n    mailchimp: lower",
            "fields[0].mailchimp: must be an upper-case",
        ),
        ("fields:\n  - hubspot: x\n    mailchimp: X\n    direction: up", "fields[0].direction:"),
        ("fields:\n  - hubspot: email\n    mailchimp: X", "fields[0].hubspot: email is synced"),
        ("mailchimp:\n  max_connections: 11", "mailchimp.max_connections: must be at most 10"),
        ("http:\n  max_tries: yes", "http.max_tries: must be an integer"),
    ],
    ids=["section-type", "merge-tag", "direction", "email-mapped", "connections", "bool-as-int"],
)
def test_single_problems(snippet: str, problem: str) -> None:
    text = "hubspot:\n  token: t\nmailchimp:\n  api_key: 0a-us1\n  list_id: l\n"
    merged = {**_sections(text), **_sections(snippet)}
    with pytest.raises(ConfigError) as raised:
        parse_config("\n".join(merged.values()), {})
    assert any(found.startswith(problem) for found in raised.value.problems), raised.value.problems


def _sections(text: str) -> dict[str, str]:
    """Split YAML text into its top-level sections so a test can replace one."""
    sections: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith(" "):
            key = line.split(":")[0]
            sections[key] = line
        else:
            sections[key] += "\n" + line
    return sections


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config("hubspot:\n  token: [unclosed\n", ENV)
    assert "line" in raised.value.problems[0]


def test_config_path_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNCER_CONFIG", raising=False)
    assert find_config_path(None) == Path("syncer.yaml")
    monkeypatch.setenv("SYNCER_CONFIG", "/etc/syncer.yaml")
    assert find_config_path(None) == Path("/etc/syncer.yaml")
    assert find_config_path("mine.yaml") == Path("mine.yaml")


def test_missing_file_hints_at_init(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "none.yaml"), "check"])
    assert result.exit_code == ExitCode.CONFIG
    assert "no configuration file" in result.stderr
    assert "syncer init" in result.stderr


def test_secret_hides_its_value() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret}"
    assert secret.reveal() == "hunter2"
