"""Rendering the operators' reports (status, errors, batches, one person) for people."""

from __future__ import annotations

from typing import Any

from syncer.core.wording import plural
from syncer.operate.check import Finding
from syncer.operate.console import Output
from syncer.operate.status_engagement import render_engagement
from syncer.operate.status_preferences import render_preferences
from syncer.operate.status_segments import render_segments


def render_check(out: Output, findings: list[Finding]) -> None:
    for finding in findings:
        mark = "fixed" if finding.fixed else "ok" if finding.ok else "PROBLEM"
        style = "green" if finding.ok else "bold red"
        detail = f": {finding.detail}" if finding.detail else ""
        out.line(f"  [{mark}] {finding.what}{detail}", style)


def render_status(out: Output, report: dict[str, Any]) -> None:
    health = report["health"]
    if health["ok"]:
        out.line("health: OK", "bold green")
    else:
        out.line("health: UNHEALTHY", "bold red")
        for reason in health["reasons"]:
            out.line(f"  - {reason}", "red")
    out.heading("Last runs")
    if report["runs"]:
        keep = RUN_COLUMNS if out.width >= WIDE else NARROW_RUN_COLUMNS
        index = [RUN_COLUMNS.index(name) for name in keep]
        rows = [_run_row(run) for run in report["runs"]]
        out.table(list(keep), [[row[i] for i in index] for row in rows])
    else:
        out.line("no runs yet: `syncer run` starts the sync")
    out.heading("Cursors")
    out.table(
        ["source", "server time reached", "behind (s)"],
        [
            [name, cursor["value"], cursor["behind_seconds"]]
            for name, cursor in report["cursors"].items()
        ],
    )
    out.heading("Open Mailchimp batches")
    if report["batches"]:
        out.table(
            ["batch", "status", "finished", "errored", "submitted"],
            [
                [
                    b["id"],
                    b["status"],
                    f"{b['finished']}/{b['total']}",
                    b["errored"],
                    b["submitted_at"],
                ]
                for b in report["batches"]
            ],
        )
    else:
        out.line("none")
    for side, name in (("mailchimp", "Mailchimp"), ("hubspot", "HubSpot")):
        if report["queued"][side]:
            out.line(f"{plural(report['queued'][side], f'{name} write')} wait for the next run")
    out.heading("People needing attention")
    rows = [
        [state, reason, count]
        for state, reasons in report["problems"].items()
        for reason, count in sorted(reasons.items())
    ]
    if rows:
        out.table(["state", "reason", "people"], rows)
        out.line("`syncer errors` lists them with what to do")
    else:
        out.line("none")
    render_segments(out, report["segments"])
    render_engagement(out, report["engagement"])
    render_preferences(out, report["preferences"])


#: Every column of the runs table; on a terminal narrower than WIDE, only the narrow set.
RUN_COLUMNS = (
    "run", "started", "secs", "mode", "outcome", "fetched", "changed", "conflicts", "written",
    "failed", "HubSpot calls", "Mailchimp calls",
)  # fmt: skip
NARROW_RUN_COLUMNS = ("run", "started", "outcome", "changed", "written", "failed")
WIDE = 120


def _run_row(run: dict[str, Any]) -> list[object]:
    counts, calls = run["counts"], run["api_calls"]
    return [
        run["id"], run["started_at"], run["duration_seconds"], run["mode"], run["outcome"],
        counts["fetched"], counts["changed"], counts["conflicts"], counts["written"],
        counts["failed"], calls["hubspot"]["total"], calls["mailchimp"]["total"],
    ]  # fmt: skip


def render_errors(out: Output, errors: dict[str, Any]) -> None:
    if not errors["groups"]:
        out.line("no failed or blocked contacts")
        return
    for group in errors["groups"]:
        out.line(f"{plural(group['count'], 'person', 'people')} {group['state']}", "bold")
        out.line(f"  {group['reason']}")
        out.line(f"  hint: {group['hint']}", "cyan")
        for email in group["emails"]:
            out.line(f"    {email}")
        if len(group["emails"]) < group["count"]:
            out.line(f"    ... and {group['count'] - len(group['emails']):,} more")


def render_batches(out: Output, batches: list[dict[str, Any]]) -> None:
    if not batches:
        out.line("no Mailchimp batches yet")
        return
    out.table(
        ["batch", "submitted", "status", "operations", "errored", "outcomes"],
        [
            [
                batch["id"],
                batch["submitted_at"],
                batch["status"],
                batch["total"],
                batch["errored"],
                ", ".join(f"{n} {state}" for state, n in sorted(batch["outcomes"].items())),
            ]
            for batch in batches
        ],
    )


def render_person(out: Output, person: dict[str, Any]) -> None:
    if person["renamed_from"]:
        out.line(f"{person['renamed_from']} was renamed; this is the same person now", "yellow")
    out.line(
        f"{person['email']}: {person['state']}"
        + (f" ({person['reason']})" if person["reason"] else ""),
        "bold",
    )
    for side in ("hubspot", "mailchimp"):
        out.heading("HubSpot" if side == "hubspot" else "Mailchimp")
        data = person[side]
        if data is None:
            out.line("not on this side")
            continue
        out.line(f"id {data['id']}, last modified {data['modified']}")
        values = data["values"]
        flat = {**{k: v for k, v in values.items() if k != "fields"}, **values.get("fields", {})}
        out.table(["field", "value"], sorted(flat.items()))
    out.heading("Base (what both sides last agreed on)")
    out.table(
        ["key", "HubSpot", "Mailchimp"],
        [[key, pair["hubspot"], pair["mailchimp"]] for key, pair in sorted(person["base"].items())],
    )
    out.heading("Decisions")
    out.table(
        ["run", "kind", "field", "detail", "at"],
        [[e["run_id"], e["kind"], e["field"], e["detail"], e["at"]] for e in person["events"]],
    )
    out.heading("Changes written")
    out.table(
        ["run", "side", "field", "old", "new", "at"],
        [
            [c["run_id"], c["side"], c["field"], c["old"], c["new"], c["at"]]
            for c in person["changes"]
        ],
    )
    engagement = person["engagement"]
    if engagement["campaigns"] or engagement["properties"]:
        out.heading("Engagement recorded")
        out.table(["property", "value"], sorted(engagement["properties"].items()))
        for campaign in engagement["campaigns"]:
            note = campaign["note_id"] or campaign["note_state"]
            out.line(f"{campaign['title']} (sent {campaign['send_time'][:10]}; note {note})")
            for event in campaign["events"]:
                out.line(f"  {event['at']} {event['action']} {event['detail']}".rstrip())
