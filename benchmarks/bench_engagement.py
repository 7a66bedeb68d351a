"""Engagement benchmark: a backfill of 10 campaigns x 100,000 recipients, then an incremental run.

Run from the repository root (the full size takes many minutes: HubSpot's limit, not syncer,
sets the pace of a quarter of a million notes)::

    .venv/bin/python -m benchmarks.bench_engagement --recipients 5000    # a smoke run
    .venv/bin/python -m benchmarks.bench_engagement                      # 10 x 100,000

`syncer sandbox` runs as a child process with its default limits (HubSpot 100 calls per rolling
10 s, Mailchimp 10 connections) plus ``--latency-ms`` on every call. The stages:

1. **setup** (not judged): ``--recipients`` people, the same on both sides and subscribed; one
   `syncer run` links them, `syncer check --fix` creates the engagement properties;
2. the simulator sends ``--campaigns`` campaigns, 72 h apart, to everyone, with realistic
   activity over the 48 h after each send (``OPEN``, ``CLICK`` - of recipients, a subset of the
   openers -, ``BOUNCE`` and ``UNSUBSCRIBE`` rates; one or two opens an opener);
3. **backfill**: `syncer engagement --backfill --since DATE`, on that cache;
4. **incremental**: an hour later, 1% of each campaign's recipients open it again (a fifth of
   them click), then `syncer run` (`every_minutes: 0`, so the pass is due).

The floor of each judged stage follows from the data, which the script reads back from the
simulator itself (outside the measured runs): ``A_c``, the recipients of campaign ``c`` with an
open, click or bounce in the stage's window; ``N``, the person-campaign pairs with any recorded
event (a note each: created, or updated when the pair had one); ``P``, the people among them
(a property write each)::

    reads  = 1 (the campaign listing) + sum_c max(1, ceil(A_c / 1000)) + C (unsubscribes)
             [+ max(1, ceil(P_backfill / 200)) + 2 in `syncer run`: its contact sync reads
                the contacts the backfill's property writes modified, and the members]
    writes = ceil(N_created / 100) + ceil(N_updated / 100) + ceil(P / 100)
    T_min  = max(10 * (writes - 100) / 100, ceil(reads / 10) * latency, S / 5) + 2 * latency

with ``S`` the contact sync's searches in `syncer run` (5 a second, HubSpot's search limit).

Writes go through HubSpot's rolling window of 100 calls in 10 s (which starts full); reads
could use Mailchimp's ten connections at once; a first read and a dependent write each wait a
round trip. Results go to ``benchmarks/results/bench_engagement-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from math import ceil
from pathlib import Path
from typing import Any

from benchmarks.common import (
    RESULTS,
    SandboxProcess,
    calls_between,
    checkout_env,
    print_table,
    ratio,
    run_syncer,
    save_results,
    stamp,
    total_calls,
    write_config,
)

OPEN, CLICK, BOUNCE, UNSUBSCRIBE = 0.25, 0.03, 0.01, 0.002
SPACING_HOURS = 72
#: The incremental hour: this share of each campaign's recipients opens it again.
AGAIN_OPEN, AGAIN_CLICK = 0.01, 0.002
PAGE, BATCH, WINDOW, WINDOW_S, CONNECTIONS = 1000, 100, 100, 10.0, 10
SEARCH_PAGE, SEARCHES_PER_S = 200, 5
DOMAIN = "northwind-mail.com"

Pairs = set[tuple[str, str]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000, help="people (100,000)")
    parser.add_argument("--campaigns", type=int, default=10, help="campaigns sent (10)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every API call")
    parser.add_argument("--timeout", type=float, default=7200.0, help="seconds per syncer run")
    return parser.parse_args()


def people(count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The same people on both sides, subscribed, last changed a year ago: nothing to sync."""
    then = datetime.now(UTC) - timedelta(days=365)
    contacts, members = [], []
    for i in range(count):
        email = f"reader{i:06d}@{DOMAIN}"
        first, last = f"Reader{i % 997}", f"Family{i % 89}"
        at = (then + timedelta(seconds=i)).isoformat(timespec="milliseconds")
        contacts.append(
            {
                "properties": {
                    "email": email,
                    "firstname": first,
                    "lastname": last,
                    "newsletter": "true",
                },
                "timestamps": {k: at for k in ("email", "firstname", "lastname", "newsletter")},
                "createdate": at,
            }
        )
        members.append(
            {
                "email_address": email,
                "status": "subscribed",
                "merge_fields": {"FNAME": first, "LNAME": last},
                "last_changed": (then - timedelta(days=1)).isoformat(timespec="seconds"),
            }
        )
    return contacts, members


