"""Every key of the YAML file with its type, default and bounds: the one place a key is declared.

``tests/test_docs.py`` checks each leaf against README's config reference and the example file.
"""

from __future__ import annotations

from syncer.config import engagement, preferences, segments
from syncer.config.direction import DIRECTIONS, WINNERS
from syncer.config.validation import Key, Section

_URL = "an http:// or https:// URL"
TRANSFORMS = ("date", "boolean")

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
    **segments.SCHEMA,
    **preferences.SCHEMA,
    **engagement.SCHEMA,
}
