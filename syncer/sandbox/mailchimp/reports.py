"""The Mailchimp simulator's campaign and report routes: what was sent and what people did.

Shapes and parameters follow the official ``mailchimp_marketing`` SDK (``campaigns.list``,
``reports.get_email_activity_for_campaign``, ``get_unsubscribed_list_for_campaign``,
``get_campaign_recipients``, ``lists.get_list_abuse_reports``): ``count`` at most 1,000,
``fields`` / ``exclude_fields`` with dot paths, ``total_items`` counted before paging. They run
through :class:`OperationRequest` inside ``POST /batches`` like every other route, which is how
tap-mailchimp reads many campaigns' email activity at once (singer-io/tap-mailchimp ``sync.py``).

Choices where Mailchimp's documentation is silent:

* email-activity without ``since`` lists **every recipient**, those who did nothing with an empty
  ``activity`` (a real answer quoted in brandonseydel/MailChimp.Net #198 has ``"activity": []``);
  with ``since`` ("Restrict results to email activity events that occur after a specific time",
  SDK docstring) it lists only recipients with an event strictly after it, and only those events.
* Items come in send order, stable between pages; ``since`` compares the wall-clock value with
  the offset dropped, as the members listing's time filters do.
* Bounces carry ``type`` and no ``ip``; clicks carry ``url``; opens and clicks carry ``ip``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from syncer.sandbox.mailchimp.campaigns import Activity, Campaign, CampaignStore
from syncer.sandbox.mailchimp.members import Audience, not_found, stamp
from syncer.sandbox.mailchimp.schema import field_error
from syncer.sandbox.mailchimp.views import MemberView, paging, project, wall_clock
from syncer.sandbox.server import Handler, Request, Response

#: ``status`` values of ``GET /campaigns`` (SDK ``campaigns.list`` docs); only ``sent`` exist here.
CAMPAIGN_STATUSES = ("save", "paused", "schedule", "sending", "sent")
CAMPAIGN_TYPES = ("regular", "plaintext", "absplit", "rss", "variate")
CAMPAIGN_SORT_FIELDS = ("create_time", "send_time")


class ReportsApi:
    """Handlers over one :class:`CampaignStore`; each takes the simulator's lock."""

    def __init__(self, store: CampaignStore, lock: threading.RLock, links_base: str) -> None:
        self.store = store
        self.audience: Audience = store.audience
        self.lock = lock
        self.links_base = links_base

    def register(self, add: Callable[[str, str, Handler], None]) -> None:
        report = "/3.0/reports/{campaign_id}"
        add("GET", "/3.0/campaigns", self.campaigns)
        add("GET", "/3.0/campaigns/{campaign_id}", self.campaign)
        add("GET", f"{report}/email-activity", self.email_activity)
        add("GET", f"{report}/unsubscribed", self.unsubscribed)
        add("GET", f"{report}/sent-to", self.sent_to)
        add("GET", f"{report}/abuse-reports", self.campaign_abuse)
        add("GET", "/3.0/lists/{list_id}/abuse-reports", self.list_abuse)

    # -- campaigns ---------------------------------------------------------------------------------

    def campaigns(self, request: Request) -> Response:
        chosen_filter = _campaign_filter(request, self.audience.list_id)
        sort_field = _choice(request, "sort_field", CAMPAIGN_SORT_FIELDS) or "create_time"
        descending = (_choice(request, "sort_dir", ("ASC", "DESC")) or "ASC") == "DESC"
        count, offset = paging(request)
        with self.lock:
            chosen = [c for c in self.store.campaigns.values() if chosen_filter(c)]
            chosen.sort(key=lambda c: (getattr(c, sort_field), c.web_id), reverse=descending)
            page = [self._campaign_json(c) for c in chosen[offset : offset + count]]
        payload = {"campaigns": page, "total_items": len(chosen), "_links": []}
        return Response.json(project(payload, request))

    def campaign(self, request: Request) -> Response:
        with self.lock:
            payload = self._campaign_json(self.store.require(request.params["campaign_id"]))
        return Response.json(project(payload, request))

    def _campaign_json(self, campaign: Campaign) -> dict[str, Any]:
        sent = len(campaign.email_ids)
        return {
            "id": campaign.id,
            "web_id": campaign.web_id,
            "parent_campaign_id": "",
            "type": "regular",
            "create_time": stamp(campaign.create_time),
            "archive_url": f"http://eepurl.com/{campaign.id}",
            "long_archive_url": f"https://us1.campaign-archive.com/?id={campaign.id}",
            "status": "sent",
            "emails_sent": sent,
            "send_time": stamp(campaign.send_time),
            "content_type": "template",
            "needs_block_refresh": False,
            "resendable": True,
            "recipients": {
                "list_id": self.audience.list_id,
                "list_is_active": True,
                "list_name": "Sandbox audience",
                "segment_text": "",
                "recipient_count": sent,
            },
            "settings": {
                "subject_line": campaign.subject_line,
                "preview_text": "",
                "title": campaign.title,
                "from_name": "syncer",
                "reply_to": "",
                "use_conversation": False,
                "to_name": "",
                "folder_id": "",
                "authenticate": True,
                "auto_footer": False,
                "inline_css": False,
                "auto_tweet": False,
                "fb_comments": False,
                "timewarp": False,
                "template_id": 0,
                "drag_and_drop": True,
            },
            "tracking": {
                "opens": True,
                "html_clicks": True,
                "text_clicks": False,
                "goal_tracking": False,
                "ecomm360": False,
                "google_analytics": "",
                "clicktale": "",
            },
            "report_summary": _summary(campaign),
            "delivery_status": {"enabled": False},
            "_links": [],
        }

    # -- reports -----------------------------------------------------------------------------------

    def email_activity(self, request: Request) -> Response:
        since = wall_clock(request, "since")
        count, offset = paging(request)
        with self.lock:
            campaign = self.store.require(request.params["campaign_id"])
            places = campaign.active_since(since)
            emails = [
                self._activity_json(campaign, p, since) for p in places[offset : offset + count]
            ]
        payload = {
            "emails": emails,
            "campaign_id": campaign.id,
            "total_items": len(places),
            "_links": [],
        }
        return Response.json(project(payload, request))

    def _activity_json(self, campaign: Campaign, place: int, since: float | None) -> dict[str, Any]:
        events = campaign.activity.get(place, [])
        if since is not None:
            events = [event for event in events if event.at > since]
        return {
            "campaign_id": campaign.id,
            "list_id": self.audience.list_id,
            "list_is_active": True,
            "email_id": campaign.email_ids[place],
            "email_address": campaign.emails[place],
            "activity": [_event_json(campaign, place, event) for event in events],
            "_links": [],
        }

    def unsubscribed(self, request: Request) -> Response:
        count, offset = paging(request)
        with self.lock:
            campaign = self.store.require(request.params["campaign_id"])
            view = MemberView(self.audience, self.links_base)
            rows = campaign.unsubscribes
            items = [
                {
                    **self._person(view, row.email_id, row.email),
                    "timestamp": stamp(row.at),
                    "reason": row.reason,
                    "campaign_id": campaign.id,
                    "list_id": self.audience.list_id,
                    "list_is_active": True,
                    "_links": [],
                }
                for row in rows[offset : offset + count]
            ]
        payload = {
            "unsubscribes": items,
            "campaign_id": campaign.id,
            "total_items": len(rows),
            "_links": [],
        }
        return Response.json(project(payload, request))

    def sent_to(self, request: Request) -> Response:
        count, offset = paging(request)
        with self.lock:
            campaign = self.store.require(request.params["campaign_id"])
            view = MemberView(self.audience, self.links_base)
            total = len(campaign.email_ids)
            items = [
                self._sent_json(view, campaign, place)
                for place in range(offset, min(total, offset + count))
            ]
        payload = {"sent_to": items, "campaign_id": campaign.id, "total_items": total, "_links": []}
        return Response.json(project(payload, request))

    def _sent_json(self, view: MemberView, campaign: Campaign, place: int) -> dict[str, Any]:
        opens = [e.at for e in campaign.activity.get(place, ()) if e.action == "open"]
        return {
            **self._person(view, campaign.email_ids[place], campaign.emails[place]),
            "status": campaign.bounce_type(place),
            "open_count": len(opens),
            "last_open": stamp(max(opens)) if opens else "",
            "absplit_group": "",
            "gmt_offset": 0,
            "campaign_id": campaign.id,
            "list_id": self.audience.list_id,
            "list_is_active": True,
            "_links": [],
        }

    def campaign_abuse(self, request: Request) -> Response:
        with self.lock:
            campaign = self.store.require(request.params["campaign_id"])
            rows = [row for row in self.store.abuse if row.campaign_id == campaign.id]
            return self._abuse(request, rows, {"campaign_id": campaign.id})

    def list_abuse(self, request: Request) -> Response:
        if request.params["list_id"] != self.audience.list_id:
            raise not_found()
        with self.lock:
            return self._abuse(request, list(self.store.abuse), {"list_id": self.audience.list_id})

    def _abuse(self, request: Request, rows: Sequence[Any], owner: dict[str, str]) -> Response:
        count, offset = paging(request)
        view = MemberView(self.audience, self.links_base)
        items = [
            {
                "id": row.id,
                "campaign_id": row.campaign_id,
                "list_id": self.audience.list_id,
                **self._person(view, row.email_id, row.email),
                "date": stamp(row.at),
                "_links": [],
            }
            for row in rows[offset : offset + count]
        ]
        payload = {"abuse_reports": items, **owner, "total_items": len(rows), "_links": []}
        return Response.json(project(payload, request))

    def _person(self, view: MemberView, email_id: str, email: str) -> dict[str, Any]:
        member = self.audience.members.get(email_id)
        return {
            "email_id": email_id,
            "email_address": email,
            "merge_fields": view.merge_fields(member) if member is not None else {},
            "vip": bool(member is not None and member.vip),
        }


