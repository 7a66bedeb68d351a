"""The health verdict: pure rules over the last runs, open batches and HubSpot's quota."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from syncer.config import HealthConfig

SUCCESSFUL = ("ok", "partial")


@dataclass(frozen=True)
class Health:
    ok: bool
    reasons: list[str] = field(default_factory=list)


def error_rate(counts: dict[str, int]) -> float:
    """Failed writes as a share of attempted writes (blocked people are not errors)."""
    written = counts.get("written_hubspot", 0) + counts.get("written_mailchimp", 0)
    failed = counts.get("failed", 0)
    attempted = written + failed
    return failed / attempted if attempted else 0.0


def evaluate(
    runs: list[dict[str, Any]],
    open_batches: list[tuple[str, datetime]],
    now: datetime,
    config: HealthConfig,
) -> Health:
    """Why syncer is unhealthy, newest run first in ``runs``; no reasons means healthy."""
    reasons: list[str] = []
    finished = [run for run in runs if run.get("outcome") != "running"]
    succeeded = [run for run in finished if run["outcome"] in SUCCESSFUL]
    window = timedelta(minutes=config.max_run_age_minutes)
    last_success = _time(succeeded[0]["ended_at"]) if succeeded else None
    if last_success is None:
        reasons.append("no successful run yet")
    elif now - last_success > window:
        reasons.append(
            f"no successful run in the last {config.max_run_age_minutes:g} minutes "
            f"(last at {last_success.isoformat(timespec='minutes')})"
        )
    if finished and finished[0]["outcome"] not in SUCCESSFUL:
        reasons.append(f"the last run {finished[0]['outcome']}: {finished[0].get('error') or '-'}")
    if finished and finished[0]["outcome"] in SUCCESSFUL:
        rate = error_rate(finished[0].get("counts") or {})
        if rate > config.max_error_rate:
            reasons.append(
                f"the last run's error rate is {rate:.1%} (over {config.max_error_rate:.0%})"
            )
    usage = _daily_usage(finished[0] if finished else None)
    if usage is not None and usage > config.max_daily_usage:
        reasons.append(
            f"HubSpot's daily API usage is at {usage:.0%} (over {config.max_daily_usage:.0%})"
        )
    limit = timedelta(minutes=config.max_batch_age_minutes)
    for batch_id, submitted in open_batches:
        if now - submitted > limit:
            minutes = (now - submitted).total_seconds() // 60
            reasons.append(
                f"Mailchimp batch {batch_id} has been open for {minutes:.0f} minutes "
                f"(over {config.max_batch_age_minutes:g})"
            )
    return Health(ok=not reasons, reasons=reasons)


def _daily_usage(run: dict[str, Any] | None) -> float | None:
    usage = (run or {}).get("hubspot_usage") or {}
    limit, remaining = usage.get("daily_limit"), usage.get("daily_remaining")
    if not limit or remaining is None:
        return None
    return 1 - float(remaining) / float(limit)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
