"""Reconciliation throughput: the pure reconciler alone, then the engine's phase with its cache.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_reconcile                    # 1,000,000 views
    .venv/bin/python -m benchmarks.bench_reconcile --contacts 100000 --rows 20000 --profile

**Pure** (``syncer.core.reconcile.reconcile`` over ``ContactView`` values): ``--contacts`` distinct
views are generated in chunks (generation is not timed), in a mix of linked people in sync, one
side changed, true conflicts, subscription changes, first links and one-sided people (see
``VIEW_MIX``). A view whose decision asks for HubSpot's property history is decided again with
history, as the engine does; contacts/s counts people, not calls. Measured with syncer's default
field mappings (what an operator gets) and with a richer mapping set (one-way fields, a date
transform, the status mirror). Target: >= 50,000 contacts/s.

**Engine** (what a real run pays): ``--rows`` people a side (the sync benchmark's world) are
saved into a fresh SQLite cache page by page as the fetch does (``save_hubspot_page``,
``save_mailchimp_page``), then ``syncer.run.decide.reconcile_dirty`` reads every dirty row, decides
and writes decisions, base and outbox rows. HubSpot history is answered empty by a stand-in
client, so no network is involved (its would-be calls are counted). ``--profile`` adds a cProfile
of that phase. Results go to ``benchmarks/results/bench_reconcile-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from math import ceil
from pathlib import Path
from typing import Any, cast

from benchmarks.common import RESULTS, print_table, save_results, stamp
from benchmarks.world import World
from syncer.cache.store import Store
from syncer.config import Config, parse_config
from syncer.connectors.hubspot.client import BATCH_LIMIT, HISTORY_LIMIT, HubSpotClient
from syncer.connectors.hubspot.parse import parse_contact
from syncer.connectors.mailchimp.client import MailchimpClient
from syncer.connectors.mailchimp.records import parse_member
from syncer.core.identity import subscriber_hash
from syncer.core.models import (
    EMAIL_KEY,
    SUBSCRIPTION_KEY,
    ContactView,
    HubSpotContact,
    HubSpotSide,
    MailchimpSide,
    Pair,
)
from syncer.core.reconcile import reconcile
from syncer.run.context import RunContext
from syncer.run.decide import reconcile_dirty

TARGET_PER_SECOND = 50_000
CHUNK = 10_000
TALLIED = 100_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
MOMENTS = [T0 + timedelta(minutes=m) for m in range(1000)]
NAMES = ["", "Ann", "Anna", "Bob", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana"]
STAGES = ["", "lead", "customer", "subscriber"]
DATES = ["", "2026-03-04T15:16:17.000Z", "2026-03-05"]
STATUS_MIX = {"subscribed": 80, "unsubscribed": 10, "pending": 3, "cleaned": 4, "transactional": 3}
VIEW_MIX = {
    "linked_in_sync": 40,
    "linked_one_side_changed": 12,
    "linked_conflict": 4,
    "linked_subscription_change": 4,
    "first_link_equal": 15,
    "first_link_differ": 5,
    "hubspot_only": 10,
    "mailchimp_only": 10,
}
BASE_CONFIG = """
hubspot: {token: t}
mailchimp: {api_key: 0a-us1, list_id: l}
"""
RICH_FIELDS = """
subscription: {status_property: mc_status}
fields:
  - {hubspot: firstname, mailchimp: FNAME}
  - {hubspot: lastname, mailchimp: LNAME}
  - {hubspot: lifecyclestage, mailchimp: LCSTAGE, direction: to_mailchimp}
  - {hubspot: score, mailchimp: SCORE, direction: to_hubspot}
  - {hubspot: last_contacted, mailchimp: LASTCONT, direction: to_mailchimp, transform: date}
