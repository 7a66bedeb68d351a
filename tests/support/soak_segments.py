"""Segments in the soak (issue 17): a HubSpot list and a property value as Mailchimp tags, the
list's members joining and leaving every round, then a scope added and moved under faults.

Throughout the soak, ``tags:`` maps the HubSpot list ``MQLs`` to the tag ``MQL`` and
``lifecyclestage: customer`` to the tag ``Customer`` (the rounds already edit lifecycle stages);
the list is made after the first sync, and each round moves a few contacts in and out
of it. After the main checks, a scope stage
adds ``scope: {hubspot_list: Canary, on_leave: untag}`` to the running sync (most linked people
in the list, so the rest leave) and moves people in and out of both lists for a few rounds of
faulty runs (one SIGKILLed), with no other edit. The checks compare every linked member's
managed tags with what the config implies from HubSpot's own lists and values at the end, and
find no member whose status changed during the scope stage (``untag`` never unsubscribes).

The tags mirror (``tags_to_hubspot``) is on throughout, naming the managed tags and two of the
three tags Mailchimp's own side adds and removes each round (as automations and people do, for a
few settled people nobody else edits that round): at the end every linked contact in scope
shows exactly its member's mirrored tags in the HubSpot property, and the unmirrored tag never.
"""

from __future__ import annotations

from random import Random
from typing import Any

from tests.support.sandbox import SandboxDriver
from tests.support.soak import Person, World
from tests.support.soak_sides import Sides

MQL_LIST, MQL, CUSTOMER, CANARY = "MQLs", "MQL", "Customer", "Canary"
TAG_RULES = [
    {"hubspot_list": MQL_LIST, "mailchimp_tag": MQL},
    {"hubspot_property": "lifecyclestage", "value": "customer", "mailchimp_tag": CUSTOMER},
]
MANAGED = frozenset({MQL, CUSTOMER})
#: Share of contacts in the MQL list at the start, in the Canary list when the scope comes, and
#: moved in or out of each list per round.
IN_MQL, IN_CANARY, MOVES = 0.1, 0.95, 0.02
SCOPE_ROUNDS = 2
LISTS = "/crm/v3/lists"
#: The mirror's property, the tags only Mailchimp's side edits (the last one not mirrored), and
#: the share of people whose Mailchimp tags are edited each round.
MIRROR = "mailchimp_tags"
OWN_TAGS = ("Webinar", "VIP", "Internal")
MIRRORED = [MQL, CUSTOMER, *OWN_TAGS[:2]]
TAG_EDITS = 0.01


