"""The dry-run plan and the run summary: built from the cache, rendered as text or JSON."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from syncer.connectors.hubspot.client import BATCH_LIMIT as HUBSPOT_BATCH
from syncer.connectors.mailchimp.client import BATCH_LIMIT as MAILCHIMP_BATCH
from syncer.core.guard import GuardCheck
from syncer.core.plan import changes_of
from syncer.core.wording import plural
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
    calls: dict[str, dict[str, int]] = field(default_factory=dict)
    guard: list[GuardCheck] = field(default_factory=list)
    guard_scope: str | None = None

    @property
    def guard_tripped(self) -> bool:
        return self.guard_scope is not None or any(check.tripped for check in self.guard)

    def counts(self) -> dict[str, int]:
        """Writes by side and action, every key present (zeros too), conflicts and blocks."""
        tally = Counter(f"{write.side}_{write.action}" for write in self.writes)
        tally["conflicts"] = len(self.conflicts)
        tally["blocked"] = len(self.blocked)
        return {key: tally.get(key, 0) for key in sorted({*PLAN_COUNT_KEYS, *tally})}

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": "dry",
            "writes": [asdict(write) for write in self.writes],
            "conflicts": [asdict(conflict) for conflict in self.conflicts],
            "blocked": self.blocked,
            "property_options": self.property_options,
            "counts": self.counts(),
            "api_calls": api_calls_json(self.calls),
            "estimated_write_calls": {
                "hubspot": self.calls_to_write.get("hubspot", 0),
                "mailchimp": self.calls_to_write.get("mailchimp", 0),
            },
            "guard": {
                "tripped": self.guard_tripped,
                "checks": [check.as_json() for check in self.guard],
                "scope": self.guard_scope,
            },
        }


#: Keys every plan's counts carry, zeros included (``--json`` is a stable shape).
PLAN_COUNT_KEYS = (
    *(f"hubspot_{action}" for action in ("create", "update", "unsubscribe")),
    *(f"mailchimp_{action}" for action in ("create", "update", "unsubscribe", "resubscribe")),
    "conflicts",
    "blocked",
)
#: The dry run's engagement writes, each its own kind of batch call.
ENGAGEMENT_ACTIONS = frozenset({"note_create", "note_update", "engagement"})
#: Keys every run's counts carry, zeros included.
RUN_COUNT_KEYS = (
    "fetched_hubspot",
    "fetched_mailchimp",
    "changed",
    "conflicts",
    "written_hubspot",
    "written_mailchimp",
    "failed",
    "blocked",
    "detached",
    "batches_open",
    "mailchimp_left_queued",
    "hubspot_deleted",
    "stopped_early",
    "engagement_events",
    "engagement_notes_created",
    "engagement_notes_updated",
    "engagement_contacts_written",
    "engagement_failed",
)


def api_calls_json(calls: dict[str, dict[str, int]]) -> dict[str, dict[str, Any]]:
    """The one shape of API calls in every JSON output: per API, a total and each endpoint."""
    return {
        side: {"total": sum(calls.get(side, {}).values()), "by_endpoint": calls.get(side, {})}
        for side in ("hubspot", "mailchimp")
    }


def run_counts_json(counts: dict[str, int]) -> dict[str, int]:
    return {key: counts.get(key, 0) for key in sorted({*RUN_COUNT_KEYS, *counts})}


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
    writes += [
        PlannedWrite(entry["email"], "hubspot", entry["action"], entry["changes"])
        for entry in ctx.engagement_plan
    ]
    run_id = ctx.run_id or 0
    conflicts = [
        PlannedConflict(
            email=event["email"] or "",
            field=ctx.hubspot_name(event["field"] or ""),  # a property, never an internal key
            detail=event["detail"],
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
        calls=ctx.api_calls(),
        calls_to_write=calls_to_write,
        property_options={mirror.property: options} if options and mirror else {},
        guard=list(ctx.guard),
        guard_scope=ctx.guard_scope,
    )


def estimate_write_calls(writes: list[PlannedWrite], direct_threshold: int) -> dict[str, int]:
    hubspot = Counter(
        w.action
        if w.action in ENGAGEMENT_ACTIONS
        else "create"
        if w.action == "create"
        else "update"
        for w in writes
        if w.side == "hubspot"
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
    people = person_lines(plan)
    for email in sorted(people):
        lines.append(email)
        lines.extend(people[email])
    return lines + total_lines(plan)


def person_lines(plan: Plan) -> dict[str, list[str]]:
    """Each person's part of the plan: their writes with field changes, conflicts, blocks."""
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
    return by_email


