"""HubSpot's property types, which syncer needs to read date values in one spelling.

HubSpot answers a ``date`` or ``datetime`` value as ``YYYY-MM-DD``/ISO 8601 or as epoch
milliseconds, even for one property across calls (reference §12.5). Compared as sent, the same
date would differ from its base and be written again on every run; read by its type, it has one
spelling (:func:`~syncer.core.transforms.canonical`). The types come from HubSpot's properties
API: one call, made again only once a day or when the mapped properties change, and kept in the
cache beside the run's other bookkeeping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from syncer.connectors.hubspot.client import PropertyInfo
from syncer.run.context import RunContext

META_KEY = "hubspot_property_kinds"
REFRESH = timedelta(hours=24)
DATED = frozenset({"date", "datetime"})


def remember_property_kinds(ctx: RunContext, found: Mapping[str, PropertyInfo]) -> dict[str, Any]:
    """Keep the dated properties' types from a properties read (the field check makes one)."""
    kinds = {name: info.type for name, info in found.items() if info.type in DATED}
    stored = {
        "at": datetime.now(UTC).isoformat(),
        "names": sorted(ctx.hubspot_properties),
        "kinds": kinds,
    }
    ctx.store.set_meta(META_KEY, json.dumps(stored, sort_keys=True))
    return stored


def load_property_kinds(ctx: RunContext) -> None:
    """Give the HubSpot client the type of every dated property the sync reads."""
    wanted = set(ctx.hubspot_properties)
    now = datetime.now(UTC)
    stored = json.loads(ctx.store.get_meta(META_KEY) or "{}")
    read_at = stored.get("at")
    fresh = bool(read_at) and now - datetime.fromisoformat(read_at) < REFRESH
    if not fresh or not wanted <= set(stored.get("names", [])):
        stored = remember_property_kinds(ctx, ctx.hubspot.properties())
    ctx.hubspot.kinds = {
        name: kind for name, kind in stored.get("kinds", {}).items() if name in wanted
    }
