"""What operators look at: the status report, the error list with hints, one person's history.

Each function reads the cache and returns plain data (the ``--json`` shapes); the CLI renders it.
The status shape is documented in the README and stable: new keys may appear, none go away.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syncer.cache.lock import lock_holder
from syncer.cache.store import ABANDONED, Store
from syncer.config import Config
from syncer.core import causes
from syncer.core.identity import normalise_email
from syncer.core.records import ContactRow
from syncer.operate.health import error_rate, evaluate
from syncer.operate.shapes import public_key
from syncer.operate.status_engagement import (
    engagement_groups,
    engagement_status,
    engagement_story,
)
from syncer.operate.status_preferences import preferences_status
from syncer.operate.status_segments import segments_status
from syncer.run.report import api_calls_json

#: What to do, by the kind of problem (``syncer.core.causes``), chosen where the error was met.
HINTS: dict[str, str] = {
    causes.CLEANED: "cleaned by Mailchimp after bounces: fix the address in HubSpot, then "
    "`syncer retry EMAIL`",
    causes.MAILCHIMP_INVALID_ADDRESS: "Mailchimp refuses this address: correct it in HubSpot, "
    "then `syncer retry EMAIL`",
    causes.INVALID_EMAIL: "not a valid email address: correct it where it was entered, then "
    "`syncer retry EMAIL`",
    causes.HUBSPOT_INVALID_ADDRESS: "HubSpot takes only addresses with a real top-level domain "
    "and no quotes: correct it where it was typed (usually in Mailchimp), then "
    "`syncer retry EMAIL`",
    causes.UNKNOWN_STATUS: "Mailchimp reports a status this version of syncer does not know: "
    "check the member in Mailchimp and upgrade syncer; until then nothing about their "
    "subscription is synced",
    causes.TRANSACTIONAL_NEVER: "never asked to subscribe (a store added them to Mailchimp); with "
    "subscription.resubscribe: pending they are emailed to confirm, or they sign up through a "
    "Mailchimp form",
    causes.MAILCHIMP_COMPLIANCE_EDIT: "Mailchimp refused a change to this member while it is in a "
    "compliance state (an opt-out, a bounce or a review); its status is untouched: check it in "
    "Mailchimp, then `syncer retry EMAIL`",
    causes.NO_EMAIL: "give the contact an email address in HubSpot: the next run syncs it again",
    causes.MAILCHIMP_ADDRESS_TAKEN: "another Mailchimp member already has the new address: "
    "archive or delete one of the two in Mailchimp (or give this contact another address in "
    "HubSpot), then `syncer retry --all`",
    causes.HUBSPOT_ADDRESS_TAKEN: "another HubSpot contact already has this address: merge the "
    "two contacts in HubSpot (or give the member another address in Mailchimp), then "
    "`syncer retry --all`",
    causes.RESUBSCRIBE_NEVER: "opted out in Mailchimp; only the person can opt in again (or set "
    "subscription.resubscribe to pending)",
    causes.MAILCHIMP_COMPLIANCE: "Mailchimp will not resubscribe this person; they must sign up "
    "again through a Mailchimp form",
    causes.MAILCHIMP_FORGOTTEN: "deleted for good in Mailchimp; only the person can sign up again",
    causes.MAILCHIMP_FIELD: "a merge field refused the value: check the field types with "
    "`syncer check`, then `syncer retry EMAIL`",
    causes.MAILCHIMP_VALUE: "a merge field refused this value (too long, or not in the field's "
    "date format); the rest was synced: fix the value in HubSpot or the field in Mailchimp, then "
    "`syncer retry EMAIL`",
    causes.MAILCHIMP_REFUSED: "Mailchimp refused the write: fix what the reason names, then "
    "`syncer retry EMAIL`",
    causes.PREFERENCE_UNKNOWN_CHOICE: "a HubSpot value names no interest of the Mailchimp "
    "group (a typo'd option, or an interest deleted in Mailchimp): it is kept in HubSpot, sent "
    "nowhere and withdraws nothing, and the rest of the person is synced; correct the value in "
    "HubSpot (or add the interest in Mailchimp)",
    causes.HUBSPOT_MISSING_PROPERTY: "a mapped property does not exist in HubSpot: `syncer check` "
    "names it; fix the mapping, then `syncer retry --all`",
    causes.HUBSPOT_INVALID_VALUE: "HubSpot refused the value: fix it at its source (or the "
    "mapping's transform), then `syncer retry EMAIL`",
    causes.HUBSPOT_REFUSED: "HubSpot refused the write: fix what the reason names, then "
    "`syncer retry EMAIL`",
    causes.HUBSPOT_EMAIL_CONFLICT: "HubSpot says another contact has this address: merge the two "
    "in HubSpot, then `syncer retry EMAIL`",
    causes.HUBSPOT_DELETED: "restore the contact in HubSpot (or leave it: the member is not "
    "touched), then `syncer retry EMAIL`",
    causes.HUBSPOT_DELETED_UNSUBSCRIBED: "restore the contact in HubSpot, then `syncer retry "
    "EMAIL`; the member stays unsubscribed until the person opts in again",
    causes.HUBSPOT_MERGED: "HubSpot merged this person into a contact synced with another "
    "member: archive one of the two members in Mailchimp (or split the contact in HubSpot), "
    "then `syncer retry EMAIL`",
    causes.HUBSPOT_DUPLICATE: "two HubSpot contacts share this address: merge them in HubSpot "
    "(until then the older one is synced)",
}
#: When no cause was recorded (a cache from before causes, or a rule added since).
STATE_HINTS = {
    "failed": "fix the cause, then `syncer retry EMAIL` (or `syncer retry --all`)",
    "blocked": "syncer will not write this person until the cause is fixed; then "
    "`syncer retry EMAIL`",
    "detached": "the HubSpot contact is gone or merged: restore it in HubSpot, then "
    "`syncer retry EMAIL`",
    "duplicate": HINTS[causes.HUBSPOT_DUPLICATE],
}


def hint_for(state: str, cause: str | None) -> str:
    """What to do about one person's problem, by its recorded kind (else by its state)."""
    if cause in HINTS:
        return HINTS[cause]
    return STATE_HINTS.get(state, STATE_HINTS["failed"])


