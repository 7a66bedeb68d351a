"""Load, validate and type the YAML configuration.

Validation collects every problem with its key path before raising once, because an operator
fixing a config by trial and error one message at a time is how cron jobs stay broken for a day.
Secrets are wrapped in :class:`Secret` the moment they are read, so no repr, log line or error
message can show them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from syncer import config_checks, config_engagement, config_preferences, config_segments
from syncer.config_checks import ENV_REFERENCE
from syncer.config_direction import DIRECTIONS, WINNERS, Directed
from syncer.config_engagement import EngagementConfig
from syncer.config_preferences import PreferencesConfig
from syncer.config_segments import SegmentsConfig
from syncer.errors import ConfigError
from syncer.validation import Key, Section, join_path, validate, yaml_problem

DEFAULT_PATH = Path("syncer.yaml")
ENV_VAR = "SYNCER_CONFIG"

_URL = "an http:// or https:// URL"
ENV_HINT = (
    "Export each one before syncer starts (`export HUBSPOT_TOKEN=...`); under cron, keep "
    "`export NAME=value` lines in a file only you can read and source it (see crontab.example)."
)
TRANSFORMS = ("date", "boolean")


class Secret:
    """A credential: usable through :meth:`reveal`, invisible everywhere else."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class HubSpotConfig:
    token: Secret
    base_url: str
    requests_per_10s: int
    search_per_second: int


@dataclass(frozen=True)
class MailchimpConfig:
    api_key: Secret
    list_id: str
    base_url: str | None
    max_connections: int

    @property
    def api_url(self) -> str:
        """The explicit base URL, else the data center's, taken from the key's ``-<dc>`` suffix."""
        if self.base_url:
            return self.base_url.rstrip("/")
        data_center = self.api_key.reveal().rsplit("-", 1)[-1]
        return f"https://{data_center}.api.mailchimp.com/3.0"


@dataclass(frozen=True)
class SubscriptionConfig:
    hubspot_property: str
    status_property: str | None
    resubscribe: str
    double_opt_in: bool
    on_hubspot_delete: str


@dataclass(frozen=True)
class CreateConfig:
    in_hubspot: bool
    in_mailchimp: bool


@dataclass(frozen=True)
class FieldMapping(Directed):
    hubspot: str
    mailchimp: str
    direction: str = "both"
    winner: str = "latest"
    transform: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    #: The Mailchimp field's ``options.date_format`` (``MM/DD/YYYY``, ``MM/DD``...) for a
    #: ``transform: date``: not a config key, but read from Mailchimp at the start of each run.
    date_format: str | None = None


@dataclass(frozen=True)
class HttpConfig:
    connect_timeout: float
    read_timeout: float
    max_tries: int
    max_time: float
    max_response_mb: float

    @property
    def max_response_bytes(self) -> int:
        return int(self.max_response_mb * 2**20)


@dataclass(frozen=True)
class SyncConfig:
    overlap_seconds: float
    batch_wait_seconds: float
    batch_poll_seconds: float
    batch_stall_seconds: float
    direct_threshold: int
    max_open_batches: int
    deleted_check_hours: float
    reread_every_minutes: float
    reread_window_minutes: float


@dataclass(frozen=True)
class SafetyConfig:
    max_unsubscribe_share: float
    max_create_share: float
    min_guarded: int


@dataclass(frozen=True)
class HealthConfig:
    max_run_age_minutes: float
    max_error_rate: float
    max_daily_usage: float
    max_batch_age_minutes: float


@dataclass(frozen=True)
class AlertsConfig:
    webhook_url: Secret | None


@dataclass(frozen=True)
class Config:
    state_path: Path
    hubspot: HubSpotConfig
    mailchimp: MailchimpConfig
    subscription: SubscriptionConfig
    create: CreateConfig
    fields: tuple[FieldMapping, ...]
    http: HttpConfig
    sync: SyncConfig
    safety: SafetyConfig
    health: HealthConfig
    alerts: AlertsConfig
    segments: SegmentsConfig
    engagement: EngagementConfig
    source: Path | None = None
    preferences: PreferencesConfig = PreferencesConfig()


DEFAULT_FIELDS = [
    {"hubspot": "firstname", "mailchimp": "FNAME"},
    {"hubspot": "lastname", "mailchimp": "LNAME"},
]