class Activity:
    """What the simulator holds, read back through its API outside the measured runs."""

    def __init__(self, sandbox: SandboxProcess) -> None:
        self.sandbox = sandbox
        self.auth = ("bench", sandbox.info["mailchimp_api_key"])
        self.api = sandbox.info["mailchimp_url"]

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.sandbox.http.get(
            f"{self.api}{path}", params=params, auth=self.auth, timeout=120
        )
        response.raise_for_status()
        return dict(response.json())

    def read(self, campaigns: list[str], since: dict[str, str]) -> dict[str, Any]:
        """Per campaign, the recipients with an open, click or bounce after ``since``; and the
        person-campaign pairs with any event a note records (unsubscribes included)."""
        active: dict[str, int] = {}
        pairs: Pairs = set()
        for campaign in campaigns:
            emails: set[str] = set()
            offset = 0
            while True:
                page = self._get(
                    f"/reports/{campaign}/email-activity",
                    since=since[campaign],
                    count=PAGE,
                    offset=offset,
                    fields="emails.email_address,emails.activity",
                )
                emails.update(e["email_address"] for e in page["emails"] if e["activity"])
                if len(page["emails"]) < PAGE:
                    break
                offset += PAGE
            active[campaign] = len(emails)
            left = self._get(f"/reports/{campaign}/unsubscribed", count=PAGE)["unsubscribes"]
            stamped = [u["email_address"] for u in left if u["timestamp"] > since[campaign]]
            pairs.update((email, campaign) for email in emails | set(stamped))
        return {"active": active, "pairs": pairs}


def floor(seen: dict[str, Any], noted: Pairs, latency: float, searches: int = 0) -> dict[str, Any]:
    """The fewest calls and the least time the stage's data allows (see the docstring)."""
    pairs: Pairs = seen["pairs"]
    active: dict[str, int] = seen["active"]
    reads = 1 + sum(max(1, ceil(a / PAGE)) for a in active.values()) + len(active)
    created = len(pairs - noted)
    updated = len(pairs & noted)
    persons = len({email for email, _ in pairs})
    writes = ceil(created / BATCH) + ceil(updated / BATCH) + ceil(persons / BATCH)
    hubspot_s = WINDOW_S * max(0, writes - WINDOW) / WINDOW
    mailchimp_s = ceil(reads / CONNECTIONS) * latency
    contact_sync = searches + 2 if searches else 0  # and the members, and archived members
    return {
        "reads": reads + contact_sync,
        "writes": writes,
        "calls": reads + contact_sync + writes,
        "seconds": max(hubspot_s, mailchimp_s, searches / SEARCHES_PER_S) + 2 * latency,
        "notes_created": created,
        "notes_updated": updated,
        "people": persons,
        "active_recipients": sum(active.values()),
    }


def stage(
    sandbox: SandboxProcess, config: Path, name: str, timeout: float, *args: str
) -> dict[str, Any]:
    before = sandbox.all_requests()
    print(f"[{time.strftime('%H:%M:%S')}] {name}: syncer {' '.join(args)} ...", flush=True)
    run = run_syncer(config, *args[1:], timeout=timeout, command=args[0])
    server = calls_between(before, sandbox.all_requests())
    print(
        f"    exit {run.exit_code} in {run.wall_s:.1f} s, {total_calls(server)} calls "
        f"(syncer counted {total_calls(run.syncer_calls)}), peak RSS {run.peak_rss_mb:.0f} MB",
        flush=True,
    )
    if run.exit_code != 0:
        for _, line in run.log[-15:]:
            print(f"    | {line}")
    return {**run.as_json(), "server_calls": server, "server_calls_total": total_calls(server)}


