"""The benchmark's people: a HubSpot portal and a Mailchimp audience with a known overlap.

Every shared person falls in exactly one *category* whose outcome under syncer's rules is known in
advance (README "How reconciliation decides"), so the writes the first sync must make - and hence
its floor - follow from the data, not from what syncer happens to do. Timestamps are spread over
a year, as real data is; seeding everyone at one instant would make every record sit on the
cursor and be re-read by the next run's overlap, which is a property of the seed, not of syncer.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

DOMAIN = "northwind-mail.com"
FIRST = [
    "Ada",
    "Alan",
    "Anna",
    "Ben",
    "Carla",
    "Chen",
    "Dana",
    "Eli",
    "Emma",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jia",
    "Kofi",
    "Lena",
    "Liam",
    "Maya",
    "Noor",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Vik",
    "Wen",
    "Xena",
    "Yuki",
    "Zoe",
]
LAST = [
    "Abe",
    "Baker",
    "Cruz",
    "Diaz",
    "Evans",
    "Fox",
    "Garcia",
    "Hill",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
    "Meyer",
    "Ng",
    "Ortiz",
    "Park",
    "Quist",
    "Reyes",
    "Smith",
    "Tan",
    "Ueda",
    "Vega",
    "Wong",
    "Xu",
    "Young",
    "Zhou",
]

#: Shared people, by category (fractions of the shared set); the rest are in sync already.
SHARED_MIX = {
    "name_mc_newer": 0.025,  # first names differ, Mailchimp changed last -> HubSpot update
    "name_hs_newer": 0.025,  # first names differ, HubSpot changed last -> history read, MC update
    "mc_lastname_blank": 0.015,  # Mailchimp lacks the last name -> Mailchimp update
    "hs_lastname_blank": 0.010,  # HubSpot lacks the last name -> HubSpot update
    "unsub_mc_newer": 0.010,  # HubSpot wants it, Mailchimp unsubscribed later -> HubSpot false
    "unsub_hs_newer": 0.005,  # HubSpot opted out later than MC subscribed -> history, MC unsub
    "cleaned_wants": 0.003,  # HubSpot wants it, the member bounced -> blocked, no write
}
#: Statuses of members who are in sync, and of Mailchimp-only members (all but the cleaned ones
#: become contacts).
IN_SYNC_STATUSES = {
    "subscribed": 0.86,
    "unsubscribed": 0.07,
    "pending": 0.03,
    "cleaned": 0.02,
    "transactional": 0.02,
}
MC_ONLY_STATUSES = {
    "subscribed": 0.82,
    "unsubscribed": 0.10,
    "pending": 0.03,
    "cleaned": 0.03,
    "transactional": 0.02,
}
#: HubSpot-only contacts' newsletter property: only "true" ones become members.
HS_ONLY_NEWSLETTER = {"true": 0.5, "false": 0.35, "": 0.15}
CASE_VARIANTS = 0.01  # in-sync members whose address differs in case only


def email(kind: str, index: int) -> str:
    return f"{kind}{index:06d}@{DOMAIN}"


def _iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso_s(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _subscribed(status: str) -> bool:
    return status in ("subscribed", "pending")


@dataclass
class Expected:
    """What the first sync must do, by construction of the data."""

    hubspot_creates: int = 0
    hubspot_updates: int = 0
    #: Of the HubSpot updates, the unsubscribes (the blast-radius guard counts them).
    hubspot_unsubscribes: int = 0
    mailchimp_creates: int = 0
    mailchimp_updates: int = 0
    history_contacts: int = 0
    blocked: int = 0

    @property
    def mailchimp_writes(self) -> int:
        return self.mailchimp_creates + self.mailchimp_updates


@dataclass
class World:
    """``size`` contacts on each side, ``shared`` of them the same people."""

    size: int
    shared: int
    seed: int = 20260101
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    contacts: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    expected: Expected = field(default_factory=Expected)
    tally: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if not 0 <= self.shared <= self.size:
            raise ValueError("shared must be between 0 and size")
        rng = random.Random(self.seed)
        self.categories = self._categories(rng)
        for i, category in enumerate(self.categories):
            self._shared_person(rng, i, category)
        for i in range(self.size - self.shared):
            self._hubspot_only(rng, i)
            self._mailchimp_only(rng, i)

    def _categories(self, rng: random.Random) -> list[str]:
        chosen: list[str] = []
        for name, share in SHARED_MIX.items():
            chosen += [name] * round(share * self.shared)
        chosen += ["in_sync"] * (self.shared - len(chosen))
        rng.shuffle(chosen)
        return chosen

    def _past(self, rng: random.Random) -> datetime:
        return self.now - timedelta(days=rng.uniform(30, 400))

    def _shared_person(self, rng: random.Random, i: int, category: str) -> None:
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        status = _pick(rng, IN_SYNC_STATUSES) if category == "in_sync" else "subscribed"
        newsletter = "true" if _subscribed(status) else "false"
        hs_first = mc_first = first
        hs_last = mc_last = last
        address = mc_address = email("p", i)
        expected = self.expected
        hs_newer = category in ("name_hs_newer", "unsub_hs_newer")
        if category in ("name_mc_newer", "name_hs_newer"):
            mc_first = FIRST[(i + 5) % len(FIRST)] + "e"
        if category == "mc_lastname_blank":
            mc_last = ""
        if category == "hs_lastname_blank":
            hs_last = ""
        if category == "unsub_mc_newer":
            status, newsletter = "unsubscribed", "true"
            expected.hubspot_unsubscribes += 1
        if category == "unsub_hs_newer":
            newsletter = "false"
        if category == "cleaned_wants":
            status, newsletter = "cleaned", "true"
        if category == "in_sync" and rng.random() < CASE_VARIANTS:
            mc_address = mc_address.capitalize()
        if category in ("name_mc_newer", "hs_lastname_blank", "unsub_mc_newer"):
            expected.hubspot_updates += 1
        if category in ("name_hs_newer", "mc_lastname_blank", "unsub_hs_newer"):
            expected.mailchimp_updates += 1
        if hs_newer:
            expected.history_contacts += 1
        if category == "cleaned_wants":
            expected.blocked += 1
        # Mailchimp changed last unless HubSpot's decisive property is the newer one.
        if hs_newer:
            mc_at = self._past(rng)
            hs_at = mc_at - timedelta(days=rng.uniform(1, 30))
            decisive = mc_at + timedelta(hours=rng.uniform(1, 24 * 20))
        else:
            hs_at = self._past(rng)
            mc_at = hs_at + timedelta(hours=rng.uniform(1, 24 * 20))
            decisive = hs_at
        stamps = {name: _iso_ms(hs_at) for name in ("email", "firstname", "lastname", "newsletter")}
        if category == "name_hs_newer":
            stamps["firstname"] = _iso_ms(decisive)
        if category == "unsub_hs_newer":
            stamps["newsletter"] = _iso_ms(decisive)
        properties = {"email": address, "firstname": hs_first, "lastname": hs_last}
        properties["newsletter"] = newsletter
        self.contacts.append(
            {
                "properties": properties,
                "timestamps": {k: v for k, v in stamps.items() if properties.get(k)},
                "createdate": _iso_ms(hs_at - timedelta(days=rng.uniform(0, 100))),
            }
        )
        self.members.append(
            {
                "email_address": mc_address,
                "status": status,
                "merge_fields": {"FNAME": mc_first, "LNAME": mc_last},
                "last_changed": _iso_s(mc_at),
            }
        )
        self.tally[f"shared:{category}"] += 1

    def _hubspot_only(self, rng: random.Random, i: int) -> None:
        newsletter = _pick(rng, HS_ONLY_NEWSLETTER)
        at = self._past(rng)
        properties = {
            "email": email("h", i),
            "firstname": FIRST[(i * 3) % len(FIRST)],
            "lastname": LAST[(i * 5) % len(LAST)],
        }
        if newsletter:
            properties["newsletter"] = newsletter
        self.contacts.append(
            {
                "properties": properties,
                "timestamps": dict.fromkeys(properties, _iso_ms(at)),
                "createdate": _iso_ms(at - timedelta(days=rng.uniform(0, 100))),
            }
        )
        if newsletter == "true":
            self.expected.mailchimp_creates += 1
        self.tally[f"hubspot_only:newsletter={newsletter or 'unset'}"] += 1

    def _mailchimp_only(self, rng: random.Random, i: int) -> None:
        status = _pick(rng, MC_ONLY_STATUSES)
        self.members.append(
            {
                "email_address": email("m", i),
                "status": status,
                "merge_fields": {
                    "FNAME": FIRST[(i * 11) % len(FIRST)],
                    "LNAME": LAST[(i * 13) % len(LAST)],
                },
                "last_changed": _iso_s(self._past(rng)),
            }
        )
        if status != "cleaned":  # an address nobody can receive mail at is no new contact
            self.expected.hubspot_creates += 1
        self.tally[f"mailchimp_only:{status}"] += 1

    def quiet_change(self, hubspot_ids: list[str]) -> tuple[str, dict[str, Any]]:
        """One contact and one member that change without a change of value.

        The contact is touched (``lastmodifieddate`` moves, as HubSpot's own jobs do) and the
        member seeded again as it is (``last_changed`` moves): both are fetched, neither needs a
        write, and both cursors move to now.
        """
        i = self.categories.index("in_sync")
        member = {k: v for k, v in self.members[i].items() if k != "last_changed"}
        return hubspot_ids[i], member

    # -- the incremental change set ------------------------------------------------------------

    def edits(
        self, hubspot_ids: list[str], share: float = 0.01, unsubscribe_share: float = 0.2
    ) -> tuple[list[tuple[str, dict[str, str]]], list[dict[str, Any]]]:
        """One percent of each side, changed by people between two runs.

        HubSpot: first names of in-sync subscribed people, a fifth of them also opting out.
        Mailchimp: first names of *other* in-sync subscribed people, a fifth also unsubscribing.
        The two sets are disjoint, so each edit is exactly one write to the other side.
        """
        rng = random.Random(self.seed + 1)
        candidates = [
            i
            for i, category in enumerate(self.categories)
            if category == "in_sync"
            and self.members[i]["status"] == "subscribed"
            and self.members[i]["email_address"] == email("p", i)
        ]
        count = max(1, round(share * self.size))
        if 2 * count > len(candidates):
            raise ValueError("not enough in-sync people for the change set")
        chosen = rng.sample(candidates, 2 * count)
        hubspot_edits = []
        for n, i in enumerate(chosen[:count]):
            properties = {"firstname": f"Renamed{i}"}
            if n < unsubscribe_share * count:
                properties["newsletter"] = "false"
            hubspot_edits.append((hubspot_ids[i], properties))
        member_edits = []
        for n, i in enumerate(chosen[count:]):
            member: dict[str, Any] = {
                "email_address": email("p", i),
                "merge_fields": {"FNAME": f"Changed{i}"},
                "status": "unsubscribed" if n < unsubscribe_share * count else "subscribed",
            }
            member_edits.append(member)
        return hubspot_edits, member_edits