def total_lines(plan: Plan) -> list[str]:
    """What the whole plan adds up to, what it costs, and the guard's verdict on it."""
    lines = [
        f"HubSpot property {name}: would add options {', '.join(map(repr, options))} "
        "(new Mailchimp tags)"
        for name, options in plan.property_options.items()
    ]
    counts = plan.counts()
    writes = [f"{n} {name.replace('_', ' ')}" for name, n in counts.items() if "_" in name and n]
    to_write = sum(plan.calls_to_write.values())
    return [
        *lines,
        f"would write: {', '.join(writes) or 'nothing'}; "
        f"{plural(counts.get('conflicts', 0), 'conflict')}, {counts.get('blocked', 0)} blocked",
        f"API calls: {plan.calls_made} made to read; a real run would make about {to_write} more "
        f"to write ({plan.calls_to_write.get('hubspot', 0)} HubSpot, "
        f"{plan.calls_to_write.get('mailchimp', 0)} Mailchimp)",
        *guard_lines(plan.guard, plan.guard_scope),
    ]


def guard_lines(checks: list[GuardCheck], scope: str | None = None) -> list[str]:
    """The guard's verdict on the plan, with its arithmetic and the keys it used."""
    if not checks:
        return []
    tripped = scope is not None or any(check.tripped for check in checks)
    head = (
        "blast-radius guard: a real run would stop here before writing (exit 5; "
        "`syncer run --force` overrides)"
        if tripped
        else "blast-radius guard: a real run would go ahead"
    )
    lines = [head, *(f"  {check.explain()}" for check in checks)]
    return lines + ([f"  {scope}"] if scope else [])


def summary_lines(
    counts: dict[str, int], api_calls: dict[str, dict[str, int]], outcome: str
) -> list[str]:
    """A real run's short summary: what was fetched, changed and written, and what it cost.

    A run that changed nothing says so in one line, so a quiet cron log stays a line a run.
    """
    total = {side: sum(calls.values()) for side, calls in api_calls.items()}
    written = counts.get("written_hubspot", 0) + counts.get("written_mailchimp", 0)
    fetched = (
        f"fetched {plural(counts.get('fetched_hubspot', 0), 'HubSpot contact')} and "
        f"{plural(counts.get('fetched_mailchimp', 0), 'Mailchimp member')}"
    )
    calls = (
        f"{plural(total.get('hubspot', 0), 'HubSpot call')}, "
        f"{plural(total.get('mailchimp', 0), 'Mailchimp call')}"
    )
    eventful = (
        "changed",
        "conflicts",
        "failed",
        "blocked",
        "batches_open",
        "mailchimp_left_queued",
        "hubspot_deleted",
    )
    engaged = engagement_lines(counts)
    if not written and not any(counts.get(key) for key in (*eventful, "stopped_early")):
        return [f"run {outcome}: nothing to change; {fetched}; {calls}", *engaged]
    lines = [
        f"run {outcome}: {fetched}; {plural(counts.get('changed', 0), 'person', 'people')} to "
        f"update, {plural(counts.get('conflicts', 0), 'conflict')}",
        f"written: {counts.get('written_hubspot', 0)} to HubSpot, "
        f"{counts.get('written_mailchimp', 0)} to Mailchimp ({written} in all); "
        f"failed {counts.get('failed', 0)}, blocked {counts.get('blocked', 0)}",
        f"API calls: {calls}",
    ]
    if counts.get("batches_open"):
        open_batches = plural(counts["batches_open"], "Mailchimp batch", "Mailchimp batches")
        lines.append(f"{open_batches} open; the next run collects them")
    if counts.get("mailchimp_left_queued"):
        left = plural(counts["mailchimp_left_queued"], "Mailchimp write")
        lines.append(f"{left} not sent in this run's time; the next run sends them")
    if counts.get("hubspot_deleted"):
        lines.append(
            f"found {plural(counts['hubspot_deleted'], 'linked contact')} deleted in HubSpot; "
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
    return lines + engaged


def engagement_lines(counts: dict[str, int]) -> list[str]:
    """The engagement pass in one line, when it found or wrote something."""
    keys = ("events", "notes_created", "notes_updated", "contacts_written", "failed", "unknown")
    got = {key: counts.get(f"engagement_{key}", 0) for key in keys}
    if not any(got.values()) and not counts.get("engagement_campaigns_gone"):
        return []
    return [
        f"engagement: {plural(counts.get('engagement_campaigns', 0), 'campaign')} read, "
        f"{plural(got['events'], 'new event')}; notes {got['notes_created']} created, "
        f"{got['notes_updated']} updated; {plural(got['contacts_written'], 'contact')} "
        f"written; failed {got['failed']}"
        + (f"; {got['unknown']} records of unknown members" if got["unknown"] else "")
    ]
