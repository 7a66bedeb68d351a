"""The command line as an operator meets it: help, version, the installed script."""

from __future__ import annotations

import shutil
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from syncer import __version__
from syncer.cli import cli

COMMANDS = sorted(cli.commands)


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    summary = cli.commands[command].get_short_help_str(limit=1000)
    assert summary
    assert summary in " ".join(result.output.split())


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2


def test_the_installed_console_script_runs() -> None:
    script = shutil.which("syncer", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert script, "the console script `syncer` is not installed next to this Python"
    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for command in COMMANDS:
        assert command in done.stdout


def test_python_dash_m_runs_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert __version__ in done.stdout


def test_commands_are_click_commands() -> None:
    assert all(isinstance(command, click.Command) for command in cli.commands.values())
