"""Engagement in the soak (issue 16): campaigns sent and read, opened and clicked, every round.

After the first sync a few subscribed, linked people become *readers*: they are frozen (no edit
or event of the soak touches them, so their address and their member stay what the campaigns
went to). Before each round's run (killed or not, under the round's faults) the simulator may
send a new campaign to some readers, and readers open, click and soft-bounce the campaigns sent
so far, each event at its own second (Mailchimp stamps to the second, and two events of one
kind in one second are one event to syncer). The model is the test's own record of those
events; the checks compare it with what HubSpot holds at the end: exactly one note per reader
per campaign with activity (none for others, none twice), its body counting the opens, and the
contact's engagement properties (last open, click and bounce, the last campaign, the counts).

Unsubscribes, abuse reports and hard bounces are left out: they change the member, which the
world model of the other rounds would then have to follow.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from syncer.core.engagement import marked_campaign
from syncer.core.models import parse_time
from tests.support.sandbox import SandboxDriver
from tests.support.soak import World

#: Share of the people who are readers (at most ``MOST``), and per round: the chance of a new
#: campaign, the share of its readers it goes to, and the share of recipients who act.
READERS, MOST, SEND, REACH, ACTIVE = 0.04, 80, 0.6, 0.7, 0.25
#: Events are stamped up to this many seconds before now: within syncer's overlap (120 s), as
#: Mailchimp's reports lag the event a little.
BACKDATE_S = 90
URLS = ("https://example.com/a", "https://example.com/b", "https://example.com/c")
PROPERTIES = (
    "mailchimp_last_open",
    "mailchimp_last_click",
    "mailchimp_last_bounce",
    "mailchimp_last_campaign",
    "mailchimp_opens_90d",
    "mailchimp_clicks_90d",
)
#: Every run reads engagement (a 5-minute cron would wait ``every_minutes``; the soak is faster).
SECTION = {"enabled": True, "every_minutes": 0, "campaign_days": 30}


@dataclass
class Sent:
    id: str
    title: str
    at: int
    recipients: list[str]


@dataclass
class Engagement:
    """The readers, the campaigns, every event recorded, and the checks."""

    sim: SandboxDriver
    world: World
    rng: Random
    readers: list[str] = field(default_factory=list)
    campaigns: list[Sent] = field(default_factory=list)
    #: (reader, campaign id) -> {(action, epoch second, detail)}
    events: dict[tuple[str, str], set[tuple[str, int, str]]] = field(
        default_factory=lambda: defaultdict(set)
    )
    used: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def sections(self) -> dict[str, Any]:
        return {"engagement": SECTION} if self.readers else {}

    def start(self, hubspot_ids: dict[str, str]) -> None:
        """Choose and freeze the readers (after the first sync: linked, subscribed people)."""
        fit = [
            p
            for p in self.world
            if p.status == "subscribed"
            and p.in_hubspot
            and not p.apart
            and not p.frozen
            and p.email in hubspot_ids
        ]
        count = min(MOST, max(2, int(len(self.world.people) * READERS)))
        for person in self.rng.sample(fit, min(count, len(fit))):
            person.frozen = True
            person.note("a reader of the soak's campaigns (frozen)")
            self.readers.append(person.email)

    def play(self, label: str) -> int:
        """A round's campaign and activity, before its run. Returns the events recorded."""
        now = self._now()
        if self.readers and (not self.campaigns or self.rng.random() < SEND):
            self._send(now, label)
        recorded = 0
        for campaign in self.campaigns:
            acting = [r for r in campaign.recipients if self.rng.random() < ACTIVE]
            batch = [event for reader in acting for event in self._act(campaign, reader, now)]
            if batch:
                self.sim._post(
                    f"{self.sim.mc_root}/_sim/campaigns/events",
                    {"campaign_id": campaign.id, "events": batch},
                )
                recorded += len(batch)
        return recorded

    def _send(self, now: int, label: str) -> None:
        title = f"Soak newsletter {len(self.campaigns) + 1}"
        chosen = self.rng.sample(self.readers, max(1, int(len(self.readers) * REACH)))
        at = now - BACKDATE_S - 60
        made = self.sim._post(
            f"{self.sim.mc_root}/_sim/campaigns",
            {"title": title, "send_time": _iso(at), "recipients": chosen},
        )
        self.campaigns.append(Sent(str(made["id"]), title, at, chosen))

    def _act(self, campaign: Sent, reader: str, now: int) -> list[dict[str, Any]]:
        events = []
        for _ in range(self.rng.randint(1, 2)):
            free = [
                s
                for s in range(now - BACKDATE_S, now + 1)
                if s > campaign.at and s not in self.used[reader]
            ]
            if not free:
                break
            second = self.rng.choice(free)
            self.used[reader].add(second)
            draw = self.rng.random()
            action, detail = ("open", "") if draw < 0.7 else ("click", self.rng.choice(URLS))
            if draw >= 0.92:
                action, detail = "bounce", "soft"
            self.events[(reader, campaign.id)].add((action, second, detail))
            event = {"email": reader, "action": action, "timestamp": _iso(second)}
            if action == "click":
                event["url"] = detail
            if action == "bounce":
                event["type"] = "soft"
            events.append(event)
        return events

    def _now(self) -> int:
        answer = self.sim.http.post(
            f"{self.sim.hs_url}/_sim/clock", json={"advance": 0}, timeout=10
        )
        return int(datetime.fromisoformat(answer.json()["now"]).timestamp())

    # -- checks ----------------------------------------------------------------------------------

    def check(self, hubspot_ids: dict[str, str]) -> list[str]:
        """One note per reader per campaign with activity, saying the opens; and the contact's
        properties as the recorded activity implies. Reads only the simulators."""
        problems: list[str] = []
        ids = {reader: hubspot_ids.get(reader) for reader in self.readers}
        response = self.sim.http.get(f"{self.sim.hs_url}/_sim/notes", timeout=60)
        notes = [n for n in response.json()["notes"] if not n["archived"]]
        keys = Counter(
            (tuple(n["contacts"]), marked_campaign(n["properties"].get("hs_note_body")))
            for n in notes
        )
        problems += [
            f"{count} notes for contact {key[0]} in campaign {key[1]}"
            for key, count in keys.items()
            if count > 1
        ]
        bodies = {
            (n["contacts"][0], marked_campaign(n["properties"]["hs_note_body"])): n["properties"][
                "hs_note_body"
            ]
            for n in notes
            if n["contacts"]
        }
        titles = {c.id: c.title for c in self.campaigns}
        wanted = {(ids[reader], campaign) for (reader, campaign), got in self.events.items() if got}
        problems += [
            f"a note for contact {key[0]} in campaign {key[1]}, which had no activity"
            for key in bodies
            if key not in wanted
        ]
        for (reader, campaign), got in sorted(self.events.items()):
            body = bodies.get((ids[reader], campaign))
            opens = sum(1 for action, _, _ in got if action == "open")
            if body is None:
                problems.append(f"{reader}: no note for {titles[campaign]} ({sorted(got)})")
            elif opens and f"Opened '{titles[campaign]}' {opens} time" not in body:
                problems.append(f"{reader}: the note says {body[:160]!r}, expected {opens} opens")
        contacts = {
            str(c["id"]): c["properties"] for c in self.sim.hubspot_contacts(list(PROPERTIES))
        }
        for reader in self.readers:
            expected = self._properties(reader)
            shown = contacts.get(ids[reader] or "", {})
            for name, value in expected.items():
                if not _same(shown.get(name), value):
                    problems.append(f"{reader}: {name} is {shown.get(name)!r}, expected {value!r}")
        return problems

    def _properties(self, reader: str) -> dict[str, str]:
        """The engagement properties the model's events imply (all within the 90-day window)."""
        mine = [
            (at, action, cid)
            for (who, cid), got in self.events.items()
            if who == reader
            for action, at, _ in got
        ]
        if not mine:
            return dict.fromkeys(PROPERTIES, "")  # nothing to write: syncer writes nothing
        titles = {c.id: c.title for c in self.campaigns}
        latest = {
            action: max((at for at, a, _ in mine if a == action), default=None)
            for action in ("open", "click", "bounce")
        }
        engaged = max(((at, cid) for at, a, cid in mine if a in ("open", "click")), default=None)
        return {
            "mailchimp_last_open": _iso(latest["open"]) if latest["open"] else "",
            "mailchimp_last_click": _iso(latest["click"]) if latest["click"] else "",
            "mailchimp_last_bounce": _iso(latest["bounce"]) if latest["bounce"] else "",
            "mailchimp_last_campaign": titles[engaged[1]] if engaged else "",
            "mailchimp_opens_90d": str(sum(1 for _, a, _ in mine if a == "open")),
            "mailchimp_clicks_90d": str(sum(1 for _, a, _ in mine if a == "click")),
        }

    def summary(self) -> str:
        made = sum(len(got) for got in self.events.values())
        sent = len(self.campaigns)
        return f"engagement: {len(self.readers)} readers, {sent} campaigns, {made} events"


def _iso(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).isoformat().replace("+00:00", "Z")


def _same(shown: Any, expected: str) -> bool:
    """Equal values; date-times compared as moments (HubSpot may spell them another way)."""
    if (shown or "") == expected:
        return True
    try:
        a, b = parse_time(str(shown)), parse_time(expected)
    except (TypeError, ValueError):
        return False
    return a is not None and b is not None and abs(a - b) < timedelta(seconds=1)