FIELD_SCHEMA: Section = {
    "hubspot": Key(str),
    "mailchimp": Key(
        str,
        pattern=r"^[A-Z][A-Z0-9_]{0,9}$",
        pattern_help="an upper-case merge tag of up to 10 characters",
    ),
    "direction": Key(str, default="both", choices=DIRECTIONS),
    "winner": Key(str, default="latest", choices=WINNERS),
    "transform": Key(str, default=None, nullable=True, choices=TRANSFORMS),
    "values": Key(dict, default={}),
}

SCHEMA: Section = {
    "state_path": Key(str, default="syncer.db"),
    "hubspot": {
        "token": Key(str, secret=True),
        "base_url": Key(
            str, default="https://api.hubapi.com", pattern=r"^https?://", pattern_help=_URL
        ),
        "requests_per_10s": Key(int, default=100, minimum=1),
        "search_per_second": Key(int, default=5, minimum=1),
    },
    "mailchimp": {
        "api_key": Key(str, secret=True),
        "list_id": Key(str),
        "base_url": Key(str, default=None, nullable=True, pattern=r"^https?://", pattern_help=_URL),
        "max_connections": Key(int, default=10, minimum=1, maximum=10),
    },
    "subscription": {
        "hubspot_property": Key(str, default="newsletter"),
        "status_property": Key(str, default=None, nullable=True),
        "resubscribe": Key(str, default="pending", choices=("pending", "never")),
        "double_opt_in": Key(bool, default=False),
        "on_hubspot_delete": Key(str, default="leave", choices=("leave", "unsubscribe")),
    },
    "create": {
        "in_hubspot": Key(bool, default=True),
        "in_mailchimp": Key(bool, default=True),
    },
    "fields": Key(list, default=DEFAULT_FIELDS, items=FIELD_SCHEMA),
    "sync": {
        "overlap_seconds": Key(float, default=300.0, minimum=0),
        "batch_wait_seconds": Key(float, default=30.0, minimum=0),
        "batch_poll_seconds": Key(float, default=2.0, minimum=0.05),
        "batch_stall_seconds": Key(float, default=3600.0, minimum=1),
        "direct_threshold": Key(int, default=10, minimum=0),
        "max_open_batches": Key(int, default=20, minimum=1, maximum=500),
        "deleted_check_hours": Key(float, default=24.0, minimum=0),
        "reread_every_minutes": Key(float, default=60.0, minimum=0),
        "reread_window_minutes": Key(float, default=120.0, minimum=0),
    },
    "safety": {
        "max_unsubscribe_share": Key(float, default=0.2, minimum=0, maximum=1),
        "max_create_share": Key(float, default=0.5, minimum=0),
        "min_guarded": Key(int, default=25, minimum=0),
    },
    "health": {
        "max_run_age_minutes": Key(float, default=15.0, minimum=1),
        "max_error_rate": Key(float, default=0.01, minimum=0, maximum=1),
        "max_daily_usage": Key(float, default=0.8, minimum=0, maximum=1),
        "max_batch_age_minutes": Key(float, default=60.0, minimum=1),
    },
    "alerts": {
        "webhook_url": Key(
            str, default=None, nullable=True, secret=True, pattern=r"^https?://", pattern_help=_URL
        ),
    },
    "http": {
        "connect_timeout": Key(float, default=5.0, minimum=0.01),
        "read_timeout": Key(float, default=60.0, minimum=0.01),
        "max_tries": Key(int, default=6, minimum=1),
        "max_time": Key(float, default=300.0, minimum=0.1),
        "max_response_mb": Key(float, default=64.0, minimum=0.01),
    },
    **config_segments.SCHEMA,
    **config_preferences.SCHEMA,
    **config_engagement.SCHEMA,
}


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
        config_checks.mappings(values, problems)
    config_checks.mailchimp_key(values["mailchimp"], problems)
    config_checks.plain_http(values, problems)
    config_segments.check(values, problems)
    config_preferences.check(values, problems)
    config_engagement.check(values, problems)
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
        segments=config_segments.build(values),
        engagement=config_engagement.build(values),
        source=source,
        preferences=config_preferences.build(values),
    )