def status_report(store: Store, config: Config, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    runs = live_runs(store.runs(limit=10), lock_holder(config.state_path))
    batches = store.open_batches()
    health = evaluate(
        runs,
        [(batch.id, datetime.fromisoformat(batch.submitted_at)) for batch in batches],
        now,
        config.health,
    )
    problems: dict[str, dict[str, int]] = {
        "failed": {},
        "blocked": {},
        "detached": {},
        "duplicate": {},
    }
    for row in store.problem_contacts():
        group = problems[row["state"]]
        group[row["reason"] or "-"] = group.get(row["reason"] or "-", 0) + 1
    return {
        "health": {"ok": health.ok, "reasons": health.reasons},
        "runs": [_run_summary(run) for run in runs],
        "cursors": {
            source: {"value": value, "behind_seconds": _behind(value, now)}
            for source, value in sorted(store.cursors().items())
        },
        "batches": [
            {
                "id": batch.id,
                "status": batch.status,
                "total": batch.total,
                "finished": batch.finished,
                "errored": batch.errored,
                "submitted_at": batch.submitted_at,
                "progress_at": batch.progress_at,
            }
            for batch in batches
        ],
        # Writes decided but not sent yet (a run out of time, or Mailchimp slow with its
        # batches): the next run sends them.
        "queued": {side: store.queued_count(side) for side in ("hubspot", "mailchimp")},
        "problems": problems,
        "segments": segments_status(store, config, now),
        "engagement": engagement_status(store, config, now),
        "preferences": preferences_status(store, config),
        "state_path": str(config.state_path),
    }


def live_runs(runs: list[dict[str, Any]], holder: int | None) -> list[dict[str, Any]]:
    """Runs newest first, with those still ``running`` that cannot be shown as ``abandoned``:
    all of them when no process holds the lock, all but the newest when one does. (The next run
    records them so; this only reads.)"""
    shown = []
    live = holder is not None
    for run in runs:
        if run["outcome"] == "running" and not live:
            run = {**run, "outcome": "abandoned", "error": run.get("error") or ABANDONED}
        elif run["outcome"] == "running":
            live = False
        shown.append(run)
    return shown


def _run_summary(run: dict[str, Any]) -> dict[str, Any]:
    counts = run.get("counts") or {}
    calls = run.get("api_calls") or {}
    started, ended = run["started_at"], run.get("ended_at")
    duration = (
        (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()
        if ended
        else None
    )
    return {
        "id": run["id"],
        "started_at": started,
        "ended_at": ended,
        "duration_seconds": duration,
        "mode": run["mode"],
        "outcome": run["outcome"],
        "error": run.get("error"),
        "counts": {
            "fetched": counts.get("fetched_hubspot", 0) + counts.get("fetched_mailchimp", 0),
            "changed": counts.get("changed", 0),
            "conflicts": counts.get("conflicts", 0),
            "written": counts.get("written_hubspot", 0) + counts.get("written_mailchimp", 0),
            "failed": counts.get("failed", 0),
            "blocked": counts.get("blocked", 0),
        },
        "error_rate": round(error_rate(counts), 4),
        "api_calls": api_calls_json(calls),
    }


def _behind(value: str, now: datetime) -> float | None:
    """Seconds between a cursor and now: display only, never used to decide anything."""
    try:
        return round((now - datetime.fromisoformat(value)).total_seconds())
    except ValueError:
        return None


def error_list(store: Store, limit: int = 0) -> dict[str, Any]:
    """`syncer errors`: people with a problem, grouped by identical reasons, largest group first.

    ``limit`` bounds how many people are named (0: all); every group is still counted, and
    ``unlisted`` says how many were left out.
    """
    groups: dict[tuple[str, str | None, str], dict[str, Any]] = {}
    for row in store.problem_contacts():
        reason = row["reason"] or "-"
        key = (row["state"], row["cause"], reason)
        group = groups.setdefault(
            key,
            {
                "state": row["state"],
                "cause": row["cause"],
                "reason": reason,
                "hint": hint_for(row["state"], row["cause"]),
                "count": 0,
                "emails": [],
            },
        )
        group["count"] += 1
        group["emails"].append(row["email"])
    ordered = sorted(
        [*groups.values(), *engagement_groups(store)],
        key=lambda g: (-g["count"], g["state"], g["reason"]),
    )
    total = sum(group["count"] for group in ordered)
    room = limit or total
    for group in ordered:
        group["emails"] = group["emails"][:room]
        room -= len(group["emails"])
    listed = sum(len(group["emails"]) for group in ordered)
    return {"total": total, "listed": listed, "unlisted": total - listed, "groups": ordered}


def person(store: Store, email: str, config: Config) -> dict[str, Any] | None:
    """`syncer show EMAIL`: both cached sides, the base, and the history of decisions."""
    asked = normalise_email(email)
    row = store.contact_by_email(asked)
    renamed_from = None
    if row is None:
        row = store.contact_renamed_from(asked)
        renamed_from = asked if row is not None else None
    if row is None:
        return None
    history = store.contact_history(row.id)
    for entry in (*history["events"], *history["changes"]):
        if entry.get("field"):
            entry["field"] = public_key(entry["field"], config)
    return {
        "email": row.email,
        "renamed_from": renamed_from,
        "state": row.state,
        "reason": row.reason,
        "cause": row.cause,
        "hubspot": _side(row.hubspot_id, row.hs, row.hs_modified),
        "mailchimp": _side(row.mailchimp_id, _member(row), row.mc_changed),
        "base": {
            public_key(key, config): {"hubspot": pair[0], "mailchimp": pair[1]}
            for key, pair in row.base.items()
        },
        **history,
        "engagement": engagement_story(store, row.id),
    }


def _side(identifier: str | None, values: dict[str, Any] | None, modified: str | None) -> Any:
    if values is None:
        return None
    return {"id": identifier, "modified": modified, "values": values}


def _member(row: ContactRow) -> dict[str, Any] | None:
    if row.mc is None:
        return None
    return {key: value for key, value in row.mc.items() if key != "since"}
