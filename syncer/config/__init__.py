"""The configuration: the YAML file's schema, its loading and checks, and the typed result.

``model`` holds the frozen dataclasses the rest of syncer reads; ``schema`` declares every key;
``load`` reads, substitutes and validates a file (``validation`` is its small schema language,
``checks`` the rules that span keys); ``segments``, ``preferences`` and ``engagement`` each own
their section, ``direction`` what field and preference mappings share. The names most callers
need are re-exported here, so ``from syncer.config import Config`` stays the way in.

May import: the standard library, PyYAML, :mod:`syncer.errors` and itself.
"""

from syncer.config.load import find_config_path, load_config, parse_config
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

__all__ = [
    "SCHEMA",
    "AlertsConfig",
    "Config",
    "CreateConfig",
    "FieldMapping",
    "HealthConfig",
    "HttpConfig",
    "HubSpotConfig",
    "MailchimpConfig",
    "SafetyConfig",
    "Secret",
    "SubscriptionConfig",
    "SyncConfig",
    "find_config_path",
    "load_config",
    "parse_config",
]
