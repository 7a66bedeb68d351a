"""Load a configuration file: read, substitute the environment, validate, build the typed config.

Validation collects every problem with its key path before raising once, because an operator
fixing a config by trial and error one message at a time is how cron jobs stay broken for a day.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from syncer.config import checks, engagement, preferences, segments
from syncer.config.checks import ENV_REFERENCE
from syncer.config.model import (
    AlertsConfig,
    Config,
    CreateConfig,
    FieldMapping,
    HealthConfig,
    HttpConfig,
    HubSpotConfig,
    MailchimpConfig,
    SafetyConfig,
    Secret,
    SubscriptionConfig,
    SyncConfig,
)
from syncer.config.schema import SCHEMA
from syncer.config.validation import join_path, validate, yaml_problem
from syncer.errors import ConfigError

DEFAULT_PATH = Path("syncer.yaml")
ENV_VAR = "SYNCER_CONFIG"
ENV_HINT = (
    "Export each one before syncer starts (`export HUBSPOT_TOKEN=...`); under cron, keep "
    "`export NAME=value` lines in a file only you can read and source it (see crontab.example)."
)


def find_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """``--config``, else ``$SYNCER_CONFIG``, else ``./syncer.yaml``."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_PATH


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, substitute ``${NAME}`` from the environment, validate and type the file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"no configuration file at {path}"],
            hint="Run `syncer init` to write one, or pass --config PATH.",
        ) from None
    except OSError as error:
        raise ConfigError([f"cannot read {path}: {error.strerror}"]) from None
    return parse_config(text, environ=os.environ if environ is None else environ, source=path)


def parse_config(text: str, environ: Mapping[str, str], source: Path | None = None) -> Config:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError([yaml_problem(text, error)]) from None
    if raw is None:
        raw = {}
    problems: list[str] = []
    raw = _substitute(raw, environ, "", problems)
    unset = bool(problems)  # so far, only environment variables
    values = validate(raw, SCHEMA, problems)
    if isinstance(values.get("fields"), list):
        checks.mappings(values, problems)
    checks.mailchimp_key(values["mailchimp"], problems)
    checks.plain_http(values, problems)
    segments.check(values, problems)
    preferences.check(values, problems)
    engagement.check(values, problems)
    if problems:
        raise ConfigError(problems, hint=ENV_HINT if unset else None)
    return _build(values, source)


def _substitute(node: Any, environ: Mapping[str, str], path: str, problems: list[str]) -> Any:
    """Replace ``${NAME}`` in every string, recording each missing variable with its key path."""
    if isinstance(node, dict):
        return {
            key: _substitute(value, environ, join_path(path, str(key)), problems)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [
            _substitute(value, environ, f"{path}[{index}]", problems)
            for index, value in enumerate(node)
        ]
    if not isinstance(node, str):
        return node

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            problems.append(f"{path}: environment variable {name} is not set")
            return match.group(0)
        if not environ[name]:
            problems.append(f"{path}: environment variable {name} is set but empty")
        return environ[name]

    return ENV_REFERENCE.sub(replace, node)


def _build(values: dict[str, Any], source: Path | None) -> Config:
    state_path = Path(values["state_path"]).expanduser()
    if not state_path.is_absolute() and source is not None:
        state_path = source.absolute().parent / state_path
    hubspot = dict(values["hubspot"], token=Secret(values["hubspot"]["token"]))
    mailchimp = dict(values["mailchimp"], api_key=Secret(values["mailchimp"]["api_key"]))
    return Config(
        state_path=state_path,
        hubspot=HubSpotConfig(**hubspot),
        mailchimp=MailchimpConfig(**mailchimp),
        subscription=SubscriptionConfig(**values["subscription"]),
        create=CreateConfig(**values["create"]),
        fields=tuple(FieldMapping(**mapping) for mapping in values["fields"]),
        http=HttpConfig(**values["http"]),
        sync=SyncConfig(**values["sync"]),
        safety=SafetyConfig(**values["safety"]),
        health=HealthConfig(**values["health"]),
        alerts=AlertsConfig(
            webhook_url=Secret(url) if (url := values["alerts"]["webhook_url"]) else None
        ),
        segments=segments.build(values),
        engagement=engagement.build(values),
        source=source,
        preferences=preferences.build(values),
    )
