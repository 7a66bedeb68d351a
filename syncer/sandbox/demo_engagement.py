"""The demo's engagement step: a newsletter sent in Mailchimp, opened and clicked, lands on the
HubSpot contact as properties and a note.

The campaign and its activity are recorded through the Mailchimp simulator's admin API, as a
test would; then `syncer check --fix` creates the engagement properties and `syncer run` reads
the activity and writes HubSpot. What is shown afterwards is read back from HubSpot's API, not
from syncer's cache, so the demo proves the engagement arrived where sales will look.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from syncer.config import Config
from syncer.operate.check_engagement import check_engagement
from syncer.operate.console import Output
from syncer.operate.service import open_clients, sync_once
from syncer.run.engine import RunOptions
from syncer.sandbox import demo_data
from syncer.sandbox.runner import SandboxInfo

TITLE = "November newsletter"
#: The links the featured reader clicks, and when (after the send).
CLICKS = (
    ("https://example.com/pricing", timedelta(hours=1, minutes=2)),
    ("https://example.com/blog/two-way-sync", timedelta(hours=30)),
)
#: The engagement section the demo turns on (`every_minutes: 0`: read on this very run).
SECTION = {"enabled": True, "every_minutes": 0}
#: Every how many-th other subscriber opens once (about one in four, like a real newsletter).
OPENER_EVERY = 4


def show_engagement(out: Output, http: requests.Session, info: SandboxInfo, config: Config) -> str:
    """Send a campaign with activity, sync it, and show it on the contact. Returns the email of
    the person shown."""
    featured = _send_with_activity(http, info)
    out.line("engagement: {enabled: true, every_minutes: 0}  (the rest as config.example.yaml)")
    out.line(
        f"Mailchimp sent {TITLE!r} 3 days ago; {featured} opened it 3 times and clicked 2 "
        "links, about one subscriber in four opened it once"
    )
    with open_clients(config) as (hubspot, mailchimp):
        created = [f for f in check_engagement(config, hubspot, mailchimp, fix=True) if f.fixed]
    out.line(
        f"syncer check --fix: created the property group {config.engagement.group} and "
        f"{len(created) - 1} contact properties in it"
    )
    report = sync_once(config, RunOptions())
    counts = report.counts
    out.line(
        f"syncer run: {counts.get('engagement_events', 0)} events recorded, "
        f"{counts.get('engagement_notes_created', 0)} notes created, "
        f"{counts.get('engagement_contacts_written', 0)} contacts' properties written"
    )
    contact = _hubspot_contact(http, info, featured, list(config.engagement.properties.values()))
    out.line(f"{featured} in HubSpot (contact {contact['id']}), read back from its API:", "bold")
    out.table(
        ["property", "value"],
        [
            [name, contact["properties"].get(name) or ""]
            for name in config.engagement.properties.values()
        ],
    )
    for body in _note_bodies(http, info, str(contact["id"])):
        out.line(f"note: {body}", "bold")
    return featured


def featured_person() -> str:
    """The demo's engaged reader: the first subscriber on both sides, none of the special cases."""
    data = demo_data.build()
    in_hubspot = {contact["properties"]["email"] for contact in data.hubspot}
    return next(
        str(member["email_address"])
        for member in data.mailchimp
        if member["status"] == "subscribed" and member["email_address"] in in_hubspot
    )


def _send_with_activity(http: requests.Session, info: SandboxInfo) -> str:
    root = info.mailchimp_url.removesuffix("/3.0")
    now = datetime.now(UTC).replace(microsecond=0)
    sent = now - timedelta(days=3)
    campaign = _post(http, f"{root}/_sim/campaigns", {"title": TITLE, "send_time": _at(sent)})
    featured = featured_person()
    events: list[dict[str, Any]] = [
        {"email": featured, "action": "open", "timestamp": _at(sent + timedelta(hours=hours))}
        for hours in (1, 5, 30)
    ]
    events += [
        {"email": featured, "action": "click", "url": url, "timestamp": _at(sent + delay)}
        for url, delay in CLICKS
    ]
    others = [m for m in _recipients(http, info) if m != featured]
    events += [
        {"email": email, "action": "open", "timestamp": _at(sent + timedelta(hours=2 + i % 40))}
        for i, email in enumerate(others[::OPENER_EVERY])
    ]
    _post(http, f"{root}/_sim/campaigns/events", {"campaign_id": campaign["id"], "events": events})
    return featured


def _recipients(http: requests.Session, info: SandboxInfo) -> list[str]:
    """Who the campaign reached: the audience's subscribed members, in list order."""
    response = http.get(
        f"{info.mailchimp_url}/lists/{info.list_id}/members",
        params={"status": "subscribed", "count": "1000", "fields": "members.email_address"},
        auth=("demo", info.mailchimp_api_key),
        timeout=30,
    )
    response.raise_for_status()
    return [member["email_address"] for member in response.json()["members"]]


def _hubspot_contact(
    http: requests.Session, info: SandboxInfo, email: str, properties: list[str]
) -> dict[str, Any]:
    response = http.get(
        f"{info.hubspot_url}/crm/v3/objects/contacts/{email}",
        params={"idProperty": "email", "properties": ",".join(properties)},
        headers=_bearer(info),
        timeout=30,
    )
    response.raise_for_status()
    return dict(response.json())


def _note_bodies(http: requests.Session, info: SandboxInfo, contact_id: str) -> list[str]:
    """The contact's notes as HubSpot holds them, through the contact's note associations."""
    headers = _bearer(info)
    links = http.get(
        f"{info.hubspot_url}/crm/v4/objects/contacts/{contact_id}/associations/notes",
        headers=headers,
        timeout=30,
    )
    links.raise_for_status()
    bodies = []
    for link in links.json()["results"]:
        note = http.get(
            f"{info.hubspot_url}/crm/v3/objects/notes/{link['toObjectId']}",
            params={"properties": "hs_note_body"},
            headers=headers,
            timeout=30,
        )
        note.raise_for_status()
        text = re.sub(r"<[^>]+>", " ", note.json()["properties"]["hs_note_body"] or "")
        bodies.append(" ".join(html.unescape(text).split()))
    return bodies


def _bearer(info: SandboxInfo) -> dict[str, str]:
    return {"Authorization": f"Bearer {info.hubspot_token}"}


def _post(http: requests.Session, url: str, payload: object) -> dict[str, Any]:
    response = http.post(url, json=payload, timeout=60)
    response.raise_for_status()
    return dict(response.json())


def _at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
