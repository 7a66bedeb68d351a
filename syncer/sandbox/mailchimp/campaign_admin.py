"""Test-only ``/_sim/campaigns`` endpoints: send a campaign, record what recipients did, seed many.

Mailchimp's API cannot fake opens or clicks, so tests, the demo and the benchmarks stage them
here. Events go through :meth:`CampaignStore.record`, so a hard bounce cleans the member and an
unsubscribe unsubscribes them as Mailchimp would. The seed is for benchmarks: it generates N
campaigns x M recipients with given rates in-process, deterministically for a given ``seed``,
and never changes the audience (its bounces are soft and its unsubscribes leave the member be).
The shapes answered here are a contract (see ``/work/notes/engsim.md`` and the tests).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from typing import Any

from syncer.sandbox.clock import parse_iso
from syncer.sandbox.mailchimp.campaigns import (
    BOUNCE_TYPES,
    EVENT_ACTIONS,
    OWN_UNSUBSCRIBE,
    Activity,
    Campaign,
    CampaignStore,
    Unsubscribe,
)
from syncer.sandbox.mailchimp.members import stamp
from syncer.sandbox.server import Handler, Request, Response, SimError

HOUR = 3600
CLICK_URLS = tuple(f"https://example.com/newsletter/article-{n}" for n in range(1, 6))


class CampaignAdmin:
    """``/_sim/campaigns*`` over one :class:`CampaignStore`."""

    def __init__(self, store: CampaignStore, lock: threading.RLock) -> None:
        self.store = store
        self.lock = lock
        self.routes: dict[tuple[str, str], Handler] = {
            ("POST", "/_sim/campaigns"): self.create,
            ("POST", "/_sim/campaigns/events"): self.events,
            ("POST", "/_sim/campaigns/delete"): self.delete,
            ("POST", "/_sim/campaigns/seed"): self.seed,
        }

    def create(self, request: Request) -> Response:
        """A sent campaign to every subscribed member, or to the listed members."""
        body = _object(request)
        title = str(body.get("title") or "Sandbox campaign")
        recipients = body.get("recipients", "subscribed")
        if recipients != "subscribed" and not isinstance(recipients, list):
            raise SimError(400, "Bad Request", 'recipients is "subscribed" or a list of emails')
        with self.lock:
            send_time = _moment(body.get("send_time"), self.store.audience.now())
            sent_to = self.store.recipients(None if recipients == "subscribed" else recipients)
            campaign = self.store.create(
                title, str(body.get("subject_line") or title), send_time, sent_to, body.get("id")
            )
            return Response.json(_created(campaign))

    def events(self, request: Request) -> Response:
        """Record events for recipients of one campaign, each at its own time."""
        body = _object(request)
        events = body.get("events")
        if not isinstance(events, list):
            raise SimError(400, "Bad Request", "events is a list")
        with self.lock:
            campaign = self.store.require(str(body.get("campaign_id") or ""))
            now = self.store.audience.now()
            parsed = [_event(spec, now) for spec in events]
            for email, *_ in parsed:
                campaign.position(email)  # all recipients or nothing recorded
            for email, action, at, detail, ip in parsed:
                self.store.record(campaign, email, action, at, detail, ip)
        return Response.json({"recorded": len(parsed)})

    def delete(self, request: Request) -> Response:
        body = _object(request)
        with self.lock:
            self.store.delete(str(body.get("campaign_id") or ""))
        return Response.json({"ok": True})

    def seed(self, request: Request) -> Response:
        """New campaigns with generated activity, or more activity for existing ones."""
        body = _object(request)
        with self.lock:
            if body.get("campaign_ids") is not None:
                campaigns = [self.store.require(str(cid)) for cid in body["campaign_ids"]]
            else:
                campaigns = self._new_campaigns(body)
            counts = _Seeder(body, self.store.audience.now()).fill(campaigns)
        return Response.json({"campaigns": [c.id for c in campaigns], **counts})

    def _new_campaigns(self, body: Mapping[str, Any]) -> list[Campaign]:
        how_many = _whole(body, "campaigns", 1)
        emails, email_ids = self.store.recipients(None)
        limit = body.get("recipients")
        if limit is not None:
            emails, email_ids = emails[: int(limit)], email_ids[: int(limit)]
        spacing = _number(body, "spacing_hours", 72.0) * HOUR
        now = self.store.audience.now()
        first = _moment(body.get("first_send"), int(now - how_many * spacing))
        title = str(body.get("title") or "Newsletter")
        return [
            self.store.create(
                f"{title} {n + 1}",
                f"{title} {n + 1}",
                int(first + n * spacing),
                (emails, email_ids),
            )
            for n in range(how_many)
        ]


class _Seeder:
    """Generates activity: openers, clickers (a subset of openers), bounces and unsubscribes."""

    def __init__(self, body: Mapping[str, Any], now: int) -> None:
        self.rng = random.Random(_whole(body, "seed", 7))
        self.now = now
        self.rates = {
            name: _number(body, f"{name}_rate", default)
            for name, default in (("open", 0.25), ("click", 0.04), ("bounce", 0.005))
        }
        self.rates["unsubscribe"] = _number(body, "unsubscribe_rate", 0.002)
        self.opens_each = _whole(body, "opens_per_opener", 2)
        self.clicks_each = _whole(body, "clicks_per_clicker", 2)
        self.window = _number(body, "activity_hours", 48.0) * HOUR
        self.start = None if body.get("from") is None else _moment(body["from"], now)

    def fill(self, campaigns: list[Campaign]) -> dict[str, int]:
        counts = {"sends": 0, "opens": 0, "clicks": 0, "bounces": 0, "unsubscribes": 0}
        for campaign in campaigns:
            counts["sends"] += len(campaign.email_ids)
            for name, made in self._fill_one(campaign).items():
                counts[name] += made
        return counts

    def _fill_one(self, campaign: Campaign) -> dict[str, int]:
        size = len(campaign.email_ids)
        start = campaign.send_time if self.start is None else self.start
        end = min(self.now, int(start + self.window))
        rng = self.rng

        def moment() -> int:  # strictly after the send (or ``from``), never in the future
            return rng.randint(start + 1, max(start + 1, end))

        chosen = rng.sample(range(size), k=min(size, round(size * self.rates["open"])))
        bounced = rng.sample(range(size), k=min(size, round(size * self.rates["bounce"])))
        clicks_share = min(1.0, self.rates["click"] / self.rates["open"]) if chosen else 0.0
        made = {"opens": 0, "clicks": 0, "bounces": len(bounced), "unsubscribes": 0}
        for place in bounced:
            campaign.add(place, Activity(moment(), "bounce", "soft"))
        for place in chosen:
            for _ in range(rng.randint(1, self.opens_each)):
                campaign.add(place, Activity(moment(), "open"))
                made["opens"] += 1
            if rng.random() < clicks_share:
                for _ in range(rng.randint(1, self.clicks_each)):
                    campaign.add(place, Activity(moment(), "click", rng.choice(CLICK_URLS)))
                    made["clicks"] += 1
        leavers = rng.sample(range(size), k=min(size, round(size * self.rates["unsubscribe"])))
        for place in leavers:
            row = Unsubscribe(
                campaign.email_ids[place], campaign.emails[place], moment(), OWN_UNSUBSCRIBE
            )
            campaign.unsubscribes.append(row)
        made["unsubscribes"] = len(leavers)
        return made


def _created(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "web_id": campaign.web_id,
        "emails_sent": len(campaign.email_ids),
        "send_time": stamp(campaign.send_time),
    }


def _event(spec: Any, now: int) -> tuple[str, str, int, str, str]:
    if not isinstance(spec, dict) or spec.get("action") not in EVENT_ACTIONS:
        raise SimError(400, "Bad Request", f"an event needs an action of {EVENT_ACTIONS}: {spec}")
    action = str(spec["action"])
    detail = ""
    if action == "click":
        detail = str(spec.get("url") or "https://example.com/")
    elif action == "bounce":
        detail = str(spec.get("type") or "soft")
        if detail not in BOUNCE_TYPES:
            raise SimError(400, "Bad Request", f"a bounce type is hard or soft: {spec}")
    elif action == "unsubscribe":
        detail = str(spec.get("reason") or OWN_UNSUBSCRIBE)
    email = spec.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SimError(400, "Bad Request", f"an event needs the recipient's email: {spec}")
    return email, action, _moment(spec.get("timestamp"), now), detail, str(spec.get("ip") or "")


def _object(request: Request) -> dict[str, Any]:
    body = request.json() or {}
    if not isinstance(body, dict):
        raise SimError(400, "Bad Request", "the body is a JSON object")
    return body


def _moment(text: Any, default: int) -> int:
    return default if not text else int(parse_iso(str(text)).timestamp())


def _number(body: Mapping[str, Any], name: str, default: float) -> float:
    value = float(body.get(name, default))
    if value < 0:
        raise SimError(400, "Bad Request", f"{name} is 0 or more")
    return value


def _whole(body: Mapping[str, Any], name: str, default: int) -> int:
    return max(0, int(body.get(name, default)))
