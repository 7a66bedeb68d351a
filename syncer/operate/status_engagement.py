"""The engagement parts of `status`, `errors` and `show`: cursors, backlog, problems, history.

Plain data from the cache (the ``--json`` shapes: keys may be added, never removed) and the
status section's rendering. The section is always in the JSON; the text shows it only when
engagement is enabled.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from syncer.cache.store import Store
from syncer.config import Config
from syncer.core import causes
from syncer.operate.console import Output
from syncer.run.engagement import CLOCK

HINTS: dict[str, str] = {
    causes.ENGAGEMENT_UNKNOWN_MEMBER: "the campaign went to a member syncer does not know (not "
    "in the synced audience, or not fetched yet): nothing about them is recorded; if they "
    "should be, `syncer run` links them and `syncer engagement --backfill` loads their history",
    causes.ENGAGEMENT_CAMPAIGN_GONE: "the campaign was deleted in Mailchimp: its notes stay in "
    "HubSpot as they were; nothing to do",
    causes.ENGAGEMENT_NOTE_REFUSED: "HubSpot refused the note: fix what the reason names, then "
    "`syncer retry EMAIL` (or `--all`); it is also tried again with the person's next activity "
    "in that campaign",
    causes.ENGAGEMENT_CONTACT_GONE: "the contact was deleted in HubSpot: restore it (then "
    "`syncer retry EMAIL`), or leave it: nothing is written for them",
    causes.ENGAGEMENT_REFUSED: "HubSpot refused the engagement properties: `syncer check` names "
    "a missing or mistyped property, `syncer check --fix` creates missing ones",
}


def engagement_status(store: Store, config: Config, now: datetime) -> dict[str, Any]:
    engagement = config.engagement
    last = store.get_meta(CLOCK)
    due = None
    if last is not None:
        due = (
            datetime.fromisoformat(last) + timedelta(minutes=engagement.every_minutes)
        ).isoformat()
    window = (now - timedelta(days=engagement.campaign_days)).isoformat()
    campaigns = [
        {
            "id": row["id"],
            "title": row["title"],
            "send_time": row["send_time"],
            "cursor": row["activity_cursor"],
            "reading_from_offset": row["walk_offset"],
            "gone": row["gone_at"] is not None,
            "polled": row["send_time"] >= window and row["gone_at"] is None,
        }
        for row in store.campaign_rows()
    ]
    return {
        "enabled": engagement.enabled,
        "last_pass_at": last,
        "next_pass_after": due,
        "campaigns": campaigns,
        "backlog": {
            "campaigns_mid_read": sum(1 for c in campaigns if c["reading_from_offset"] is not None),
            "notes_to_write": store.note_count("todo"),
            "notes_to_find": store.note_count("sent"),
            "notes_refused": store.note_count("failed"),
            "contacts_to_write": store.people_due_count(now.astimezone(UTC).isoformat()),
        },
        "problems": len(store.engagement_issues()),
    }


def engagement_groups(store: Store) -> list[dict[str, Any]]:
    """`syncer errors` groups for engagement problems, in its shape (state ``failed``)."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for issue in store.engagement_issues():
        group = groups.setdefault(
            (issue["cause"], issue["reason"]),
            {
                "state": "failed",
                "cause": issue["cause"],
                "reason": issue["reason"],
                "hint": HINTS.get(issue["cause"], "see the reason"),
                "count": 0,
                "emails": [],
            },
        )
        group["count"] += 1
        if issue["email"]:
            group["emails"].append(issue["email"])
    return list(groups.values())


def engagement_story(store: Store, contact_id: int) -> dict[str, Any]:
    """`syncer show`: the properties last written and each campaign's events and note."""
    return {
        "properties": store.engagement_written(contact_id),
        "campaigns": [
            {
                "campaign_id": row["campaign_id"],
                "title": row["title"],
                "send_time": row["send_time"],
                "note_id": row["note_id"],
                "note_state": row["note_state"],
                "events": [
                    {"action": action, "at": at, "detail": detail}
                    for action, at, detail in row["events"]
                ],
            }
            for row in store.engagement_of(contact_id)
        ],
    }


def render_engagement(out: Output, section: dict[str, Any]) -> None:
    if not section.get("enabled"):
        return
    backlog = section["backlog"]
    polled = [c for c in section["campaigns"] if c["polled"]]
    out.line(
        f"engagement: last pass {section['last_pass_at'] or 'never'}; "
        f"{len(polled)} campaigns polled, {backlog['campaigns_mid_read']} being read"
    )
    for campaign in polled:
        reading = campaign["reading_from_offset"]
        where = f"reading from item {reading}" if reading is not None else "read"
        out.line(
            f"  {campaign['title']} ({campaign['id']}, sent {campaign['send_time'][:10]}): "
            f"cursor {campaign['cursor'] or 'none yet'}, {where}"
        )
    out.line(
        f"  backlog: {backlog['notes_to_write']} notes to write, {backlog['notes_to_find']} to "
        f"look for, {backlog['contacts_to_write']} contacts to write; "
        f"{section['problems']} problems (`syncer errors`)"
    )
