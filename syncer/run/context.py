"""What one run carries through its phases: config, cache, clients, counters, time budget."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncer.cache.store import Store
from syncer.config import Config
from syncer.connectors.hubspot.client import HubSpotClient
from syncer.connectors.hubspot.properties import ChoiceProperty
from syncer.connectors.mailchimp.client import MailchimpClient, MergeField
from syncer.core.guard import GuardCheck
from syncer.core.models import EMAIL_KEY, STATUS_MIRROR_KEY, SUBSCRIPTION_KEY, TAGS_MIRROR_KEY
from syncer.run.progress import Progress


def grace(seconds: float) -> float:
    """How long a call still going when ``--max-time`` passes may finish: a tenth of the
    run's time, at least 5 and at most 60 seconds. Past it, the call is cut."""
    return max(5.0, min(60.0, seconds / 10))


@dataclass(frozen=True)
class Failure:
    """A write that failed this run: whose (``None`` for a whole call) and why."""

    reason: str
    email: str | None = None

    def __str__(self) -> str:
        return f"{self.email}: {self.reason}" if self.email else self.reason


class Deadline:
    """When a run must wind down: ``--max-time`` passing, or an operator asking it to stop.

    Phases ask between pages and batches, so a stop never cuts a write or a transaction in half.
    A signal handler only calls :meth:`interrupt`: raising from the handler instead could land
    inside SQLite or an HTTP library and leave them in a state the run cannot record from. A call
    that outlives ``--max-time`` by its :func:`grace` is cut (the HTTP layer raises
    :class:`~syncer.errors.OutOfTime`), so a server dripping its answer cannot hold the run,
    and the lock, past its time.
    """

    def __init__(self, seconds: float | None) -> None:
        self._end = None if seconds is None else time.monotonic() + seconds
        self._cutoff = None if seconds is None else time.monotonic() + seconds + grace(seconds)
        self._interrupted = threading.Event()

    @property
    def cutoff(self) -> float | None:
        """The moment (``time.monotonic()``) calls still going are cut; ``None``: never."""
        return self._cutoff

    def interrupt(self) -> None:
        self._interrupted.set()

    @property
    def interrupted(self) -> bool:
        return self._interrupted.is_set()

    def expired(self) -> bool:
        if self.interrupted:
            return True
        return self._end is not None and time.monotonic() >= self._end

    def remaining(self, cap: float) -> float:
        if self.interrupted:
            return 0.0
        if self._end is None:
            return cap
        return max(0.0, min(cap, self._end - time.monotonic()))

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, waking at once on an interruption."""
        self._interrupted.wait(seconds)


@dataclass
class RunContext:
    config: Config
    store: Store
    hubspot: HubSpotClient
    mailchimp: MailchimpClient
    run_id: int | None
    dry_run: bool = False
    deadline: Deadline = field(default_factory=lambda: Deadline(None))
    progress: Progress = field(default_factory=Progress)
    counts: Counter[str] = field(default_factory=Counter)
    stopped_early: bool = False
    failures: list[Failure] = field(default_factory=list)
    #: The tags mirror's HubSpot property as last read (its options), once a run needs it.
    mirror_property: ChoiceProperty | None = None
    guard: list[GuardCheck] = field(default_factory=list)
    guard_scope: str | None = None  # the guard's word on people leaving the segment scope
    guard_passed: int | None = None  # the newest write an earlier run's guard let through
    #: The audience's merge fields, once read: the field check and the date formats share them.
    merge_fields: list[MergeField] | None = None
    #: A dry run's engagement writes (notes, contact properties), for the plan.
    engagement_plan: list[dict[str, Any]] = field(default_factory=list)
    #: Mailchimp's clock when the last check before writing began (``run.recheck``).
    members_checked_since: datetime | None = None

    def read_merge_fields(self) -> list[MergeField]:
        """The audience's merge fields, read at most once a run (the run never changes them)."""
        if self.merge_fields is None:
            self.merge_fields = self.mailchimp.merge_fields()
        return self.merge_fields

    def should_stop(self) -> bool:
        """True once ``--max-time`` has passed or a stop was asked; the run then stops early."""
        if self.deadline.expired():
            self.stopped_early = True
        return self.stopped_early

    @property
    def hubspot_properties(self) -> list[str]:
        """Every HubSpot property the sync reads: the email, the subscription and the mappings."""
        subscription = self.config.subscription
        names = {"email", subscription.hubspot_property}
        if subscription.status_property:
            names.add(subscription.status_property)
        names.update(mapping.hubspot for mapping in self.config.fields)
        names.update(self.config.segments.properties)
        names.update(self.config.preferences.properties)
        if self.config.segments.mirror:
            names.add(self.config.segments.mirror.property)
        return sorted(names)

    @property
    def history_properties(self) -> list[str]:
        """Properties whose timestamps can decide a conflict (two-way ones, and the email)."""
        names = {"email", self.config.subscription.hubspot_property}
        names.update(m.hubspot for m in self.config.fields if m.direction == "both")
        names.update(m.hubspot for m in self.config.preferences.mappings if m.direction == "both")
        return sorted(names)

    @property
    def merge_tags(self) -> list[str]:
        return [mapping.mailchimp for mapping in self.config.fields]

    def hubspot_name(self, key: str) -> str:
        """The HubSpot property behind a base key."""
        return {
            EMAIL_KEY: "email",
            SUBSCRIPTION_KEY: self.config.subscription.hubspot_property,
            STATUS_MIRROR_KEY: self.config.subscription.status_property or "",
            TAGS_MIRROR_KEY: self.config.segments.mirror.property
            if self.config.segments.mirror
            else "",
        }.get(key, key)

    def mailchimp_name(self, key: str) -> str | None:
        """The merge tag behind a base key (``None`` for the email and the status)."""
        for mapping in self.config.fields:
            if mapping.hubspot == key:
                return mapping.mailchimp
        return None

    def api_calls(self) -> dict[str, dict[str, int]]:
        return {
            "hubspot": dict(self.hubspot.api.calls),
            "mailchimp": dict(self.mailchimp.api.calls),
        }

    def total_calls(self) -> int:
        return sum(sum(calls.values()) for calls in self.api_calls().values())
