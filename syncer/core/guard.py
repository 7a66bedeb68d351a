"""The blast-radius guard over what a run has queued (DESIGN §7).

A run that would unsubscribe, create, or withdraw consent (a marketing permission, an opt-in
interest) for more than a configured share of the linked people stops before writing: a broken
mapping or an emptied CRM list must not become a mass unsubscribe, nor a mass withdrawal.
Pure: counts in, verdicts out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncer.config import SafetyConfig
from syncer.core.wording import plural

#: The queued count of writes that withdraw consent (``queued_counts`` gives it under this key).
WITHDRAWALS = "withdrawals"


@dataclass(frozen=True)
class GuardCheck:
    """One of the blast-radius guard's limits against what is queued, with its arithmetic."""

    what: str  # unsubscribes | creations
    count: int
    share_key: str  # the safety.* key of the share
    share: float
    linked: int
    min_guarded: int
    exempt: bool = False  # creations during the first sync

    @property
    def limit(self) -> float:
        return max(self.min_guarded, self.share * self.linked)

    @property
    def tripped(self) -> bool:
        return not self.exempt and self.count > self.limit

    def explain(self) -> str:
        """``30 unsubscribes > limit 25 = max(safety.min_guarded 25, ...)``."""
        relation = ">" if self.count > self.limit else "<="
        counted = plural(self.count, self.what[:-1])
        text = (
            f"{counted} {relation} limit {self.limit:.0f} = max(safety.min_guarded "
            f"{self.min_guarded}, safety.{self.share_key} {self.share:.0%} x {self.linked} "
            f"linked people = {self.share * self.linked:.0f})"
        )
        return text + (" (the first sync is exempt)" if self.exempt else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "count": self.count,
            "limit": round(self.limit, 2),
            "tripped": self.tripped,
            "exempt": self.exempt,
            "keys": {
                "safety.min_guarded": self.min_guarded,
                f"safety.{self.share_key}": self.share,
            },
            "linked": self.linked,
        }


def guard_checks(
    queued: Mapping[str, int],
    linked: int,
    safety: SafetyConfig,
    *,
    first_sync: bool,
    consent: bool = False,
) -> list[GuardCheck]:
    """The guard's limits against the queued writes (DESIGN §7); with consent values mapped,
    their withdrawals count against the unsubscribe share in a check of their own."""
    unsubscribes = queued.get("mailchimp:unsubscribe", 0) + queued.get("hubspot:unsubscribe", 0)
    creates = queued.get("mailchimp:create", 0) + queued.get("hubspot:create", 0)
    checks = [
        GuardCheck(
            "unsubscribes",
            unsubscribes,
            "max_unsubscribe_share",
            safety.max_unsubscribe_share,
            linked,
            safety.min_guarded,
        ),
        GuardCheck(
            "creations",
            creates,
            "max_create_share",
            safety.max_create_share,
            linked,
            safety.min_guarded,
            exempt=first_sync,
        ),
    ]
    if consent:
        checks.append(
            GuardCheck(
                "withdrawals",
                queued.get(WITHDRAWALS, 0),
                "max_unsubscribe_share",
                safety.max_unsubscribe_share,
                linked,
                safety.min_guarded,
            )
        )
    return checks


def guard_verdict(checks: list[GuardCheck]) -> str | None:
    """Why the queued writes must not be sent, or ``None`` when they may."""
    tripped = [check.explain() for check in checks if check.tripped]
    return "; ".join(tripped) or None
