"""The dry-run plan and the run summary: built from the cache, rendered as text or JSON."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from syncer.connectors.hubspot.client import BATCH_LIMIT as HUBSPOT_BATCH
from syncer.connectors.mailchimp.client import BATCH_LIMIT as MAILCHIMP_BATCH
from syncer.core.plan import changes_of
from syncer.run.context import RunContext
from syncer.run.mirror import missing_options

#: Calls per Mailchimp batch at best: submit, one status poll, the re-read before download, and
#: the download itself.
CALLS_PER_BATCH = 4


@dataclass(frozen=True)
class PlannedWrite:
    email: str
    side: str
    action: str
    changes: list[dict[str, str]]


@dataclass(frozen=True)
class PlannedConflict:
    email: str
    field: str
    detail: str


@dataclass
class Plan:
    writes: list[PlannedWrite] = field(default_factory=list)
    conflicts: list[PlannedConflict] = field(default_factory=list)
    blocked: list[dict[str, str]] = field(default_factory=list)
    calls_made: int = 0
    calls_to_write: dict[str, int] = field(default_factory=dict)
    #: Options the tags mirror would add to its HubSpot property, by property name.
    property_options: dict[str, list[str]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        tally = Counter(f"{write.side}_{write.action}" for write in self.writes)
        tally["conflicts"] = len(self.conflicts)
        tally["blocked"] = len(self.blocked)
        return dict(sorted(tally.items()))

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": "dry",
            "writes": [asdict(write) for write in self.writes],
            "conflicts": [asdict(conflict) for conflict in self.conflicts],
            "blocked": self.blocked,
            "property_options": self.property_options,
            "counts": self.counts(),
            "api_calls": {
                "made": self.calls_made,
                "to_write": self.calls_to_write,
                "total": self.calls_made + sum(self.calls_to_write.values()),
            },
        }


def build_plan(ctx: RunContext) -> Plan:
    """What the real run would write, from the outbox as this run left it."""
    writes = [
        PlannedWrite(
            email=email,
            side=operation.target,
            action=operation.action,
            changes=[
                {"field": change.field, "old": change.old, "new": change.new}
                for change in changes_of(operation.payload)
            ],
        )
        for email, operation in ctx.store.queued_with_emails()
    ]
    run_id = ctx.run_id or 0
    conflicts = [
        PlannedConflict(
            email=event["email"] or "", field=event["field"] or "", detail=event["detail"]
        )
        for event in ctx.store.run_events(run_id, ["conflict"])
    ]
    blocked = [
        {"email": event["email"] or "", "reason": event["detail"]}
        for event in ctx.store.run_events(run_id, ["blocked"])
    ]
    calls_to_write = estimate_write_calls(writes, ctx.config.sync.direct_threshold)
    options = missing_options(ctx)
    mirror = ctx.config.segments.mirror
    if options and mirror is not None:
        calls_to_write["hubspot"] += 1
    return Plan(
        writes=writes,
        conflicts=conflicts,
        blocked=blocked,
        calls_made=ctx.total_calls(),
        calls_to_write=calls_to_write,
        property_options={mirror.property: options} if options and mirror else {},
    )


def estimate_write_calls(writes: list[PlannedWrite], direct_threshold: int) -> dict[str, int]:
    hubspot = Counter(
        "create" if w.action == "create" else "update" for w in writes if w.side == "hubspot"
    )
    mailchimp = sum(1 for write in writes if write.side == "mailchimp")
    if mailchimp <= direct_threshold:
        mailchimp_calls = mailchimp
    else:
        mailchimp_calls = CALLS_PER_BATCH * math.ceil(mailchimp / MAILCHIMP_BATCH)
    return {
        "hubspot": sum(math.ceil(n / HUBSPOT_BATCH) for n in hubspot.values()),
        "mailchimp": mailchimp_calls,
    }


def plan_lines(plan: Plan) -> list[str]:
    """The plan as plain lines: per person, each write with its field changes, then totals."""
    lines: list[str] = [
        "Dry run: nothing was written to HubSpot or Mailchimp; the cache is unchanged."
    ]
    by_email: dict[str, list[str]] = {}
    for write in plan.writes:
        side = "HubSpot" if write.side == "hubspot" else "Mailchimp"
        entries = by_email.setdefault(write.email, [])
        entries.append(f"  {side} {write.action}:")
        entries.extend(
            f"    {change['field']}: {change['old']!r} -> {change['new']!r}"
            for change in write.changes
        )
    for conflict in plan.conflicts:
        by_email.setdefault(conflict.email, []).append(
            f"  conflict on {conflict.field}: {conflict.detail}"
        )
    for blocked in plan.blocked:
        by_email.setdefault(blocked["email"], []).append(f"  blocked: {blocked['reason']}")
    for email in sorted(by_email):
        lines.append(email)
        lines.extend(by_email[email])
    for name, options in plan.property_options.items():
        lines.append(
            f"HubSpot property {name}: would add options {', '.join(map(repr, options))} "
            "(new Mailchimp tags)"
        )
    counts = plan.counts()
    writes = [f"{n} {name.replace('_', ' ')}" for name, n in counts.items() if "_" in name and n]
    lines.append(
        f"would write: {', '.join(writes) or 'nothing'}; "
        f"{counts.get('conflicts', 0)} conflicts, {counts.get('blocked', 0)} blocked"
    )
    to_write = sum(plan.calls_to_write.values())
    lines.append(
        f"API calls: {plan.calls_made} made to read; a real run would make about {to_write} more "
        f"to write ({plan.calls_to_write.get('hubspot', 0)} HubSpot, "
        f"{plan.calls_to_write.get('mailchimp', 0)} Mailchimp)"
    )
    return lines


def summary_lines(
    counts: dict[str, int], api_calls: dict[str, dict[str, int]], outcome: str
) -> list[str]:
    """A real run's short summary: what was fetched, changed and written, and what it cost."""
    total = {side: sum(calls.values()) for side, calls in api_calls.items()}
    written = counts.get("written_hubspot", 0) + counts.get("written_mailchimp", 0)
    lines = [
        f"run {outcome}: fetched {counts.get('fetched_hubspot', 0)} HubSpot contacts and "
        f"{counts.get('fetched_mailchimp', 0)} Mailchimp members; "
        f"{counts.get('changed', 0)} people to update, {counts.get('conflicts', 0)} conflicts",
        f"written: {counts.get('written_hubspot', 0)} to HubSpot, "
        f"{counts.get('written_mailchimp', 0)} to Mailchimp ({written} in all); "
        f"failed {counts.get('failed', 0)}, blocked {counts.get('blocked', 0)}",
        f"API calls: {total.get('hubspot', 0)} HubSpot, {total.get('mailchimp', 0)} Mailchimp",
    ]
    if counts.get("batches_open"):
        lines.append(f"{counts['batches_open']} Mailchimp batches open; the next run collects them")
    if counts.get("hubspot_deleted"):
        lines.append(
            f"found {counts['hubspot_deleted']} linked contacts deleted in HubSpot; "
            "`syncer errors` lists the people now left out of the sync"
        )
    if counts.get("skipped_no_email"):
        lines.append(
            f"left out {counts['skipped_no_email']} HubSpot contacts with no email address "
            "(their ids are in the log)"
        )
    if counts.get("unknown_results"):
        lines.append(
            f"ignored {counts['unknown_results']} Mailchimp batch results for no open write "
            "(see the log)"
        )
    if counts.get("stopped_early"):
        lines.append("stopped at --max-time: the next run resumes where this one stopped")
    return lines
