"""Engagement as values: campaign activity in, contact properties and note bodies out.

A person's activity in one campaign is a sorted list of events ``(action, at, detail)``: the
action (``send``, ``open``, ``click``, ``bounce``, ``unsubscribe``, ``abuse``), the email
platform's own timestamp (UTC, ISO 8601 seconds), and a detail (a click's URL, a bounce's type,
an unsubscribe's reason). Events are de-duplicated on all three, so the same page read twice
(a cursor overlap, a run resumed after a crash) changes nothing.

From those lists this module computes what HubSpot shows: the contact properties (last open,
click and bounce, the last campaign engaged with, open and click counts over a window) and one
note per campaign, whose body carries a marker naming the campaign, so a note created by a run
killed before it could record the note's id is found again instead of created twice.

Pure: the current time is an argument, never read here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from syncer.core.models import parse_time

Event = tuple[str, str, str]

#: A note's last line: names the campaign and the note's own key (the cache's row), so a note
#: is recognised on its contact, and in a batch create's answer, which HubSpot does not promise
#: in input order nor matched to a trace id.
MARKER = "syncer:campaign:"
_MARKER = re.compile(re.escape(MARKER) + r"([A-Za-z0-9_-]+)(?:/([A-Za-z0-9_-]+))?")
#: URLs listed in a note at most; the count says how many there were.
NOTE_URLS = 10


@dataclass(frozen=True)
class Campaign:
    id: str
    title: str
    send_time: str


@dataclass(frozen=True)
class Summary:
    """One person's activity in one campaign, counted."""

    sent: bool
    opens: int
    clicks: int
    urls: tuple[str, ...]
    bounce: tuple[str, str] | None  # (type, at) of the latest bounce
    unsubscribed: tuple[str, str] | None  # (at, reason)
    abuse: str | None  # at

    @property
    def empty(self) -> bool:
        return not (
            self.sent or self.opens or self.clicks or self.bounce or self.unsubscribed
        ) and (self.abuse is None)


def stamp(text: str | None) -> str | None:
    """A server timestamp in the one spelling events are stored and compared in."""
    try:
        moment = parse_time(text)
    except (TypeError, ValueError):
        return None
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def merge_events(
    old: Sequence[Sequence[str]], new: Iterable[Event], record: frozenset[str]
) -> tuple[list[Event], int]:
    """``old`` with the recorded actions of ``new`` added once each; and how many were new."""
    merged = {(str(a), str(t), str(d)) for a, t, d in old}
    before = len(merged)
    merged.update(event for event in new if event[0] in record)
    return sorted(merged, key=lambda e: (e[1], e[0], e[2])), len(merged) - before


def summarise(events: Iterable[Sequence[str]]) -> Summary:
    sent = False
    opens = clicks = 0
    urls: dict[str, None] = {}
    bounce: tuple[str, str] | None = None
    unsubscribed: tuple[str, str] | None = None
    abuse: str | None = None
    for action, at, detail in events:
        if action == "send":
            sent = True
        elif action == "open":
            opens += 1
        elif action == "click":
            clicks += 1
            if detail:
                urls.setdefault(detail)
        elif action == "bounce":
            bounce = (detail or "soft", at)
        elif action == "unsubscribe":
            unsubscribed = (at, detail)
        elif action == "abuse":
            abuse = at
    return Summary(sent, opens, clicks, tuple(urls), bounce, unsubscribed, abuse)