"""
Case = tuple[ContactView, ContactView | None]


def _subscribed(status: str) -> str:
    return "true" if status in ("subscribed", "pending") else "false"


class ViewMaker:
    """Varied views, each paired with its history-fetched variant when a conflict may need it."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.kinds = self.rng.choices(list(VIEW_MIX), weights=list(VIEW_MIX.values()), k=4096)
        self.statuses = self.rng.choices(
            list(STATUS_MIX), weights=list(STATUS_MIX.values()), k=4096
        )
        self.n = 0

    def cases(self, count: int) -> list[Case]:
        return [self.case() for _ in range(count)]

    def case(self) -> Case:
        self.n += 1
        rng, n = self.rng, self.n
        kind = self.kinds[n % len(self.kinds)]
        status = self.statuses[(n * 7) % len(self.statuses)]
        address = f"person{n}@acme-mail.com"
        first, last = NAMES[n % len(NAMES)], NAMES[(n // 10) % len(NAMES)]
        stage, date = STAGES[n % len(STAGES)], DATES[n % len(DATES)]
        hs_values = {
            "email": address,
            "firstname": first,
            "lastname": last,
            "newsletter": _subscribed(status),
            "lifecyclestage": stage,
            "last_contacted": date,
            "score": "",
            "mc_status": status,
        }
        mc_fields = {
            "FNAME": first,
            "LNAME": last,
            "LCSTAGE": stage,
            "SCORE": "",
            "LASTCONT": date[:10],
        }
        hs_at, mc_at = MOMENTS[rng.randrange(500)], MOMENTS[rng.randrange(500)]
        base: dict[str, Pair] = {}
        if kind.startswith("linked"):
            base = {
                "firstname": (first, first),
                "lastname": (last, last),
                "lifecyclestage": (stage, stage),
                "score": ("", ""),
                "last_contacted": (date, date[:10]),
                SUBSCRIPTION_KEY: (hs_values["newsletter"], status),
                EMAIL_KEY: (address, address),
            }
        history_times: dict[str, datetime] = {}
        if kind == "linked_one_side_changed":
            if n % 2:
                hs_values["firstname"] = "Renamed"
            else:
                mc_fields["LNAME"] = "Changed"
        elif kind in ("linked_conflict", "first_link_differ"):
            hs_values["firstname"], mc_fields["FNAME"] = "FromHubSpot", "FromMailchimp"
            hs_at = MOMENTS[500 + rng.randrange(400)] if n % 2 else hs_at
            history_times["firstname"] = hs_at - timedelta(minutes=rng.randrange(1000))
        elif kind == "linked_subscription_change":
            if n % 2:
                hs_values["newsletter"] = "false" if hs_values["newsletter"] == "true" else "true"
            else:
                status = "unsubscribed" if status == "subscribed" else "subscribed"
        elif kind == "first_link_equal" and n % 5 == 0:
            address = address.upper()
        hubspot = HubSpotSide(values=hs_values, modified=hs_at)
        member = MailchimpSide(email=address, status=status, fields=mc_fields, last_changed=mc_at)
        if kind == "hubspot_only":
            view = ContactView(hubspot=hubspot, mailchimp=None)
        elif kind == "mailchimp_only":
            view = ContactView(hubspot=None, mailchimp=member)
        else:
            view = ContactView(hubspot=hubspot, mailchimp=member, base=base)
        if view.hubspot is None or view.mailchimp is None or hs_at < mc_at:
            return view, None
        fetched = replace(hubspot, times=history_times, history_fetched=True)
        return view, replace(view, hubspot=fetched)


def time_pure(config: Config, contacts: int, seed: int) -> dict[str, Any]:
    """Reconcile ``contacts`` generated views; only the reconcile calls are timed.

    The timed loop keeps no decision alive, as the engine keeps none past its row: holding them
    would make the cyclic garbage collector run over this harness's own heap and bill it to the
    reconciler. What the decisions were is tallied afterwards, untimed, on the first chunks.
    """
    maker = ViewMaker(seed)
    tally: Counter[str] = Counter()
    spent = 0.0
    done = 0
    while done < contacts:
        cases = maker.cases(min(CHUNK, contacts - done))
        started = time.perf_counter()
        for view, with_history in cases:
            decision = reconcile(view, config)
            if decision.needs_history and with_history is not None:
                decision = reconcile(with_history, config)
        spent += time.perf_counter() - started
        if done < TALLIED:
            for view, with_history in cases:
                _tally(tally, view, with_history, config)
        done += len(cases)
    return {
        "contacts": done,
        "seconds": spent,
        "per_second": done / spent,
        "decisions_in_first": {"contacts": min(done, TALLIED), **tally},
    }


def _tally(
    tally: Counter[str], view: ContactView, with_history: ContactView | None, config: Config
) -> None:
    decision = reconcile(view, config)
    if decision.needs_history and with_history is not None:
        tally["history"] += 1
        decision = reconcile(with_history, config)
    tally["writes_hubspot"] += decision.writes_hubspot
    tally["writes_mailchimp"] += decision.writes_mailchimp
    tally["conflicts"] += bool(decision.conflicts)
    tally["blocked"] += decision.blocked is not None
    tally["idle"] += not (decision.writes_hubspot or decision.writes_mailchimp)


class NoNetworkHubSpot:
    """Stands in for the HubSpot client in the engine phase: history answers nothing."""

    def __init__(self) -> None:
        self.history_calls = 0
        self.history_ids = 0

    def read(
        self, ids: Sequence[str], properties: Sequence[str], *, history: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Every contact answers as itself, with no history; the calls counted are the ones the
        real client would make (history reads go 50 ids a call, reference §12.1)."""
        self.history_calls += ceil(len(ids) / (HISTORY_LIMIT if history else BATCH_LIMIT))
        self.history_ids += len(ids)
        now = datetime.now(UTC)
        return {contact_id: HubSpotContact(contact_id, {}, now) for contact_id in ids}


def _pages(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def api_contacts(world: World) -> list[Any]:
    """The world's HubSpot contacts as the client parses them from the list endpoint."""
    contacts = []
    for position, spec in enumerate(world.contacts):
        properties = dict(spec["properties"])
        stamps = [spec["createdate"], *spec["timestamps"].values()]
        properties["lastmodifieddate"] = max(stamps)
        properties["createdate"] = spec["createdate"]
        contacts.append(parse_contact({"id": str(101 + position), "properties": properties}))
    return contacts


def api_members(world: World) -> list[Any]:
    members = []
    for position, spec in enumerate(world.members):
        raw = {
            **spec,
            "id": subscriber_hash(spec["email_address"]),
            "unique_email_id": f"u{position:09d}",
        }
        members.append(parse_member(raw))
    return members


def time_engine(rows: int, folder: Path, profile: bool) -> dict[str, Any]:
    """Save a world into a fresh cache as a fetch would, then time ``reconcile_dirty``."""
    world = World(size=rows, shared=int(rows * 0.8))
    contacts, members = api_contacts(world), api_members(world)
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / "syncer.db")
    config = parse_config(BASE_CONFIG, {})
    hubspot = NoNetworkHubSpot()
    ctx = RunContext(
        config=config,
        store=store,
        hubspot=cast(HubSpotClient, hubspot),
        mailchimp=MailchimpClient(config.mailchimp, config.http),
        run_id=store.start_run("real"),
    )
    figures: dict[str, Any] = {"rows_per_side": rows}
    try:
        started = time.perf_counter()
        for page in _pages(contacts, 100):
            store.save_hubspot_page(
                page, ctx.run_id, subscription=config.subscription.hubspot_property
            )
        figures["save_hubspot_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for page in _pages(members, 1000):
            store.save_mailchimp_page(page)
        figures["save_mailchimp_s"] = time.perf_counter() - started
        dirty = int(store.db.execute("SELECT count(*) FROM contacts WHERE dirty = 1").fetchone()[0])
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        reconcile_dirty(ctx)
        if profiler is not None:
            profiler.disable()
        figures["reconcile_s"] = time.perf_counter() - started
        queued = store.db.execute("SELECT count(*) FROM operations").fetchone()[0]
    finally:
        store.close()
    figures.update(
        dirty_rows=dirty,
        outbox_rows=int(queued),
        history_calls=hubspot.history_calls,
        history_ids=hubspot.history_ids,
        save_hubspot_per_second=len(contacts) / figures["save_hubspot_s"],
        save_mailchimp_per_second=len(members) / figures["save_mailchimp_s"],
        reconcile_rows_per_second=dirty / figures["reconcile_s"],
    )
    if profiler is not None:
        profiler.dump_stats(folder / "reconcile_dirty.prof")
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text).sort_stats("cumulative")
        stats.print_stats("syncer", 30)
        figures["profile_top"] = text.getvalue().splitlines()[:50]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000, help="views to reconcile")
    parser.add_argument("--repeat", type=int, default=3, help="pure runs per config (median)")
    parser.add_argument("--rows", type=int, default=100_000, help="people a side in the cache")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine phase")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    configs = {
        "default fields": parse_config(BASE_CONFIG, {}),
        "rich fields": parse_config(BASE_CONFIG + RICH_FIELDS, {}),
    }
    pure: dict[str, Any] = {}
    table: list[tuple[str, str, str, str]] = []
    for label, config in configs.items():
        if args.contacts <= 0:
            break
        print(
            f"pure reconcile, {label}: {args.repeat} x {args.contacts:,} contacts ...", flush=True
        )
        runs = [time_pure(config, args.contacts, args.seed) for _ in range(max(1, args.repeat))]
        rates = sorted(run["per_second"] for run in runs)
        pure[label] = {
            "runs": runs,
            "median_per_second": statistics.median(rates),
            "best_per_second": rates[-1],
        }
        table.append(
            (
                f"pure, {label} (median of {len(runs)}; best)",
                f"{args.contacts:,}",
                f"{statistics.median(run['seconds'] for run in runs):.1f}",
                f"{statistics.median(rates):,.0f}; {rates[-1]:,.0f}",
            )
        )
    engine: dict[str, Any] = {}
    if args.rows > 0:
        print(f"engine phase: {args.rows:,} a side into a fresh cache ...", flush=True)
        engine = time_engine(args.rows, RESULTS / f"reconcile-{stamp()}", args.profile)
        note = " (under cProfile)" if args.profile else ""
        for label, rows_key, seconds_key, rate_key in (
            ("save HubSpot pages", "rows_per_side", "save_hubspot_s", "save_hubspot_per_second"),
            (
                "save Mailchimp pages",
                "rows_per_side",
                "save_mailchimp_s",
                "save_mailchimp_per_second",
            ),
            ("reconcile_dirty" + note, "dirty_rows", "reconcile_s", "reconcile_rows_per_second"),
        ):
            table.append(
                (
                    f"engine: {label}",
                    f"{engine[rows_key]:,}",
                    f"{engine[seconds_key]:.1f}",
                    f"{engine[rate_key]:,.0f}",
                )
            )
    print()
    print_table(("what", "rows", "seconds", "per second"), table)
    print(f"target: pure reconcile >= {TARGET_PER_SECOND:,} contacts/s")
    if engine:
        print(
            f"engine: {engine['outbox_rows']:,} outbox rows; history would have cost "
            f"{engine['history_calls']} calls for {engine['history_ids']} contacts"
        )
    for line in engine.get("profile_top", []):
        print(line)
    path = save_results(
        "bench_reconcile",
        {"benchmark": "bench_reconcile", "arguments": vars(args), "pure": pure, "engine": engine},
    )
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
