"""The ``--json`` shapes of `run`, `show` and `batches`, stable and published as JSON Schema.

Every key is always present (zeros and nulls included), API calls have one shape everywhere
(:func:`~syncer.run.report.api_calls_json`), failures are objects, and no internal key (the
base's ``@email``) leaves syncer: people read them by the HubSpot property they know. The
schemas live in ``docs/schemas/``; tests hold the real output to them.
"""

from __future__ import annotations

from typing import Any

from syncer.config import Config
from syncer.core.models import EMAIL_KEY, STATUS_MIRROR_KEY, SUBSCRIPTION_KEY
from syncer.errors import GuardTripped, Interrupted, SyncerError
from syncer.run.engine import RunReport
from syncer.run.report import api_calls_json, run_counts_json

BATCH_OUTCOMES = ("queued", "submitted", "succeeded", "failed", "blocked", "superseded")


def run_json(report: RunReport) -> dict[str, Any]:
    return {
        "mode": report.mode,
        "outcome": report.outcome,
        "error": report.error,
        "hint": None,
        "counts": run_counts_json(report.counts),
        "api_calls": api_calls_json(report.api_calls),
        "failures": [{"email": f.email, "reason": f.reason} for f in report.failures],
    }


def failed_run_json(error: SyncerError, last_run: dict[str, Any] | None) -> dict[str, Any]:
    """A run that ended in an error still answers in the same shape: the run's record, if it
    got as far as making one, gives its counts and calls."""
    outcome = (
        "guarded"
        if isinstance(error, GuardTripped)
        else "interrupted"
        if isinstance(error, Interrupted)
        else "failed"
    )
    ours = last_run is not None and last_run.get("error") == error.message
    record = last_run if ours and last_run is not None else {}
    return {
        "mode": "real",
        "outcome": outcome,
        "error": error.message,
        "hint": error.hint or None,
        "counts": run_counts_json(record.get("counts") or {}),
        "api_calls": api_calls_json(record.get("api_calls") or {}),
        "failures": [],
    }


def public_key(key: str, config: Config) -> str:
    """A base key as people know it: the HubSpot property behind it."""
    return {
        EMAIL_KEY: "email",
        SUBSCRIPTION_KEY: config.subscription.hubspot_property,
        STATUS_MIRROR_KEY: config.subscription.status_property or "status_mirror",
    }.get(key, key)


def batch_json(batch: dict[str, Any]) -> dict[str, Any]:
    outcomes = batch.get("outcomes") or {}
    return {
        "id": batch["id"],
        "run_id": batch.get("run_id"),
        "submitted_at": batch["submitted_at"],
        "status": batch["status"],
        "total": batch["total"],
        "finished": batch.get("finished", 0),
        "errored": batch.get("errored", 0),
        "progress_at": batch.get("progress_at"),
        "completed_at": batch.get("completed_at"),
        "outcomes": {
            state: outcomes.get(state, 0) for state in sorted({*BATCH_OUTCOMES, *outcomes})
        },
    }