def _times(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def note_text(campaign: Campaign, summary: Summary) -> list[str]:
    """The note's lines, as a person reads them: what happened, then the campaign's date."""
    title = f"'{campaign.title}'"
    sent_on = (stamp(campaign.send_time) or campaign.send_time)[:10]
    lines: list[str] = []
    if summary.opens or summary.clicks:
        parts = []
        if summary.opens:
            parts.append(f"Opened {title} {_times(summary.opens, 'time', 'times')}")
        if summary.clicks:
            links = _times(len(summary.urls) or summary.clicks, "link", "links")
            clicked = f"clicked {links}" if parts else f"Clicked {links} in {title}"
            shown = list(summary.urls[:NOTE_URLS])
            more = len(summary.urls) - len(shown)
            clicked += (": " + ", ".join(shown)) if shown else ""
            clicked += f" and {more} more" if more > 0 else ""
            parts.append(clicked)
        lines.append(", ".join(parts) + ".")
    elif summary.sent:
        lines.append(f"Was sent {title}; no opens or clicks recorded.")
    if summary.bounce:
        lines.append(f"{summary.bounce[0].capitalize()} bounce of {title} on {summary.bounce[1]}.")
    if summary.unsubscribed:
        at, reason = summary.unsubscribed
        lines.append(f"Unsubscribed after {title} on {at}" + (f" ({reason})." if reason else "."))
    if summary.abuse:
        lines.append(f"Reported {title} as spam on {summary.abuse}.")
    if not lines:
        lines.append(f"Activity recorded for {title}.")
    lines.append(f"Campaign sent {sent_on}.")
    return lines


def note_body(campaign: Campaign, summary: Summary, key: str) -> str:
    """The note's HTML body (HubSpot's ``hs_note_body`` is rich text), marker last."""
    paragraphs = [
        f"<p>{html.escape(line, quote=False)}</p>" for line in note_text(campaign, summary)
    ]
    marker = f"{MARKER}{campaign.id}/{key}"
    paragraphs.append(f"<p><small>{html.escape(marker)}</small></p>")
    return "".join(paragraphs)


def marked_campaign(body: str | None) -> str | None:
    """The campaign a note's marker names, if it is one of syncer's notes."""
    found = _MARKER.search(body or "")
    return found.group(1) if found else None


def marked_key(body: str | None) -> str | None:
    """The key a note's marker carries (``None``: not one of syncer's notes)."""
    found = _MARKER.search(body or "")
    return found.group(2) if found else None


@dataclass(frozen=True)
class PersonEngagement:
    """The contact properties' values (by config key) and when a count next falls out of its
    window, so the properties are written again then even without new activity."""

    values: dict[str, str]
    due: str | None


def _hubspot_time(at: str | None) -> str:
    moment = parse_time(at) if at else None
    if moment is None:
        return ""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def person_engagement(
    campaigns: Iterable[tuple[Campaign, Sequence[Sequence[str]]]],
    keys: Mapping[str, str],
    count_days: float,
    now: datetime,
) -> PersonEngagement:
    """What one person's contact properties say, from all their recorded campaigns.

    ``last_campaign`` is the title of the campaign of the latest open or click. Counts are the
    opens and clicks whose timestamps fall within ``count_days`` before ``now`` (the email
    platform's clock, read from its answers).
    """
    start = now - timedelta(days=count_days)
    last: dict[str, str] = {}
    last_campaign: tuple[str, str] | None = None
    counts = {"open": 0, "click": 0}
    due: datetime | None = None
    for campaign, events in campaigns:
        for action, at, _detail in events:
            if action in ("open", "click", "bounce") and at > last.get(action, ""):
                last[action] = at
            if action in ("open", "click") and (last_campaign is None or at > last_campaign[0]):
                last_campaign = (at, campaign.title)
            moment = parse_time(at)
            if action in counts and moment is not None and moment > start:
                counts[action] += 1
                leaves = moment + timedelta(days=count_days)
                due = leaves if due is None else min(due, leaves)
    values = {
        "last_open": _hubspot_time(last.get("open")),
        "last_click": _hubspot_time(last.get("click")),
        "last_bounce": _hubspot_time(last.get("bounce")),
        "last_campaign": last_campaign[1] if last_campaign else "",
        "opens": str(counts["open"]),
        "clicks": str(counts["click"]),
    }
    chosen = {keys[key]: value for key, value in values.items() if key in keys}
    return PersonEngagement(chosen, None if due is None else due.isoformat())
