"""`syncer demo`: the whole job against the embedded sandbox, with no account and no network.

It starts both simulators in-process, seeds a few hundred people, writes a throw-away config and
cache, shows the dry-run plan, runs the real sync with progress and `syncer status`, then maps a
HubSpot list to a tag, lands a newsletter's opens and clicks on a HubSpot contact
(:mod:`syncer.sandbox.demo_engagement`), and ends with `syncer errors` and `syncer show`.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
import yaml

from syncer.config import load_config
from syncer.errors import ExitCode
from syncer.operate.console import Output
from syncer.operate.service import open_store, sync_once
from syncer.operate.status import error_list, person, status_report
from syncer.operate.views import render_errors, render_status
from syncer.run.engine import RunOptions
from syncer.run.progress import Progress
from syncer.run.report import Plan, person_lines, summary_lines, total_lines
from syncer.sandbox import demo_data, demo_engagement, world
from syncer.sandbox.demo_engagement import show_engagement
from syncer.sandbox.runner import Sandbox, SandboxInfo

ORDINARY_SHOWN = 3
DEMO_LIST_FILTER = {"property": "lifecyclestage", "value": "customer"}
TAGS = [{"hubspot_list": "Customers", "mailchimp_tag": "Customer"}]


def run_demo(out: Output, progress: Callable[[], Progress], keep: Path | None) -> ExitCode:
    data = demo_data.build()
    with Sandbox() as sandbox, _folder(keep) as folder, requests.Session() as http:
        info = sandbox.info
        _seed(http, info, data)
        config_path = _write_config(folder, info)
        config = load_config(config_path)
        out.heading("1. A sandbox with both APIs")
        out.line(f"HubSpot at {info.hubspot_url}: {len(data.hubspot)} contacts")
        out.line(f"Mailchimp at {info.mailchimp_url}: {len(data.mailchimp)} members")
        out.line(f"config and cache in {folder}")

        out.heading("2. syncer run --dry-run: what would change")
        plan = sync_once(config, RunOptions(dry_run=True)).plan
        assert plan is not None
        for line in story_lines(plan):
            out.line(line)
        for line in total_lines(plan):
            out.line(line, "bold")

        out.heading("3. syncer run")
        out.line(
            f"(while the first Mailchimp batch waits, {demo_data.LATE_OPT_OUT} opts out from an "
            "old campaign email: syncer's create leaves them opted out, and HubSpot learns it)"
        )
        with _opt_out_during_first_batch(http, info, data):
            report = sync_once(config, RunOptions(), progress=progress())
        for line in summary_lines(report.counts, report.api_calls, report.outcome):
            out.line(line)
        _explain_blocked(out, len(plan.blocked), report.counts.get("blocked", 0))

        out.heading("4. syncer status")
        with open_store(config) as store:
            status = status_report(store, config)
            render_status(out, status)
        _list_becomes_a_tag(out, http, info, folder)
        out.heading("6. Newsletter engagement lands on the HubSpot contact")
        engaged = _write_config(folder, info, tags=TAGS, engagement=demo_engagement.SECTION)
        show_engagement(out, http, info, load_config(engaged))
        with open_store(config) as store:
            out.heading("7. syncer errors")
            render_errors(out, error_list(store))
            out.heading(f"8. syncer show {demo_data.LATE_OPT_OUT}")
            dana = person(store, demo_data.LATE_OPT_OUT, config)
        if dana is not None:
            _where_she_stands(out, dana)
        out.line("")
        if keep is not None:
            out.line(
                f"The config and cache stay in {folder}: try `syncer errors --config "
                f"{config_path}` (the sandbox itself stopped with the demo; "
                "`syncer sandbox --seed demo` serves one again).",
                "bold",
            )
        out.line("Next: `syncer init` writes a config for your own accounts.", "bold")
        return ExitCode.OK if status["health"]["ok"] else ExitCode.PARTIAL


def _list_becomes_a_tag(
    out: Output, http: requests.Session, info: SandboxInfo, folder: Path
) -> None:
    """Segments: an active HubSpot list mapped to a Mailchimp tag, one more run."""
    out.heading("5. A HubSpot list becomes a Mailchimp tag")
    spec = {"name": "Customers", "processingType": "DYNAMIC", "filter": DEMO_LIST_FILTER}
    _admin(http, info.hubspot_url, "lists", spec)
    path = _write_config(folder, info, tags=TAGS)
    out.line("tags: [{hubspot_list: Customers, mailchimp_tag: Customer}]  (an active list)")
    report = sync_once(load_config(path), RunOptions())
    out.line(
        f"{report.counts.get('tags_added', 0)} members tagged Customer (with is_syncing, so no "
        "tag automation fires); people who leave the list lose the tag on a later run"
    )


def story_lines(plan: Plan) -> list[str]:
    """The plan's interesting people first: conflicts (winner and reason), the blocked, the
    unsubscribes and resubscriptions; then a few ordinary writes, and how many more."""
    people = person_lines(plan)
    chosen: list[str] = []
    chosen.extend(conflict.email for conflict in plan.conflicts[:2])
    chosen.extend(blocked["email"] for blocked in plan.blocked)
    chosen.extend(w.email for w in plan.writes if w.action in ("unsubscribe", "resubscribe"))
    ordinary = [w.email for w in plan.writes if w.action in ("create", "update")]
    chosen.extend(ordinary[:ORDINARY_SHOWN])
    shown = list(dict.fromkeys(chosen))
    lines: list[str] = []
    for email in shown:
        lines.append(email)
        lines.extend(people[email])
    lines.append(
        f"... and {len(people) - len(shown)} more people (`syncer run --dry-run` lists them all)"
    )
    return lines


def _explain_blocked(out: Output, planned: int, blocked: int) -> None:
    if blocked == planned:
        return
    out.line(
        f"(the plan counted {planned} blocked: those syncer itself refuses to write; Mailchimp "
        f"refused {blocked - planned} more when the writes were sent, listed below)"
    )


def _where_she_stands(out: Output, dana: dict[str, Any]) -> None:
    member = (dana["mailchimp"] or {}).get("values") or {}
    contact = (dana["hubspot"] or {}).get("values") or {}
    status, wants = member.get("status", "-"), contact.get("newsletter", "-")
    out.line(
        f"{dana['email']}: HubSpot wanted her subscribed, and she opted out in Mailchimp while "
        "the run was under way."
    )
    if status == "pending":
        verdict = "Mailchimp has emailed her to confirm: she is subscribed only if she clicks"
    else:
        verdict = "syncer's create never forces a status, so her opt-out stands on both sides"
    out.line(
        f"She stands at: Mailchimp {status!r}, HubSpot newsletter {wants!r}. {verdict}.", "bold"
    )


@contextlib.contextmanager
def _folder(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="syncer-demo-") as folder:
        yield Path(folder)


def seed_sandbox(info: SandboxInfo, spec: str) -> int:
    """`syncer sandbox --seed demo|N`: the demo's people, or about N sample people (six in
    ten on both sides, a quarter in HubSpot only, the rest in Mailchimp only). Returns how
    many people were seeded."""
    if spec == "demo":
        data = demo_data.build()
    else:
        count = int(spec)
        shared, hubspot_only = count * 6 // 10, count // 4
        data = demo_data.build(
            shared=shared, hubspot_only=hubspot_only, mailchimp_only=count - shared - hubspot_only
        )
    with requests.Session() as http:
        _seed(http, info, data)
    return len(
        {c["properties"]["email"] for c in data.hubspot}
        | {m["email_address"] for m in data.mailchimp}
    )


def _seed(http: requests.Session, info: SandboxInfo, data: demo_data.DemoData) -> None:
    _admin(
        http,
        info.hubspot_url,
        "seed",
        {
            "properties": world.HUBSPOT_PROPERTIES,
            "contacts": data.hubspot,
        },
    )
    _admin(
        http,
        _mailchimp_root(info),
        "seed",
        {
            "merge_fields": world.MERGE_FIELDS,
            "members": data.mailchimp,
        },
    )


def _write_config(folder: Path, info: SandboxInfo, **sections: object) -> Path:
    document = world.config_document(
        info, "syncer.db", sync={"batch_wait_seconds": 20, "batch_poll_seconds": 0.2}
    )
    document.update(sections)
    path = folder / "syncer.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
    return path


@contextlib.contextmanager
def _opt_out_during_first_batch(
    http: requests.Session, info: SandboxInfo, data: demo_data.DemoData
) -> Iterator[None]:
    """Hold Mailchimp's batches; once the first arrives, let Dana opt out, then release them."""
    root = _mailchimp_root(info)
    _admin(http, root, "config", {"batch_paused": True})
    stop = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            batches = http.get(
                f"{info.mailchimp_url}/batches", auth=("demo", info.mailchimp_api_key), timeout=10
            ).json()
            if batches.get("total_items"):
                break
            stop.wait(0.05)
        _admin(http, root, "seed", {"members": [data.late_opt_out()]})
        _admin(http, root, "config", {"batch_paused": False})

    watcher = threading.Thread(target=watch, name="demo-opt-out", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(timeout=10)


def _admin(http: requests.Session, root: str, action: str, payload: object) -> None:
    response = http.post(f"{root}/_sim/{action}", json=payload, timeout=60)
    response.raise_for_status()


def _mailchimp_root(info: SandboxInfo) -> str:
    return info.mailchimp_url.removesuffix("/3.0")
