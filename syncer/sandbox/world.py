"""The shape of every sandbox world: its custom fields, and a syncer config pointing at it.

The demo, the tests and the benchmarks seed these same fields and sync them with the same
mappings, so each of them reads like the others.
"""

from __future__ import annotations

from typing import Any

from syncer.sandbox.runner import SandboxInfo

NEWSLETTER = {
    "name": "newsletter",
    "label": "Newsletter",
    "type": "bool",
    "fieldType": "booleancheckbox",
    "options": [
        {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
        {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
    ],
}
HUBSPOT_PROPERTIES = [NEWSLETTER]
MERGE_FIELDS = [
    {"tag": "LCSTAGE", "name": "Lifecycle stage", "type": "text"},
    {"tag": "LASTCONT", "name": "Last contacted", "type": "date"},
]
FIELD_MAPPINGS = [
    {"hubspot": "firstname", "mailchimp": "FNAME"},
    {"hubspot": "lastname", "mailchimp": "LNAME"},
    {"hubspot": "lifecyclestage", "mailchimp": "LCSTAGE", "direction": "to_mailchimp"},
    {
        "hubspot": "notes_last_contacted",
        "mailchimp": "LASTCONT",
        "direction": "to_mailchimp",
        "transform": "date",
    },
]


def config_document(info: SandboxInfo, state_path: str, **sections: Any) -> dict[str, Any]:
    """A syncer configuration for this sandbox; ``sections`` replace or add top-level keys."""
    document: dict[str, Any] = {
        "state_path": state_path,
        "hubspot": {"token": info.hubspot_token, "base_url": info.hubspot_url},
        "mailchimp": {
            "api_key": info.mailchimp_api_key,
            "list_id": info.list_id,
            "base_url": info.mailchimp_url,
        },
        "fields": FIELD_MAPPINGS,
    }
    document.update(sections)
    return document
