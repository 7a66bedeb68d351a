"""The Mailchimp simulator's sent campaigns and what their recipients did with them.

A campaign keeps its recipients as they were at send time (address and subscriber hash, in send
order) and, per recipient, the opens, clicks and bounces Mailchimp's email-activity report lists,
in time order. Unsubscribes and abuse complaints are reported elsewhere in Mailchimp's API
(``/reports/{id}/unsubscribed``, ``/lists/{id}/abuse-reports``), so they are kept apart here too.

Built for 10 campaigns x 100,000 recipients in one process: recipients are two parallel tuples
(seeded campaigns share them), activity is stored only for recipients who have some, and a
recipient's IP address is derived from its position unless a test gives one. Callers hold the
simulator's lock around every method.

What Mailchimp does to the audience (recorded through :meth:`CampaignStore.record`):

* a **hard bounce cleans** the address at once; soft bounces clean it only after 7 (15 with
  engagement history) and are not counted here ("Hard bounces are removed immediately ... After 7
  of these soft bounce reports, 15 if there is a previous activity score, we'll clean that
  subscriber", kb.mailchimp.com, "What's the difference between hard and soft bounce backs");
* an **unsubscribe** through a campaign is the person's own: unsubscribed and compliance-locked,
  listed in that campaign's unsubscribe report;
* an **abuse complaint** unsubscribes the person too and is listed in the abuse reports.

The transition log names a clean by bounce ``campaign``; unsubscribes are the ``person``'s.
"""

from __future__ import annotations

import hashlib
from bisect import insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from syncer.sandbox.mailchimp.members import Audience, not_found, subscriber_hash
from syncer.sandbox.server import SimError

#: Actions listed by ``/reports/{id}/email-activity`` (its ``activity[].action`` values).
ACTIVITY_ACTIONS = ("open", "click", "bounce")
EVENT_ACTIONS = (*ACTIVITY_ACTIONS, "unsubscribe", "abuse")
BOUNCE_TYPES = ("hard", "soft")
#: The reason Mailchimp shows for a person's own unsubscribe (as ``/_sim/unsubscribe`` sets it).
OWN_UNSUBSCRIBE = "N/A (Unsubscribed by the contact)"


class Activity(NamedTuple):
    """One email-activity event: ``detail`` is the URL of a click, the type of a bounce."""

    at: int
    action: str
    detail: str = ""
    ip: str = ""


class Unsubscribe(NamedTuple):
    email_id: str
    email: str
    at: int
    reason: str


class AbuseReport(NamedTuple):
    id: int
    campaign_id: str
    email_id: str
    email: str
    at: int


@dataclass(slots=True)
class Campaign:
    id: str
    web_id: int
    title: str
    subject_line: str
    create_time: int
    send_time: int
    emails: tuple[str, ...]
    email_ids: tuple[str, ...]
    activity: dict[int, list[Activity]] = field(default_factory=dict)
    unsubscribes: list[Unsubscribe] = field(default_factory=list)
    _positions: dict[str, int] | None = None

    def position(self, email: str) -> int:
        """The recipient's place in send order; 404 when the address was not sent this."""
        if self._positions is None:
            self._positions = {email_id: place for place, email_id in enumerate(self.email_ids)}
        place = self._positions.get(subscriber_hash(email))
        if place is None:
            raise SimError(404, "Resource Not Found", f"{email} was not sent campaign {self.id}")
        return place

    def add(self, place: int, event: Activity) -> None:
        insort(self.activity.setdefault(place, []), event)

    def ip(self, place: int, event: Activity) -> str:
        return event.ip or f"198.51.100.{place % 254 + 1}"

    def active_since(self, since: float | None) -> Sequence[int]:
        """Recipients in send order: all of them, or those with activity after ``since``."""
        if since is None:
            return range(len(self.email_ids))
        return sorted(place for place, events in self.activity.items() if events[-1].at > since)

    def bounce_type(self, place: int) -> str:
        """``sent``, or the type of the recipient's last bounce (the sent-to report's status)."""
        bounces = [
            event.detail for event in self.activity.get(place, ()) if event.action == "bounce"
        ]
        return bounces[-1] if bounces else "sent"


class CampaignStore:
    """Every campaign of the account, in creation order, and the account's abuse reports."""

    def __init__(self, audience: Audience) -> None:
        self.audience = audience
        self.clear()

    def clear(self) -> None:
        self.campaigns: dict[str, Campaign] = {}
        self.abuse: list[AbuseReport] = []
        self._web_id = 0

    def require(self, campaign_id: str) -> Campaign:
        campaign = self.campaigns.get(campaign_id)
        if campaign is None:
            raise not_found()
        return campaign

    def create(
        self,
        title: str,
        subject_line: str,
        send_time: int,
        recipients: tuple[tuple[str, ...], tuple[str, ...]],
        campaign_id: str | None = None,
    ) -> Campaign:
        """A sent campaign; ``recipients`` is ``(addresses, subscriber hashes)`` in send order."""
        self._web_id += 1
        token = hashlib.sha256(f"campaign:{self.audience.list_id}:{self._web_id}".encode())
        campaign_id = campaign_id or token.hexdigest()[:10]
        if campaign_id in self.campaigns:
            raise SimError(400, "Bad Request", f"campaign {campaign_id} exists already")
        emails, email_ids = recipients
        campaign = Campaign(
            id=campaign_id,
            web_id=self._web_id,
            title=title,
            subject_line=subject_line,
            create_time=min(send_time, self.audience.now()),
            send_time=send_time,
            emails=emails,
            email_ids=email_ids,
        )
        self.campaigns[campaign_id] = campaign
        return campaign

    def delete(self, campaign_id: str) -> None:
        self.require(campaign_id)
        del self.campaigns[campaign_id]
        self.abuse = [report for report in self.abuse if report.campaign_id != campaign_id]

    def recipients(self, emails: Iterable[str] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Who a campaign goes to: the listed members, or every subscribed member."""
        if emails is None:
            chosen = [m for m in self.audience.ordered(None) if m.status == "subscribed"]
        else:
            chosen = [self.audience.require(str(email)) for email in emails]
        return tuple(m.email for m in chosen), tuple(m.id for m in chosen)

    def record(
        self, campaign: Campaign, email: str, action: str, at: int, detail: str, ip: str
    ) -> None:
        """One event for one recipient, with the effect Mailchimp gives it on the audience."""
        place = campaign.position(email)
        email_id, address = campaign.email_ids[place], campaign.emails[place]
        if action in ACTIVITY_ACTIONS:
            campaign.add(place, Activity(at, action, detail, ip))
        if action == "unsubscribe":
            campaign.unsubscribes.append(Unsubscribe(email_id, address, at, detail))
        if action == "abuse":
            report_id = len(self.abuse) + 1
            self.abuse.append(AbuseReport(report_id, campaign.id, email_id, address, at))
        member = self.audience.members.get(email_id)
        if member is None or member.status == "archived":
            return
        if action == "bounce" and detail == "hard" and member.status in {"subscribed", "pending"}:
            self.audience.set_status(member, "cleaned", "campaign")
            self.audience.touch(member)
        elif action in {"unsubscribe", "abuse"}:
            self.audience.person_unsubscribe(member.email)
            if action == "unsubscribe" and detail:
                member.unsubscribe_reason = detail