def _event_json(campaign: Campaign, place: int, event: Activity) -> dict[str, Any]:
    body: dict[str, Any] = {"action": event.action}
    if event.action == "bounce":
        body["type"] = event.detail
    body["timestamp"] = stamp(event.at)
    if event.action == "click":
        body["url"] = event.detail
    if event.action != "bounce":
        body["ip"] = campaign.ip(place, event)
    return body


def _summary(campaign: Campaign) -> dict[str, Any]:
    sent = len(campaign.email_ids) or 1
    opens = clicks = unique_opens = clickers = 0
    for events in campaign.activity.values():
        opened = sum(1 for event in events if event.action == "open")
        clicked = sum(1 for event in events if event.action == "click")
        opens, clicks = opens + opened, clicks + clicked
        unique_opens, clickers = unique_opens + bool(opened), clickers + bool(clicked)
    return {
        "opens": opens,
        "unique_opens": unique_opens,
        "open_rate": unique_opens / sent,
        "clicks": clicks,
        "subscriber_clicks": clickers,
        "click_rate": clickers / sent,
        "ecommerce": {"total_orders": 0, "total_spent": 0, "total_revenue": 0},
    }


def _choice(request: Request, name: str, allowed: Sequence[str]) -> str | None:
    value = request.arg(name) or None
    if value is not None and name == "sort_dir":
        value = value.upper()
    if value is not None and value not in allowed:
        raise field_error(name, f"Value must be one of: {', '.join(allowed)}")
    return value


def _campaign_filter(request: Request, list_id: str) -> Callable[[Campaign], bool]:
    """The ``GET /campaigns`` filters; time bounds are exclusive like the members listing's."""
    status = _choice(request, "status", CAMPAIGN_STATUSES)
    kind = _choice(request, "type", CAMPAIGN_TYPES)
    wanted_list = request.arg("list_id") or None
    bounds = [
        (name, wall_clock(request, name))
        for name in (
            "since_send_time",
            "before_send_time",
            "since_create_time",
            "before_create_time",
        )
    ]

    def chosen(campaign: Campaign) -> bool:
        if status not in (None, "sent") or kind not in (None, "regular"):
            return False
        if wanted_list not in (None, list_id):
            return False
        for name, moment in bounds:
            if moment is None:
                continue
            value = campaign.send_time if name.endswith("send_time") else campaign.create_time
            if (value <= moment) if name.startswith("since") else (value >= moment):
                return False
        return True

    return chosen
