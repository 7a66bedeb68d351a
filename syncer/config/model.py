"""The typed configuration: what the rest of syncer reads, frozen once loaded.

Secrets are wrapped in :class:`Secret` the moment they are read, so no repr, log line or error
message can show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from syncer.config.direction import Directed
from syncer.config.engagement import EngagementConfig
from syncer.config.preferences import PreferencesConfig
from syncer.config.segments import SegmentsConfig


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
