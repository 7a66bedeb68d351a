"""The segments part of `syncer status`: mapped lists, the scope, tag and mirror writes.

Plain data from the cache (the ``--json`` shape, stable: keys may be added, never removed) and
its rendering for people. The section is always in the JSON; the text shows it only when the
configuration has segments.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncer.cache.store import Store
from syncer.config import Config
from syncer.core.segments import SEGMENT_ACTIONS
from syncer.operate.console import Output

KINDS = {"DYNAMIC": "active", "MANUAL": "static", "SNAPSHOT": "static (snapshot)"}


def segments_status(store: Store, config: Config, now: datetime) -> dict[str, Any]:
    segments = config.segments
    mirror = segments.mirror
    known = {item["key"]: item for item in store.known_lists()}
    return {
        "enabled": segments.active or mirror is not None,
        "lists": [_list(key, known.get(key), now) for key in segments.lists],
        "scope": {"limited": segments.scope.limited, **store.scope_counts()},
        "tag_writes": store.segment_write_counts(SEGMENT_ACTIONS),
        "mirror": (
            {"property": mirror.property, **store.mirror_write_counts(mirror.property)}
            if mirror
            else None
        ),
    }


def _list(key: str, known: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """A mapped list as last read; a list never resolved has only its configured name."""
    known = known or {}
    kind = str(known.get("processing_type") or "")
    return {
        "list": key,
        "id": known.get("list_id"),
        "name": known.get("name"),
        "kind": KINDS.get(kind, kind.lower()) or None,
        "size": known.get("size"),
        "read_at": known.get("read_at"),
        "read_seconds_ago": _ago(known.get("read_at"), now),
    }


def _ago(stamp: str | None, now: datetime) -> float | None:
    """Seconds since a local timestamp of the cache's (display only)."""
    if not stamp:
        return None
    return round((now - datetime.fromisoformat(stamp)).total_seconds())


def render_segments(out: Output, section: dict[str, Any]) -> None:
    if not section["enabled"]:
        return
    out.heading("Segments")
    if section["lists"]:
        out.table(
            ["HubSpot list", "id", "kind", "members", "last read", "ago (s)"],
            [
                [item["list"], item["id"], item["kind"], item["size"], item["read_at"] or "never"]
                + [item["read_seconds_ago"]]
                for item in section["lists"]
            ],
        )
    scope = section["scope"]
    if scope["limited"]:
        left = ", ".join(f"{n} {action}" for action, n in sorted(scope["left"].items()))
        out.line(
            f"scope: {scope['in']} in, {scope['out']} out" + (f" (left it: {left})" if left else "")
        )
    writes = section["tag_writes"]
    for state in ("pending", "failed"):
        counts = ", ".join(f"{n} {action}" for action, n in sorted(writes[state].items()))
        out.line(
            f"tag writes {state}: {counts or 'none'}", "red" if counts and state == "failed" else ""
        )
    mirror = section["mirror"]
    if mirror:
        out.line(
            f"tags mirror into HubSpot {mirror['property']}: {mirror['pending']} writes pending, "
            f"{mirror['failed']} failed",
            "red" if mirror["failed"] else "",
        )
