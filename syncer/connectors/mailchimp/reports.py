"""Mailchimp's campaigns and reports: which campaigns were sent, and what recipients did.

Email activity (``GET /reports/{campaign_id}/email-activity``) lists one item per recipient with
their opens, clicks and bounces; ``since`` keeps only events after a moment, so a campaign is
read incrementally from its own cursor. Pages are 1,000 items (the API's maximum) with
``fields=`` asking only for what syncer records. Unsubscribes and abuse reports are not in the
email activity (Mailchimp lists them at ``/reports/{id}/unsubscribed`` and
``/reports/{id}/abuse-reports``, without ``since``); they are few, and read whole.

A campaign deleted in Mailchimp answers 404: the :class:`~syncer.errors.RemoteError` keeps its
status, and the run reports the campaign instead of stopping.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncer.connectors.answers import Skipped, has_list
from syncer.connectors.http import ApiSession
from syncer.connectors.mailchimp.records import format_time
from syncer.connectors.paging import LoopGuard
from syncer.core.engagement import Campaign, Event, stamp

PAGE = 1000
CAMPAIGN_FIELDS = "campaigns.id,campaigns.settings.title,campaigns.settings.subject_line,"
CAMPAIGN_FIELDS += "campaigns.send_time,campaigns.emails_sent,total_items"
ACTIVITY_FIELDS = "emails.email_id,emails.email_address,emails.activity,total_items"


@dataclass(frozen=True)
class MemberActivity:
    """One recipient's events in one answer."""

    email_id: str
    email: str
    events: tuple[Event, ...]


@dataclass(frozen=True)
class ActivityPage:
    items: list[MemberActivity]
    #: Where the walk goes on; ``None``: this was the last page.
    next_offset: int | None


class MailchimpReports:
    def __init__(self, api: ApiSession, list_id: str, skipped: Skipped) -> None:
        self.api = api
        self.list_id = list_id
        self.skipped = skipped

    def sent_campaigns(self, since: datetime) -> list[Campaign]:
        """The audience's campaigns sent after ``since``, oldest first."""
        found: list[Campaign] = []
        guard = LoopGuard(10_000, "mailchimp: listing campaigns")
        offset = 0
        while True:
            guard.tick()
            response = self.api.request(
                "GET",
                "/campaigns",
                params={
                    "status": "sent",
                    "list_id": self.list_id,
                    "since_send_time": format_time(since),
                    "sort_field": "send_time",
                    "sort_dir": "ASC",
                    "count": PAGE,
                    "offset": offset,
                    "fields": CAMPAIGN_FIELDS,
                },
                expect=has_list("campaigns"),
            )
            raws = (response.data or {})["campaigns"]
            found.extend(c for raw in raws if (c := self._campaign(raw)) is not None)
            if len(raws) < PAGE:
                return found
            offset += PAGE

    def _campaign(self, raw: Any) -> Campaign | None:
        settings = raw.get("settings") if isinstance(raw, dict) else None
        sent = stamp(raw.get("send_time")) if isinstance(raw, dict) else None
        if not isinstance(raw.get("id") if raw else None, str) or sent is None:
            self.skipped.note("mailchimp: a campaign in the answer has no id or send_time")
            return None
        settings = settings if isinstance(settings, dict) else {}
        title = settings.get("title") or settings.get("subject_line") or raw["id"]
        return Campaign(raw["id"], str(title), sent)

    def activity(self, campaign_id: str, since: str, offset: int) -> Iterator[ActivityPage]:
        """Pages of email activity after ``since`` ('' for all), from ``offset`` on.

        Items come in the campaign's send order. A recipient whose first event after ``since``
        arrives during the walk shifts later items by one: a page then repeats an item, which
        the cache's de-duplication absorbs; none is skipped.
        """
        guard = LoopGuard(100_000, f"mailchimp: reading activity of campaign {campaign_id}")
        while True:
            guard.tick()
            params: dict[str, Any] = {"count": PAGE, "offset": offset, "fields": ACTIVITY_FIELDS}
            if since:
                params["since"] = since
            response = self.api.request(
                "GET",
                "/reports/{campaign_id}/email-activity",
                path={"campaign_id": campaign_id},
                params=params,
                expect=has_list("emails"),
            )
            raws = (response.data or {})["emails"]
            items = [item for raw in raws if (item := self._activity(raw)) is not None]
            done = len(raws) < PAGE
            yield ActivityPage(items, None if done else offset + PAGE)
            if done:
                return
            offset += PAGE

    def _activity(self, raw: Any) -> MemberActivity | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("email_id"), str):
            self.skipped.note("mailchimp: an email activity record has no email_id")
            return None
        events: list[Event] = []
        for item in raw.get("activity") or []:
            if not isinstance(item, dict):
                continue
            action, at = str(item.get("action") or ""), stamp(item.get("timestamp"))
            if at is None or action not in ("open", "click", "bounce"):
                continue
            detail = {"click": item.get("url"), "bounce": item.get("type")}.get(action)
            events.append((action, at, str(detail or "")))
        return MemberActivity(raw["email_id"], str(raw.get("email_address") or ""), tuple(events))

    def unsubscribes(self, campaign_id: str) -> Iterator[list[MemberActivity]]:
        """The campaign's unsubscribes, as ``unsubscribe`` events with their reason."""
        yield from self._listing(campaign_id, "unsubscribed", "unsubscribes", "unsubscribe")

    def abuse_reports(self, campaign_id: str) -> Iterator[list[MemberActivity]]:
        yield from self._listing(campaign_id, "abuse-reports", "abuse_reports", "abuse")

    def recipients(self, campaign_id: str) -> Iterator[list[MemberActivity]]:
        """Everyone the campaign was sent to, as ``send`` events at its send time."""
        yield from self._listing(campaign_id, "sent-to", "sent_to", "send")

    def _listing(
        self, campaign_id: str, path: str, key: str, action: str
    ) -> Iterator[list[MemberActivity]]:
        guard = LoopGuard(100_000, f"mailchimp: reading {path} of campaign {campaign_id}")
        offset = 0
        wanted = {"unsubscribe": "timestamp,reason", "abuse": "date", "send": "status"}[action]
        fields = ",".join(
            f"{key}.{name}" for name in ("email_id", "email_address", *wanted.split(","))
        )
        while True:
            guard.tick()
            response = self.api.request(
                "GET",
                f"/reports/{{campaign_id}}/{path}",
                path={"campaign_id": campaign_id},
                params={"count": PAGE, "offset": offset, "fields": f"{fields},total_items"},
                expect=has_list(key),
            )
            raws = (response.data or {})[key]
            yield [item for raw in raws if (item := self._listed(raw, action)) is not None]
            if len(raws) < PAGE:
                return
            offset += PAGE

    def _listed(self, raw: Any, action: str) -> MemberActivity | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("email_id"), str):
            self.skipped.note(f"mailchimp: a campaign's {action} record has no email_id")
            return None
        at = stamp(raw.get("timestamp") or raw.get("date")) or ""
        detail = str(raw.get("reason") or raw.get("status") or "") if action != "abuse" else ""
        events = ((action, at, detail),) if at or action == "send" else ()
        return MemberActivity(raw["email_id"], str(raw.get("email_address") or ""), events)