class Segments:
    """The lists, their moves, the config sections they need, and the checks of the tags."""

    def __init__(self, sim: SandboxDriver, world: World, rng: Random) -> None:
        self.sim, self.world, self.rng = sim, world, rng
        # A generator of its own for the Mailchimp tag edits, so the rest draw what they drew.
        self.tag_rng = Random(hash(("tags", rng.getstate())))
        self.lists: dict[str, str] = {}
        self.scoped = False
        self.moves = self.tag_edits = 0
        #: Member statuses as the scope stage began; no status may move during it.
        self.statuses: dict[str, str] = {}

    def sections(self, people: int) -> dict[str, Any]:
        """The config's segments sections (the scope once the stage has begun); none before the
        list exists (a missing list stops a run before any write, rightly)."""
        if not self.lists:
            return {}
        sections: dict[str, Any] = {
            "tags": TAG_RULES,
            "segments": {"list_read_minutes": 0},
            "tags_to_hubspot": {"property": MIRROR, "only": MIRRORED},
        }
        if self.scoped:
            sections["scope"] = {"hubspot_list": CANARY, "on_leave": "untag"}
            sections["safety"] = {"min_guarded": people}  # the scope's untags are the test
        return sections

    def start(self) -> None:
        """The MQL list, made once the first sync is through (its tags then come as joins)."""
        self.lists[MQL_LIST] = self._create(MQL_LIST, IN_MQL)

    def begin_scope(self, sides: Sides) -> None:
        self.lists[CANARY] = self._create(CANARY, IN_CANARY)
        self.scoped = True
        self.statuses = {address: m["status"] for address, m in sides.mailchimp.items()}

    def move(self) -> None:
        """Contacts join and leave each list, as people in HubSpot's UI move them."""
        ids = self._contact_ids()
        people = {str(person.hubspot_id): person for person in self.world}
        for name, list_id in self.lists.items():
            inside = self.members(list_id)
            chosen = self.rng.sample(ids, int(len(ids) * MOVES))
            joining = [cid for cid in chosen if cid not in inside]
            leaving = [cid for cid in chosen if cid in inside]
            self.sim._post(
                f"{self.sim.hs_url}/_sim/lists/members",
                {"listId": list_id, "add": joining, "remove": leaving},
            )
            for cid in chosen:
                people[cid].note(f"{'leaves' if cid in inside else 'joins'} the list {name!r}")
            self.moves += len(chosen)

    def edit_tags(self, spare: list[Person], sides: Sides, label: str) -> None:
        """Mailchimp's side adds or removes one of its own tags for a few linked, settled
        ``spare`` people, who then leave ``spare`` (nobody else edits them this round)."""
        ready = [
            p
            for p in spare
            if not p.frozen
            and p.email in sides.hubspot_ids
            and sides.mailchimp.get(p.email, {}).get("status") in ("subscribed", "unsubscribed")
        ]
        count = min(len(ready), max(1, int(len(self.world.people) * TAG_EDITS)))
        for person in self.tag_rng.sample(ready, count):
            spare.remove(person)
            carried = {tag["name"] for tag in sides.mailchimp[person.email]["tags"]}
            tag = self.tag_rng.choice(OWN_TAGS)
            status = "inactive" if tag in carried else "active"
            response = self.sim.http.post(
                f"{self.sim.mc_url}/lists/{self.sim.list_id}/members/"
                f"{sides.mailchimp[person.email]['id']}/tags",
                json={"tags": [{"name": tag, "status": status}]},
                auth=self.sim.mc_auth,
                timeout=30,
            )
            assert response.status_code == 204, response.text
            person.note(f"{label} Mailchimp tag {tag!r} {status}")
            self.tag_edits += 1

    def mirror_check(self, sides: Sides, apart: set[str]) -> list[str]:
        """Every linked contact in scope shows its member's mirrored tags, and no other."""
        shown = {
            str(c["id"]): c["properties"].get(MIRROR) or ""
            for c in self.sim.hubspot_contacts(["email", MIRROR])
        }
        canary = self.members(self.lists[CANARY]) if self.scoped else None
        problems = []
        for address, member in sorted(sides.mailchimp.items()):
            cid = sides.hubspot_ids.get(address)
            if cid is None or address in apart or (canary is not None and cid not in canary):
                continue
            wanted = {tag["name"] for tag in member["tags"]} & set(MIRRORED)
            values = {part for part in shown.get(cid, "").split(";") if part}
            if values != wanted:
                problems.append(
                    f"{address}: HubSpot {MIRROR} {sorted(values)}, member's tags "
                    f"{sorted(wanted)} ({member['status']})"
                )
        return problems

    def members(self, list_id: str) -> set[str]:
        """The list's members as HubSpot's Lists API pages them."""
        found: set[str] = set()
        after: str | None = None
        for _ in range(10_000):
            params = {"limit": 250, **({"after": after} if after else {})}
            page = self.sim.http.get(
                f"{self.sim.hs_url}{LISTS}/{list_id}/memberships",
                params=params,
                headers=self.sim.hs_headers,
                timeout=30,
            ).json()
            found.update(str(item["recordId"]) for item in page["results"])
            after = (page.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return found
        raise AssertionError("the list's memberships did not end")

    def check(self, sides: Sides, stages: dict[str, str], apart: set[str]) -> list[str]:
        """Every linked member carries exactly the managed tags the config implies now.

        ``stages`` is each contact's lifecycle stage by id; outside the scope, no managed tag
        (they were untagged on leaving). Cleaned members are never written, and the addresses
        an event accounts for are judged by the event.
        """
        mql = self.members(self.lists[MQL_LIST])
        canary = self.members(self.lists[CANARY]) if self.scoped else None
        problems = []
        people = {person.email: person for person in self.world}
        for address, member in sorted(sides.mailchimp.items()):
            cid = sides.hubspot_ids.get(address)
            if cid is None or address in apart or member["status"] in ("cleaned", "archived"):
                continue
            wanted = set()
            if canary is None or cid in canary:
                wanted = {MQL} if cid in mql else set()
                wanted |= {CUSTOMER} if stages.get(cid) == "customer" else set()
            shown = {tag["name"] for tag in member["tags"]} & MANAGED
            if shown != wanted:
                where = "" if canary is None else f", in scope {cid in canary}"
                person = people.get(address)
                problems.append(
                    f"{address}: tags {sorted(shown)}, expected {sorted(wanted)} (in MQLs "
                    f"{cid in mql}, stage {stages.get(cid)!r}{where})"
                    + ("" if person is None else f" -- {person.describe()}")
                )
        return problems

    def statuses_held(self, sides: Sides) -> list[str]:
        """No member's status moved during the scope stage (nothing else edited them)."""
        return [
            f"{address}: {before} -> {sides.mailchimp[address]['status']}"
            for address, before in sorted(self.statuses.items())
            if address in sides.mailchimp and sides.mailchimp[address]["status"] != before
        ]

    def _contact_ids(self) -> list[str]:
        return sorted(str(p.hubspot_id) for p in self.world if p.hubspot_id and not p.apart)

    def _create(self, name: str, share: float) -> str:
        ids = self._contact_ids()
        chosen = self.rng.sample(ids, int(len(ids) * share))
        spec = {"name": name, "processingType": "MANUAL", "members": chosen}
        return str(self.sim._post(f"{self.sim.hs_url}/_sim/lists", spec)["listId"])
