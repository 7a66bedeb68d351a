"""The HubSpot properties the preference tests and the soak map to Mailchimp's groups and
permissions: a boolean per opt-in interest and per permission, and a checkbox for a whole group."""

from __future__ import annotations

TOPICS = ("News", "Offers")
BOOLEAN = {"type": "bool", "fieldType": "booleancheckbox", "options": []}
HUBSPOT_PROPERTIES = [
    {"name": "wants_events", "label": "Wants events", **BOOLEAN},
    {"name": "gdpr_email", "label": "GDPR email", **BOOLEAN},
    {
        "name": "topics",
        "label": "Topics",
        "type": "enumeration",
        "fieldType": "checkbox",
        "options": [
            {"label": name, "value": name, "displayOrder": n, "hidden": False}
            for n, name in enumerate(TOPICS)
        ],
    },
]