def main() -> None:
    args = parse_args()
    latency = args.latency_ms / 1000
    folder = RESULTS / f"engagement-{stamp()}"
    contacts, members = people(args.recipients)
    results: dict[str, dict[str, Any]] = {}
    with SandboxProcess(folder / "sandbox.log") as sandbox:
        sandbox.reset(args.latency_ms)
        started = time.monotonic()
        sandbox.seed_hubspot(contacts)
        sandbox.seed_mailchimp(members)
        print(f"seeded {args.recipients:,} a side in {time.monotonic() - started:.1f} s")
        engagement = {"enabled": True, "every_minutes": 0, "campaign_days": 45}
        config = write_config(folder, sandbox.info, engagement=engagement)
        results["setup"] = stage(sandbox, config, "setup", args.timeout, "run")
        fixed = subprocess.run(
            [sys.executable, "-m", "syncer", "--config", str(config), "check", "--fix"],
            env=checkout_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        print(f"    check --fix: exit {fixed.returncode}")

        now = datetime.now(UTC)
        first = now - timedelta(hours=SPACING_HOURS * args.campaigns)
        started = time.monotonic()
        seeded = sandbox.post(
            "mailchimp",
            "/_sim/campaigns/seed",
            {
                "campaigns": args.campaigns,
                "recipients": args.recipients,
                "first_send": first.isoformat(),
                "spacing_hours": SPACING_HOURS,
                "open_rate": OPEN,
                "click_rate": CLICK,
                "bounce_rate": BOUNCE,
                "unsubscribe_rate": UNSUBSCRIBE,
            },
            timeout=1800,
        )
        print(f"seeded {args.campaigns} campaigns in {time.monotonic() - started:.1f} s: {seeded}")
        activity = Activity(sandbox)
        campaigns: list[str] = seeded["campaigns"]
        ever = {c: (first - timedelta(days=1)).isoformat() for c in campaigns}
        history = activity.read(campaigns, ever)
        floors = {"backfill": floor(history, set(), latency, 0)}
        since = (first - timedelta(days=1)).strftime("%Y-%m-%d")
        results["backfill"] = stage(
            sandbox, config, "backfill", args.timeout, "engagement", "--backfill", "--since", since
        )

        sandbox.advance(3600)
        window = (datetime.now(UTC) + timedelta(seconds=600)).isoformat()
        again = sandbox.post(
            "mailchimp",
            "/_sim/campaigns/seed",
            {
                "campaign_ids": campaigns,
                "from": window,
                "open_rate": AGAIN_OPEN,
                "click_rate": AGAIN_CLICK,
                "bounce_rate": 0,
                "unsubscribe_rate": 0,
                "opens_per_opener": 1,
                "clicks_per_clicker": 1,
                "seed": 8,
            },
            timeout=600,
        )
        print(f"new activity: {again}")
        fresh = activity.read(campaigns, dict.fromkeys(campaigns, window))
        # The run's contact sync reads what the backfill's property writes modified.
        echo = max(1, ceil(floors["backfill"]["people"] / SEARCH_PAGE))
        floors["incremental"] = floor(fresh, history["pairs"], latency, echo)
        results["incremental"] = stage(sandbox, config, "incremental", args.timeout, "run")
    summary = summarise(args, results, floors)
    payload = {
        "benchmark": "bench_engagement",
        "arguments": vars(args),
        "seeded": seeded,
        "incremental_activity": again,
        "floors": floors,
        "summary": summary,
        "stages": results,
    }
    path = save_results("bench_engagement", payload)
    print(f"\nresults: {path}")


def summarise(
    args: argparse.Namespace, results: dict[str, dict[str, Any]], floors: dict[str, Any]
) -> list[dict[str, Any]]:
    print(
        f"\n== {args.campaigns} campaigns x {args.recipients:,} recipients, "
        f"latency {args.latency_ms:g} ms =="
    )
    rows, report = [], []
    for name in ("backfill", "incremental"):
        result, least = results[name], floors[name]
        counts = result["report"]["counts"] if result.get("report") else {}
        row = {
            "stage": name,
            "exit": result["exit_code"],
            "wall_s": round(result["wall_s"], 1),
            "floor_s": round(least["seconds"], 1),
            "calls": result["server_calls_total"],
            "floor_calls": least["calls"],
            "peak_rss_mb": round(result["peak_rss_mb"]),
            "events": counts.get("engagement_events", 0),
            "notes": counts.get("engagement_notes_created", 0)
            + counts.get("engagement_notes_updated", 0),
            "floor_notes": least["notes_created"] + least["notes_updated"],
            "contacts": counts.get("engagement_contacts_written", 0),
            "floor_contacts": least["people"],
        }
        report.append(row)
        rows.append(
            (
                name,
                row["exit"],
                row["wall_s"],
                row["floor_s"],
                ratio(row["wall_s"], row["floor_s"]),
                row["calls"],
                row["floor_calls"],
                ratio(row["calls"], row["floor_calls"]),
                row["peak_rss_mb"],
                f"{row['notes']}/{row['floor_notes']}",
                f"{row['contacts']}/{row['floor_contacts']}",
            )
        )
    print_table(
        (
            "stage",
            "exit",
            "wall s",
            "floor s",
            "ratio",
            "calls",
            "floor",
            "ratio",
            "RSS MB",
            "notes/floor",
            "contacts/floor",
        ),
        rows,
    )
    for name in ("backfill", "incremental"):
        print(f"\n{name}, calls by endpoint (server side):")
        server = results[name]["server_calls"]
        print_table(
            ("api", "endpoint", "calls"),
            [(side, key, n) for side, calls in server.items() for key, n in sorted(calls.items())],
        )
    return report


if __name__ == "__main__":
    main()
