"""Docs tested like code: the README's tables and commands match what the program does."""

from __future__ import annotations

import re
from pathlib import Path

from syncer.cli import cli
from syncer.config import SCHEMA
from syncer.config.validation import Key
from syncer.errors import EXIT_CODE_MEANINGS, ExitCode

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def test_exit_code_table_matches_the_enum() -> None:
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", _section("Exit codes"), re.M)
    assert {int(code): meaning for code, meaning in rows} == {
        int(code): meaning for code, meaning in EXIT_CODE_MEANINGS.items()
    }
    assert set(EXIT_CODE_MEANINGS) == set(ExitCode)


def test_every_command_is_in_the_readme() -> None:
    table = _section("Commands")
    for name in cli.commands:
        assert f"`syncer {name}" in table, name


def test_every_config_key_is_documented_in_the_example_and_readme() -> None:
    example = (ROOT / "config.example.yaml").read_text()
    reference = _section("Configuration")
    for path in _leaf_paths(SCHEMA):
        leaf = path.rsplit(".", 1)[-1]
        assert re.search(rf"^\s*#?\s*-?\s*{leaf}:", example, re.M), (
            f"{path} not in config.example.yaml"
        )
        assert path.split("[")[0] in reference or leaf in reference, f"{path} not in README"


def _leaf_paths(schema: object, prefix: str = "") -> list[str]:
    paths: list[str] = []
    assert isinstance(schema, dict)
    for name, spec in schema.items():
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(spec, Key):
            paths.append(path)
            if spec.items:
                paths.extend(_leaf_paths(spec.items, f"{path}[]"))
        else:
            paths.extend(_leaf_paths(spec, path))
    return paths


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -e '.[test]'" in ci
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert len(blocks) >= 2
    assert "pip install -e '.[test]'" in blocks[1]
    assert "pytest" in blocks[1]
    assert "syncer" in blocks[0]
