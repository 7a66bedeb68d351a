"""A small declarative checker for nested YAML values that reports every problem with its path.

It exists so that schema.py can state *what* a valid file looks like in one table; the walking,
defaulting and message wording live here once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

import yaml

_REQUIRED = object()

Section = Mapping[str, Union["Key", "Section"]]

_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
}


@dataclass(frozen=True)
class Key:
    """One leaf of the schema: its type and the constraints on its value."""

    kind: type
    default: Any = _REQUIRED
    nullable: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    pattern_help: str = ""
    secret: bool = False
    items: Section | None = None

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


def validate(raw: Any, schema: Section, problems: list[str], path: str = "") -> dict[str, Any]:
    """Return ``raw`` with defaults filled in; append one message per problem to ``problems``."""
    if not isinstance(raw, dict):
        problems.append(f"{path or 'the file'}: must be a mapping of keys to values")
        raw = {}
    values: dict[str, Any] = {}
    for name in raw:
        if name not in schema:
            problems.append(f"{join_path(path, str(name))}: unknown key")
    for name, spec in schema.items():
        where = join_path(path, name)
        if isinstance(spec, Key):
            values[name] = _leaf(raw, name, spec, where, problems)
        else:
            values[name] = validate(raw.get(name) or {}, spec, problems, where)
    return values


def _leaf(raw: dict[str, Any], name: str, spec: Key, where: str, problems: list[str]) -> Any:
    if name not in raw:
        if spec.required:
            problems.append(f"{where}: required")
        return None if spec.required else spec.default
    value = raw[name]
    if value is None:
        if spec.nullable:
            return None
        if spec.required:
            problems.append(f"{where}: required")
            return None
        return spec.default
    coerced = _coerce(value, spec.kind)
    if coerced is None:
        problems.append(f"{where}: must be {_TYPE_NAMES[spec.kind]}{_shown(value, spec)}")
        return None
    value = coerced
    before = len(problems)
    _constrain(value, spec, where, problems)
    if spec.items is not None and isinstance(value, list):
        return [
            validate(item, spec.items, problems, f"{where}[{index}]")
            for index, item in enumerate(value)
        ]
    return value if len(problems) == before else None


def _coerce(value: Any, kind: type) -> Any:
    """Accept YAML's value when its type fits.

    Ints pass as floats and numbers as strings (a list id of digits is still an id), but bools
    never pass as numbers: ``yes`` where a count belongs is a mistake worth reporting.
    """
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (int, float) and isinstance(value, bool):
        return None
    if kind is str and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, kind) else None


def _constrain(value: Any, spec: Key, where: str, problems: list[str]) -> None:
    shown = _shown(value, spec)
    if spec.choices is not None and value not in spec.choices:
        problems.append(f"{where}: must be one of {', '.join(spec.choices)}{shown}")
    if spec.minimum is not None and value < spec.minimum:
        problems.append(f"{where}: must be at least {spec.minimum:g}{shown}")
    if spec.maximum is not None and value > spec.maximum:
        problems.append(f"{where}: must be at most {spec.maximum:g}{shown}")
    if spec.pattern is not None and not re.search(spec.pattern, value):
        problems.append(f"{where}: must be {spec.pattern_help or 'a ' + spec.pattern}{shown}")
    if spec.secret and not value.strip():
        problems.append(f"{where}: must not be empty")


def _shown(value: Any, spec: Key) -> str:
    """The offending value for the message, unless the key holds a secret."""
    return "" if spec.secret else f" (got {value!r})"


def join_path(path: str, key: str) -> str:
    """``hubspot`` + ``token`` -> ``hubspot.token``: the way every message names a key."""
    return f"{path}.{key}" if path else key


def yaml_problem(text: str, error: Any) -> str:
    """Where a YAML error really is, in words: the line of the mistake, not where the parser
    gave up. A key missing its ``:`` is read on as a multi-line value until the next ``key:``,
    so the parser complains a line late; an unclosed quote is reported at the end of the file.
    """
    problem = getattr(error, "problem", None) or "invalid YAML"
    mark = getattr(error, "problem_mark", None)
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    line = mark.line if mark is not None else None
    if problem == "mapping values are not allowed here" and mark is not None:
        start = _last_scalar_start(text)
        if start is not None and start < mark.line:
            return (
                f"the file is not valid YAML at line {start + 1}: a value runs on to line "
                f"{mark.line + 1} (a key missing its `:`, or a value needing quotes?)"
            )
    if context and context_mark is not None and "scanning" in context:
        line = context_mark.line
        problem = f"{problem} ({context} that starts there)"
    where = f" at line {line + 1}" if line is not None else ""
    return f"the file is not valid YAML{where}: {problem}"


def _last_scalar_start(text: str) -> int | None:
    """The line on which the last value read before an error began."""
    start = None
    try:
        for token in yaml.scan(text):
            if isinstance(token, yaml.ScalarToken):
                start = token.start_mark.line
    except yaml.YAMLError:
        return start
    return start
