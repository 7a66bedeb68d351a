"""The preferences part of `syncer status`: each group and permission mapping, what the last
run resolved it to, and how many people have it granted (or chosen) on each side.

Plain data from the cache (the ``--json`` shape: keys may be added, never removed) and its
rendering. The counts come from the contacts as last fetched, and the resolution from the last
run (``resolved_at``): status makes no call, so a mapping no run has resolved yet (a new entry,
an interest deleted since) shows ``null`` for its Mailchimp side.
"""

from __future__ import annotations

import json
from typing import Any

from syncer.cache.store import Store
from syncer.config import Config
from syncer.core import causes
from syncer.core.wording import plural
from syncer.operate.console import Output
from syncer.run.preferences import RESOLVED


def preferences_status(store: Store, config: Config) -> dict[str, Any]:
    preferences = config.preferences
    stored = json.loads(store.get_meta(RESOLVED) or "{}")
    known: dict[str, Any] = stored.get("mappings", {})
    interests = [
        {
            "hubspot": m.hubspot,
            "category": m.category,
            "mailchimp": m.mailchimp,
            "direction": m.direction,
            "winner": m.winner,
            "consent": m.consent,
            "interests": known[m.hubspot]["names"] if m.hubspot in known else None,
            "chosen": _counts(store, m.hubspot, known.get(m.hubspot), any_value=m.whole_category),
        }
        for m in preferences.interests
    ]
    permissions = [
        {
            "hubspot": m.hubspot,
            "mailchimp": m.mailchimp,
            "direction": m.direction,
            "resolved": m.hubspot in known,
            "granted": _counts(store, m.hubspot, known.get(m.hubspot), any_value=False),
        }
        for m in preferences.permissions
    ]
    problems = sum(
        1 for row in store.problem_contacts() if row["cause"] == causes.PREFERENCE_UNKNOWN_CHOICE
    )
    return {
        "enabled": preferences.active,
        "resolved_at": stored.get("at") if preferences.active else None,
        "interests": interests,
        "permissions": permissions,
        "problems": problems,
    }


def _counts(
    store: Store, prop: str, resolved: dict[str, Any] | None, *, any_value: bool
) -> dict[str, int | None]:
    """People holding the value on each side; ``None`` for a side not yet read (no run has
    resolved the mapping, so its Mailchimp values are unknown; no run at all: neither side)."""
    if resolved is None:
        return {"hubspot": None, "mailchimp": None}
    return {
        "hubspot": store.hubspot_holding(prop, any_value=any_value),
        "mailchimp": store.mailchimp_holding(resolved["keys"]),
    }


def render_preferences(out: Output, section: dict[str, Any]) -> None:
    if not section["enabled"]:
        return
    out.heading("Preferences")
    rows = [
        [
            m["hubspot"],
            _interest_label(m),
            m["direction"],
            _shown(m["chosen"]["hubspot"]),
            _shown(m["chosen"]["mailchimp"]),
        ]
        for m in section["interests"]
    ]
    rows += [
        [
            m["hubspot"],
            f"permission {m['mailchimp']!r}",
            m["direction"],
            _shown(m["granted"]["hubspot"]),
            _shown(m["granted"]["mailchimp"]),
        ]
        for m in section["permissions"]
    ]
    out.table(
        ["HubSpot property", "Mailchimp", "direction", "yes in HubSpot", "yes in Mailchimp"], rows
    )
    out.line(f"names resolved by the run at {section['resolved_at'] or 'never (no run yet)'}")
    if section["problems"]:
        people = plural(section["problems"], "person", "people")
        out.line(f"{people} with a group value that is no interest (`syncer errors`)", "red")


def _interest_label(mapping: dict[str, Any]) -> str:
    if mapping["mailchimp"] is None:
        names = mapping["interests"]
        listed = f" ({', '.join(names)})" if names else ""
        return f"group {mapping['category']!r}{listed}"
    consent = ", opt-in" if mapping["consent"] else ""
    return f"interest {mapping['mailchimp']!r} (group {mapping['category']!r}{consent})"


def _shown(count: int | None) -> object:
    return "?" if count is None else count
